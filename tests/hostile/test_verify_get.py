"""Hostile inputs to the read side: download targets, crafted manifests, verify and diff.

Each case builds what a careless or hostile user would leave behind (through the API, as an
old release or another tool could have written it), snapshots the store, runs one command or
API call, and checks the refusal: exit code (or exception type), one line naming the problem,
and the store unchanged.
"""

from __future__ import annotations

import json
import os
import struct
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from artstore.artifacts import Artifact, Manifest, Store
from artstore.errors import (
    ArtstoreError,
    CorruptBlobError,
    FileAccessError,
    NotFoundError,
    UnsafePathError,
    UnsupportedFormatError,
)
from artstore.storage import Digest, Kind, canonical_json, hash_bytes
from tests.conftest import record_version
from tests.hostile.harness import Outcome, api, art, art_as_nobody, check_refused, snapshot

ART = Path(sys.executable).with_name("art")
FILES = {"a.txt": b"alpha\n", "sub/b.bin": bytes(range(256))}


@dataclass
class Env:
    """A project folder holding its store in ``./.artstore``, with ``data:v0`` logged."""

    tmp: Path
    project: Path
    root: Path
    store: Store
    catalog_url: str | None = None

    @property
    def url(self) -> str:
        return str(self.root)

    def out(self, name: str = "out") -> Path:
        return self.tmp / name

    def blob(self, data: bytes) -> Path:
        return Path(self.store.blobs.path(Kind.BLOB, hash_bytes(data)))

    def damage(self, data: bytes, replacement: bytes | None = None) -> None:
        blob = self.blob(data)
        blob.chmod(0o644)
        blob.write_bytes(replacement if replacement is not None else bytes(len(data)))

    def crafted(self, name: str, entries: dict[str, bytes], sizes: dict[str, int] | None = None):
        """A version whose manifest is written by hand (its blobs exist)."""
        manifest = {}
        for path, data in entries.items():
            digest = self.store.blobs.put_bytes(Kind.BLOB, data).digest
            size = (sizes or {}).get(path, len(data))
            manifest[path] = {"digest": digest.hex, "size": size}
        raw = canonical_json({"entries": manifest, "format": 1})
        digest = self.store.blobs.put_bytes(Kind.MANIFEST, raw).digest
        record_version(
            self.store,
            name,
            digest.hex,
            size=sum(len(d) for d in entries.values()),
            file_count=len(entries),
            who="careless@host",
        )


@pytest.fixture
def env(tmp_path: Path):
    project = tmp_path / "proj"
    for rel, data in FILES.items():
        (project / "data" / rel).parent.mkdir(parents=True, exist_ok=True)
        (project / "data" / rel).write_bytes(data)
    root = project / ".artstore"
    with Store.init(str(root)) as store:
        artifact = Artifact("data", "dataset")
        artifact.add_dir(project / "data")
        store.log_artifact(artifact)
        yield Env(tmp_path, project, root, store)


def _cli(e: Env, *args: str) -> Callable[[], Outcome]:
    return lambda: art("--store", e.url, *args)


def _as_nobody(e: Env, *args: str) -> Outcome:
    """``art ARGS`` in a real process run as the unprivileged user ``nobody``."""
    return art_as_nobody("--store", e.url, *args, cwd=e.tmp, cache=e.tmp / "nobody-cache")


def _open_to_nobody(e: Env) -> None:
    # Root's tmp_path is private; nobody needs to reach the store (SQLite writes its -shm
    # beside the catalog even to read it) and its cache, but not the read-only target.
    for folder in [e.tmp, *e.tmp.parents]:
        if folder == Path("/"):
            break
        folder.chmod(folder.stat().st_mode | 0o011)
    (e.tmp / "nobody-cache").mkdir(mode=0o777)
    for path in [e.root, *e.root.rglob("*")]:
        path.chmod(0o777 if path.is_dir() else 0o666)
    e.project.chmod(0o777)


# -- each case: prepare (may build bad data), then the one call that must be refused -------------


def get_into_store(e: Env):
    return _cli(e, "get", "data:v0", e.url)


def get_into_store_subfolder(e: Env):
    return _cli(e, "get", "data:v0", str(e.root / "blobs" / "x"))


def get_catalog_over_live_catalog(e: Env):
    e.crafted("proj", {"README": b"hi", ".artstore/catalog.db": b"SQLite format 3\x00junk"})
    return _cli(e, "get", "proj:v0", str(e.project))


def get_store_marker_into_project(e: Env):
    e.crafted("proj", {".artstore/artstore.json": b'{"format": 1}'})
    return _cli(e, "get", "proj:v0", str(e.project))


def get_over_outside_catalog_wal(e: Env):
    elsewhere = e.tmp / "db"
    elsewhere.mkdir()
    e.catalog_url = f"sqlite:///{elsewhere / 'cat.db'}"
    e.store.close()
    e.store = Store.init(e.url, db=e.catalog_url)
    e.crafted("x", {"cat.db-wal": b"junk"})
    return lambda: art("--store", e.url, "--db", e.catalog_url, "get", "x:v0", str(elsewhere))


def get_onto_a_file(e: Env):
    e.out().write_bytes(b"mine")
    return _cli(e, "get", "data:v0", str(e.out()))


def get_onto_a_dangling_link(e: Env):
    e.out().symlink_to(e.tmp / "nowhere")
    return _cli(e, "get", "data:v0", str(e.out()))


def get_file_where_folder_goes(e: Env):
    e.out().mkdir()
    (e.out() / "sub").write_bytes(b"in the way")
    return _cli(e, "get", "data:v0", str(e.out()))


def get_folder_where_file_goes(e: Env):
    (e.out() / "a.txt").mkdir(parents=True)
    return _cli(e, "get", "data:v0", str(e.out()))


def get_dangling_link_where_folder_goes(e: Env):
    e.out().mkdir()
    (e.out() / "sub").symlink_to(e.tmp / "gone")
    return _cli(e, "get", "data:v0", str(e.out()))


def get_into_read_only_folder_as_nobody(e: Env):
    _open_to_nobody(e)
    target = e.out()
    target.mkdir(mode=0o755)  # root's: nobody may enter but not write
    return lambda: _as_nobody(e, "get", "data:v0", str(target))


def get_into_read_only_folder_in_process(e: Env):
    # The same refusal through the in-process CLI, with the OS's answer for the target folder
    # replaced at its boundary (root may write anywhere).
    target = e.out()
    target.mkdir()
    real = os.access

    def run() -> Outcome:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(os, "access", lambda p, mode: Path(p) != target and real(p, mode))
            return art("--store", e.url, "get", "data:v0", str(target / "inner"))

    return run


def get_path_too_long(e: Env):
    e.crafted("long", {"/".join(["d" * 250] * 20) + "/f": b"deep"})
    return _cli(e, "get", "long:v0", str(e.out()))


def get_file_inside_a_file(e: Env):
    e.crafted("clash", {"a": b"1", "a/b": b"2"})
    return _cli(e, "get", "clash:v0", str(e.out()))


def get_unsafe_path(e: Env):
    e.crafted("evil", {"ok.txt": b"ok", "../../escape.txt": b"pwned"})
    return _cli(e, "get", "evil:v0", str(e.out()))


def get_name_over_255_bytes(e: Env):
    e.crafted("wide", {"é" * 130: b"x"})
    return _cli(e, "get", "wide:v0", str(e.out()))


def get_missing_blob(e: Env):
    e.blob(FILES["sub/b.bin"]).unlink()
    return _cli(e, "get", "data:v0", str(e.out()))


def get_corrupt_blob(e: Env):
    e.damage(FILES["sub/b.bin"])
    return _cli(e, "get", "data:v0", str(e.out()))


def get_missing_manifest(e: Env):
    digest = Digest(e.store.artifact("data:v0").digest)
    Path(e.store.blobs.path(Kind.MANIFEST, digest)).unlink()
    return _cli(e, "get", "data:v0", str(e.out()))


def _record_malformed_digest(e: Env) -> None:
    record_version(e.store, "odd", "../../etc/passwd", size=1, file_count=1, who="tool@host")


def get_version_whose_digest_is_malformed(e: Env):
    _record_malformed_digest(e)
    return _cli(e, "get", "odd:v0", str(e.out()))


def verify_version_whose_digest_is_malformed(e: Env):
    _record_malformed_digest(e)
    return _cli(e, "verify")


def api_download_into_store(e: Env):
    version = e.store.artifact("data:v0")
    return lambda: api(lambda: version.download(e.root / "manifests"))


def api_file_over_catalog(e: Env):
    e.crafted("proj", {".artstore/catalog.db-wal": b"junk"})
    version = e.store.artifact("proj:v0")
    return lambda: api(lambda: version.file(".artstore/catalog.db-wal", e.project))


def verify_unsafe_manifest_others_still_checked(e: Env):
    e.crafted("evil", {"../escape": b"x"})
    return _cli(e, "verify")


def verify_manifest_lies_about_size(e: Env):
    e.crafted("liar", {"f.bin": b"ten bytes!"}, sizes={"f.bin": 3})
    return _cli(e, "verify")


def verify_deep_corrupt_blob(e: Env):
    e.damage(FILES["a.txt"])
    return _cli(e, "verify", "--deep")


def verify_truncated_blob(e: Env):
    e.damage(FILES["sub/b.bin"], b"short")
    return _cli(e, "verify", "data")


def diff_corrupt_blob_is_not_a_change(e: Env):
    _log_models(e)
    _flip_last_byte(e, "net:v0", "model.safetensors")
    return _cli(e, "diff", "net:v0", "net:v1")


def diff_stats_shape_disagrees_with_offsets(e: Env):
    for i in range(2):
        folder = e.tmp / f"bad{i}"
        folder.mkdir()
        header = json.dumps({"w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 4]}})
        body = struct.pack("<Q", len(header)) + header.encode() + bytes([i]) * 4
        (folder / "model.safetensors").write_bytes(body)
        artifact = Artifact("bad", "model")
        artifact.add_dir(folder)
        e.store.log_artifact(artifact)
    return _cli(e, "diff", "bad:v0", "bad:v1", "--stats")


def api_manifest_decode_file_and_folder(e: Env):
    raw = canonical_json(
        {
            "entries": {p: {"digest": hash_bytes(b"").hex, "size": 0} for p in ("x", "x/y")},
            "format": 1,
        }
    )
    return lambda: api(lambda: Manifest.decode(raw, "crafted manifest"))


def api_manifest_decode_deeply_nested(e: Env):
    return lambda: api(lambda: Manifest.decode(b"[" * 50_000, "crafted manifest"))


def api_put_file_inside_a_file(e: Env):
    (e.tmp / "f1").write_bytes(b"one")
    (e.tmp / "f2").write_bytes(b"two")
    artifact = Artifact("clash", "dataset")
    artifact.add_file(e.tmp / "f1", "a")
    artifact.add_file(e.tmp / "f2", "a/b")
    return lambda: api(lambda: e.store.log_artifact(artifact))


def _log_models(e: Env) -> None:
    import numpy as np
    from safetensors.numpy import save_file

    rng = np.random.default_rng(3)
    base = {f"w{i}": rng.standard_normal((16, 16)).astype(np.float32) for i in range(4)}
    tuned = dict(base, w0=base["w0"] + 1)
    for i, tensors in enumerate((base, tuned)):
        folder = e.tmp / f"m{i}"
        folder.mkdir()
        save_file(tensors, str(folder / "model.safetensors"))
        artifact = Artifact("net", "model")
        artifact.add_dir(folder)
        e.store.log_artifact(artifact)


def _flip_last_byte(e: Env, ref: str, path: str) -> None:
    entry = e.store.artifact(ref).manifest().entries[path]
    blob = Path(e.store.blobs.path(Kind.BLOB, entry.digest))
    blob.chmod(0o644)
    data = bytearray(blob.read_bytes())
    data[-1] ^= 0x01
    blob.write_bytes(bytes(data))


@dataclass(frozen=True)
class Case:
    prepare: Callable[[Env], Callable[[], Outcome]]
    code: int
    says: str
    error: type[ArtstoreError] | None = None
    #: Refused before the first byte: nothing outside the store changes either. (A missing or
    #: corrupt blob is found while copying: files verified before it stay.)
    writes_nothing: bool = True


CASES = {
    "get-into-the-store": Case(get_into_store, 2, r"inside the store's own folder"),
    "get-into-a-store-subfolder": Case(get_into_store_subfolder, 2, r"inside the store's own"),
    "get-catalog-over-the-live-catalog": Case(
        get_catalog_over_live_catalog, 2, r"\.artstore/catalog\.db: it is the store's live catalog"
    ),
    "get-store-marker-into-the-project": Case(
        get_store_marker_into_project, 2, r"artstore\.json: it is inside the store's own folder"
    ),
    "get-over-an-outside-catalog-wal": Case(
        get_over_outside_catalog_wal, 2, r"cat\.db-wal: it is the store's live catalog"
    ),
    "get-onto-a-file": Case(get_onto_a_file, 2, r"cannot use .*/out: it is a file"),
    "get-onto-a-dangling-link": Case(get_onto_a_dangling_link, 2, r"nowhere, which does not"),
    "get-file-where-a-folder-goes": Case(
        get_file_where_folder_goes, 2, r"out/sub: it is a file, where the folder of 'sub/b\.bin'"
    ),
    "get-folder-where-a-file-goes": Case(
        get_folder_where_file_goes, 2, r"a\.txt: it is a folder, where the file 'a\.txt'"
    ),
    "get-dangling-link-where-a-folder-goes": Case(
        get_dangling_link_where_folder_goes, 2, r"gone, which does not exist, where the folder"
    ),
    "get-into-a-read-only-folder": Case(
        get_into_read_only_folder_as_nobody, 2, r"out: no permission to write in this folder"
    ),
    "get-into-a-read-only-folder-in-process": Case(
        get_into_read_only_folder_in_process, 2, r"out: no permission to write in this folder"
    ),
    "get-path-too-long": Case(get_path_too_long, 2, r"the path is \d+ bytes long; this system"),
    "get-file-inside-a-file": Case(
        get_file_inside_a_file, 2, r"unsafe path 'a': it is a file and also the folder of 'a/b'"
    ),
    "get-unsafe-path": Case(get_unsafe_path, 2, r"unsafe path '\.\./\.\./escape\.txt'"),
    "get-name-over-255-bytes": Case(get_name_over_255_bytes, 2, r"is 260 bytes long"),
    "get-missing-blob": Case(
        get_missing_blob,
        2,
        r"file 'sub/b\.bin' of data:v0 is lost: its blob [0-9a-f]{32}",
        writes_nothing=False,
    ),
    "get-corrupt-blob": Case(
        get_corrupt_blob,
        1,
        r"file 'sub/b\.bin' of data:v0 \(blob [0-9a-f]{32}\) is corrupt",
        writes_nothing=False,
    ),
    "get-missing-manifest": Case(get_missing_manifest, 2, r"the manifest of data:v0 .* missing"),
    "get-version-whose-manifest-digest-is-malformed": Case(
        get_version_whose_digest_is_malformed, 2, r"manifest of odd:v0 '\.\./\.\./etc/passwd'"
    ),
    "verify-version-whose-manifest-digest-is-malformed": Case(
        verify_version_whose_digest_is_malformed, 1, r"odd:v0 manifest .*which is not a digest"
    ),
    "api-download-into-the-store": Case(
        api_download_into_store, 2, r"inside the store's own folder", FileAccessError
    ),
    "api-file-over-the-catalog-journal": Case(
        api_file_over_catalog,
        2,
        r"catalog\.db-wal: it is the store's live catalog",
        FileAccessError,
    ),
    "verify-checks-past-an-unsafe-manifest": Case(
        verify_unsafe_manifest_others_still_checked, 1, r"evil:v0 manifest [0-9a-f]{32}: unsafe"
    ),
    "verify-manifest-lying-about-a-size": Case(
        verify_manifest_lies_about_size,
        1,
        r"liar:v0 'f\.bin': wrong size .* holds 10 bytes, "
        r"the manifest says 3",
    ),
    "verify-deep-corrupt-blob": Case(
        verify_deep_corrupt_blob,
        1,
        r"data:v0 'a\.txt': corrupt \(blob [0-9a-f]{32} hashes to "
        r"[0-9a-f]{32}\)",
    ),
    "verify-truncated-blob": Case(
        verify_truncated_blob,
        1,
        r"data:v0 'sub/b\.bin': wrong size .* holds 5 bytes, the "
        r"manifest says 256",
    ),
    "diff-corrupt-blob-is-not-a-change": Case(
        diff_corrupt_blob_is_not_a_change, 1, r"'model\.safetensors' of net:v0 .* is corrupt"
    ),
    "diff-stats-shape-disagrees-with-offsets": Case(
        diff_stats_shape_disagrees_with_offsets, 2, r"needs 16 bytes, but its offsets hold 4"
    ),
    "api-manifest-file-and-folder": Case(
        api_manifest_decode_file_and_folder,
        2,
        r"'x': it is a file and also the folder",
        UnsafePathError,
    ),
    "api-put-file-inside-a-file-stores-nothing": Case(
        api_put_file_inside_a_file,
        2,
        r"unsafe path 'a': it is a file and also the folder of 'a/b'",
        UnsafePathError,
    ),
    "api-manifest-nested-too-deep": Case(
        api_manifest_decode_deeply_nested,
        2,
        r"crafted manifest is not valid JSON",
        UnsupportedFormatError,
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_refused(env: Env, name: str) -> None:
    case = CASES[name]
    run = case.prepare(env)
    outside = sorted(p for p in env.tmp.rglob("*") if not p.is_relative_to(env.root))
    before = snapshot(env.root, env.catalog_url)
    outcome = run()
    after = snapshot(env.root, env.catalog_url)
    check_refused(
        outcome, code=case.code, says=case.says, before=before, after=after, error=case.error
    )
    if case.writes_nothing:
        assert sorted(p for p in env.tmp.rglob("*") if not p.is_relative_to(env.root)) == outside


def test_the_table_is_large_enough() -> None:
    assert len(CASES) >= 15


def test_corrupt_data_is_named_with_both_digests(env: Env) -> None:
    env.damage(FILES["a.txt"])
    outcome = api(lambda: env.store.artifact("data:v0").download(env.out()))
    assert isinstance(outcome.exception, CorruptBlobError)
    assert outcome.exception.expected == hash_bytes(FILES["a.txt"]).hex
    assert outcome.exception.actual == hash_bytes(bytes(len(FILES["a.txt"]))).hex


def test_a_missing_manifest_is_not_found_in_the_api(env: Env) -> None:
    digest = Digest(env.store.artifact("data:v0").digest)
    Path(env.store.blobs.path(Kind.MANIFEST, digest)).unlink()
    outcome = api(lambda: env.store.artifact("data:v0").files())
    assert isinstance(outcome.exception, NotFoundError) and "data:v0" in outcome.lines[0]
