"""Columnar copies (Parquet) of what the engines read, so a comparison does not pull 400,000 rows through Python.

The database stays the record: these files are derived, keyed by what they were derived from, and rebuilt from the
database whenever they are missing or do not match (a snapshot's row count, the registry's fingerprint). Deleting
the folder (FUPIN_DATA_DIR/exchange/cache) is always safe.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from django.conf import settings
from django.db import connection

log = logging.getLogger(__name__)


def folder() -> Path:
    path = Path(settings.DATA_DIR) / "exchange" / "cache" / _db_key()
    path.mkdir(parents=True, exist_ok=True)
    return path


def _db_key() -> str:
    db = connection.settings_dict
    return hashlib.sha256(f"{db['ENGINE']}|{db['NAME']}|{db.get('HOST', '')}".encode()).hexdigest()[:12]


def _write(path: Path, table: pa.Table) -> None:
    tmp = path.with_suffix(".tmp")
    pq.write_table(table, tmp, compression="zstd")
    tmp.replace(path)


def _read(path: Path) -> pa.Table | None:
    if not path.exists():
        return None
    try:
        return pq.read_table(path)
    except Exception:  # a broken cache file is rebuilt from the database
        log.warning("cache file %s unreadable; rebuilding", path, exc_info=True)
        return None


# -- snapshots ---------------------------------------------------------------------------------------------------

def _snap_key(snapshot) -> str:
    """A snapshot's identity: its id alone could be reused by another database state (tests roll back)."""
    raw = f"{snapshot.pk}|{snapshot.file_sha256}|{snapshot.created_at.isoformat()}|{snapshot.row_count}"
    return f"{snapshot.pk}-{hashlib.sha256(raw.encode()).hexdigest()[:16]}"


def snapshot_records_write(snapshot, table: pa.Table) -> None:
    _write(folder() / f"snapshot-{_snap_key(snapshot)}.parquet", table)


def snapshot_records_read(snapshot) -> pa.Table | None:
    table = _read(folder() / f"snapshot-{_snap_key(snapshot)}.parquet")
    if table is None or table.num_rows != snapshot.row_count:
        return None
    return table


def snapshot_links_write(snapshot, fingerprint: str, table: pa.Table) -> None:
    path = folder() / f"links-{_snap_key(snapshot)}.parquet"
    _write(path, table.replace_schema_metadata({"fingerprint": fingerprint}))


def snapshot_links_read(snapshot, fingerprint: str) -> pa.Table | None:
    table = _read(folder() / f"links-{_snap_key(snapshot)}.parquet")
    if table is None or (table.schema.metadata or {}).get(b"fingerprint", b"").decode() != fingerprint:
        return None
    return table


def links_forget(snapshot) -> None:
    (folder() / f"links-{_snap_key(snapshot)}.parquet").unlink(missing_ok=True)


# -- the registry ------------------------------------------------------------------------------------------------

def registry_read(name: str, fingerprint: str) -> pa.Table | None:
    return _read(folder() / f"{name}-{hashlib.sha256(fingerprint.encode()).hexdigest()[:16]}.parquet")


def registry_write(name: str, fingerprint: str, table: pa.Table) -> None:
    path = folder() / f"{name}-{hashlib.sha256(fingerprint.encode()).hexdigest()[:16]}.parquet"
    for old in folder().glob(f"{name}-*.parquet"):
        if old != path:
            old.unlink(missing_ok=True)
    _write(path, table)
