"""Hypothesis strategies: names, relative paths (safe and hostile) and manifests."""

from __future__ import annotations

import string
import unicodedata

from hypothesis import strategies as st

from artstore.artifacts import FileEntry, Manifest
from artstore.storage import Chunk, Digest

__all__ = [
    "NAME_REGEX",
    "any_text",
    "digests",
    "file_entries",
    "hostile_relpaths",
    "manifests",
    "names",
    "safe_relpaths",
    "safe_segments",
]

# Written out here rather than imported, so the tests pin the documented rule, not the code's.
NAME_REGEX = r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}"

_FIRST = string.ascii_letters + string.digits
_REST = _FIRST + "._-"

#: Names that match the rule.
names = st.builds(
    lambda first, rest: first + rest,
    st.sampled_from(_FIRST),
    st.text(alphabet=_REST, max_size=127),
)

#: Any text, mostly near the rule's edges: name characters mixed with hostile ones.
any_text = st.one_of(
    st.text(),
    st.text(alphabet=_REST + ":/ \n\t\x00é", max_size=140),
    st.text(alphabet=_REST, min_size=120, max_size=140),
)

digests = st.binary(min_size=16, max_size=16).map(lambda b: Digest.parse(b.hex()))


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


#: One folder or file name: any Unicode (NFC) but '/', '\\' and NUL, never '.' or '..'.
safe_segments = (
    st.text(
        alphabet=st.characters(blacklist_characters="/\\\x00", blacklist_categories=("Cs",)),
        min_size=1,
        max_size=12,
    )
    .map(_nfc)
    .filter(lambda s: s not in ("", ".", ".."))
)

#: Relative POSIX paths that artstore must accept unchanged (already NFC).
safe_relpaths = (
    st.lists(safe_segments, min_size=1, max_size=4)
    .map("/".join)
    .filter(
        # a first segment such as "C:x" reads as a drive letter and is refused on purpose
        lambda p: not (len(p) >= 2 and p[1] == ":" and p[0] in string.ascii_letters)
    )
)


def _hostile(draw: st.DrawFn) -> str:
    path = draw(safe_relpaths)
    kind = draw(st.sampled_from(["dotdot", "dot", "empty", "abs", "drive", "backslash", "nul"]))
    segments = path.split("/")
    at = draw(st.integers(0, len(segments)))
    if kind == "dotdot":
        segments.insert(at, "..")
    elif kind == "dot":
        segments.insert(at, ".")
    elif kind == "empty":
        segments.insert(at, "")
    elif kind == "abs":
        return "/" + path
    elif kind == "drive":
        return (
            draw(st.sampled_from(string.ascii_letters))
            + ":"
            + draw(st.sampled_from(["", "/", "\\"]))
            + path
        )
    elif kind == "backslash":
        segments.insert(at, "\\".join(draw(st.lists(safe_segments, min_size=1, max_size=2))) + "\\")
    else:
        segments.insert(at, draw(safe_segments) + "\x00")
    return "/".join(segments)


#: Paths that artstore must refuse: '..', '.', empty segments, absolute, drive, '\\', NUL.
hostile_relpaths = st.composite(_hostile)()


@st.composite
def file_entries(draw: st.DrawFn, path: str) -> FileEntry:
    """A file entry at ``path`` with a random digest, size, exec flag and maybe chunks."""
    chunks: tuple[Chunk, ...] = ()
    if draw(st.booleans()) and draw(st.booleans()):
        sizes = draw(st.lists(st.integers(1, 2**26), min_size=2, max_size=4))
        tensors = st.none() | st.text(min_size=1, max_size=8)
        chunks = tuple(Chunk(draw(digests), n, draw(tensors)) for n in sizes)
        size = sum(sizes)
    else:
        size = draw(st.integers(0, 2**53))
    return FileEntry(path, draw(digests), size, draw(st.booleans()), chunks)


@st.composite
def manifests(draw: st.DrawFn) -> Manifest:
    """A manifest of up to 8 files at distinct safe paths."""
    paths = draw(st.lists(safe_relpaths, max_size=8, unique=True).filter(_no_file_in_file))
    return Manifest.build(draw(file_entries(p)) for p in paths)


def _no_file_in_file(paths: list[str]) -> bool:
    # "a" and "a/b" cannot both be files: manifests refuse such a pair.
    return not any(q.startswith(p + "/") for p in paths for q in paths)
