"""Artifact names, aliases and ``name:ref`` references."""

from __future__ import annotations

import re
from dataclasses import dataclass

from artstore.errors import InvalidNameError

__all__ = [
    "LATEST",
    "MAX_VERSION",
    "NAME_PATTERN",
    "RUN_ID_PATTERN",
    "Ref",
    "check_alias",
    "check_name",
    "check_run_id",
    "check_settable_alias",
    "parse_version_selector",
]

NAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}"
RUN_ID_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}"
LATEST = "latest"
#: The highest version number: the catalog keeps version numbers in signed 32-bit columns
#: (``versions.number``, ``alias_history``), and a larger one makes PostgreSQL raise.
MAX_VERSION = 2**31 - 1
_NAME_RE = re.compile(NAME_PATTERN)
_RUN_ID_RE = re.compile(RUN_ID_PATTERN)
_VERSION_RE = re.compile(r"v([0-9]+)")  # ASCII digits only: "v٣" is an alias, not v3


def check_name(name: str, what: str = "artifact name") -> str:
    """Return ``name`` if it may name an artifact (or a type, with ``what``).

    Raises:
        InvalidNameError: it does not match ``[A-Za-z0-9][A-Za-z0-9._-]{0,127}``.
    """
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        raise InvalidNameError(
            f"invalid {what} {_shown(name)}: use 1-128 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return name


def check_run_id(run_id: str) -> str:
    """Return ``run_id`` if it may identify a run.

    Raises:
        InvalidNameError: it does not match ``[A-Za-z0-9][A-Za-z0-9._-]{0,63}``.
    """
    if not isinstance(run_id, str) or not _RUN_ID_RE.fullmatch(run_id):
        raise InvalidNameError(
            f"invalid run id {_shown(run_id)}: use 1-64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return run_id


def check_alias(alias: str) -> str:
    """Return ``alias`` if it may be an alias (``latest`` included).

    Raises:
        InvalidNameError: malformed, or shaped like a version number (``v3``).
    """
    check_name(alias, "alias")
    if _VERSION_RE.fullmatch(alias):
        raise InvalidNameError(
            f"invalid alias {_shown(alias)}: names like v3 are version numbers, not aliases"
        )
    return alias


def check_settable_alias(alias: str) -> str:
    """Return ``alias`` if a user may move it (everything but ``latest``).

    Raises:
        InvalidNameError: malformed, version-shaped, or ``latest``.
    """
    check_alias(alias)
    if alias == LATEST:
        raise InvalidNameError(
            "alias 'latest' is kept by the store on the highest version; choose another alias"
        )
    return alias


def parse_version_selector(selector: str) -> int | None:
    """The number in a ``v3`` selector, or None when the selector is an alias.

    Raises:
        InvalidNameError: the selector is not a string, or its number is above
            :data:`MAX_VERSION`.
    """
    if not isinstance(selector, str):
        raise InvalidNameError(f"invalid version {_shown(selector)}: use v0, v1, ... or an alias")
    match = _VERSION_RE.fullmatch(selector)
    if match is None:
        return None
    digits = match.group(1)
    # Compared as text first: int() refuses more than 4300 digits with a bare ValueError.
    if len(digits.lstrip("0")) > len(str(MAX_VERSION)) or int(digits) > MAX_VERSION:
        raise InvalidNameError(
            f"invalid version {_shown(selector)}: version numbers end at v{MAX_VERSION}"
        )
    return int(digits)


def _shown(value: object) -> str:
    # A name in a message: its repr, cut short, so a hostile input stays one readable line.
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:60]}...' ({len(str(value))} characters)"


@dataclass(frozen=True, slots=True)
class Ref:
    """A reference to one version: ``name:v3``, ``name:alias``, or ``name`` (= ``name:latest``)."""

    name: str
    selector: str = LATEST

    @classmethod
    def parse(cls, text: str) -> Ref:
        """Parse ``name[:v3|:alias]``.

        Raises:
            InvalidNameError: the name or the selector is malformed.
        """
        if not isinstance(text, str):
            raise InvalidNameError(f"invalid reference {_shown(text)}: use name[:v3|:alias]")
        name, sep, selector = text.partition(":")
        if sep and not selector:
            raise InvalidNameError(f"invalid reference {_shown(text)}: nothing after ':'")
        check_name(name)
        if not sep:
            return cls(name)
        if parse_version_selector(selector) is None:
            check_alias(selector)
        return cls(name, selector)

    def __str__(self) -> str:
        return f"{self.name}:{self.selector}"
