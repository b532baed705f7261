"""The leader's printable summary (领导摘要): one or two A4 pages of the area's key figures, breakdowns with bars, and
the drill-down table, in Chinese. Built from the snapshot like the page.
"""

from __future__ import annotations

from django.utils import timezone
from fpdf import FPDF

from fupin.dashboards.selectors import Dashboard, FigureView, fmt

INK = (33, 37, 41)
MUTED = (110, 117, 125)
ACCENT = (192, 57, 43)
RULE = (222, 226, 230)
BAR = (192, 57, 43)


def _font_path() -> tuple[str, int]:
    """The Chinese font to embed (path, face index), as the platform's PDF helper finds it."""
    from fupin.core.pdf import chinese_font

    return chinese_font()


class _Doc(FPDF):
    footer_text = ""

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("cjk", size=8)
        self.set_text_color(*MUTED)
        self.cell(0, 6, f"{self.footer_text}    第 {self.page_no()} 页 / 共 {{nb}} 页", align="C")


def leader_summary(data: Dashboard, *, level_label: str = "", user=None) -> bytes:
    path, index = _font_path()
    pdf = _Doc(orientation="P", unit="mm", format="A4")
    pdf.add_font("cjk", fname=path, collection_font_number=index)
    pdf.set_auto_page_break(auto=True, margin=16)
    pdf.set_margins(15, 14, 15)
    pdf.alias_nb_pages()
    computed = timezone.localtime(data.computed_at).strftime("%Y-%m-%d %H:%M") if data.computed_at else "尚未计算"
    pdf.footer_text = f"{data.area.name} · 数据计算于 {computed}"
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin

    pdf.set_font("cjk", size=18)
    pdf.set_text_color(*INK)
    pdf.cell(0, 10, f"{data.area.name}脱贫攻坚情况摘要", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("cjk", size=9)
    pdf.set_text_color(*MUTED)
    who = f" · 打印人 {user}" if user is not None else ""
    pdf.cell(0, 6, f"{data.area.level_label} {data.area.code} · 数据计算于 {computed} · "
                   f"打印于 {timezone.localtime():%Y-%m-%d %H:%M}{who}", new_x="LMARGIN", new_y="NEXT")
    if data.stale_since:
        pdf.set_text_color(*ACCENT)
        pdf.cell(0, 5, "注:计算之后数据有更新,将在下次计算时反映。", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)

    kpis = data.kpis
    cols = 4
    box_w, box_h = width / cols, 17
    for i, v in enumerate(kpis):
        if i % cols == 0:
            if i:
                pdf.ln(box_h + 2)
            y = pdf.get_y()
        x = pdf.l_margin + (i % cols) * box_w
        pdf.set_draw_color(*RULE)
        pdf.rect(x + 1, y, box_w - 2, box_h)
        pdf.set_xy(x + 3, y + 1.5)
        pdf.set_font("cjk", size=8)
        pdf.set_text_color(*MUTED)
        pdf.cell(box_w - 6, 5, v.label)
        pdf.set_xy(x + 3, y + 7)
        pdf.set_font("cjk", size=15)
        pdf.set_text_color(*(ACCENT if i == 0 else INK))
        pdf.cell(box_w - 6, 8, f"{v.display} {v.unit}".strip())
    if kpis:
        pdf.ln(box_h + 5)

    for section in data.other_sections:
        charted = [v for v in section.charts if v.items and v.chart in ("bar", "hbar", "pie", "line")]
        numbers = [v for v in section.kpis if v.value]
        if not charted and not numbers:
            continue
        _heading(pdf, section.title)
        if numbers:
            pdf.set_font("cjk", size=9.5)
            pdf.set_text_color(*INK)
            pdf.multi_cell(0, 6, ";".join(f"{v.label} {v.display}{v.unit}" for v in numbers), align="L",
                           new_x="LMARGIN", new_y="NEXT")
            pdf.ln(1)
        for v in charted:
            _breakdown(pdf, v, width)

    if data.children:
        _heading(pdf, f"{level_label or '下级区域'}情况")
        _children_table(pdf, data, width)
    return bytes(pdf.output())


def _heading(pdf: FPDF, text: str) -> None:
    if pdf.get_y() > pdf.h - 50:
        pdf.add_page()
    pdf.set_font("cjk", size=12)
    pdf.set_text_color(*INK)
    pdf.cell(0, 8, text, new_x="LMARGIN", new_y="NEXT")
    pdf.set_draw_color(*ACCENT)
    pdf.line(pdf.l_margin, pdf.get_y(), pdf.l_margin + 30, pdf.get_y())
    pdf.ln(2)


def _breakdown(pdf: FPDF, v: FigureView, width: float) -> None:
    rows = v.items[:14]
    if pdf.get_y() + 8 + 5.5 * len(rows) > pdf.h - 16:
        pdf.add_page()
    pdf.set_font("cjk", size=9.5)
    pdf.set_text_color(*INK)
    pdf.cell(0, 6, f"{v.label}({v.unit})" if v.unit else v.label, new_x="LMARGIN", new_y="NEXT")
    total = sum(i.value for i in v.items) or 1
    top = max(i.value for i in rows) or 1
    label_w, value_w = 42, 30
    bar_w = width - label_w - value_w - 4
    pdf.set_font("cjk", size=8.5)
    for item in rows:
        y = pdf.get_y()
        pdf.set_text_color(*INK)
        pdf.cell(label_w, 5, item.label[:16])
        r, g, b = _rgb(item.color) or BAR
        pdf.set_fill_color(r, g, b)
        pdf.rect(pdf.l_margin + label_w, y + 1, max(0.4, bar_w * item.value / top), 3.2, style="F")
        pdf.set_xy(pdf.l_margin + label_w + bar_w + 4, y)
        pdf.set_text_color(*MUTED)
        pdf.cell(value_w, 5, f"{fmt(item.value, v.decimals)}({item.value * 100 / total:.1f}%)", align="R",
                 new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)


def _children_table(pdf: FPDF, data: Dashboard, width: float) -> None:
    cols = data.columns[:6]
    name_w = 40
    col_w = (width - name_w) / max(1, len(cols))
    pdf.set_font("cjk", size=8.5)

    def header() -> None:
        pdf.set_fill_color(242, 242, 242)
        pdf.set_text_color(*INK)
        pdf.cell(name_w, 7, "名称", border=1, fill=True)
        for f in cols:
            pdf.cell(col_w, 7, str(f.label)[:10], border=1, fill=True, align="C")
        pdf.ln(7)

    header()
    for row in data.children:
        if pdf.get_y() > pdf.h - 22:
            pdf.add_page()
            header()
        pdf.cell(name_w, 6, row.name[:14], border=1)
        for f in cols:
            pdf.cell(col_w, 6, fmt(row.values.get(f.key), f.decimals), border=1, align="R")
        pdf.ln(6)


def _rgb(color: str) -> tuple[int, int, int] | None:
    if not color or not color.startswith("#") or len(color) != 7:
        return None
    return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)
