"""xlsx export and import of a form's responses: one sheet for the answers, one sheet per repeating table.

Layout of every sheet: row 1 holds the item keys (what the import reads), row 2 the labels (what people read), data
from row 3. The answers sheet starts with 对象代码 (the 户编号, or the division code), 对象, 期间, 版本; a table's sheet
with 对象代码, 期间, 行. Codes are written as their labels; the import takes labels or codes.

The import is all-or-nothing like the roster import: every row is checked first and a file with any problem is
refused as a whole with a row-by-row report (ImportRefused); nothing is written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font, PatternFill

from fupin.core import idnumber
from fupin.core.errors import ImportRefused, RowProblem, ServiceError
from fupin.core.exportcells import openpyxl_text_row, sheet_title
from fupin.core.services import batch_finish, batch_start
from fupin.core.tabular import cell_text
from fupin.core.uploads import UploadLimits, check_table_file
from fupin.geo.models import Division
from fupin.registry.models import Household
from fupin.surveys import definitions as defs
from fupin.surveys import services
from fupin.surveys.models import Form, FormVersion, Level, Response

SUBJECT, SUBJECT_NAME, PERIOD, VERSION, ROW = "对象代码", "对象", "期间", "版本", "行"
MAIN_SHEET = "答卷"
HEAD_FILL = PatternFill("solid", fgColor="E8EEF7")


def _items_union(versions: list[FormVersion]) -> tuple[list[dict], dict[str, dict]]:
    """Top-level non-table items and tables over the versions (newest first), each key once."""
    items: list[dict] = []
    tables: dict[str, dict] = {}
    seen: set[str] = set()
    for v in sorted(versions, key=lambda v: -v.number):
        for it in defs.items(v.definition):
            if it["key"] in seen:
                if it["type"] == "table":
                    known = {c["key"] for c in tables[it["key"]]["columns"]}
                    tables[it["key"]]["columns"] += [c for c in it.get("columns") or [] if c["key"] not in known]
                continue
            seen.add(it["key"])
            if it["type"] == "table":
                tables[it["key"]] = {**it, "columns": list(it.get("columns") or [])}
            else:
                items.append(it)
    return items, tables


def _subject_code(r: Response) -> str:
    return (r.household.poor_code or str(r.household.uuid)) if r.household_id else r.division.code


def _write_head(ws, keys: list[str], labels: list[str]) -> None:
    ws.append(keys)
    ws.append(labels)
    for cell in ws[1]:
        cell.font = Font(color="888888", size=8)
    for cell in ws[2]:
        cell.font = Font(bold=True)
        cell.fill = HEAD_FILL
    ws.freeze_panes = "A3"


def _cell(it: dict, value: Any, codes, mask_ids: bool) -> Any:
    if defs.evaluator.is_blank(value):
        return None
    if mask_ids and (it.get("registry_field") == "id_number" or it["key"] == "id_number"):
        return idnumber.mask(str(value))
    if it["type"] == "number":
        return value
    return defs.display_value({**it, "unit": ""}, value, codes)


def export_responses(form: Form, responses, path: str | Path, *, mask_ids: bool = True) -> Path:
    """Write the responses (a scoped queryset) to an xlsx file; returns the path."""
    rows = list(responses.select_related("form_version", "household", "division"))
    versions = list(form.versions.filter(pk__in={r.form_version_id for r in rows})) or \
        list(form.versions.filter(status=FormVersion.Status.PUBLISHED)[:1])
    items, tables = _items_union(versions)
    codes = services.CodeOptions()
    wb = Workbook()
    ws = wb.active
    ws.title = MAIN_SHEET
    used = {MAIN_SHEET}
    _write_head(ws, [SUBJECT, SUBJECT_NAME, PERIOD, VERSION] + [it["key"] for it in items],
                [SUBJECT, SUBJECT_NAME, PERIOD, VERSION] +
                [it["label"] + (f"({it['unit']})" if it.get("unit") else "") for it in items])
    table_sheets = {}
    for key, t in tables.items():
        tws = wb.create_sheet(sheet_title(t["label"], used, empty="表", sep=""))
        _write_head(tws, [SUBJECT, PERIOD, ROW] + [c["key"] for c in t["columns"]],
                    [SUBJECT, PERIOD, ROW] + [c["label"] for c in t["columns"]])
        table_sheets[key] = tws
    for r in rows:
        code = _subject_code(r)
        openpyxl_text_row(ws, [code, r.subject_label, r.period, r.form_version.number] +
                          [_cell(it, r.data.get(it["key"]), codes, mask_ids) for it in items])
        for key, t in tables.items():
            for i, row in enumerate(r.data.get(key) or [], start=1):
                openpyxl_text_row(table_sheets[key], [code, r.period, i] +
                                  [_cell(c, row.get(c["key"]), codes, mask_ids) for c in t["columns"]])
    for sheet in wb.worksheets:
        for col in sheet.columns:
            sheet.column_dimensions[col[0].column_letter].width = 14
    path = Path(path)
    wb.save(path)
    return path


def _read_sheet(ws) -> tuple[list[str], list[tuple[int, dict]]]:
    rows = ws.iter_rows(values_only=True)
    try:
        keys = [cell_text(v) for v in next(rows)]
        next(rows)
    except StopIteration:
        return [], []
    out = []
    for n, values in enumerate(rows, start=3):
        rec = {k: cell_text(v) for k, v in zip(keys, values, strict=False) if k}
        if any(v for v in rec.values()):
            out.append((n, rec))
    return keys, out


def _problems_from(errors: dict[str, str], row: int, table_rows: dict, labels: dict) -> list[RowProblem]:
    out = []
    for key, problem in errors.items():
        parts = key.split(".")
        if len(parts) == 3:
            sheet_row, sheet = table_rows.get((parts[0], int(parts[1])), (row, parts[0]))
            out.append(RowProblem(sheet_row, f"{sheet}/{labels.get(parts[2], parts[2])}", "", problem))
        else:
            out.append(RowProblem(row, labels.get(key, key), "", problem))
    return out


def import_responses(*, actor, form: Form, path: str | Path, scope_user=None) -> dict:
    """Read responses from an xlsx file laid out as the export; all-or-nothing (ImportRefused with the report)."""
    check_table_file(path, limits=UploadLimits.local_files())  # zip bomb, sheet size, renamed or truncated file: refused before openpyxl reads it
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:
        raise ServiceError(_("无法读取xlsx文件:%(error)s") % {"error": exc}) from exc
    if MAIN_SHEET not in wb.sheetnames:
        raise ImportRefused(problems=[RowProblem(0, "", "", _("缺少工作表「%(sheet)s」(请用导出的文件作模板)") % {"sheet": MAIN_SHEET})])
    current = services.current_version(form)
    if current is None:
        raise ServiceError(_("%(form_name)s还没有发布的版本") % {"form_name": form.name})
    versions = {v.number: v for v in form.versions.filter(status=FormVersion.Status.PUBLISHED)}
    keys, main_rows = _read_sheet(wb[MAIN_SHEET])
    problems: list[RowProblem] = []
    for needed in (SUBJECT, PERIOD):
        if needed not in keys:
            problems.append(RowProblem(1, needed, "", _("缺少这一列")))
    if problems:
        raise ImportRefused(problems=problems)
    # table sheets: find each by its first-row keys (SUBJECT, PERIOD, ROW + columns)
    table_data: dict[tuple[str, str], dict[str, list]] = {}
    table_rows: dict[tuple[str, str, str, int], tuple[int, str]] = {}
    all_tables = {t["key"]: t for v in versions.values() for t in defs.tables(v.definition)}
    for name in wb.sheetnames:
        if name == MAIN_SHEET:
            continue
        tkeys, trows = _read_sheet(wb[name])
        cols = set(tkeys) - {SUBJECT, PERIOD, ROW, ""}
        table = next((t for t in all_tables.values() if cols and cols <= {c["key"] for c in t["columns"]}), None)
        if table is None:
            problems.append(RowProblem(1, name, "", _("无法识别这个工作表对应的表格")))
            continue
        for n, rec in trows:
            subject_key = (rec.get(SUBJECT, ""), rec.get(PERIOD, "").removesuffix("年"))
            rows = table_data.setdefault(subject_key, {}).setdefault(table["key"], [])
            rows.append({k: v for k, v in rec.items() if k not in (SUBJECT, PERIOD, ROW)})
            table_rows[(*subject_key, table["key"], len(rows))] = (n, name)
    codes = services.CodeOptions()
    planned = []
    seen: set[tuple[str, str]] = set()
    for n, rec in main_rows:
        code, period = rec.get(SUBJECT, ""), rec.get(PERIOD, "")
        try:
            period_text, _year = services.normalise_period(form, period)
        except ServiceError as exc:
            problems.append(RowProblem(n, PERIOD, period, exc.message))
            continue
        if (code, period_text) in seen:
            problems.append(RowProblem(n, SUBJECT, code, _("同一对象同一期间出现了两次")))
            continue
        seen.add((code, period_text))
        household = division = None
        if form.level == Level.HOUSEHOLD:
            qs = Household.objects.restrict(scope_user) if scope_user is not None else Household.objects.all()
            household = qs.filter(poor_code=code).first() or (
                qs.filter(uuid=code).first() if len(code) == 36 else None)
            if household is None:
                problems.append(RowProblem(n, SUBJECT, code, _("没有这个户编号,或不在您的管辖范围内")))
                continue
        else:
            qs = Division.objects.restrict(scope_user) if scope_user is not None else Division.objects.all()
            division = qs.filter(code=code).first()
            if division is None:
                problems.append(RowProblem(n, SUBJECT, code, _("没有这个区划代码,或不在您的管辖范围内")))
                continue
        vtext = rec.get(VERSION, "")
        version = versions.get(int(vtext)) if vtext.isdigit() else current
        if version is None:
            problems.append(RowProblem(n, VERSION, vtext, _("没有这个已发布的版本")))
            continue
        raw = {k: v for k, v in rec.items() if k not in (SUBJECT, SUBJECT_NAME, PERIOD, VERSION)}
        raw.update(table_data.get((code, period_text), {}) or table_data.get((code, period), {}))
        if household is not None:
            _match_members(household, version, raw)
        labels = {it["key"]: it["label"] for it in defs.items(version.definition)}
        labels.update({c["key"]: c["label"] for t in defs.tables(version.definition) for c in t["columns"]})
        unknown = set(raw) - set(labels)
        for k in sorted(unknown):
            problems.append(RowProblem(n, k, "", _("%(form_name)s第%(number)s版没有这一题")
                                    % {"form_name": form.name, "number": version.number}))
        _values, errors = defs.validate_answers(version.definition, raw, codes)
        trows = {(t, i): v for (c, p, t, i), v in table_rows.items() if c == code and p == period_text}
        problems += _problems_from(errors, n, trows, labels)
        planned.append((household, division, period_text, version, raw))
    if problems:
        raise ImportRefused(problems=problems, headline=_("%(source_name)s not imported") % {"source_name": Path(path).name})
    with transaction.atomic():
        batch = batch_start(kind="surveys.import_responses", actor=actor, source=path)
        ids = []
        for household, division, period_text, version, raw in planned:
            r = services.response_submit(actor=actor, form=form, period=period_text, answers=raw,
                                         household=household, division=division, version=version,
                                         code_options=codes)
            ids.append(r.pk)
        Response.objects.filter(pk__in=ids).update(batch=batch)
        batch_finish(batch, actor=actor, rows=len(ids), summary={"form": form.key, "responses": len(ids)})
    return {"responses": len(ids), "batch": batch.pk}


def _match_members(household: Household, version: FormVersion, raw: dict) -> None:
    """Rows of a member table that name a current member (by ID number, else by name) are bound to that person."""
    members = list(household.members.filter(is_alive=True).values_list("uuid", "id_number", "name"))
    by_id = {n: str(u) for u, n, _name in members if n}
    by_name = {name: str(u) for u, _n, name in members}
    for t in defs.tables(version.definition):
        id_col = next((c["key"] for c in t["columns"] if c.get("registry_field") == "id_number"), None)
        name_col = next((c["key"] for c in t["columns"] if c.get("registry_field") == "name"), None)
        for row in raw.get(t["key"]) or []:
            if id_col and "*" in str(row.get(id_col) or ""):
                row.pop(id_col)  # a masked export: the registry keeps the number it has
            person = by_id.get(idnumber.clean(row.get(id_col, ""))) if id_col else None
            person = person or (by_name.get(str(row.get(name_col, "")).strip()) if name_col else None)
            if person:
                row["_person"] = person
