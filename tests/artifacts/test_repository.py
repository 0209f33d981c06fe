"""The repository: one place that opens a store's parts, lazily and in order, and the verbs
as free functions over it (``Store`` is a shell that delegates to them)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from artstore.artifacts import Artifact, Store, current_actor
from artstore.artifacts.aliases import remove_alias, set_alias
from artstore.artifacts.diff import diff
from artstore.artifacts.log import log_artifact, record, stage
from artstore.artifacts.lookup import get_version
from artstore.artifacts.promote import promote
from artstore.artifacts.repository import Repository, open_repository
from artstore.artifacts.verify import verify
from artstore.errors import InvalidArgumentError, NotFoundError, ProtectedAliasError
from artstore.settings import StoreLocation, resolve_store
from tests.hostile.harness import snapshot


def _artifact(folder: Path, data: bytes, name: str = "model") -> Artifact:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "w.bin").write_bytes(data)
    artifact = Artifact(name, "model", metadata={"acc": len(data)})
    artifact.add_dir(folder)
    return artifact


def test_constructing_opens_nothing(tmp_path: Path) -> None:
    repo = open_repository(StoreLocation(str(tmp_path / "nowhere"), implicit=False))
    assert repr(repo) == f"Repository({str(tmp_path / 'nowhere')!r})"
    assert not (tmp_path / "nowhere").exists()


def test_the_implicit_store_appears_on_the_first_write_only(tmp_path: Path) -> None:
    location = resolve_store(cwd=tmp_path)
    assert location.implicit
    repo = open_repository(location)
    with pytest.raises(NotFoundError, match="no artstore store in this folder"):
        repo.blobs  # noqa: B018 - a read
    assert not (tmp_path / ".artstore").exists()
    result = log_artifact(repo, _artifact(tmp_path / "a", b"one"), [], run_id=None)
    assert result.created and (tmp_path / ".artstore" / "catalog.db").is_file()
    repo.close()


def test_the_verbs_are_functions_over_a_repository(store_url: str, tmp_path: Path) -> None:
    repo = open_repository(resolve_store(store_url))
    log_artifact(repo, _artifact(tmp_path / "a", b"one"), [], run_id=None)
    log_artifact(repo, _artifact(tmp_path / "b", b"three"), ["candidate"], run_id=None)
    assert get_version(repo, "model:candidate").version == "v1"
    assert [c.path for c in diff(repo, "model:v0", "model:v1").changed] == ["w.bin"]
    assert verify(repo).ok
    result = promote(
        repo, "model:v1", "prod", require=["metadata.acc>=4"], expect=None, run_id=None, reason=None
    )
    assert result.move is not None and result.version.version == "v1"
    repo.close()


def test_store_is_a_shell_over_one_repository(store_url: str) -> None:
    repo = open_repository(resolve_store(store_url))
    with Store.over(repo) as store:
        assert isinstance(store.repository, Repository)
        assert store.blobs is repo.blobs and store.catalog is repo.catalog
        assert store.settings is repo.settings and store.location is repo.location
        assert store.url == repo.url == store_url


def test_protected_aliases_come_from_the_settings(store_url: str, tmp_path: Path) -> None:
    (Path(store_url) / "artstore.yaml").write_text("protected_aliases: [production]\n")
    repo = open_repository(resolve_store(store_url))
    with pytest.raises(ProtectedAliasError):
        log_artifact(repo, _artifact(tmp_path / "a", b"one"), ["production"], run_id=None)
    assert repo.catalog.versions.artifacts() == []  # refused before anything was recorded
    repo.close()


def _protecting(store_url: str, tmp_path: Path) -> Repository:
    """A repository whose settings protect ``production``, held by model:v0."""
    (Path(store_url) / "artstore.yaml").write_text("protected_aliases: [production]\n")
    repo = open_repository(resolve_store(store_url))
    log_artifact(repo, _artifact(tmp_path / "a", b"one"), [], run_id=None)
    log_artifact(repo, _artifact(tmp_path / "b", b"three"), [], run_id=None)
    promote(repo, "model:v0", "production", require=[], expect=None, run_id=None, reason=None)
    return repo


@pytest.mark.parametrize(
    "write",
    [
        pytest.param(
            lambda repo: set_alias(repo, "model:v1", "production", current_actor()),
            id="aliases.set_alias",
        ),
        pytest.param(
            lambda repo: remove_alias(repo, "model", "production", current_actor()),
            id="aliases.remove_alias",
        ),
    ],
)
def test_the_alias_verbs_refuse_a_protected_alias(
    store_url: str, tmp_path: Path, write: Callable[[Repository], object]
) -> None:
    repo = _protecting(store_url, tmp_path)
    before = snapshot(Path(store_url))
    with pytest.raises(ProtectedAliasError):
        write(repo)
    assert snapshot(Path(store_url)) == before
    repo.close()


def test_recording_a_staged_version_refuses_a_protected_alias(
    store_url: str, tmp_path: Path
) -> None:
    # log.record is below log_artifact's early check: the catalog's transaction refuses.
    repo = _protecting(store_url, tmp_path)
    staged = stage(repo.blobs, _artifact(tmp_path / "c", b"seven"), repo.stat_cache)
    before = snapshot(Path(store_url))
    with pytest.raises(ProtectedAliasError):
        record(repo.catalog, staged, aliases=["production"], actor=current_actor())
    assert snapshot(Path(store_url)) == before
    assert repo.catalog.versions.get("model", "production").number == 0
    repo.close()


def test_a_catalog_given_at_init_protects_what_the_settings_protect(tmp_path: Path) -> None:
    # Store.init with --db opens that catalog before the store exists; the one it keeps must
    # hold the settings' protected aliases, as the early check does.
    root = tmp_path / "store"
    root.mkdir()
    (root / "artstore.yaml").write_text("protected_aliases: [production]\n")
    db = f"sqlite:///{tmp_path / 'elsewhere.db'}"
    with Store.init(str(root), db=db) as store:
        assert store.catalog.protected == frozenset({"production"})
        artifact = _artifact(tmp_path / "a", b"one")
        store.log_artifact(artifact)
        with pytest.raises(ProtectedAliasError):
            store.catalog.versions.move_alias("model", "production", 0, current_actor())


@pytest.mark.parametrize("location", ["/some/path", None, 3])
def test_a_repository_opens_a_store_location_only(location: object) -> None:
    with pytest.raises(InvalidArgumentError, match="StoreLocation"):
        open_repository(location)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="StoreLocation"):
        Repository(location)  # type: ignore[arg-type]
