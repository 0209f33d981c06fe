"""NaN and infinities: logged, stored and read back as what they were, on SQLite and
PostgreSQL; JSON columns keep them in a tagged form that reads back exactly."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

import artstore
from artstore.artifacts import Store
from artstore.lineage import jsoncodec
from tests.tracker.conftest import FAST

NAN, INF = math.nan, math.inf


@pytest.fixture(params=["sqlite", "postgresql"])
def catalog_store(request: pytest.FixtureRequest, tmp_path) -> tuple[str, str | None]:
    """(store URL, catalog URL or None for the store's own SQLite file)."""
    db = None if request.param == "sqlite" else request.getfixturevalue("pg_catalog_url")
    url = str(tmp_path / "store")
    Store.init(url, db=db).close()
    return url, db


def same(a: Any, b: Any) -> bool:
    """Equality in which NaN equals NaN, through dicts and lists."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def test_nan_and_infinities_are_read_back_as_logged(catalog_store):
    url, db = catalog_store
    store = Store(url, db=db)
    run = artstore.init(store=store, config={"eps": -INF}, **FAST)
    values = [1.0, NAN, INF, -INF, 2.0]
    for value in values:
        run.log({"loss": value, "other": 0.5})
    run.summary["best"] = NAN
    run.finish()
    with Store(url, db=db) as reader:
        info = reader.run(run.id)
        assert info.state == "finished"
        history = info.history()
        assert same([row["loss"] for row in history], values)
        assert [row["other"] for row in history] == [0.5] * 5
        assert same(info.summary, {"loss": 2.0, "other": 0.5, "best": NAN})
        assert info.config == {"eps": -INF}


def test_a_nan_is_stored_as_neither_number_nor_text(store, start):
    """The documented encoding: NaN is value NULL and text NULL; infinities are numbers."""
    run = start()
    run.log({"a": NAN, "b": INF, "c": "text"})
    run.finish()
    engine = sa.create_engine(f"sqlite:///{store.url}/catalog.db")
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT key, value, text FROM metrics ORDER BY key")
        ).all()
    engine.dispose()
    assert [tuple(r) for r in rows] == [("a", None, None), ("b", INF, None), ("c", None, "text")]


def test_summary_with_nan_in_a_postgresql_catalog_keeps_every_step(pg_catalog_url, tmp_path):
    """What broke: PostgreSQL's json refused the NaN token, so every later batch of the run
    failed and the rest of the run was lost."""
    url = str(tmp_path / "store")
    Store.init(url, db=pg_catalog_url).close()
    run = artstore.init(store=Store(url, db=pg_catalog_url), **FAST)
    for step in range(50):
        run.log({"loss": NAN if step == 10 else float(step)})
        if step % 10 == 0:
            run.flush()
    run.finish()
    with Store(url, db=pg_catalog_url) as reader:
        info = reader.run(run.id)
        assert info.state == "finished"
        assert [row["_step"] for row in info.history()] == list(range(50))
        assert info.summary == {"loss": 49.0}
    assert not run._writer.dropped


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(["$float", "$dict", "a", "NaN"]) | st.text(), inner, max_size=4
        )
    ),
    max_leaves=20,
)


@given(JSON)
def test_the_json_codec_reads_back_what_it_wrote(value):
    text = jsoncodec.dumps(value)
    json.loads(text, parse_constant=lambda token: pytest.fail(f"bare {token} in {text}"))
    assert same(jsoncodec.loads(text), value)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ({"a": NAN}, '{"a": {"$float": "NaN"}}'),
        ([INF, -INF], '[{"$float": "Infinity"}, {"$float": "-Infinity"}]'),
        ({"$float": "NaN"}, '{"$dict": [["$float", "NaN"]]}'),
        ({"a": 1.5, "b": "$float"}, '{"a": 1.5, "b": "$float"}'),
    ],
)
def test_the_json_codec_encoding(value, text):
    assert jsoncodec.dumps(value) == text


def test_values_written_before_the_codec_read_back():
    assert same(jsoncodec.loads('{"a": NaN, "b": -Infinity}'), {"a": NAN, "b": -INF})


def test_printed_text_no_catalog_stores_is_kept_replaced(catalog_store):
    """A NUL printed on PostgreSQL used to fail every later batch of the run."""
    url, db = catalog_store
    run = artstore.init(store=Store(url, db=db), **FAST)
    run.record_console("stdout", "a\x00b \ud800 c\n")
    run.log({"after": 1.0})
    run.finish()
    with Store(url, db=db) as reader:
        info = reader.run(run.id)
        assert info.console() == "a\ufffdb ? c\n"
        assert (info.state, info.history()) == ("finished", [{"_step": 0, "after": 1.0}])
    assert not run._writer.dropped


@pytest.mark.parametrize(
    ("field", "says"),
    [
        ({"project": "p\x00"}, r"run project 'p\\x00' contains a NUL"),
        ({"name": "a\x00b"}, r"run name 'a\\x00b' contains a NUL"),
        ({"notes": "x \ud800"}, r"run notes .* is not valid Unicode"),
        ({"tags": ["ok", "t\x00"]}, r"run tag 't\\x00' contains a NUL"),
    ],
    ids=["project", "name", "notes", "tag"],
)
def test_init_refuses_text_no_catalog_stores(catalog_store, field, says):
    """A NUL or a lone surrogate in init()'s texts used to raise from the driver (or leave a
    run the catalog refuses to write)."""
    url, db = catalog_store
    with pytest.raises(artstore.errors.InvalidValueError, match=says):
        artstore.init(store=Store(url, db=db), **FAST, **field)
    assert artstore.tracker.current() is None
    with Store(url, db=db) as reader:
        assert reader.runs() == []
