"""Writes of the data exchange: default sources, department imports (snapshots), saved mappings, review decisions."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fupin.core import audit
from fupin.core.bulk import BulkWriter
from fupin.core.errors import ImportRefused, RowProblem, ServiceError
from fupin.core.i18n import join_list
from fupin.core.services import batch_finish, batch_start
from fupin.core.tabular import ReadReport
from fupin.exchange import registry_copy
from fupin.exchange.models import ColumnMapping, LinkReview, Snapshot, Source, StagedRecord
from fupin.exchange.reading import read_department_file, value_counts
from fupin.exchange.sources import DEFAULT_SOURCES

Progress = Callable[[int, str], None]
PROBLEMS_KEPT = 5000


def _user(actor):
    return actor if getattr(actor, "pk", None) else None


def department_for(code: str, name: str):
    """The org.Department with this code, created on demand (the demo seed creates them with the same codes)."""
    from fupin.org.models import Department

    dept = Department.objects.filter(code=code).first()
    if dept is None:
        dept = Department.objects.create(code=code, name=name, short_name=name.removesuffix("局")[:20])
    return dept


def sources_ensure_defaults() -> int:
    """Create the default sources that do not exist yet; existing ones (maybe edited by the county) stay."""
    existing = set(Source.objects.values_list("code", flat=True))
    created = 0
    for order, (code, name, dept_code, dept_name, row_label, fields) in enumerate(DEFAULT_SOURCES, start=1):
        if code in existing:
            continue
        Source.objects.create(code=code, name=name, department=department_for(dept_code, dept_name),
                              row_label=row_label, fields=copy.deepcopy(fields), order=order)
        created += 1
    return created


def source_get(code: str) -> Source:
    sources_ensure_defaults()
    source = Source.objects.filter(code=code, is_active=True).first()
    if source is None:
        codes = join_list(Source.objects.filter(is_active=True).values_list("code", flat=True))
        raise ServiceError(_("Unknown data source: %(code)s (available: %(codes)s)") % {"code": code, "codes": codes}, field="source")
    return source


STAGED_COLUMNS = ["snapshot_id", "source_code", "batch_id", "row_number", "raw", "data", "id_raw", "id_clean",
                  "id_number", "id_status", "name", "birth_date", "sex", "address", "readable", "problem",
                  "id_kind", "id_area6", "id_birth_year", "id_birth_date", "id_last4", "id_sex", "sheet", "id_once"]


# Who reads which fields of a source: the point exchange.field_reader (fupin/core/extensions.py); the comparison
# registers the released rules' needs (fupin/eligibility/hooks.py).


def register_field_reader(fn: Callable[[str], dict[str, list[str]]]) -> Callable:
    """Deprecated: register `ext.FieldReader(fn=fn)` in the app's hooks.py."""
    from fupin.core import extensions as ext

    ext.register(ext.FieldReader(fn=fn))
    return fn


def fields_read(source_code: str) -> dict[str, list[str]]:
    """The source's fields something reads (released rules), with the names of what reads each."""
    out: dict[str, list[str]] = {}
    from fupin.core import extensions as ext

    for reader in ext.registered("exchange.field_reader"):
        for name, readers in reader.fn(source_code).items():
            out.setdefault(name, []).extend(readers)
    return out


def import_department(*, actor, source_code: str, path: str | Path, mapping_name: str | None = None,
                      sheet: str | None = None, progress: Progress | None = None,
                      accept_missing: bool = False, file_name: str = "") -> Snapshot:
    """Stage one department file as the source's new current snapshot (the previous one stays, not current).

    Required columns missing → ImportRefused listing the headers seen and expected; nothing is written. A column a
    released rule reads missing → refused naming the columns and rules, unless `accept_missing`: then the snapshot is
    staged and the comparison marks those rules "not evaluated" for it, keeping their findings. Rows that cannot be
    read are staged flagged and listed in the snapshot's problems, never dropped. `file_name`: the name the user's
    file had (an upload is kept under a random name).
    """
    progress = progress or (lambda p, m="": None)
    path = Path(path)
    if not path.exists():
        raise ServiceError(_("File not found: %(path)s") % {"path": path})
    source = source_get(source_code)
    mapping = _mapping_for(source, mapping_name)
    progress(5, _("Reading the file"))
    report = ReadReport()
    headers, used, rows = read_department_file(path, source.fields, mapping=mapping.mapping if mapping else None,
                                               sheet=sheet, report=report)
    multi = sum(1 for s in report.sheets if s["read"]) > 1
    present = set(used.values())
    missing = {name: readers for name, readers in fields_read(source.code).items() if name not in present}
    if missing and not accept_missing:
        raise ImportRefused(headline=_("%(source_name)s not imported") % {"source_name": source.name}, problems=[
            RowProblem(0, name, "", _("The file lacks this column, which the released comparison rules “%(items)s” read (the file's columns: %(items2)s); add the column and import again, or tick “import with missing columns”: those rules then skip this source and their findings stay as they are") % {"items": join_list(sorted(set(readers))), "items2": join_list(h for h in headers if h)})
            for name, readers in sorted(missing.items())])
    progress(40, _("%(count)s rows read") % {"count": len(rows)})
    # The file is read and checked above, before the write transaction: on SQLite the transaction holds the one
    # write lock, and other users' writes wait at most the busy timeout (docs/security.md, "Load and crashes").
    with transaction.atomic():
        # the registry's columnar copy brought up to date once this import commits, so that the next comparison
        # finds it current instead of building it first (fupin/exchange/registry_copy.py)
        transaction.on_commit(registry_copy.refresh_quietly)
        return _stage_snapshot(actor=actor, source=source, path=path, headers=headers, used=used, rows=rows,
                               report=report, missing=missing, multi=multi, progress=progress,
                               file_name=file_name)


def _stage_snapshot(*, actor, source, path: Path, headers, used, rows, report: ReadReport, missing, multi: bool,
                    progress: Progress, file_name: str) -> Snapshot:
    batch = batch_start(kind="exchange.import", actor=actor, source=path, keep_file=True)
    now = timezone.now()
    Snapshot.objects.filter(source=source, is_current=True).update(is_current=False, replaced_at=now)
    problems: list[list] = [[0, name, "", f"文件没有这一列:规则「{'、'.join(sorted(set(readers)))}」对本数据源不作比对"]
                            for name, readers in sorted(missing.items())]
    id_stats: dict[str, int] = {}
    id_kinds: dict[str, int] = {}
    unreadable = with_problems = 0
    for r in rows:
        id_stats[r.id_status] = id_stats.get(r.id_status, 0) + 1
        id_kinds[r.id_kind] = id_kinds.get(r.id_kind, 0) + 1
        if r.problems:
            with_problems += 1
            if len(problems) < PROBLEMS_KEPT:
                where = f"「{r.sheet}」" if multi else ""
                problems.append([r.row_number, where, "", ";".join(r.problems)])
        if not r.readable:
            unreadable += 1
    snap = Snapshot.objects.create(
        source=source, file_name=(file_name or path.name)[:255], file_sha256=batch.source_sha256,
        raw_path=batch.raw_path,
        headers_seen=headers, mapping_used=used, row_count=len(rows), problem_count=with_problems,
        unreadable_count=unreadable, problems=problems, id_stats=id_stats, id_kinds=id_kinds, is_current=True,
        sheets=report.sheets, skipped=report.skipped[:PROBLEMS_KEPT], value_counts=value_counts(rows, source.fields),
        imported_by=_user(actor), batch=batch)

    dumps = json.JSONEncoder(ensure_ascii=False).encode
    data_json = [dumps(r.data) for r in rows]  # written to the database and to the columnar cache

    def values():
        for i, r in enumerate(rows):
            if i and i % 20000 == 0:
                progress(40 + int(55 * i / len(rows)), _("Writing to staging %(i)s/%(count)s") % {"i": i, "count": len(rows)})
            # the ID stored once when its three forms are equal (StagedRecord.id_once): one seal, one ciphertext
            once = bool(r.id_number) and r.id_raw == r.id_clean == r.id_number
            yield (snap.pk, source.code, batch.pk, r.row_number, dumps(r.raw), data_json[i],
                   "" if once else r.id_raw, "" if once else r.id_clean,
                   r.id_number, r.id_status, r.name, r.birth_date, r.sex, r.address, r.readable,
                   ";".join(r.problems)[:300], r.id_kind, r.id_area6, r.id_birth_year, r.id_birth_date,
                   r.id_last4, r.id_sex, r.sheet[:100], once)

    BulkWriter(StagedRecord, columns=STAGED_COLUMNS, encoded=("raw", "data")).write(values())
    _cache_snapshot(snap, rows, data_json)
    _not_understood(snap)
    batch_finish(batch, actor=actor, rows=len(rows),
                 summary={"source": source.code, "snapshot": snap.pk, "unreadable": unreadable,
                          "with_problems": with_problems, "id_status": id_stats, "id_kinds": id_kinds,
                          "skipped": len(report.skipped), "sheets": [s["name"] for s in report.sheets if s["read"]]})
    progress(100, _("Import finished"))
    return snap


def _not_understood(snap: Snapshot) -> None:
    """Values of the new snapshot that the released value mappings do not know (fupin.eligibility.mappings)."""
    from django.apps import apps

    if apps.is_installed("fupin.eligibility"):
        from fupin.eligibility.services import not_understood_refresh

        not_understood_refresh([snap])


def _cache_snapshot(snap: Snapshot, rows, data_json: list[str]) -> None:
    """Write the columnar copy the linkage and the rules read (see fupin.exchange.cache)."""
    import pyarrow as pa

    from fupin.exchange import cache
    from fupin.exchange.pinyin import names_pinyin

    ids = list(StagedRecord.objects.filter(snapshot=snap).order_by("id").values_list("id", flat=True))
    if len(ids) != len(rows):
        return
    names = [r.name for r in rows]
    table = pa.table({
        "record_id": pa.array(ids, pa.int64()), "snapshot_id": pa.array([snap.pk] * len(rows), pa.int64()),
        "source_code": pa.array([snap.source.code] * len(rows), pa.string()),
        "id_clean": pa.array([r.id_clean for r in rows], pa.string()),
        "id_number": pa.array([r.id_number for r in rows], pa.string()),
        "id_status": pa.array([r.id_status for r in rows], pa.string()),
        "name": pa.array(names, pa.string()),
        "birth_date": pa.array([r.birth_date.isoformat() if r.birth_date else None for r in rows], pa.string()),
        "sex": pa.array([r.sex for r in rows], pa.string()),
        "address": pa.array([r.address for r in rows], pa.string()),
        "id_kind": pa.array([r.id_kind for r in rows], pa.string()),
        "id_area6": pa.array([r.id_area6 for r in rows], pa.string()),
        "id_birth_year": pa.array([r.id_birth_year for r in rows], pa.int32()),
        "id_birth_date": pa.array([r.id_birth_date.isoformat() if r.id_birth_date else None for r in rows],
                                  pa.string()),
        "id_last4": pa.array([r.id_last4 for r in rows], pa.string()),
        "id_sex": pa.array([r.id_sex for r in rows], pa.string()),
        "readable": pa.array([r.readable for r in rows], pa.bool_()),
        "data": pa.array(data_json, pa.string()),
        "name_py": pa.array(names_pinyin(names), pa.string()),
    })
    try:
        cache.snapshot_records_write(snap, table)
    except OSError:  # the cache is an optimisation; the database has the rows
        pass


def _mapping_for(source: Source, name: str | None) -> ColumnMapping | None:
    if name:
        mapping = ColumnMapping.objects.filter(source=source, name=name).first()
        if mapping is None:
            raise ServiceError(_("Data source %(source_code)s has no column mapping named “%(name)s”") % {"source_code": source.code, "name": name})
        return mapping
    return ColumnMapping.objects.filter(source=source, is_default=True).first()


@transaction.atomic
def mapping_save(*, actor, source: Source, name: str, mapping: dict[str, str], is_default: bool = False
                 ) -> ColumnMapping:
    """Save (or replace) a column mapping: header in the department's file → canonical field of the source."""
    names = set(source.field_names())
    bad = {v for v in mapping.values() if v and v not in names}
    if bad:
        raise ServiceError(_("The mapped fields do not exist: %(items)s") % {"items": join_list(sorted(bad))})
    if not name.strip():
        raise ServiceError(_("Name the column mapping"))
    if is_default:
        ColumnMapping.objects.filter(source=source, is_default=True).exclude(name=name).update(is_default=False)
    obj, _created = ColumnMapping.objects.update_or_create(
        source=source, name=name.strip(),
        defaults={"mapping": {k: v for k, v in mapping.items() if v}, "is_default": is_default,
                  "created_by": _user(actor)})
    audit.record(actor=actor, action="exchange.mapping.save", obj=obj, after={"mapping": obj.mapping})
    return obj


@transaction.atomic
def review_decide(*, actor, review: LinkReview, decision: str, note: str = "") -> LinkReview:
    """Decide an uncertain pair (match / non_match). The decision is remembered for the same record content."""
    if decision not in (LinkReview.Status.MATCH, LinkReview.Status.NON_MATCH):
        raise ServiceError(_("The decision must be “same person” or “not the same person”"))
    review = LinkReview.objects.select_for_update().get(pk=review.pk)
    before = {"status": review.status}
    review.status = decision
    review.note = note[:300]
    review.decided_by = _user(actor)
    review.decided_at = timezone.now()
    review.version += 1
    review.save()
    if decision == LinkReview.Status.MATCH:
        if review.record_id:
            from fupin.exchange import cache
            from fupin.exchange.models import LinkMethod, RecordLink

            cache.links_forget(review.record.snapshot)
            RecordLink.objects.filter(record_id=review.record_id).delete()
            RecordLink.objects.create(record_id=review.record_id, person=review.person,
                                      snapshot_id=review.record.snapshot_id, source_code=review.source_code,
                                      method=LinkMethod.REVIEWED, score=review.score, area_code=review.area_code)
        # one record is one person: the other candidates of the same record are not it
        LinkReview.objects.filter(record_key=review.record_key, status=LinkReview.Status.OPEN).exclude(
            pk=review.pk).update(status=LinkReview.Status.NON_MATCH, decided_by=_user(actor),
                                 decided_at=review.decided_at, note="同一记录已确认为另一人")
    audit.record(actor=actor, action="exchange.review.decide", obj=review, before=before,
                 after={"status": decision, "note": note})
    return review
