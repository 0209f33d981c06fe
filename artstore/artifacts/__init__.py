"""The artifacts layer: the W&B-shaped artifact API over storage and lineage."""

from artstore.artifacts.artifact import Artifact, JSONValue
from artstore.artifacts.diff import Diff, FileChange, FileSize, TensorChange, TensorDiff
from artstore.artifacts.identity import current_actor, who
from artstore.artifacts.log import StagedVersion
from artstore.artifacts.manifest import FileEntry, Manifest, safe_relpath
from artstore.artifacts.names import LATEST, Ref, check_alias, check_name, check_settable_alias
from artstore.artifacts.promote import Check, PromotionResult, Requirement
from artstore.artifacts.repository import Repository, open_repository
from artstore.artifacts.runs import RunFileInfo, RunInfo
from artstore.artifacts.store import Store
from artstore.artifacts.verify import Problem, VerifyReport
from artstore.artifacts.version import ArtifactVersion

__all__ = [
    "LATEST",
    "Artifact",
    "ArtifactVersion",
    "Check",
    "Diff",
    "FileChange",
    "FileEntry",
    "FileSize",
    "JSONValue",
    "Manifest",
    "Problem",
    "PromotionResult",
    "Ref",
    "Repository",
    "Requirement",
    "RunFileInfo",
    "RunInfo",
    "StagedVersion",
    "Store",
    "TensorChange",
    "TensorDiff",
    "VerifyReport",
    "check_alias",
    "check_name",
    "check_settable_alias",
    "current_actor",
    "open_repository",
    "safe_relpath",
    "who",
]
