"""``art alias set|rm``: moves, history, refused aliases."""

from __future__ import annotations

import pytest

from artstore.artifacts import Store
from tests.cli.conftest import ISO_Z, json_out, one_error_line
from tests.conftest import make_folder


@pytest.fixture
def two_versions(art, tmp_path):
    folder = make_folder(tmp_path / "m", {"w": b"0"})
    art("put", str(folder), "-t", "model")
    (folder / "w").write_bytes(b"1")
    art("put", str(folder), "-t", "model")


def test_alias_set_and_move(art, store_url, two_versions):
    result = art("alias", "set", "m:v0", "prod")
    assert result.exit_code == 0, result.stderr
    assert "m:prod" in result.stdout and "v0" in result.stdout
    data = json_out(art("alias", "set", "m:v1", "prod", "--reason", "better", "--json"))
    assert (data["name"], data["alias"], data["from"], data["to"], data["reason"]) == (
        "m",
        "prod",
        "v0",
        "v1",
        "better",
    )
    assert ISO_Z.fullmatch(data["at"])
    with Store(store_url) as store:
        assert store.artifact("m:prod").version == "v1"
        moves = [(m.from_number, m.to_number) for m in store.alias_history("m", "prod")]
    assert moves == [(None, 0), (0, 1)]


def test_alias_rm(art, store_url, two_versions):
    art("alias", "set", "m:v0", "prod")
    data = json_out(art("alias", "rm", "m", "prod", "--json"))
    assert (data["from"], data["to"]) == ("v0", None)
    with Store(store_url) as store:
        assert "prod" not in {a for v in store.versions("m") for a in v.aliases}
    assert "prod" in one_error_line(art("alias", "rm", "m", "prod"))


def test_alias_expect_is_a_compare_and_swap(art, store_url, two_versions):
    art("alias", "set", "m:v1", "prod")
    for args in (["set", "m:v0", "prod", "--expect", "v0"], ["rm", "m", "prod", "--expect", "v0"]):
        line = one_error_line(art("alias", *args), code=1)
        assert "m:prod points at v1, not v0; nothing was moved" in line
    with Store(store_url) as store:
        assert store.artifact("m:prod").version == "v1"
        assert len(store.alias_history("m", "prod")) == 1
    assert "unset" in one_error_line(art("alias", "rm", "m", "prod", "--expect", "none"))
    assert art("alias", "set", "m:v0", "prod", "--expect", "v1").exit_code == 0
    data = json_out(art("alias", "rm", "m", "prod", "--expect", "v0", "--json"))
    assert (data["from"], data["to"]) == ("v0", None)
    assert art("alias", "set", "m:v1", "prod", "--expect", "none").exit_code == 0


@pytest.mark.parametrize("alias", ["v1", "latest", "bad alias", "x" * 129, ".x"])
def test_alias_set_refuses_bad_aliases(art, two_versions, alias):
    one_error_line(art("alias", "set", "m:v0", alias))


@pytest.mark.parametrize("ref", ["m:v5", "nope:v0", "m:staging"])
def test_alias_set_unknown_target(art, two_versions, ref):
    one_error_line(art("alias", "set", ref, "prod"))
