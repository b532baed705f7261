"""Columnar copies (Parquet) of what the engines read, so a comparison does not pull 400,000 rows through Python.

The database stays the record: these files are derived, keyed by what they were derived from, and rebuilt from the
database whenever they are missing or do not match (a snapshot's row count, the registry's fingerprint). Deleting
the folder (FUPIN_DATA_DIR/exchange/cache) is always safe. Every file is sealed (`_write`) and opened into memory
when read (`_read`); a key rotation leaves old copies readable while their key stays in the key file.
The folder is the database's (`_db_key`); a snapshot's records copy left under another database's folder (the
same database restored to a new path) is used once it verifies against this database (`_restored`).
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from django.conf import settings
from django.db import connection

from fupin.core import filestore

PURPOSE = "exchange.cache"  # the sealed copies' additional data: a stored file's segments cannot be passed off as these
log = logging.getLogger(__name__)


def folder() -> Path:
    path = Path(settings.DATA_DIR) / "exchange" / "cache" / _db_key()
    path.mkdir(parents=True, exist_ok=True)
    return path


def _db_key() -> str:
    db = connection.settings_dict
    return hashlib.sha256(f"{db['ENGINE']}|{db['NAME']}|{db.get('HOST', '')}".encode()).hexdigest()[:12]


def _write(path: Path, table: pa.Table) -> None:
    """The Parquet bytes are made in memory and written sealed (fupin/core/filestore.py: AES-GCM or SM4-GCM under the
    active data key, in 1 MiB segments): the copies hold opened ID numbers, health and disability cards, and no file
    under FUPIN_DATA_DIR may hold them readable."""
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    filestore.write_sealed(path, [sink.getvalue().to_pybytes()], purpose=PURPOSE)


def _read(path: Path, columns: list[str] | None = None) -> pa.Table | None:
    """A sealed copy opened into memory only (a plain copy left by an older version is read, then replaced by the
    next write). `columns`: only those of them the copy has (the others' pages are not decoded)."""
    if not path.exists():
        return None
    try:
        data = filestore.read_plain(path, purpose=PURPOSE)
        if columns is not None:
            present = set(pq.read_schema(pa.BufferReader(data)).names)
            columns = [c for c in columns if c in present]
        return pq.read_table(pa.BufferReader(data), columns=columns)
    except Exception:  # a broken cache file, or one under a key no longer in the file, is rebuilt from the database
        log.warning("cache file %s unreadable; rebuilding", path, exc_info=True)
        return None


def _batches(path: Path, columns: list[str] | None = None) -> pa.RecordBatchReader | None:
    """A sealed copy opened into memory as Parquet bytes and decoded a row group at a time (`_read` decodes the
    whole table): for a table handed straight to DuckDB, never whole in Arrow beside it. The schema's metadata is
    the file's. None when there is none or it is unreadable (as `_read`)."""
    if not path.exists():
        return None
    try:
        parquet = pq.ParquetFile(pa.BufferReader(filestore.read_plain(path, purpose=PURPOSE)))
        if columns is not None:
            columns = [c for c in columns if c in parquet.schema_arrow.names]
        schema = parquet.schema_arrow
        if columns is not None:
            schema = pa.schema([schema.field(c) for c in columns], metadata=schema.metadata)
        groups = (parquet.read_row_group(i, columns=columns).to_batches() for i in range(parquet.num_row_groups))
        return pa.RecordBatchReader.from_batches(schema, (b for batches in groups for b in batches))
    except Exception:  # as `_read`: a broken file is rebuilt from the database
        log.warning("cache file %s unreadable; rebuilding", path, exc_info=True)
        return None


# -- snapshots ---------------------------------------------------------------------------------------------------

def _snap_key(snapshot) -> str:
    """A snapshot's identity: its id alone could be reused by another database state (tests roll back)."""
    raw = f"{snapshot.pk}|{snapshot.file_sha256}|{snapshot.created_at.isoformat()}|{snapshot.row_count}"
    return f"{snapshot.pk}-{hashlib.sha256(raw.encode()).hexdigest()[:16]}"


def snapshot_records_write(snapshot, table: pa.Table) -> None:
    _write(folder() / f"snapshot-{_snap_key(snapshot)}.parquet", table)


def snapshot_records_read(snapshot, columns: list[str] | None = None) -> pa.Table | None:
    """A snapshot's records from its copy (None when there is none, or it does not hold them all); `columns`: only
    those of them the copy has (the linkage leaves the records' JSON, most of the copy, unread)."""
    name = f"snapshot-{_snap_key(snapshot)}.parquet"
    table = _read(folder() / name, columns)
    if table is None:
        table = _restored(name, snapshot, columns)
    if table is None or table.num_rows != snapshot.row_count:
        return None
    return table


def _restored(name: str, snapshot, columns: list[str] | None = None) -> pa.Table | None:
    """This snapshot's copy kept under another database's folder: the same database restored from its backup to a
    new path (or name, or host) has a new folder, but its snapshots' copies are still good. A copy is taken only if
    it verifies against this database — the same record ids (count, smallest, largest, sum) for this snapshot, all
    of them this snapshot's — and is then kept in this database's folder; otherwise the records are read from the
    database, as when no copy is kept. The records' values are not compared: staged records are never updated (a
    retention purge deletes them, which changes the ids), and the file name already binds the snapshot's file hash,
    creation time and row count. `columns`: as `snapshot_records_read`, only those are decoded (and the ids the
    check reads): the file is kept whole, the records' JSON (most of it) is not decoded for the linkage."""
    here = folder()
    checked = ["record_id", "snapshot_id"]
    wanted = None if columns is None else [*columns, *(c for c in checked if c not in columns)]
    try:
        others = [p / name for p in here.parent.iterdir() if p != here and (p / name).is_file()]
    except OSError:
        return None
    for path in others:
        table = _read(path, wanted)
        if table is None or "record_id" not in table.column_names or not _verifies(snapshot, table):
            log.info("cache file %s does not match this database; not used", path)
            continue
        try:
            tmp = here / f".{name}.{os.getpid()}.tmp"
            shutil.copyfile(path, tmp)
            os.replace(tmp, here / name)
        except OSError:  # kept for next time only if it can be; this run has it in memory
            pass
        return table if columns is None else table.select([c for c in columns if c in table.column_names])
    return None


def _verifies(snapshot, table: pa.Table) -> bool:
    from django.db.models import Count, Max, Min, Sum

    from fupin.exchange.models import StagedRecord

    ids = table.column("record_id")
    if "snapshot_id" in table.column_names and pc.any(pc.not_equal(table.column("snapshot_id"), snapshot.pk)).as_py():
        return False
    db = StagedRecord.objects.filter(snapshot_id=snapshot.pk).aggregate(n=Count("id"), lo=Min("id"), hi=Max("id"),
                                                                        total=Sum("id"))
    mine = {"n": len(ids), "lo": pc.min(ids).as_py(), "hi": pc.max(ids).as_py(), "total": pc.sum(ids).as_py()}
    db = {k: None if v is None else int(v) for k, v in db.items()}  # PostgreSQL's sum of bigint is a numeric
    return db["n"] == snapshot.row_count and db == mine


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


def registry_batches(name: str, fingerprint: str, columns: list[str] | None = None) -> pa.RecordBatchReader | None:
    """`registry_read`'s table (these columns of it) a row group at a time (`_batches`)."""
    return _batches(folder() / f"{name}-{hashlib.sha256(fingerprint.encode()).hexdigest()[:16]}.parquet", columns)


def registry_kept(name: str, fingerprint: str) -> bool:
    """Whether a copy of `name` for this registry state is kept (without opening it)."""
    return (folder() / f"{name}-{hashlib.sha256(fingerprint.encode()).hexdigest()[:16]}.parquet").exists()


def registry_write(name: str, fingerprint: str, table: pa.Table) -> None:
    path = folder() / f"{name}-{hashlib.sha256(fingerprint.encode()).hexdigest()[:16]}.parquet"
    for old in folder().glob(f"{name}-*.parquet"):
        if old != path:
            old.unlink(missing_ok=True)
    _write(path, table)


def registry_read_or_build(name: str, fingerprint: str, build) -> pa.Table:
    """A table derived from the registry: the kept copy when it was written for this registry state (`fingerprint`),
    else built and kept (a copy that cannot be written is logged; the table is still returned)."""
    table = registry_read(name, fingerprint)
    if table is None:
        table = build()
        try:
            registry_write(name, fingerprint, table)
        except OSError:
            log.warning("the registry table %s could not be kept", name, exc_info=True)
    return table


def registry_latest(name: str) -> pa.Table | None:
    """The kept copy of `name` whatever registry state it was written for (the newest, if several): what an
    incremental refresh starts from (fupin/exchange/registry_copy.py)."""
    def mtime(path: Path) -> float:
        try:
            return path.stat().st_mtime
        except OSError:  # removed meanwhile by a writer
            return 0.0

    files = sorted(folder().glob(f"{name}-*.parquet"), key=mtime)
    return _read(files[-1]) if files else None
