"""Names, aliases and references: exactly the documented rule, nothing else."""

from __future__ import annotations

import re

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from artstore.artifacts import Ref, check_alias, check_name, check_settable_alias
from artstore.artifacts.names import MAX_VERSION, check_run_id, parse_version_selector
from artstore.errors import ArtstoreError, InvalidNameError
from tests.strategies import NAME_REGEX, any_text, names


@settings(deadline=None)  # a loaded 2-core CI machine must not fail on timing
@given(names)
def test_check_name_accepts_every_name_matching_the_rule(name):
    assert check_name(name) == name


@settings(deadline=None)  # a loaded 2-core CI machine must not fail on timing
@given(any_text)
@example("a" * 128)
@example("a" * 129)
@example("a\n")
@example("-a")
@example(".hidden")
@example("ÿ")
@example("a b")
@example("a/b")
@example("a:b")
def test_check_name_accepts_exactly_the_rule(text):
    matches = re.fullmatch(NAME_REGEX, text) is not None
    if matches:
        assert check_name(text) == text
    else:
        with pytest.raises(InvalidNameError):
            check_name(text)


@pytest.mark.parametrize("alias", ["v0", "v3", "v123456"])
def test_version_shaped_aliases_are_refused(alias):
    with pytest.raises(InvalidNameError, match="version"):
        check_alias(alias)


@pytest.mark.parametrize("alias", ["v", "v3a", "V3", "version3", "prod", "latest"])
def test_aliases_that_only_look_like_versions_are_accepted(alias):
    assert check_alias(alias) == alias


def test_latest_is_not_settable_by_users():
    with pytest.raises(InvalidNameError, match="latest"):
        check_settable_alias("latest")


def test_invalid_name_error_is_one_line_and_a_value_error():
    with pytest.raises(ValueError) as info:
        check_name("bad name\nwith newline")
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("text", "name", "selector"),
    [("mnist", "mnist", "latest"), ("mnist:v3", "mnist", "v3"), ("m.d-1:prod", "m.d-1", "prod")],
)
def test_ref_parse(text, name, selector):
    assert Ref.parse(text) == Ref(name, selector)


@pytest.mark.parametrize("text", ["", ":v1", "m:", "m:bad alias", "bad name:v1", "m:-x"])
def test_ref_parse_refuses_malformed_references(text):
    with pytest.raises(InvalidNameError):
        Ref.parse(text)


# -- fuzzing: nothing but artstore's own errors, whatever the input ----------------------------

_PARSERS = (
    Ref.parse,
    check_name,
    check_alias,
    check_settable_alias,
    check_run_id,
    parse_version_selector,
)

#: Texts shaped like references: names, ':', 'v' and digits (ASCII and not), long and short.
ref_like = st.one_of(
    any_text,
    st.text(alphabet="ab:v0123456789٣٤\u0660 ", max_size=60),
    st.builds(
        lambda name, digits: f"{name}:v{digits}",
        names,
        st.text(alphabet="0123456789", min_size=1, max_size=5000),
    ),
    st.builds(lambda n: f"v{n}", st.integers(min_value=-1, max_value=2**80)),
)
not_text = st.one_of(
    st.none(), st.integers(), st.floats(), st.binary(max_size=8), st.lists(st.text(), max_size=2)
)


@settings(deadline=None, max_examples=400)
@given(st.one_of(ref_like, not_text))
@example("q:v" + "9" * 30)
@example("q:v" + "9" * 5000)
@example("q:v9223372036854775808")
@example("q:v٣")
@example(b"q:v1")
def test_name_parsers_raise_only_artstore_errors(value):
    for parse in _PARSERS:
        try:
            parse(value)
        except ArtstoreError as exc:
            assert isinstance(exc, InvalidNameError)
            assert "\n" not in str(exc) and len(str(exc)) < 400


@settings(deadline=None)
@given(names, st.integers(min_value=0, max_value=MAX_VERSION))
def test_every_version_number_up_to_the_maximum_round_trips(name, number):
    ref = Ref.parse(f"{name}:v{number}")
    assert parse_version_selector(ref.selector) == number
    assert Ref.parse(str(ref)) == ref


@pytest.mark.parametrize("number", [MAX_VERSION + 1, 2**64, 10**30])
def test_version_numbers_beyond_64_bits_are_refused(number):
    with pytest.raises(InvalidNameError, match="version numbers end at"):
        Ref.parse(f"q:v{number}")


def test_unicode_digits_are_not_a_version_number():
    with pytest.raises(InvalidNameError):
        Ref.parse("q:v٣")  # not v3: an alias, and an alias of ASCII letters only


@pytest.mark.parametrize("run_id", ["", "-x", "a" * 65, "a/b", "../../x", "a\x00b", 7, None])
def test_malformed_run_ids_are_refused(run_id):
    with pytest.raises(InvalidNameError, match="run id"):
        check_run_id(run_id)
