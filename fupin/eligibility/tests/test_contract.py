"""The command-line contract end to end on a small generated county (the registry's own roster importer)."""

import json
from pathlib import Path

import pytest
from django.core.management import call_command

from fupin.exchange.testdata import DIVISIONS_CSV, make_county

pytestmark = pytest.mark.django_db


def test_contract_on_a_messy_county(tmp_path, capsys):
    summary = make_county(tmp_path / "county", scale=0.002, seed=5, style="regression")
    truth = json.loads(Path(summary["truth"]).read_text(encoding="utf-8"))
    call_command("import_divisions", str(DIVISIONS_CSV))
    call_command("import_roster", summary["roster"])
    for source, name in truth["files"].items():
        call_command("import_department", str(tmp_path / "county" / name), source=source)
    out = tmp_path / "findings.json"
    call_command("compare", out=str(out))
    doc = json.loads(out.read_text(encoding="utf-8"))
    got = {(f["household"], f["rule"], f["person"], f["source"]) for f in doc["findings"]}
    expected = {(f["household"], f["rule"], f["person"], f["source"]) for f in truth["findings"]}
    assert expected and got == expected  # every expected finding, and no decoy or namesake flagged

    from fupin.exchange.evaluation import linkage_quality

    q = linkage_quality(truth)
    assert q["precision"] >= 0.999 and q["recall"] >= 0.99, q
    from fupin.core.stats import collect

    stats = collect()
    assert stats["findings_open"] == len(doc["findings"]) and stats["department_records"] == len(truth["links"])
