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


def test_moved_town_writes_a_village_of_another_town():
    """`moved_town`: the person moved; the department writes a village of another town than the roster's, at a
    modest rate, labelled so that its precision and recall are reported apart."""
    import random

    from fupin.exchange.testdata import DIVISIONS_CSV, County, Person

    villages = County._villages(DIVISIONS_CSV)
    home = villages[0]
    p = Person(name="张三", id18="", birth=None, sex="1", town=home[1], village=home[2])
    rng = random.Random(3)
    moved = []
    for _ in range(5000):
        noise: list[str] = []
        address = testcounty.noisy_address(rng, p, noise, villages)
        if "moved_town" in noise:
            moved.append(address)
        else:
            assert home[1] in address or address == home[2] or home[1].removesuffix("镇") in address
    assert 0.01 < len(moved) / 5000 < 0.03
    towns = {t for _c, t, _v in villages}
    for address in moved:
        assert home[1] not in address
        assert any(address == f"湖北省宜都市{t}{v}" for _c, t, v in villages if t != home[1]), address
    assert len({a for a in moved}) > 10 and len(towns) > 2
    # without the county's villages (older callers) nobody moves
    noise = []
    assert all("moved_town" not in noise for _ in range(500) if testcounty.noisy_address(rng, p, noise) or True)
