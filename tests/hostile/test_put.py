"""Hostile inputs to the put side: special files, links, loops, unreadable, vanishing and
changing files, the store itself, a type mismatch; through ``art put`` and the Python API.

Each case prepares a project folder as a careless or hostile user would leave it, snapshots
the store, makes the one call that must be refused, and checks the refusal: exit code (or
exception type), one line naming the problem, and the store unchanged (no blob, manifest,
staging file or catalog row).
"""

from __future__ import annotations

import os
import shutil
import socket
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from fsspec.callbacks import Callback

from artstore.artifacts import Artifact, Store
from artstore.errors import (
    ArtifactTypeError,
    FileAccessError,
    NotFoundError,
    SourceChangedError,
    UnsafePathError,
    UserError,
)
from tests.conftest import make_folder
from tests.hostile.harness import Outcome, api, art, art_as_nobody, check_refused, snapshot

FILES = {"a.txt": b"alpha\n", "sub/b.bin": bytes(range(256)) * 50, "sub/c.csv": b"1,2\n"}


@dataclass
class Env:
    """A store holding ``data:v0`` (type dataset), and a project folder ``data/`` to log."""

    tmp: Path
    root: Path
    data: Path
    outside: Path

    @property
    def url(self) -> str:
        return str(self.root)

    def put(self, *args: str) -> Outcome:
        return art("--store", self.url, "put", *args)

    def put_data(self, *args: str) -> Outcome:
        return self.put(str(self.data), "--type", "dataset", "--name", "data", *args)

    def artifact(self) -> Artifact:
        artifact = Artifact("data", "dataset")
        artifact.add_dir(self.data)
        return artifact

    def log(self, artifact: Artifact, callback: Callback | None = None) -> Outcome:
        def call() -> None:
            with Store(self.url) as store:
                if callback is None:
                    store.log_artifact(artifact)
                else:
                    store.log_artifact(artifact, callback=callback)

        return api(call)


@pytest.fixture
def env(tmp_path: Path) -> Env:
    root = tmp_path / "store"
    data = make_folder(tmp_path / "project" / "data", FILES)
    outside = make_folder(tmp_path / "outside", {"secret.txt": b"SECRET", "dir/s.txt": b"S"})
    with Store.init(str(root)) as store:
        artifact = Artifact("data", "dataset")
        artifact.add_dir(data)
        store.log_artifact(artifact)
    # New content, so a put that got through would store new blobs.
    (data / "new.bin").write_bytes(os.urandom(3 << 20))
    return Env(tmp_path, root, data, outside)


class OnFirstUpdate(Callback):  # type: ignore[misc]
    """Acts once, on the first progress update: while the put is reading."""

    def __init__(self, action: Callable[[], object]) -> None:
        super().__init__()
        self.action: Callable[[], object] | None = action

    def relative_update(self, inc: int = 1) -> None:
        if self.action is not None:
            action, self.action = self.action, None
            action()


# -- through the CLI -----------------------------------------------------------------------------


def cli_the_store_itself(e: Env) -> Outcome:
    return e.put(e.url, "--type", "dataset", "--name", "self")


def cli_missing_path(e: Env) -> Outcome:
    return e.put(str(e.tmp / "nope.bin"), "--type", "model")


def cli_fifo_given(e: Env) -> Outcome:
    os.mkfifo(e.tmp / "pipe")
    return e.put(str(e.tmp / "pipe"), "--type", "model")


def cli_fifo_in_folder(e: Env) -> Outcome:
    os.mkfifo(e.data / "sub" / "pipe")
    return e.put_data()


def cli_socket_in_folder(e: Env) -> Outcome:
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(e.data / "sock"))
    try:
        return e.put_data()
    finally:
        server.close()


def cli_device_in_folder(e: Env) -> Outcome:
    try:
        os.mknod(e.data / "null", stat.S_IFCHR | 0o600, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("this container may not make device nodes")
    return e.put_data()


def cli_link_loop_in_folder(e: Env) -> Outcome:
    (e.data / "loop1").symlink_to("loop2")
    (e.data / "loop2").symlink_to("loop1")
    return e.put_data()


def cli_broken_link_in_folder(e: Env) -> Outcome:
    (e.data / "dangling").symlink_to(e.data / "was-here")
    return e.put_data()


def cli_link_outside_folder(e: Env) -> Outcome:
    (e.data / "escape").symlink_to(e.outside / "secret.txt")
    return e.put_data()


def cli_type_mismatch(e: Env) -> Outcome:
    return e.put(str(e.data), "--type", "model", "--name", "data")


def cli_type_mismatch_json(e: Env) -> Outcome:
    outcome = e.put(str(e.data), "--type", "model", "--name", "data", "--json")
    # Under --json the one line is followed by its JSON form.
    return Outcome(outcome.code, outcome.lines[:1], outcome.stdout)


# -- through the Python API, with changes made after add_dir or while the put reads ----------------


def api_file_vanished(e: Env) -> Outcome:
    artifact = e.artifact()
    (e.data / "sub" / "c.csv").unlink()
    return e.log(artifact)


def api_file_became_link_outside(e: Env) -> Outcome:
    artifact = e.artifact()
    (e.data / "a.txt").unlink()
    (e.data / "a.txt").symlink_to(e.outside / "secret.txt")
    return e.log(artifact)


def api_folder_became_link_outside(e: Env) -> Outcome:
    artifact = e.artifact()
    shutil.rmtree(e.data / "sub")
    (e.data / "sub").symlink_to(e.outside / "dir", target_is_directory=True)
    return e.log(artifact)


def api_file_became_fifo(e: Env) -> Outcome:
    artifact = e.artifact()
    (e.data / "a.txt").unlink()
    os.mkfifo(e.data / "a.txt")  # opening it must not wait for a writer
    return e.log(artifact)


def api_file_became_folder(e: Env) -> Outcome:
    artifact = e.artifact()
    (e.data / "a.txt").unlink()
    (e.data / "a.txt").mkdir()
    return e.log(artifact)


def api_file_became_link_loop(e: Env) -> Outcome:
    artifact = e.artifact()
    (e.data / "a.txt").unlink()
    (e.data / "a.txt").symlink_to("a.txt")
    return e.log(artifact)


def api_truncated_while_read(e: Env) -> Outcome:
    victim = e.data / "new.bin"
    return e.log(e.artifact(), OnFirstUpdate(lambda: os.truncate(victim, 1000)))


def api_grew_before_its_turn(e: Env) -> Outcome:
    def grow() -> None:
        with (e.data / "sub" / "c.csv").open("ab") as f:
            f.write(b"3,4\n")

    return e.log(e.artifact(), OnFirstUpdate(grow))


def api_swapped_for_a_link_while_read(e: Env) -> Outcome:
    def swap() -> None:
        (e.data / "sub" / "c.csv").unlink()
        (e.data / "sub" / "c.csv").symlink_to(e.outside / "secret.txt")

    return e.log(e.artifact(), OnFirstUpdate(swap))


def api_vanished_while_read(e: Env) -> Outcome:
    return e.log(e.artifact(), OnFirstUpdate(lambda: (e.data / "sub" / "c.csv").unlink()))


def api_add_file_fifo(e: Env) -> Outcome:
    os.mkfifo(e.tmp / "pipe")
    return api(lambda: Artifact("m", "model").add_file(e.tmp / "pipe"))


def api_add_file_folder(e: Env) -> Outcome:
    return api(lambda: Artifact("m", "model").add_file(e.data))


def api_only_the_store(e: Env) -> Outcome:
    artifact = Artifact("self", "dataset")
    artifact.add_dir(e.root)
    return e.log(artifact)


def api_type_mismatch(e: Env) -> Outcome:
    artifact = Artifact("data", "model")
    artifact.add_dir(e.data)
    return e.log(artifact)


def api_unreadable_folder_at_add(e: Env) -> Outcome:
    def scandir_denied(path: object) -> object:
        raise PermissionError(13, "Permission denied", str(path))

    # Root may read anything: the refusal comes from the operating system's boundary.
    real = os.scandir
    os.scandir = scandir_denied  # type: ignore[assignment]
    try:
        return api(lambda: Artifact("data", "dataset").add_dir(e.data))
    finally:
        os.scandir = real


CASES: list[tuple[Callable[[Env], Outcome], int, str, type[Exception] | None]] = [
    (cli_the_store_itself, 2, r"nothing to log in self: .*a store never contains itself", None),
    (cli_missing_path, 2, r"nope\.bin.*no such file", None),
    (cli_fifo_given, 2, r"pipe: it is a FIFO .*not a file", None),
    (cli_fifo_in_folder, 2, r"sub/pipe: it is a FIFO .*--exclude 'sub/pipe'", None),
    (cli_socket_in_folder, 2, r"sock: it is a socket, not a regular file.*--exclude", None),
    (cli_device_in_folder, 2, r"null: it is a character device.*--exclude 'null'", None),
    (cli_link_loop_in_folder, 2, r"loop\d: it is a loop of symbolic links.*--exclude", None),
    (cli_broken_link_in_folder, 2, r"dangling: it is a broken link", None),
    (cli_link_outside_folder, 2, r"escape.*outside the folder", None),
    (cli_type_mismatch, 2, r"'data' has type 'dataset', not 'model'", None),
    (cli_type_mismatch_json, 2, r"'data' has type 'dataset', not 'model'", None),
    (api_file_vanished, 2, r"c\.csv no longer exists", NotFoundError),
    (api_file_became_link_outside, 2, r"a\.txt.*now a link to .*outside", UnsafePathError),
    (api_folder_became_link_outside, 2, r"sub.*now a link to .*outside", UnsafePathError),
    (api_file_became_fifo, 2, r"a\.txt: it is a FIFO", FileAccessError),
    (api_file_became_folder, 2, r"a\.txt: it is a folder, not a regular file", FileAccessError),
    (api_file_became_link_loop, 2, r"a\.txt: it is a loop of symbolic links", FileAccessError),
    (api_truncated_while_read, 2, r"new\.bin changed while it was read", SourceChangedError),
    (api_grew_before_its_turn, 2, r"c\.csv changed while it was read", SourceChangedError),
    (api_swapped_for_a_link_while_read, 2, r"c\.csv.*now a link to .*outside", UnsafePathError),
    (api_vanished_while_read, 2, r"c\.csv no longer exists", NotFoundError),
    (api_add_file_fifo, 2, r"pipe: it is a FIFO", FileAccessError),
    (api_add_file_folder, 2, r"data: it is a folder, not a file; add it with add_dir", None),
    (api_only_the_store, 2, r"all its files are \d+ files of the store itself", UserError),
    (api_type_mismatch, 2, r"'data' has type 'dataset', not 'model'", ArtifactTypeError),
    (api_unreadable_folder_at_add, 2, r"data: permission denied", FileAccessError),
]


@pytest.mark.parametrize(
    ("case", "code", "says", "error"), CASES, ids=[c[0].__name__ for c in CASES]
)
def test_refused(
    env: Env,
    case: Callable[[Env], Outcome],
    code: int,
    says: str,
    error: type[Exception] | None,
) -> None:
    before = snapshot(env.root)
    outcome = case(env)
    check_refused(
        outcome, code=code, says=says, before=before, after=snapshot(env.root), error=error
    )


# -- as a user who may not read: a real process run as nobody -------------------------------------


def _as_nobody(e: Env, *args: str) -> Outcome:
    for folder in [e.tmp, *e.tmp.parents]:
        if folder != Path("/"):
            folder.chmod(folder.stat().st_mode | 0o011)
    for path in [e.root, *e.root.rglob("*"), e.data.parent]:
        path.chmod(0o777 if path.is_dir() else 0o666)
    cache = e.tmp / "nobody-cache"
    cache.mkdir()
    cache.chmod(0o777)
    return art_as_nobody("--store", e.url, *args, cwd=e.tmp, cache=cache)


@pytest.mark.parametrize("what", ["file", "folder"])
def test_unreadable_input_is_refused_for_real(env: Env, what: str) -> None:
    # Everything else is readable: the files before the unreadable one leave no blob either.
    for path in [env.data, *env.data.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    if what == "file":
        (env.data / "sub" / "c.csv").chmod(0o600)
        says = r"sub/c\.csv: permission denied"
    else:
        (env.data / "sub").chmod(0o700)
        says = r"data/sub: permission denied"
    before = snapshot(env.root)
    outcome = _as_nobody(env, "put", str(env.data), "--type", "dataset", "--name", "data")
    check_refused(outcome, code=2, says=says, before=before, after=snapshot(env.root))
