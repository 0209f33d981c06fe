"""Gated promotion: move an alias to a version only if it meets its requirements.

A requirement compares one field of the candidate version with a number or with the same field
of the version the alias points at now (``current``)::

    metadata.val_acc>=0.9        the version's metadata
    summary.val_loss<current     the summary of the run that created the version
    config.optim.lr==0.001       that run's config (dotted paths reach into mappings)

Races: the gates are evaluated against the holder read before the move, and whenever the
verdict depends on that holder (a ``current`` requirement, or ``expect``), the move is a
compare-and-swap on it inside the catalog transaction that moves the alias. If another
promotion moved the alias in between, nothing moves and :class:`AliasConflictError` says so.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, cast

from artstore.artifacts.identity import current_actor
from artstore.artifacts.lookup import make_version
from artstore.artifacts.names import Ref, check_settable_alias, parse_version_selector
from artstore.artifacts.version import ArtifactVersion
from artstore.errors import (
    AliasConflictError,
    GateFailed,
    InvalidRequirementError,
    MissingMetricError,
    NotFoundError,
)
from artstore.lineage import AliasMove, Promotion, RunRecord, VersionInfo

if TYPE_CHECKING:
    from artstore.artifacts.repository import Repository
    from artstore.lineage import Catalog

__all__ = [
    "CURRENT",
    "Check",
    "Operator",
    "PromotionResult",
    "Requirement",
    "Source",
    "parse_expect",
    "promote",
]

CURRENT = "current"
Operator = Literal[">=", ">", "<=", "<", "==", "!="]
Source = Literal["metadata", "summary", "config"]

_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
    "==": operator.eq,
    "!=": operator.ne,
}
_SOURCES = ("metadata", "summary", "config")
# Two-character operators first, so that ">=" is not read as ">" followed by "=0.9".
_REQUIREMENT_RE = re.compile(r"\s*([^<>=!\s]+)\s*(>=|<=|==|!=|>|<)\s*(\S+)\s*")
_MISSING = object()


@dataclass(frozen=True, slots=True)
class Requirement:
    """``FIELD OP NUMBER`` or ``FIELD OP current``, e.g. ``summary.val_loss<current``."""

    source: Source
    path: str
    op: Operator
    target: float | Literal["current"]

    @property
    def field(self) -> str:
        """``source.path``, as written."""
        return f"{self.source}.{self.path}"

    @classmethod
    def parse(cls, text: str) -> Requirement:
        """Parse a requirement.

        Raises:
            InvalidRequirementError: not ``FIELD OP NUMBER|current``, or an unknown field prefix.
        """
        match = _REQUIREMENT_RE.fullmatch(text) if isinstance(text, str) else None
        if match is None:
            raise InvalidRequirementError(
                f"invalid requirement {text!r}: write FIELD OP VALUE, e.g. "
                "'metadata.val_acc>=0.9' or 'summary.val_loss<current' "
                "(operators: >= > <= < == !=)"
            )
        field, op, value = match.groups()
        source, _, path = field.partition(".")
        if source not in _SOURCES or not path or "" in path.split("."):
            raise InvalidRequirementError(
                f"invalid requirement {text!r}: the field must start with metadata., summary. "
                "or config. and name a key, e.g. metadata.val_acc"
            )
        target: float | Literal["current"]
        if value == CURRENT:
            target = "current"
        else:
            try:
                target = float(value)
            except ValueError:
                target = math.nan
            if not math.isfinite(target):
                raise InvalidRequirementError(
                    f"invalid requirement {text!r}: compare with a number or with 'current', "
                    f"not {value!r}"
                )
        return cls(cast(Source, source), path, cast(Operator, op), target)

    def __str__(self) -> str:
        target = "current" if self.target == "current" else _number(self.target)
        return f"{self.field}{self.op}{target}"


@dataclass(frozen=True, slots=True)
class Check:
    """One requirement evaluated: ``left op right`` and whether it passed.

    ``right_version`` is the number of the current holder when compared with ``current``;
    ``note`` explains a check that passed without comparing (``no current holder``).
    """

    requirement: Requirement
    left: float
    right: float | None
    right_version: int | None
    passed: bool
    note: str | None = None

    def describe(self) -> str:
        """One line for a terminal, e.g. ``summary.acc>=current: 0.93 >= 0.91 (v1)``."""
        req = self.requirement
        if self.right is None:
            detail = f"{_number(self.left)}, {self.note}"
        else:
            holder = "" if self.right_version is None else f" (v{self.right_version})"
            detail = f"{_number(self.left)} {req.op} {_number(self.right)}{holder}"
            if not self.passed:
                detail += " is false"
        return f"{req}: {detail}"


@dataclass(frozen=True, slots=True)
class PromotionResult:
    """What a promotion checked and did.

    ``previous`` is the version number the alias pointed at when the gates were evaluated
    (None: nowhere). ``move`` is the alias move recorded, None when the promotion was refused.
    ``moved`` is False when refused, or when the version already held the alias.
    """

    version: ArtifactVersion
    alias: str
    previous: int | None
    checks: tuple[Check, ...]
    move: AliasMove | None

    @property
    def passed(self) -> bool:
        """Whether every requirement passed."""
        return all(c.passed for c in self.checks)

    @property
    def moved(self) -> bool:
        """Whether the alias now points at the version and did not before."""
        return self.move is not None and self.move.from_number != self.move.to_number

    def verdict(self) -> str:
        """One line: what happened, e.g. ``promoted m:v3 to production (was v1)``."""
        was = "nowhere" if self.previous is None else f"v{self.previous}"
        name = f"{self.version.name}:{self.version.version}"
        if self.move is None:
            failed = sum(not c.passed for c in self.checks)
            if not failed:
                return f"refused: {name} not promoted: {self.alias} was not where expected"
            return (
                f"refused: {name} not promoted to {self.alias} ({failed} of {len(self.checks)} "
                f"requirements failed); {self.alias} stays on {was}"
            )
        if not self.moved:
            return f"{name} already holds {self.alias}; nothing moved"
        return f"promoted {name} to {self.alias} (was {was})"


def parse_expect(expect: str | int) -> int | None:
    """``"v3"`` or ``3`` -> 3; ``"none"`` -> None (the alias must not be set).

    Raises:
        InvalidRequirementError: anything else.
    """
    if isinstance(expect, int) and not isinstance(expect, bool) and expect >= 0:
        return expect
    if expect == "none":
        return None
    number = parse_version_selector(expect) if isinstance(expect, str) else None
    if number is None:
        raise InvalidRequirementError(
            f"invalid expectation {expect!r}: give the version the alias holds now (v3), "
            "or 'none' when it must not be set yet"
        )
    return number


def promote(
    repo: Repository,
    ref: str,
    to: str,
    *,
    require: Sequence[str],
    expect: str | int | None,
    run_id: str | None,
    reason: str | None,
) -> PromotionResult:
    """Evaluate the requirements (the store's defaults for a protected ``to`` first, then
    ``require``) and move the alias inside the catalog's transaction.

    See :meth:`artstore.artifacts.Store.promote` for the contract.
    """
    check_settable_alias(to)  # before it keys the store's settings
    catalog = repo.catalog
    defaults = repo.settings.protected_aliases.get(to, [])
    actor = current_actor(run_id=run_id, reason=reason)
    parsed = Ref.parse(ref)
    requirements = [Requirement.parse(text) for text in (*defaults, *require)]
    expected: int | Literal["any"] | None = "any" if expect is None else parse_expect(expect)
    candidate = catalog.versions.get(parsed.name, parsed.selector)
    holder = _holder(catalog, parsed.name, to)
    previous = None if holder is None else holder.number

    def result(checks: Sequence[Check], move: AliasMove | None) -> PromotionResult:
        return PromotionResult(make_version(repo, candidate), to, previous, tuple(checks), move)

    if expected != "any" and expected != previous:
        error = AliasConflictError(
            parsed.name, to, expected, previous, "nothing was moved (--expect did not match)"
        )
        error.result = result((), None)
        raise error
    fields = _Fields(catalog)
    checks = [_evaluate(r, candidate, holder, fields) for r in requirements]
    failed = [c for c in checks if not c.passed]
    if failed:
        shown = "; ".join(c.describe() for c in failed)
        raise GateFailed(
            f"{parsed.name}:{candidate.version} was not promoted to {to}: {shown}",
            result(checks, None),
        )
    # A compare-and-swap on the holder the verdict was based on, when it was based on one.
    depends = expected != "any" or any(r.target == CURRENT for r in requirements)
    try:
        move = catalog.versions.move_alias(
            parsed.name,
            to,
            candidate.number,
            actor=actor,
            expect=previous if depends else "any",
            # The one write a protected alias accepts: its requirements have just passed.
            promotion=Promotion(),
        )
    except AliasConflictError as exc:
        conflict = AliasConflictError(
            exc.artifact,
            exc.alias,
            exc.expected,
            exc.actual,
            "another promotion moved it after the requirements were checked; nothing was "
            f"moved; run the promotion again to check against the new holder "
            f"(see: art alias log {parsed.name} {to})",
        )
        conflict.result = result(checks, None)
        raise conflict from None
    return result(checks, move)


def _holder(catalog: Catalog, name: str, alias: str) -> VersionInfo | None:
    try:
        return catalog.versions.get(name, alias)
    except NotFoundError:
        return None


class _Fields:
    """Reads a field of a version: its metadata, or its producing run's summary or config."""

    def __init__(self, catalog: Catalog) -> None:
        self._catalog = catalog
        self._runs: dict[str, RunRecord | None] = {}

    def get(self, version: VersionInfo, requirement: Requirement) -> float:
        label = f"{version.artifact}:{version.version}"
        field = requirement.field
        if requirement.source == "metadata":
            data: Mapping[str, Any] = version.metadata
        else:
            run = self._run(version.created_by_run)
            if run is None:
                raise MissingMetricError(
                    field,
                    label,
                    "it was not logged by a tracked run, so it has no run summary "
                    "or config; gate it on metadata instead",
                )
            data = run.summary if requirement.source == "summary" else run.config
        value = _lookup(data, requirement.path)
        if value is _MISSING:
            keys = ", ".join(sorted(map(str, data))[:12]) or "nothing"
            raise MissingMetricError(field, label, f"its {requirement.source} has: {keys}")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidRequirementError(
                f"{field} of {label} is {value!r}, not a number; requirements compare numbers"
            )
        return float(value)

    def _run(self, run_id: str | None) -> RunRecord | None:
        if run_id is None:
            return None
        if run_id not in self._runs:
            self._runs[run_id] = self._catalog.runs.find(run_id)
        return self._runs[run_id]


def _lookup(data: Mapping[str, Any], path: str) -> Any:
    # A key may itself hold dots ("val.acc"), so try the longest key first, then descend.
    if path in data:
        return data[path]
    parts = path.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        head = ".".join(parts[:cut])
        inner = data.get(head)
        if isinstance(inner, Mapping):
            found = _lookup(inner, ".".join(parts[cut:]))
            if found is not _MISSING:
                return found
    return _MISSING


def _evaluate(
    requirement: Requirement,
    candidate: VersionInfo,
    holder: VersionInfo | None,
    fields: _Fields,
) -> Check:
    left = fields.get(candidate, requirement)
    compare = _OPERATORS[requirement.op]
    target = requirement.target
    if target != "current":
        return Check(requirement, left, target, None, compare(left, target))
    if holder is None:
        return Check(requirement, left, None, None, True, "no current holder")
    right = fields.get(holder, requirement)
    return Check(requirement, left, right, holder.number, compare(left, right))


def _number(value: float) -> str:
    if math.isfinite(value) and value == int(value) and abs(value) < 1e16:
        return str(int(value))
    return repr(value)
