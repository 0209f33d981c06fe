"""Every error artstore raises on purpose, with the exit code the CLI gives it.

::

    ArtstoreError                      base; never raised itself
    ├── UserError                      exit 2: bad input, not found, misconfiguration
    │   ├── InvalidNameError           (ValueError) a name, alias or reference is malformed
    │   ├── UnsafePathError            (ValueError) a path escapes its root or collides
    │   ├── InvalidArgumentError       (ValueError, TypeError) an argument of the wrong type
    │   │                              or out of its range
    │   ├── NotFoundError              (LookupError) no such artifact, version, alias or file
    │   │   ├── MissingMetricError     a promotion gate's field is absent on a version
    │   │   └── MissingBlobError       a blob (or chunk) an artifact file is made of is missing
    │   ├── NotAStoreError             a location holds no artstore.json
    │   ├── UnsupportedFormatError     a store or document written by another format version
    │   ├── ConfigError                settings that cannot work (e.g. a bucket without a catalog)
    │   ├── InvalidValueError          (TypeError) a logged value artstore cannot keep
    │   ├── RunStateError              a run used in a way its state does not allow
    │   ├── ArtifactTypeError          logging a type other than the artifact's first version's
    │   ├── ProtectedAliasError        moving a protected alias other than by `art promote`
    │   ├── InvalidRequirementError    (ValueError) a promotion requirement is malformed
    │   ├── InvalidSweepConfigError    (ValueError) a sweep config breaks W&B's sweep schema
    │   ├── SourceChangedError         a file changed while it was read; nothing of it was kept
    │   ├── FileAccessError            a local file or folder cannot be read or written
    │   ├── InvalidSpoolError          an offline run folder holds a record artstore cannot use
    │   ├── CatalogBusyError           the catalog stayed locked by another process too long
    │   └── StoreUnavailableError      a bucket's server cannot be reached or refuses access
    └── CheckFailed                    exit 1: a check ran and did not pass
        ├── IntegrityError             stored data does not match its digest
        │   └── CorruptBlobError       one blob (and the artifact file it backs) is corrupt
        │       └── ChunkListError     a file's intact chunks do not make the file
        └── GateFailed                 a promotion requirement did not pass; alias untouched
            └── AliasConflictError     the alias was not where the promotion expected it

Anything that is not an ``ArtstoreError`` is a bug: the CLI exits 3 and keeps the traceback.
Each ``__str__`` is one line that names the problem and what to do about it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    # Only for the annotation of GateFailed.result: at run time this module imports nothing
    # from artstore, so every layer can raise its errors.
    from artstore.artifacts.promote import PromotionResult

__all__ = [
    "AliasConflictError",
    "ArtifactTypeError",
    "ArtstoreError",
    "CatalogBusyError",
    "CheckFailed",
    "ChunkListError",
    "ConfigError",
    "CorruptBlobError",
    "FileAccessError",
    "GateFailed",
    "IntegrityError",
    "InvalidArgumentError",
    "InvalidNameError",
    "InvalidRequirementError",
    "InvalidSpoolError",
    "InvalidSweepConfigError",
    "InvalidValueError",
    "MissingBlobError",
    "MissingMetricError",
    "NotAStoreError",
    "NotFoundError",
    "ProtectedAliasError",
    "RunStateError",
    "SourceChangedError",
    "StoreUnavailableError",
    "UnsafePathError",
    "UnsupportedFormatError",
    "UserError",
]


# Not in __all__, which lists the errors only; verify's problems word pieces with it too.
def chunk_label(index: int, count: int | None) -> str:
    """``chunk 2 of 3`` for the piece at ``index`` (from 0) of a file in ``count`` pieces: every
    message counts pieces from 1, as people do (``chunk 2`` when the count is not known)."""
    return f"chunk {index + 1}" if count is None else f"chunk {index + 1} of {count}"


class ArtstoreError(Exception):
    """Base of every error artstore raises on purpose."""

    exit_code: ClassVar[int] = 3


class UserError(ArtstoreError):
    """The input or the settings are wrong; nothing was changed."""

    exit_code: ClassVar[int] = 2


class InvalidNameError(UserError, ValueError):
    """A name, alias or reference does not have the allowed shape."""


class UnsafePathError(UserError, ValueError):
    """A path is absolute, climbs out of its root, or collides with another path."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"unsafe path {path!r}: {reason}")


class InvalidArgumentError(UserError, ValueError, TypeError):
    """An argument has the wrong type or lies outside its range (a lineage direction, a
    depth, a path that is not text); a ``ValueError`` and a ``TypeError`` for callers that
    catch those."""


class NotFoundError(UserError, LookupError):
    """No such artifact, version, alias, blob or file."""


class MissingBlobError(NotFoundError):
    """A blob a file is made of is missing: the file's one blob, or its chunk ``chunk`` (an
    index from 0; messages count from 1) of ``count``. ``artifact`` and ``path`` are filled in
    by the layer that knows which artifact file it backs; the storage layer knows only the
    digests."""

    def __init__(
        self,
        digest: str,
        url: str,
        *,
        chunk: int | None = None,
        count: int | None = None,
        artifact: str | None = None,
        path: str | None = None,
    ) -> None:
        self.digest = digest
        self.url = url
        self.chunk = chunk
        self.count = count
        self.artifact = artifact
        self.path = path
        blob = f"blob {digest}"
        if chunk is not None:
            blob = f"{chunk_label(chunk, count)} (blob {digest})"
        if path is None:
            text = f"{blob} is missing from {url}; run `art verify` to list what is lost"
        else:
            text = (
                f"file {path!r} of {artifact} is lost: its {blob} is missing from {url}; run "
                "`art verify` to list every damaged version, then put the file again"
            )
        super().__init__(text)

    def located(self, artifact: str, path: str) -> MissingBlobError:
        """Return the same error naming the artifact file the blob backs."""
        return MissingBlobError(
            self.digest, self.url, chunk=self.chunk, count=self.count, artifact=artifact, path=path
        )


class NotAStoreError(UserError):
    """The location has no ``artstore.json``."""

    def __init__(self, url: str) -> None:
        self.url = url
        super().__init__(f"{url} is not an artstore store; create one with: art init {url}")


class UnsupportedFormatError(UserError):
    """A store or document uses a format this artstore cannot read."""


class ConfigError(UserError):
    """The settings cannot work as given."""


class InvalidValueError(UserError, TypeError):
    """A logged value is neither a number nor a short string."""


class RunStateError(UserError):
    """A run was used in a way its state does not allow (logging after finish, resuming)."""


class ArtifactTypeError(UserError):
    """An artifact's type is fixed by its first version."""

    def __init__(self, name: str, existing: str, given: str) -> None:
        self.name = name
        self.existing = existing
        self.given = given
        super().__init__(
            f"artifact {name!r} has type {existing!r}, not {given!r}; "
            f"log it with type={existing!r} or choose another name"
        )


class ProtectedAliasError(UserError):
    """A protected alias (``protected_aliases`` in ``artstore.yaml``) moves only by promotion."""

    def __init__(self, artifact: str, alias: str) -> None:
        self.artifact = artifact
        self.alias = alias
        super().__init__(
            f"alias {alias!r} is protected in this store's artstore.yaml; move it with: "
            f"art promote {artifact}:REF --to {alias}"
        )


class InvalidRequirementError(UserError, ValueError):
    """A promotion requirement is not ``FIELD OP NUMBER`` or ``FIELD OP current``."""


class InvalidSweepConfigError(UserError, ValueError):
    """A sweep config breaks W&B's sweep schema; ``path`` names the key (``parameters.lr``)
    and ``problem`` says what is allowed there."""

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"sweep config: {path}: {problem}" if path else f"sweep config: {problem}")


class SourceChangedError(UserError):
    """A file's size, modification time or bytes changed while it was read, so what was read
    was never a state of the file; nothing of it is kept."""

    def __init__(self, path: str, detail: str) -> None:
        self.path = path
        self.detail = detail
        super().__init__(
            f"{path} changed while it was read ({detail}); nothing of it was kept: "
            "log it again once it is no longer being written"
        )


class FileAccessError(UserError):
    """A local file or folder cannot be read or written: permissions, a special file (FIFO,
    device, socket), a name too long for the filesystem, a file where a folder must be."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"cannot use {path}: {reason}")


class InvalidSpoolError(UserError):
    """An offline run folder holds a record that cannot be synced; nothing was written."""


class CatalogBusyError(UserError):
    """The catalog database stayed locked by another process longer than artstore waits."""


class StoreUnavailableError(UserError):
    """The server of a bucket store cannot be reached (network, endpoint) or refuses the
    credentials; nothing was changed by the operation that met it."""


class MissingMetricError(NotFoundError):
    """A promotion requirement names a field that a version does not have.

    ``detail`` says what the version has instead, e.g. ``it has: val_acc, val_loss``.
    """

    def __init__(self, field: str, version: str, detail: str) -> None:
        self.field = field
        self.version = version
        self.detail = detail
        super().__init__(f"{version} has no {field} ({detail}); log it, or fix the requirement")


class CheckFailed(ArtstoreError):
    """A check ran and did not pass."""

    exit_code: ClassVar[int] = 1


class IntegrityError(CheckFailed):
    """Stored data does not match its digest."""


class CorruptBlobError(IntegrityError):
    """A blob's bytes do not hash to its name.

    ``artifact`` and ``path`` are filled in by the layer that knows which artifact file the blob
    backs (``artifact`` alone: the blob is that version's manifest); the storage layer knows
    only the digests. A piece of a chunked file has its index ``chunk`` (from 0; messages
    count from 1) of ``count``.
    """

    def __init__(
        self,
        expected: str,
        actual: str,
        *,
        artifact: str | None = None,
        path: str | None = None,
        chunk: int | None = None,
        count: int | None = None,
    ) -> None:
        self.expected = expected
        self.actual = actual
        self.artifact = artifact
        self.path = path
        self.chunk = chunk
        self.count = count
        super().__init__(self._message())

    def _message(self) -> str:
        blob = f"blob {self.expected}"
        if self.chunk is not None:  # one piece of a file stored in chunks
            blob = f"{chunk_label(self.chunk, self.count)}, blob {self.expected}"
        where = blob
        if self.path is not None:
            where = f"file {self.path!r} ({blob})"
            if self.artifact is not None:
                where = f"file {self.path!r} of {self.artifact} ({blob})"
        elif self.artifact is not None:  # the version's manifest itself
            where = f"the manifest of {self.artifact} ({self.expected})"
        return (
            f"{where} is corrupt: its content hashes to {self.actual}; run `art verify "
            "--repair` to set damaged data aside, then put the good files again to heal it"
        )

    def located(self, artifact: str, path: str) -> CorruptBlobError:
        """Return the same error naming the artifact file the blob backs."""
        return CorruptBlobError(
            self.expected,
            self.actual,
            artifact=artifact,
            path=path,
            chunk=self.chunk,
            count=self.count,
        )


class ChunkListError(CorruptBlobError):
    """Every chunk of a file hashes to its digest, but together they do not make the file's
    digest and size: the manifest's list of chunks is wrong, no blob is damaged (a
    :class:`CorruptBlobError` for whoever catches those). ``expected`` is the file's digest,
    ``actual`` what its ``count`` chunks hash to together, ``size`` the bytes they hold."""

    def __init__(
        self,
        expected: str,
        actual: str,
        *,
        count: int,
        size: int,
        artifact: str | None = None,
        path: str | None = None,
    ) -> None:
        self.size = size
        super().__init__(expected, actual, artifact=artifact, path=path, count=count)

    def _message(self) -> str:
        where = f"file {self.expected}"
        if self.path is not None:
            where = f"file {self.path!r}" + (f" of {self.artifact}" if self.artifact else "")
        return (
            f"{where}: its {self.count} chunks are intact but together hash to {self.actual} "
            f"({self.size} bytes), not to the file's digest {self.expected}: the manifest's list "
            "of chunks does not make the file; put the files again"
        )

    def located(self, artifact: str, path: str) -> ChunkListError:
        """Return the same error naming the artifact file."""
        return ChunkListError(
            self.expected,
            self.actual,
            count=self.count or 0,
            size=self.size,
            artifact=artifact,
            path=path,
        )


class GateFailed(CheckFailed):
    """A promotion requirement did not pass, so the alias was not moved.

    ``result`` is the promotion's report (every check with its values), set by whoever
    evaluated the requirements; None before that.
    """

    def __init__(self, message: str, result: PromotionResult | None = None) -> None:
        self.result = result
        super().__init__(message)


class AliasConflictError(GateFailed):
    """The alias did not point where a move expected it (``--expect``, or another move since
    the promotion's gates were evaluated), so nothing was moved.

    ``expected`` and ``actual`` are version numbers; None means the alias was not set.
    """

    def __init__(
        self, artifact: str, alias: str, expected: int | None, actual: int | None, hint: str
    ) -> None:
        self.artifact = artifact
        self.alias = alias
        self.expected = expected
        self.actual = actual
        self.hint = hint
        shown = [("nowhere" if n is None else f"v{n}") for n in (actual, expected)]
        super().__init__(f"{artifact}:{alias} points at {shown[0]}, not {shown[1]}; {hint}")
