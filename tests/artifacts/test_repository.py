"""The repository: one place that opens a store's parts, lazily and in order, and the verbs
as free functions over it (``Store`` is a shell that delegates to them)."""

from __future__ import annotations

from pathlib import Path

import pytest

from artstore.artifacts import Artifact, Store
from artstore.artifacts.diff import diff
from artstore.artifacts.log import log_artifact
from artstore.artifacts.lookup import find_version
from artstore.artifacts.promote import promote
from artstore.artifacts.repository import Repository, open_repository
from artstore.artifacts.verify import verify
from artstore.errors import NotFoundError, ProtectedAliasError
from artstore.settings import StoreLocation, resolve_store


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
    assert find_version(repo, "model:candidate").version == "v1"
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
