"""The storage layer: content-addressed objects on any fsspec filesystem.

It knows bytes and digests, nothing of artifacts or rows.
"""

from fsspec.callbacks import DEFAULT_CALLBACK, Callback, TqdmCallback

from artstore.storage.blobstore import DEBRIS_GRACE, NEW_BYTES, BlobStore, PutResult
from artstore.storage.chunker import MAX_TENSOR_NAME, chunks_file
from artstore.storage.chunks import Chunk
from artstore.storage.digest import CHUNK_SIZE, HASH_NAME, Digest, Hasher, hash_bytes, hash_file
from artstore.storage.format import (
    FORMAT_CURRENT,
    FORMAT_MAX,
    FORMAT_MIN,
    MANIFEST_FORMAT_MAX,
    StoreFormat,
    canonical_json,
    parse_format,
    parse_manifest_format,
)
from artstore.storage.layout import Kind, key_for
from artstore.storage.root import init_store, open_store
from artstore.storage.source import LocalFile, access_error, file_kind, stat_sources
from artstore.storage.statcache import (
    AnyStatKey,
    NoStatCache,
    SqliteStatCache,
    StatCache,
    StatKey,
    file_set_key,
    stat_key,
)

__all__ = [
    "CHUNK_SIZE",
    "DEBRIS_GRACE",
    "DEFAULT_CALLBACK",
    "FORMAT_CURRENT",
    "FORMAT_MAX",
    "FORMAT_MIN",
    "HASH_NAME",
    "MANIFEST_FORMAT_MAX",
    "MAX_TENSOR_NAME",
    "NEW_BYTES",
    "AnyStatKey",
    "BlobStore",
    "Callback",
    "Chunk",
    "Digest",
    "Hasher",
    "Kind",
    "LocalFile",
    "NoStatCache",
    "PutResult",
    "SqliteStatCache",
    "StatCache",
    "StatKey",
    "StoreFormat",
    "TqdmCallback",
    "access_error",
    "canonical_json",
    "chunks_file",
    "file_kind",
    "file_set_key",
    "hash_bytes",
    "hash_file",
    "init_store",
    "key_for",
    "open_store",
    "parse_format",
    "parse_manifest_format",
    "stat_key",
    "stat_sources",
]
