"""Moving aliases by hand: set, remove, and the history of every move.

A promotion (gated, and the only way to move a protected alias) is :mod:`promote`; the rules
of aliases are enforced by the catalog in the transaction that moves them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Literal

from artstore.artifacts.names import Ref, check_alias, check_name, check_settable_alias
from artstore.artifacts.promote import parse_expect
from artstore.errors import InvalidArgumentError, InvalidRequirementError

if TYPE_CHECKING:
    from artstore.artifacts.repository import Repository
    from artstore.lineage import Actor, AliasMove

__all__ = ["alias_history", "alias_list", "remove_alias", "set_alias"]


def alias_list(aliases: object) -> list[str]:
    """The aliases given to a log, each checked as settable: a list (or any iterable) of
    them, or one alias as a string, which W&B's ``log_artifact`` also takes as one alias.

    Raises:
        InvalidArgumentError: ``aliases`` is neither a string nor an iterable.
        InvalidNameError: an alias is malformed, version-shaped or ``latest``.
    """
    if isinstance(aliases, str):
        return [check_settable_alias(aliases)]
    if not isinstance(aliases, Iterable):
        raise InvalidArgumentError(f"aliases are a list of strings, not a {type(aliases).__name__}")
    return [check_settable_alias(a) for a in aliases]


def set_alias(
    repo: Repository, ref: str, alias: str, actor: Actor, *, expect: str | int | None = None
) -> AliasMove:
    """Point ``alias`` at the version ``ref`` names, moving it off any other version; the
    move is recorded as made by ``actor``.

    Args:
        expect: ``"v3"`` (or 3): the alias must point at v3 now; ``"none"``: it must not be
            set; None: wherever it points. Checked in the transaction of the move.

    Raises:
        InvalidNameError: the alias is malformed, version-shaped or ``latest``.
        InvalidRequirementError: ``expect`` is malformed.
        NotFoundError: no such version.
        ProtectedAliasError: the alias is protected; use :func:`promote.promote`.
        AliasConflictError: the alias did not point at ``expect``; nothing was moved.
    """
    check_settable_alias(alias)
    parsed = Ref.parse(ref)
    expected: int | Literal["any"] | None = "any" if expect is None else parse_expect(expect)
    versions = repo.catalog.versions
    target = versions.get(parsed.name, parsed.selector)
    return versions.move_alias(parsed.name, alias, target.number, actor, expect=expected)


def remove_alias(
    repo: Repository, name: str, alias: str, actor: Actor, *, expect: str | int | None = None
) -> AliasMove:
    """Take ``alias`` off the artifact ``name``, recording the removal as made by ``actor``.

    Args:
        expect: ``"v3"`` (or 3): the alias must point at v3 when it is removed; None:
            wherever it points. Checked in the transaction of the removal.

    Raises:
        InvalidNameError: the alias is malformed or ``latest``.
        InvalidRequirementError: ``expect`` is malformed, or ``"none"``.
        NotFoundError: the artifact has no such alias.
        ProtectedAliasError: the alias is protected; only a promotion moves it.
        AliasConflictError: the alias did not point at ``expect``; nothing was removed.
    """
    check_settable_alias(alias)
    expected: int | Literal["any"] = "any"
    if expect is not None:
        number = parse_expect(expect)
        if number is None:
            raise InvalidRequirementError(
                f"cannot expect alias {alias!r} to be unset when removing it; give the "
                "version it points at now (v3)"
            )
        expected = number
    return repo.catalog.versions.remove_alias(check_name(name), alias, actor, expect=expected)


def alias_history(repo: Repository, name: str, alias: str | None = None) -> list[AliasMove]:
    """Every move of the artifact's aliases (or of one alias), oldest first.

    Raises:
        InvalidNameError: ``name`` or ``alias`` is malformed.
        NotFoundError: no artifact named ``name``.
    """
    if alias is not None:
        check_alias(alias)
    return repo.catalog.versions.alias_history(check_name(name), alias)
