"""The Store: references, aliases and their history, errors, and where the store is."""

from __future__ import annotations

from pathlib import Path

import pytest

from artstore.artifacts import Artifact, Store
from artstore.errors import InvalidNameError, NotAStoreError, NotFoundError


def log(store: Store, name: str, content: bytes, aliases=(), type="dataset"):
    artifact = Artifact(name, type)
    with artifact.new_file("data.bin", mode="wb") as f:
        f.write(content)
    return store.log_artifact(artifact, aliases)


def aliases_of(store: Store, name: str) -> dict[str, str]:
    """alias -> version label, from every version's aliases."""
    found: dict[str, str] = {}
    for version in store.versions(name):
        for alias in version.aliases:
            assert alias not in found, f"{alias} sits on two versions"
            found[alias] = version.version
    return found


# -- acceptance 2: latest, aliases, history, refused names ---------------------------------------


def test_latest_always_names_the_highest_version(store):
    for i in range(4):
        version = log(store, "m", b"%d" % i)
        assert store.artifact("m:latest").version == f"v{i}"
        assert store.artifact("m").number == i == version.number
    # re-logging older content still moves latest to the new, highest version
    log(store, "m", b"0")
    assert store.artifact("m:latest").version == "v4"
    assert aliases_of(store, "m")["latest"] == "v4"


def test_an_alias_sits_on_at_most_one_version_and_every_move_is_recorded(store):
    log(store, "m", b"0", aliases=["prod"])
    log(store, "m", b"1")
    log(store, "m", b"2")
    assert aliases_of(store, "m") == {"latest": "v2", "prod": "v0"}

    store.set_alias("m:v1", "prod", reason="better")
    assert aliases_of(store, "m") == {"latest": "v2", "prod": "v1"}
    store.set_alias("m", "prod")
    assert aliases_of(store, "m") == {"latest": "v2", "prod": "v2"}
    store.remove_alias("m", "prod", reason="rollback")
    assert aliases_of(store, "m") == {"latest": "v2"}

    prod = [(m.from_number, m.to_number, m.reason) for m in store.alias_history("m", "prod")]
    assert prod == [(None, 0, None), (0, 1, "better"), (1, 2, None), (2, None, "rollback")]
    latest = [(m.from_number, m.to_number) for m in store.alias_history("m", "latest")]
    assert latest == [(None, 0), (0, 1), (1, 2)]
    everything = store.alias_history("m")
    assert len(everything) == len(prod) + len(latest)
    assert all(m.artifact == "m" and m.who for m in everything)
    assert [m.at for m in everything] == sorted(m.at for m in everything)


def test_moving_an_alias_to_where_it_is_writes_no_history(store):
    log(store, "m", b"0", aliases=["prod"])
    store.set_alias("m:v0", "prod")
    assert len(store.alias_history("m", "prod")) == 1


@pytest.mark.parametrize("alias", ["v3", "v0", "latest", "bad alias", "-x", "", "a" * 129, "a/b"])
def test_bad_aliases_are_refused_when_logging_and_setting(store, alias):
    log(store, "m", b"0")
    with pytest.raises(InvalidNameError):
        store.set_alias("m:v0", alias)
    with pytest.raises(InvalidNameError):
        log(store, "m", b"1", aliases=[alias])
    assert [v.version for v in store.versions("m")] == ["v0"]


@pytest.mark.parametrize("name", ["", "-a", ".a", "a b", "a/b", "a:b", "é", "a" * 129])
def test_bad_artifact_names_are_refused(name):
    with pytest.raises(InvalidNameError):
        Artifact(name, "dataset")


def test_bad_type_is_refused():
    with pytest.raises(InvalidNameError):
        Artifact("ok", "bad type")


# -- lookups -------------------------------------------------------------------------------------


def test_artifact_references(store):
    log(store, "m", b"0", aliases=["prod"])
    log(store, "m", b"1")
    assert store.artifact("m").version == "v1"
    assert store.artifact("m:v0").version == "v0"
    assert store.artifact("m:prod").version == "v0"
    version = store.artifact("m:v1")
    assert (version.name, version.number, version.type, version.qualified_name) == (
        "m",
        1,
        "dataset",
        "m:v1",
    )


@pytest.mark.parametrize(
    ("ref", "words"),
    [
        ("nope", ["nope", "art ls"]),
        ("m:v7", ["m", "v7"]),
        ("m:prod", ["m", "prod", "latest"]),
    ],
)
def test_not_found_errors_are_one_line_and_name_what_is_missing(store, ref, words):
    log(store, "m", b"0")
    with pytest.raises(NotFoundError) as info:
        store.artifact(ref)
    message = str(info.value)
    assert "\n" not in message
    for word in words:
        assert word in message


def test_versions_and_alias_history_of_unknown_artifact(store):
    with pytest.raises(NotFoundError):
        store.versions("nope")
    with pytest.raises(NotFoundError):
        store.remove_alias("nope", "prod")


def test_removing_a_missing_alias_is_not_found(store):
    log(store, "m", b"0")
    with pytest.raises(NotFoundError, match="prod"):
        store.remove_alias("m", "prod")


def test_artifacts_listing_and_type_filter(store):
    log(store, "b-model", b"0", type="model")
    log(store, "a-data", b"1")
    log(store, "a-data", b"2")
    infos = store.artifacts()
    assert [(a.name, a.type, a.version_count, a.latest_number) for a in infos] == [
        ("a-data", "dataset", 2, 1),
        ("b-model", "model", 1, 0),
    ]
    assert [a.name for a in store.artifacts("model")] == ["b-model"]


# -- where the store is --------------------------------------------------------------------------


def test_implicit_store_reads_are_not_found(tmp_path):
    # the autouse fixture put us in an empty folder with no store above it
    with Store() as store:
        assert store.location.implicit
        with pytest.raises(NotFoundError, match="art init"):
            store.artifact("m")
    assert not Path(".artstore").exists()


def test_implicit_store_is_created_by_log_artifact():
    with Store() as store:
        version = log(store, "m", b"0")
    assert version.version == "v0"
    assert (Path(".artstore") / "artstore.json").is_file()
    with Store() as again:  # found by walking up, now explicit
        assert not again.location.implicit
        assert again.artifact("m").digest == version.digest


def test_nearest_store_above_the_working_folder_is_used(store_url, monkeypatch, tmp_path):
    root = tmp_path / "project"
    (root / "a" / "b").mkdir(parents=True)
    with Store.init(str(root / ".artstore")) as store:
        log(store, "m", b"0")
    monkeypatch.chdir(root / "a" / "b")
    with Store() as store:
        assert store.artifact("m").version == "v0"


def test_env_var_names_the_store(store_url, monkeypatch):
    with Store(store_url) as store:
        log(store, "m", b"0")
    monkeypatch.setenv("ARTSTORE_URL", store_url)
    with Store() as store:
        assert store.artifact("m").version == "v0"


def test_non_local_url_never_initialised_is_not_a_store():
    with Store("memory://never-initialised-artstore") as store:
        with pytest.raises(NotAStoreError, match="art init"):
            store.artifact("m")
        with pytest.raises(NotAStoreError, match="art init memory://never-initialised-artstore"):
            log(store, "m", b"0")


def test_explicit_local_folder_never_initialised_is_not_created(tmp_path):
    target = tmp_path / "typo"
    with Store(str(target)) as store, pytest.raises(NotAStoreError, match="art init"):
        log(store, "m", b"0")
    assert not target.exists()
