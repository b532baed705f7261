"""fupin.core.pdf: the Chinese font is found (setting, known paths) or a clear error says what to do."""

from __future__ import annotations

import pytest

from fupin.core import pdf
from fupin.lifecycle.tests.test_views import assert_chinese_pdf


def test_document_embeds_the_chinese_font():
    doc = pdf.Document(title="测试")
    doc.heading("公示名单")
    doc.data_table(["户主", "人口"], [["张三", "3"]])
    doc.field_grid([("住址", "甲一村")])
    doc.signature_lines(["村委会"])
    assert_chinese_pdf(doc.to_bytes(), "公示名单", "张三", "户主", "甲一村", "村委会")


def test_font_setting_wins_and_a_missing_file_is_a_clear_error(settings, tmp_path):
    path, index = pdf.chinese_font()
    settings.FUPIN_PDF_FONT = f"{path}#{index}"
    assert pdf.chinese_font() == (path, index)
    settings.FUPIN_PDF_FONT = str(tmp_path / "none.ttf")
    with pytest.raises(pdf.PdfFontMissing, match="字体文件不存在"):
        pdf.chinese_font()


def test_no_font_at_all(settings, monkeypatch):
    settings.FUPIN_PDF_FONT = ""
    monkeypatch.delenv("FUPIN_PDF_FONT", raising=False)
    monkeypatch.setattr(pdf, "KNOWN_FONTS", [("/nonexistent/font.ttc", 0)])
    with pytest.raises(pdf.PdfFontMissing, match="fonts-wqy-microhei"):
        pdf.Document(title="x")


@pytest.mark.django_db
def test_card_page_answers_503_without_a_font(client, world, monkeypatch, settings):
    from fupin.lifecycle.tests.conftest import poor_household

    settings.FUPIN_PDF_FONT = "/nonexistent/font.ttf"
    hh = poor_household(world)
    client.force_login(world["users"]["village"])
    r = client.get(f"/procedures/households/{hh.poor_code}/card.pdf")
    assert r.status_code == 503 and "字体文件不存在" in r.content.decode()
