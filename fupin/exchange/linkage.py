"""Running the linkage: read current snapshots and the registry in bulk, link in the engine, write links back.

Links are computed per snapshot and kept with the registry state they were computed on (`link_fingerprint`): a
rerun after one department reloads relinks only that snapshot, unless the registry changed meanwhile.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import pyarrow as pa
from django.db import connection, transaction
from django.utils import timezone

from fupin.core import audit
from fupin.exchange.bulk import bulk_insert, delete_where, fetch_arrow
from fupin.exchange.engine import DuckDBEngine, Engine, LinkSettings
from fupin.exchange.models import LinkReview, LinkRun, RecordLink, Snapshot, StagedRecord
from fupin.exchange.pinyin import names_pinyin

log = logging.getLogger(__name__)
Progress = Callable[[int, str], None]


def default_engine() -> Engine:
    return DuckDBEngine()


def registry_fingerprint(settings: LinkSettings) -> str:
    from fupin.registry.models import Person

    table = Person._meta.db_table
    with connection.cursor() as cur:
        cur.execute(f'SELECT count(*), max(id), max(updated_at) FROM "{table}"')  # noqa: S608
        n, max_id, max_updated = cur.fetchone()
    return f"{n}:{max_id}:{max_updated}:{settings.version}"


def load_persons() -> pa.Table:
    from fupin.registry.models import Person

    t = Person._meta.db_table
    table = fetch_arrow(
        f'SELECT id AS person_id, name, id_number, id_valid, birth_date, sex, area_code FROM "{t}"',  # noqa: S608
        types={"person_id": pa.int64(), "name": pa.string(), "id_number": pa.string(), "id_valid": pa.bool_(),
               "sex": pa.string(), "area_code": pa.string()})
    table = _as_date_string(table, "birth_date")
    return table.append_column("name_py", pa.array(names_pinyin(table.column("name").to_pylist()), pa.string()))


def load_records(snapshot_ids: list[int]) -> pa.Table:
    if not snapshot_ids:
        snapshot_ids = [-1]
    t = StagedRecord._meta.db_table
    marks = ", ".join(["%s"] * len(snapshot_ids))
    table = fetch_arrow(
        f'SELECT id AS record_id, source_code, id_clean, id_number, id_status, name, birth_date, sex, address '  # noqa: S608
        f'FROM "{t}" WHERE snapshot_id IN ({marks}) AND readable',
        snapshot_ids,
        types={"record_id": pa.int64(), "source_code": pa.string(), "id_clean": pa.string(),
               "id_number": pa.string(), "id_status": pa.string(), "name": pa.string(), "sex": pa.string(),
               "address": pa.string()})
    table = _as_date_string(table, "birth_date")
    return table.append_column("name_py", pa.array(names_pinyin(table.column("name").to_pylist()), pa.string()))


def load_divisions() -> pa.Table:
    from fupin.geo.models import Division

    t = Division._meta.db_table
    return fetch_arrow(
        f'SELECT d.code, d.name, d.level, p.code AS parent_code FROM "{t}" d '  # noqa: S608
        f'LEFT JOIN "{t}" p ON p.id = d.parent_id',
        types={"code": pa.string(), "name": pa.string(), "level": pa.string(), "parent_code": pa.string()})


def load_decisions() -> pa.Table:
    rows = list(LinkReview.objects.exclude(status=LinkReview.Status.OPEN).values_list("record_key", "person_id",
                                                                                      "status"))
    cols = list(zip(*rows, strict=True)) if rows else [(), (), ()]
    return pa.table({"record_key": pa.array(list(cols[0]), pa.string()),
                     "person_id": pa.array(list(cols[1]), pa.int64()),
                     "status": pa.array(list(cols[2]), pa.string())})


def _as_date_string(table: pa.Table, column: str) -> pa.Table:
    """Dates arrive as date objects (PostgreSQL) or text (SQLite); the engines read ISO text."""
    idx = table.schema.get_field_index(column)
    values = [None if v is None else str(v)[:10] for v in table.column(column).to_pylist()]
    return table.set_column(idx, column, pa.array(values, pa.string()))


@transaction.atomic
def linkage_run(*, actor, force: bool = False, engine: Engine | None = None, settings: LinkSettings | None = None,
                progress: Progress | None = None) -> LinkRun | None:
    """Link the current snapshots whose links are stale (all with force=True); None when nothing was stale."""
    progress = progress or (lambda p, m="": None)
    engine = engine or default_engine()
    settings = settings or LinkSettings()
    t0 = time.perf_counter()
    fp = registry_fingerprint(settings)
    current = list(Snapshot.objects.filter(is_current=True).select_related("source"))
    stale = [s for s in current if force or s.link_fingerprint != fp]
    if not stale:
        return None
    stale_ids = [s.pk for s in stale]
    progress(5, "读取人口库与部门数据")
    persons = load_persons()
    records = load_records(stale_ids)
    t_load = time.perf_counter()
    progress(20, f"比对 {records.num_rows} 条部门记录")
    out = engine.link(records=records, persons=persons, divisions=load_divisions(), decisions=load_decisions(),
                      settings=settings)
    t_link = time.perf_counter()
    progress(70, "写入关联结果")
    delete_where(RecordLink._meta.db_table, "snapshot_id", stale_ids)
    snap_of = _snapshot_of_records(records, stale_ids)
    source_of = {s.pk: s.source.code for s in stale}
    links = out.links.to_pydict()
    bulk_insert(RecordLink._meta.db_table,
                ["record_id", "person_id", "snapshot_id", "source_code", "method", "score", "area_code"],
                ((rid, pid, snap_of[rid], source_of[snap_of[rid]], method, score, area)
                 for rid, pid, method, score, area in zip(links["record_id"], links["person_id"], links["method"],
                                                          links["score"], links["area_code"], strict=True)))
    n_reviews = _write_reviews(out.reviews, stale_ids, snap_of, source_of)
    Snapshot.objects.filter(pk__in=stale_ids).update(link_fingerprint=fp)
    stats = {**out.stats, "links": out.links.num_rows, "records": records.num_rows, "persons": persons.num_rows,
             "snapshots": [s.source.code for s in stale], "open_reviews": n_reviews,
             "seconds_load": round(t_load - t0, 3), "seconds_engine": round(t_link - t_load, 3),
             "seconds_write": round(time.perf_counter() - t_link, 3), "seconds_total": round(time.perf_counter() - t0, 3)}
    run = LinkRun.objects.create(engine=engine.name, stats=stats, finished_at=timezone.now())
    audit.record(actor=actor, action="exchange.linkage.run", object_type="exchange.linkrun", object_id=str(run.pk),
                 object_repr=f"linkage {len(stale)} snapshots", after=stats)
    progress(80, "关联完成")
    return run


def _snapshot_of_records(records: pa.Table, stale_ids: list[int]) -> dict[int, int]:
    t = StagedRecord._meta.db_table
    marks = ", ".join(["%s"] * len(stale_ids))
    with connection.cursor() as cur:
        cur.execute(f'SELECT id, snapshot_id FROM "{t}" WHERE snapshot_id IN ({marks})', stale_ids)  # noqa: S608
        return dict(cur.fetchall())


def _write_reviews(reviews: pa.Table, stale_ids: list[int], snap_of: dict, source_of: dict) -> int:
    """Open review pairs for the uncertain candidates; decided pairs stay as decided, vanished open ones go."""
    rows = reviews.to_pylist()
    wanted = {(r["record_key"], r["person_id"]): r for r in rows}
    existing = {(rv.record_key, rv.person_id): rv
                for rv in LinkReview.objects.filter(record__snapshot_id__in=stale_ids)}
    existing.update({(rv.record_key, rv.person_id): rv for rv in LinkReview.objects.filter(
        record_key__in=list({k for k, _ in wanted}))} if wanted else {})
    for key, rv in existing.items():
        if key not in wanted and rv.status == LinkReview.Status.OPEN:
            rv.delete()
    records = StagedRecord.objects.in_bulk([r["record_id"] for r in rows])
    for key, r in wanted.items():
        rv = existing.get(key)
        rec = records.get(r["record_id"])
        details = {"record": {"name": rec.name, "id": rec.id_clean, "id_status": rec.id_status,
                              "birth_date": rec.birth_date.isoformat() if rec.birth_date else "", "sex": rec.sex,
                              "address": rec.address, "row": rec.row_number} if rec else {},
                   "weight": r["weight"], "second_weight": r["second_weight"]}
        if rv is None:
            LinkReview.objects.create(record_key=r["record_key"], person_id=r["person_id"], record=rec,
                                      source_code=source_of[snap_of[r["record_id"]]], score=r["score"],
                                      details=details, area_code=r["area_code"] or "")
        elif rv.status == LinkReview.Status.OPEN:
            rv.record, rv.score, rv.details = rec, r["score"], details
            rv.save(update_fields=["record", "score", "details", "updated_at"])
    return LinkReview.objects.filter(status=LinkReview.Status.OPEN).count()
