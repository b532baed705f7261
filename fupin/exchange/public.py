"""What the exchange app offers other apps: the one module the comparison (fupin/eligibility) reads the linkage
through. Everything else in fupin.exchange is the exchange's own business and may change without notice;
`fupin/eligibility/tests/test_boundary.py` checks that eligibility imports nothing else from it.

- sources and snapshots: the `Source`, `Snapshot`, `StagedRecord` and `RecordLink` models (read them, never write
  them from outside: imports, links and reviews are written by the exchange's services), `sources_ensure_defaults`,
  `import_department`, `MAPPABLE_ROLES` (the field roles a value mapping may cover), `register_field_reader`;
- the staged records' reader: `snapshot_record_data` (record id and the fields by name, from the columnar copy),
  `records_for_evidence` (the columns evidence cites), `link_methods` (how each record was linked);
- the linkage: `linkage_run` (or its two halves: `linkage_compute` without writing, `linkage_current` and
  `linkage_write` inside the caller's transaction, `linkage_cache` after its commit, `planned_links` for the links a plan will leave), `default_engine` (and `ENGINES`, the engines it can build), `load_persons` (and `persons_batches`, the same a row group at a time), `load_links`, `registry_fingerprint`
  (and `registry_fingerprint_kept_through`, around a transaction that changes no person and no household),
  `registry_table` (a registry table kept in the columnar cache under the registry's fingerprint),
  `registry_households` (the households' columns the rules read, kept with the registry's copy at import and
  nightly);
- the Spark engine's SQL dialect for one compiled rule expression: `spark_expression`; `Load` and `Release`, the
  steps of an engine's `evaluate` setup that read input tables only when the statements that need them come and
  let tables go once no later statement reads them, and
  `arrow_memory_returned`, which gives the memory of Arrow tables let go back to the system;
- helpers for pages: `county_wide`, `source_names` (a source's name by its code), `LinkMethod` (how a record was
  linked, with its label).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import pyarrow as pa

from fupin.exchange import cache as _cache
from fupin.exchange.engine import Load, Release, arrow_memory_returned
from fupin.exchange.linkage import (
    ENGINES,
    LinkagePlan,
    default_engine,
    linkage_cache,
    linkage_compute,
    linkage_current,
    linkage_run,
    linkage_write,
    load_links,
    load_persons,
    planned_links,
    registry_fingerprint,
    registry_fingerprint_kept_through,
)
from fupin.exchange.models import LinkMethod, RecordLink, Snapshot, Source, StagedRecord
from fupin.exchange.reading import MAPPABLE_ROLES
from fupin.exchange.selectors import county_wide, source_names
from fupin.exchange.services import import_department, register_field_reader, sources_ensure_defaults
from fupin.exchange.spark_sql import expression as spark_expression

__all__ = [
    "ENGINES",
    "MAPPABLE_ROLES",
    "LinkMethod",
    "LinkagePlan",
    "Load",
    "RecordLink",
    "Release",
    "Snapshot",
    "Source",
    "StagedRecord",
    "arrow_memory_returned",
    "county_wide",
    "current_snapshots",
    "default_engine",
    "import_department",
    "link_methods",
    "linkage_cache",
    "linkage_compute",
    "linkage_current",
    "linkage_run",
    "linkage_write",
    "load_links",
    "load_persons",
    "persons_batches",
    "planned_links",
    "records_for_evidence",
    "register_field_reader",
    "registry_fingerprint",
    "registry_fingerprint_kept_through",
    "registry_households",
    "registry_table",
    "snapshot_record_data",
    "source_names",
    "sources_ensure_defaults",
    "spark_expression",
]


def current_snapshots() -> list[Snapshot]:
    """The current snapshot of every source that has one (with its source). The import report's row lists
    (problems, skipped: up to 5,000 rows each, hundreds of kB of JSON per snapshot) are left unread until asked for:
    a comparison reads the snapshots several times and never those."""
    return list(Snapshot.objects.filter(is_current=True).select_related("source").defer("problems", "skipped"))


def registry_households(fingerprint: str) -> pa.Table:
    """The registry's households with the columns the rules read (fupin/exchange/registry_copy.py `households`)."""
    from fupin.exchange import registry_copy

    return registry_copy.households(fingerprint)


def persons_batches(fingerprint: str) -> pa.RecordBatchReader:
    """The registry's persons (as `load_persons` returns them) a row group at a time, for a reader that scans them
    once: the rules' setup, which keeps only the members of the households in scope."""
    from fupin.exchange import registry_copy

    return registry_copy.batches(fingerprint)


def registry_table(name: str, fingerprint: str, build: Callable[[], pa.Table]) -> pa.Table:
    """A table derived from the registry, from the columnar cache when the registry has not changed since it was
    written (`fingerprint`), else built and kept."""
    return _cache.registry_read_or_build(name, fingerprint, build)


def snapshot_record_data(snapshot: Snapshot | None) -> pa.Table:
    """record_id and data (the canonical fields by Chinese name, JSON text) of a snapshot's staged records, from its
    columnar copy when present (else from the database); no snapshot: an empty table."""
    from fupin.core import crypto
    from fupin.core.bulk import fetch_arrow

    table = _cache.snapshot_records_read(snapshot) if snapshot is not None else None
    if table is not None:
        return table.select(["record_id", "data"])
    table = fetch_arrow(
        f'SELECT id AS record_id, data FROM "{StagedRecord._meta.db_table}" '  # noqa: S608
        f"WHERE snapshot_id = %s", [snapshot.pk if snapshot is not None else -1],
        types={"record_id": pa.int64(), "data": pa.string()})
    # sealed at rest (fupin/core/fields.py): the JSON text opened here, in memory
    purpose = StagedRecord._meta.get_field("data").purpose
    opened = [v if not v else crypto.decrypt(v, purpose) for v in table.column("data").to_pylist()]
    return table.set_column(1, "data", pa.array(opened, pa.string()))


class EvidenceRecord:
    """The few columns of a staged record that evidence cites."""

    __slots__ = ("data", "file_name", "id_raw", "pk", "row_number", "snapshot_id", "source_code")


def records_for_evidence(record_ids: Iterable[int]) -> dict[int, EvidenceRecord]:
    files = dict(Snapshot.objects.values_list("pk", "file_name"))
    out: dict[int, EvidenceRecord] = {}
    ids = list(record_ids)
    for i in range(0, len(ids), 5000):
        for pk, source, row, data, id_raw, once, number, snap in StagedRecord.objects.filter(
                pk__in=ids[i:i + 5000]).values_list("pk", "source_code", "row_number", "data", "id_raw", "id_once",
                                                    "id_number", "snapshot_id"):
            rec = EvidenceRecord()
            rec.pk, rec.source_code, rec.row_number, rec.data = pk, source, row, data
            rec.id_raw = number if once else id_raw  # stored once when equal (StagedRecord.id_once)
            rec.snapshot_id, rec.file_name = snap, files.get(snap, "")
            out[pk] = rec
    return out


def link_methods(record_ids: Iterable[int]) -> dict[tuple[int, int], tuple[str, float]]:
    """{(record, person): (method, score)} of these records' links."""
    out: dict[tuple[int, int], tuple[str, float]] = {}
    ids = list(record_ids)
    for i in range(0, len(ids), 5000):
        for rid, pid, method, score in RecordLink.objects.filter(record_id__in=ids[i:i + 5000]).values_list(
                "record_id", "person_id", "method", "score"):
            out[(rid, pid)] = (method, score)
    return out
