"""The versions and aliases of a catalog: recording versions, moving aliases, and reading
both back."""

from __future__ import annotations

from typing import Literal

from artstore.lineage import queries, versions
from artstore.lineage.records import (
    Actor,
    AliasMove,
    ArtifactInfo,
    LogResult,
    NewVersion,
    Promotion,
    VersionInfo,
)
from artstore.lineage.transactions import Transactions

__all__ = ["CatalogVersions"]


class CatalogVersions:
    """Artifacts, their versions and aliases, each call in its own transaction
    (``catalog.versions``).

    Every write checks the rules of aliases in its transaction: ``latest`` is kept by the
    catalog alone, and a ``protected`` alias moves only by a :class:`Promotion`.
    """

    def __init__(self, transactions: Transactions, protected: frozenset[str]) -> None:
        self._tx = transactions
        self._protected = protected

    def record(self, new: NewVersion, actor: Actor) -> LogResult:
        """Record a version of an artifact, creating the artifact on its first version.

        In one transaction: the artifact is created if new (a non-None ``new.description``
        replaces the stored one). If the newest version has ``new.digest``, no version is made,
        the stored metadata stays, and ``ignored_metadata_keys`` names the given keys whose
        values differ from it. Otherwise a version numbered newest + 1 (0 for the first) is
        inserted. Then ``latest`` and every alias in ``new.aliases`` point at the returned
        version, with a history row for each alias that actually moved.

        Args:
            new: the version (its name validated by the caller).
            actor: ``actor.who`` and ``actor.run_id`` become ``created_by_user`` and
                ``created_by_run`` (with a ``produced`` edge from the run); the whole actor is
                recorded on each alias history row this call writes.

        Returns:
            The version, whether it was created, and the ignored metadata keys.

        Raises:
            ArtifactTypeError: the artifact exists with another type.
            ProtectedAliasError: an alias is protected; nothing was written.
            InvalidNameError: an alias is ``latest``; nothing was written.
        """
        return self._tx.write(
            lambda session: versions.record_version(session, new, actor, protected=self._protected)
        )

    def move_alias(
        self,
        name: str,
        alias: str,
        number: int,
        actor: Actor,
        *,
        expect: int | Literal["any"] | None = "any",
        promotion: Promotion | None = None,
    ) -> AliasMove:
        """Point an alias of an artifact at version ``number``, recording the move by ``actor``.

        The alias leaves the version it pointed at. A move to where it already points writes
        no history row and returns a move with ``from_number == to_number``.

        Args:
            expect: compare-and-swap: unless ``"any"``, the alias must point at version
                ``expect`` (None: be unset) in the same transaction as the move.
            promotion: given only by a promotion whose requirements passed
                (:func:`artstore.artifacts.promote.promote`); a protected alias moves only
                with one.

        Raises:
            InvalidNameError: the alias is ``latest``, which the catalog keeps itself.
            ProtectedAliasError: the alias is protected and this is not a promotion.
            NotFoundError: no such artifact, or no such version of it.
            AliasConflictError: the alias did not point at ``expect``; nothing was written.
        """
        return self._tx.write(
            lambda session: versions.move_alias(
                session,
                name,
                alias,
                number,
                actor=actor,
                expect=expect,
                protected=self._protected,
                promotion=promotion,
            )
        )

    def remove_alias(
        self, name: str, alias: str, actor: Actor, *, expect: int | Literal["any"] = "any"
    ) -> AliasMove:
        """Remove an alias from an artifact, recording the move (``to_number`` None) by ``actor``.

        Args:
            expect: compare-and-swap: unless ``"any"``, the alias must point at version
                ``expect`` in the same transaction as the removal.

        Raises:
            InvalidNameError: the alias is ``latest``, which the catalog keeps itself.
            ProtectedAliasError: the alias is protected (no write removes one).
            NotFoundError: no such artifact, or it has no such alias.
            AliasConflictError: the alias did not point at ``expect``; nothing was written.
        """
        return self._tx.write(
            lambda session: versions.remove_alias(
                session, name, alias, actor=actor, expect=expect, protected=self._protected
            )
        )

    def get(self, name: str, selector: str) -> VersionInfo:
        """Resolve ``"v3"`` or an alias (``latest`` included) to a version.

        Raises:
            NotFoundError: no such artifact, version or alias (one line naming what exists).
        """
        return self._tx.read(lambda session: queries.get_version(session, name, selector))

    def of(self, name: str) -> list[VersionInfo]:
        """The versions of an artifact in ascending number, each with its aliases.

        Raises:
            NotFoundError: no such artifact.
        """
        return self._tx.read(lambda session: queries.list_versions(session, name))

    def artifact(self, name: str) -> ArtifactInfo:
        """The artifact named ``name``.

        Raises:
            NotFoundError: no such artifact.
        """
        return self._tx.read(lambda session: queries.get_artifact(session, name))

    def artifacts(self, type: str | None = None) -> list[ArtifactInfo]:
        """All artifacts, or those of one ``type``, sorted by name."""
        return self._tx.read(lambda session: queries.list_artifacts(session, type))

    def aliases(self) -> dict[str, dict[str, int]]:
        """Where each alias of every artifact points: name -> alias -> version number."""
        return self._tx.read(queries.every_alias)

    def alias_history(self, name: str, alias: str | None = None) -> list[AliasMove]:
        """The alias moves of an artifact (or of one alias) in the order they happened.

        Raises:
            NotFoundError: no such artifact.
        """
        return self._tx.read(lambda session: queries.alias_history(session, name, alias))
