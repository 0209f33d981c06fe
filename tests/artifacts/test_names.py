"""Names, aliases and references: exactly the documented rule, nothing else."""

from __future__ import annotations

import re

import pytest
from hypothesis import example, given, settings

from artstore.artifacts import Ref, check_alias, check_name, check_settable_alias
from artstore.errors import InvalidNameError
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
