"""The artifacts layer: the W&B-shaped artifact API over storage and lineage."""

from artstore.artifacts.artifact import Artifact, JSONValue
from artstore.artifacts.identity import who
from artstore.artifacts.manifest import FileEntry, Manifest, safe_relpath
from artstore.artifacts.names import LATEST, Ref, check_alias, check_name, check_settable_alias
from artstore.artifacts.runs import RunInfo
from artstore.artifacts.store import Store
from artstore.artifacts.transfer import StagedVersion
from artstore.artifacts.verify import Problem, VerifyReport
from artstore.artifacts.version import ArtifactVersion

__all__ = [
    "LATEST",
    "Artifact",
    "ArtifactVersion",
    "FileEntry",
    "JSONValue",
    "Manifest",
    "Problem",
    "Ref",
    "RunInfo",
    "StagedVersion",
    "Store",
    "VerifyReport",
    "check_alias",
    "check_name",
    "check_settable_alias",
    "safe_relpath",
    "who",
]
