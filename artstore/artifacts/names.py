"""Artifact names, aliases and ``name:ref`` references."""

from __future__ import annotations

import re
from dataclasses import dataclass

from artstore.errors import InvalidNameError

__all__ = [
    "LATEST",
    "NAME_PATTERN",
    "Ref",
    "check_alias",
    "check_name",
    "check_settable_alias",
    "parse_version_selector",
]

NAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}"
LATEST = "latest"
_NAME_RE = re.compile(NAME_PATTERN)
_VERSION_RE = re.compile(r"v(\d+)")


def check_name(name: str, what: str = "artifact name") -> str:
    """Return ``name`` if it may name an artifact (or a type, with ``what``).

    Raises:
        InvalidNameError: it does not match ``[A-Za-z0-9][A-Za-z0-9._-]{0,127}``.
    """
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        raise InvalidNameError(
            f"invalid {what} {name!r}: use 1-128 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return name


def check_alias(alias: str) -> str:
    """Return ``alias`` if it may be an alias (``latest`` included).

    Raises:
        InvalidNameError: malformed, or shaped like a version number (``v3``).
    """
    check_name(alias, "alias")
    if _VERSION_RE.fullmatch(alias):
        raise InvalidNameError(
            f"invalid alias {alias!r}: names like v3 are version numbers, not aliases"
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
    """The number in a ``v3`` selector, or None when the selector is an alias."""
    match = _VERSION_RE.fullmatch(selector)
    return int(match.group(1)) if match else None


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
        name, sep, selector = text.partition(":")
        if sep and not selector:
            raise InvalidNameError(f"invalid reference {text!r}: nothing after ':'")
        check_name(name)
        if not sep:
            return cls(name)
        if parse_version_selector(selector) is None:
            check_alias(selector)
        return cls(name, selector)

    def __str__(self) -> str:
        return f"{self.name}:{self.selector}"
