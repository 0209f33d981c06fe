"""Regenerate ``tests/data/store-v1/``, the golden format-1 store every future artstore must open.

Run from the repository root: ``python tests/data/make_store_v1.py``. The committed copy is what
the tests use; regenerate only when deliberately changing the fixture, and then update the golden
values in ``tests/test_golden_store.py`` (digests are fixed by content, ids and times are not).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
TARGET = HERE / "store-v1"

# artifact -> list of versions, each {path: (bytes, executable)}
CONTENT: dict[str, list[dict[str, tuple[bytes, bool]]]] = {
    "mnist-data": [
        {"train.csv": (b"label,pixels\n1,0 0 0\n", False), "test.csv": (b"label\n7\n", False)},
        {
            "train.csv": (b"label,pixels\n1,0 0 0\n2,1 1 1\n", False),
            "test.csv": (b"label\n7\n", False),
        },
        {
            "train.csv": (b"label,pixels\n1,0 0 0\n2,1 1 1\n", False),
            "test.csv": (b"label\n7\n", False),
            "notes/caf\u00e9.md": ("# données\n".encode(), False),
        },
    ],
    "mnist-cnn": [
        {
            "model.bin": (bytes(range(256)) * 4, False),
            "bin/predict.sh": (b"#!/bin/sh\necho 7\n", True),
        },
    ],
}
TYPES = {"mnist-data": "dataset", "mnist-cnn": "model"}
ALIASES = {("mnist-data", 1): ["production"], ("mnist-cnn", 0): ["candidate"]}
METADATA = {"mnist-data": {"rows": 2}, "mnist-cnn": {"val_acc": 0.98}}


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="make-store-v1-"))
    os.environ["XDG_CACHE_HOME"] = str(work / "cache")  # keep the stat cache out of ~/.cache
    for name in ("ARTSTORE_URL", "ARTSTORE_DB"):
        os.environ.pop(name, None)
    sys.path.insert(0, str(HERE.parent.parent))
    from artstore.artifacts import Artifact, Store

    if TARGET.exists():
        shutil.rmtree(TARGET)
    with Store.init(str(TARGET)) as store:
        for name, versions in CONTENT.items():
            for number, files in enumerate(versions):
                folder = work / f"{name}-{number}"
                for rel, (data, executable) in files.items():
                    path = folder / rel
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_bytes(data)
                    path.chmod(0o755 if executable else 0o644)
                artifact = Artifact(name, TYPES[name], metadata=METADATA[name])
                artifact.add_dir(folder)
                version = store.log_artifact(artifact, ALIASES.get((name, number), ()))
                print(f"{version.qualified_name} {version.digest}")
    shutil.rmtree(work)

    db = TARGET / "catalog.db"
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("PRAGMA journal_mode=DELETE")
    conn.close()
    conn = sqlite3.connect(db)
    conn.execute("VACUUM")
    conn.close()
    for leftover in ("catalog.db-wal", "catalog.db-shm", "catalog.db-journal"):
        (TARGET / leftover).unlink(missing_ok=True)
    # git keeps no empty folders, so leave out tmp/ (a store re-creates it when writing)
    shutil.rmtree(TARGET / "tmp")


if __name__ == "__main__":
    main()
