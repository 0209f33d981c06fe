"""A run's entity in ``art runs --filter`` and ``art runs show``, and in ``Store.runs``."""

from __future__ import annotations

import artstore
from tests.cli.conftest import one_error_line
from tests.tracker.conftest import FAST


def make_runs(store_url: str) -> None:
    for run_id, entity in (("t1", "my-team"), ("l1", "lab"), ("n1", None)):
        with artstore.init(store=store_url, id=run_id, project="p", entity=entity, **FAST):
            pass


def test_runs_filter_by_entity(art, store_url):
    make_runs(store_url)
    assert art("runs", "--filter", "entity=my-team").stdout.split()[6::6] == ["t1"]
    listed = art("runs", "-f", "entity!=my-team").stdout.splitlines()[1:]
    assert sorted(line.split()[0] for line in listed) == ["l1", "n1"]
    with artstore.Store(store_url) as store:
        assert [r.id for r in store.runs(filters={"entity": "lab"})] == ["l1"]


def test_show_names_the_entity(art, store_url):
    make_runs(store_url)
    assert "  entity    my-team" in art("runs", "show", "t1").stdout.splitlines()
    lines = art("runs", "show", "n1").stdout.splitlines()
    assert not [line for line in lines if line.startswith("  entity")]


def test_an_unknown_filter_key_names_entity_among_the_keys(art, store_url):
    make_runs(store_url)
    assert "use state, project, entity," in one_error_line(art("runs", "-f", "colour=red"))
