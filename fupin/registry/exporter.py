"""Exporting the registry in the roster layout (one row per living member), so that an export imports again.

Rows are read with one query, streamed from the database in chunks (`iterator`), labelled through the code tables and
written as they come to a streamed xlsx (`fupin.registry.xlsxstream`) or CSV: 100,000 rows take seconds and little
memory, and the first bytes reach the browser at once.
ID numbers (and disability card numbers, which contain them) are masked for users who may not see them in full.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from django.db.models import QuerySet

from fupin.core import idnumber
from fupin.core.exportcells import csv_row
from fupin.registry import xlsxstream
from fupin.registry.importer import HEADER
from fupin.registry.labels import CodeTables, code_tables
from fupin.registry.models import Person

# (canonical column of the importer, source) in export order; the header is the importer's first name
COLUMNS = ["seq", "town", "village", "group", "grid", "poor_code", "name", "relationship", "id_number", "sex",
           "ethnicity", "size", "attribute", "main_cause", "other_causes", "status", "standard", "year_identified",
           "year_exited", "political", "education", "schooling", "health", "labour", "work_status", "work_months",
           "work_place", "dibao", "rural_medical", "pension", "serious_illness", "soldier", "disability_card",
           "phone", "per_capita_income"]
HEADERS = [HEADER[c] for c in COLUMNS]
TITLE = "建档立卡贫困人口花名册"

_FIELDS = ("household_id", "household__village__parent__name", "household__village__name", "household__group_name",
           "household__grid__code", "household__poor_code", "name", "relationship", "id_number", "sex", "ethnicity",
           "household__size", "household__attribute", "household__main_cause", "household__other_causes",
           "household__poverty_status", "household__identification_standard", "household__year_identified",
           "household__year_exited", "political_status", "education", "schooling", "health", "labour_skill",
           "work_status", "work_months", "work_place", "dibao", "rural_medical", "pension_insurance",
           "serious_illness_insurance", "serving_soldier", "disability_card", "phone", "household__phone",
           "household__per_capita_net_income")


def _yes(v: bool) -> str:
    return "是" if v else "否"


def persons_for_export(households: QuerySet) -> QuerySet:
    """Living members of the given households (already restricted and filtered), household by household."""
    return (Person.objects.filter(household__in=households.order_by().values("pk"), is_alive=True)
            .order_by("household__area_code", "household__poor_code", "household_id", "id"))


def export_rows(user, households: QuerySet, *, tables: CodeTables | None = None) -> Iterator[list[str]]:
    """The roster rows (lists of cell texts, in HEADERS order) of the households' living members."""
    t = tables or code_tables()
    full_ids = bool(getattr(user, "may_view_full_id", False)) or bool(getattr(user, "is_superuser", False))
    seq = 0
    qs = persons_for_export(households).values_list(*_FIELDS)
    pending: list[tuple] = []
    current = None

    def flush():
        nonlocal seq
        pending.sort(key=lambda r: r[7] != "户主")  # head first
        for r in pending:
            seq += 1
            (_hid, town, village, group, grid, poor_code, name, rel, number, sex, eth, size, attr, cause, other, status,
             std, y_id, y_ex, pol, edu, school, health, labour, work, months, place, dibao, med, pension, ill,
             soldier, card, phone, hh_phone, pc_income) = r
            if not full_ids:
                number, card = idnumber.mask(number), idnumber.mask(card)
            yield [str(seq), town or "", village or "", group or "", grid or "", poor_code or "", name, rel, number,
                   t.label("sex", sex), t.label("ethnicity", eth), str(size), t.label("attribute", attr),
                   t.label("cause", cause), t.labels("cause", other), t.label("status", status),
                   t.label("standard", std), str(y_id or ""), str(y_ex or ""), t.label("political", pol),
                   t.label("education", edu), t.label("schooling", school), t.labels("health", health),
                   t.label("labour", labour), work, "" if months is None else str(months), place, _yes(dibao),
                   _yes(med), _yes(pension), _yes(ill), _yes(soldier), card,
                   phone or (hh_phone if rel == "户主" else ""),
                   f"{pc_income:.2f}" if pc_income else ""]
        pending.clear()

    for r in qs.iterator(chunk_size=5000):
        key = r[0]
        if key != current and pending:
            yield from flush()
        current = key
        pending.append(r)
    yield from flush()


WIDTHS = {0: 6, HEADERS.index(HEADER["id_number"]): 21, HEADERS.index(HEADER["poor_code"]): 19}


def xlsx_chunks(rows: Iterator[list[str]], *, title: str = TITLE) -> Iterator[bytes]:
    """The xlsx bytes of the rows under a title row and the header, produced as the rows come (for streaming)."""
    widths = {i: WIDTHS.get(i, 11) for i in range(len(HEADERS))}
    return xlsxstream.xlsx_chunks(rows, header=HEADERS, title=title, sheet_name="花名册", widths=widths)


def write_xlsx(path: str | Path, rows: Iterator[list[str]], *, title: str = TITLE) -> int:
    """Write the rows under a title row and the header; return the number of data rows."""
    counted = 0

    def counting():
        nonlocal counted
        for row in rows:
            counted += 1
            yield row

    with open(path, "wb") as fh:
        for chunk in xlsx_chunks(counting(), title=title):
            fh.write(chunk)
    return counted


def csv_lines(rows: Iterator[list[str]]) -> Iterator[str]:
    """CSV text for a streaming response: UTF-8 with BOM (Excel opens it as Chinese), header first."""
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(HEADERS)
    yield "\ufeff" + buf.getvalue()
    for row in rows:
        buf.seek(0)
        buf.truncate()
        w.writerow(csv_row(row))
        yield buf.getvalue()
