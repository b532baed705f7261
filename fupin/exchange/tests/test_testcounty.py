"""The independent test-county generator: independent of the linkage, noise labelled per row, file quirks."""

import ast
import json
from pathlib import Path

import pytest

from fupin.exchange import testcounty
from fupin.exchange.testdata import make_county

ROOT = Path(testcounty.__file__).parent


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return out


def test_the_generators_import_nothing_of_the_linkage():
    for name in ("testcounty.py", "testdata.py"):
        imported = _imports(ROOT / name)
        assert not imported & {"fupin.exchange.pinyin", "fupin.exchange.sources", "fupin.exchange.engine",
                               "fupin.exchange.linkage", "pypinyin"}, (name, imported)


def test_noise_is_labelled_and_quirks_are_written(tmp_path, monkeypatch):
    from python_calamine import CalamineWorkbook

    monkeypatch.setattr(testcounty, "SHEET_ROWS", 15)
    summary = make_county(tmp_path, scale=0.002, seed=7)
    truth = json.loads(Path(summary["truth"]).read_text(encoding="utf-8"))
    assert truth["style"] == "new" and truth["quirks"] == ["sheets", "footers", "dates"]
    kinds = {k for t in truth["links"] for k in t["noise"]}
    assert {"masked_area", "masked_year", "missing_id", "address_abbrev"} <= kinds
    assert kinds <= set(testcounty.NEW_NOISE)
    # masked IDs only in the four extracts, in the two forms
    masked = [t for t in truth["links"] if {"masked_area", "masked_year"} & set(t["noise"])]
    assert {t["source"] for t in masked} <= set(testcounty.MASKED_SOURCES)
    share = len([t for t in truth["links"] if t["source"] == "payroll" and t in masked]) / len(
        [t for t in truth["links"] if t["source"] == "payroll"])
    assert 0.1 < share < 0.5
    text = (tmp_path / "payroll.csv").read_bytes().decode("gb18030")
    assert "********" in text and "****" in text
    assert "合计" in text and "制表人" in text and "数据截至" in text  # footer rows under the data
    # split workbooks: every sheet carries the header
    wb = CalamineWorkbook.from_path(str(tmp_path / "vehicle.xlsx"))
    assert wb.sheet_names[:2] == ["第1页", "第2页"]
    headers = [wb.get_sheet_by_name(n).to_python()[1] for n in wb.sheet_names]
    assert all(h == headers[0] for h in headers)


def test_regression_style_is_unchanged_and_has_no_labels(tmp_path):
    summary = make_county(tmp_path, scale=0.002, seed=5, style="regression")
    truth = json.loads(Path(summary["truth"]).read_text(encoding="utf-8"))
    assert "style" not in truth and all("noise" not in t for t in truth["links"])
    with pytest.raises(ValueError):
        make_county(tmp_path / "x", scale=0.002, style="other")
