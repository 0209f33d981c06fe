"""A run's entity (``init(entity=)``): kept in the catalog and through the offline spool."""

from __future__ import annotations

import json

import pytest

import artstore
from artstore.artifacts import Store
from artstore.errors import InvalidSpoolError
from artstore.tracker import sync_spool
from artstore.tracker.spool import SPOOL_FILE
from tests.tracker.conftest import FAST
from tests.tracker.test_run_files import _rewrite


def test_entity_is_kept_online(store_url):
    with artstore.init(store=store_url, entity="team", **FAST) as run:
        pass
    with Store(store_url) as store:
        assert store.run(run.id).entity == "team"
        assert store.repository.catalog.runs.get(run.id).entity == "team"


def test_entity_travels_through_the_spool(store_url, tmp_path):
    run = artstore.init(store=store_url, mode="offline", dir=tmp_path, entity="team", **FAST)
    run.finish()
    start = json.loads((run.dir / SPOOL_FILE).read_text().splitlines()[0])
    assert start["format"] == 2 and start["fields"]["entity"] == "team"
    with Store(store_url) as store:
        sync_spool(run.dir, store)
        assert store.run(run.id).entity == "team"


def test_entity_in_a_format_1_start_record_is_refused(store_url, tmp_path):
    run = artstore.init(store=store_url, mode="offline", dir=tmp_path, entity="team", **FAST)
    run.finish()
    _rewrite(run.dir, "start", lambda r: r.update(format=1))
    with Store(store_url) as store, pytest.raises(InvalidSpoolError, match="entity"):
        sync_spool(run.dir, store)
