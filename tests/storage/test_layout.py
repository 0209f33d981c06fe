"""Object keys: ``<kind>/<2 hex>/<30 hex>``, and parsing them back."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from artstore.storage import Digest, Kind, key_for
from artstore.storage.layout import parse_key

digests = st.text(alphabet="0123456789abcdef", min_size=32, max_size=32).map(Digest)
D = "0123456789abcdef0123456789abcdef"


def test_key_for_layout() -> None:
    assert key_for(Kind.BLOB, Digest(D)) == "blobs/01/23456789abcdef0123456789abcdef"
    assert key_for(Kind.MANIFEST, Digest(D)) == "manifests/01/23456789abcdef0123456789abcdef"


@given(st.sampled_from(Kind), digests)
def test_key_round_trip(kind: Kind, digest: Digest) -> None:
    key = key_for(kind, digest)
    first, rest = key.split("/", 1)
    assert first == kind.value
    assert rest == f"{digest.hex[:2]}/{digest.hex[2:]}"
    assert parse_key(key) == (kind, digest)


@pytest.mark.parametrize(
    "key",
    [
        "",
        "blobs",
        "blobs/01",
        f"blobs/{D}",
        f"blobs/{D[:2]}/{D[2:]}/extra",
        f"things/{D[:2]}/{D[2:]}",
        f"Blobs/{D[:2]}/{D[2:]}",
        f"blobs/{D[:3]}/{D[3:]}",
        f"blobs/{D[:1]}/{D[1:]}",
        f"blobs/{D[:2]}/{D[2:-1]}",
        f"blobs/{D[:2]}/{D[2:]}0",
        f"blobs/AB/{D[2:]}",
        f"blobs/{D[:2]}/{D[2:].upper()}",
        f"blobs/{D[:2]}/{D[2:-1]}g",
        f"blobs/{D[:2]}//{D[2:]}",
        f"blobs/{D[:2]}/{D[2:]}.partial",
    ],
)
def test_bad_keys_raise_value_error(key: str) -> None:
    with pytest.raises(ValueError):
        parse_key(key)


@given(st.text(alphabet="/abcdef0123456789blosmnit.", max_size=50) | st.text())
def test_parse_key_only_accepts_what_key_for_writes(key: str) -> None:
    try:
        kind, digest = parse_key(key)
    except ValueError:
        return
    assert key.strip("/") == key_for(kind, digest)
