"""The dashboard's tables as an xlsx workbook (from the snapshot, like the page)."""

from __future__ import annotations

import io

from django.utils import timezone
from django.utils.translation import gettext as _

from fupin.core.exportcells import sheet_title, xlsx_workbook
from fupin.dashboards.selectors import Dashboard, FigureView


def workbook(data: Dashboard, *, which: str | None = None, level_label: str = "") -> bytes:
    """One sheet per table: the key figures, every broken-down figure, the drill-down table (or only `which`)."""
    out = io.BytesIO()
    wb = xlsx_workbook(out, {"in_memory": True})
    title = wb.add_format({"bold": True, "font_size": 13})
    head = wb.add_format({"bold": True, "bg_color": "#f2f2f2", "border": 1})
    cell = wb.add_format({"border": 1})
    num = wb.add_format({"border": 1, "num_format": "#,##0"})
    dec = wb.add_format({"border": 1, "num_format": "#,##0.00"})
    used: set[str] = set()
    computed = timezone.localtime(data.computed_at).strftime("%Y-%m-%d %H:%M") if data.computed_at else "—"
    note = f"{data.area.name}({data.area.code}) · {_('computed at')} {computed}"

    def table(name: str, caption: str, header: list[str], rows: list[list], decimals: list[int] | None = None):
        ws = wb.add_worksheet(sheet_title(name, used))
        ws.write(0, 0, caption, title)
        ws.write(1, 0, note)
        for c, h in enumerate(header):
            ws.write(3, c, h, head)
            ws.set_column(c, c, 14 if c else 28)
        for r, row in enumerate(rows, start=4):
            for c, value in enumerate(row):
                if isinstance(value, (int, float)):
                    ws.write_number(r, c, value, dec if decimals and decimals[c] else num)
                elif value is None:
                    ws.write(r, c, "—", cell)
                else:
                    ws.write(r, c, str(value), cell)

    if which in (None, "overview"):
        kpis = [v for v in data.figures.values() if v.chart in ("kpi", "none") and not v.items]
        table(_("Key figures"), _("Key figures"), [_("Figure"), _("Value"), _("Unit")],
              [[v.label, v.value, v.unit] for v in kpis], decimals=[0, 2, 0])
    for v in data.figures.values():
        if which not in (None, v.key) or (which is None and not v.items):
            continue
        if v.items or which == v.key:
            _breakdown_sheet(table, v)
    if which in (None, "children") and data.children:
        header = [_("Code"), _("Name")] + [str(f.label) for f in data.columns]
        rows = [[c.code, c.name] + [c.values.get(f.key) for f in data.columns] for c in data.children]
        table(level_label or _("Areas below"), level_label or _("Areas below"), header, rows,
              decimals=[0, 0] + [f.decimals for f in data.columns])
    if not wb.worksheets():
        table(_("Key figures"), _("Key figures"), [_("Figure")], [])
    wb.close()
    return out.getvalue()


def _breakdown_sheet(table, v: FigureView) -> None:
    total = sum(i.value for i in v.items) or 0
    header = [_("Item"), f"{_('Value')}({v.unit})" if v.unit else _("Value"), _("Share (%)")]
    rows = [[i.label, i.value, round(i.value * 100 / total, 2) if total else None] for i in v.items]
    totals = [_("Total"), total, 100 if total else None]
    decimals = [0, v.decimals, 2]
    if v.unit2:
        header.append(f"{_('Value')}({v.unit2})")
        for row, item in zip(rows, v.items, strict=True):
            row.append(item.value2)
        totals.append(sum(i.value2 or 0 for i in v.items))
        decimals.append(0)
    rows.append(totals)
    table(v.label, f"{v.label}({v.unit})" if v.unit else v.label, header, rows, decimals=decimals)
