"""The demo county: a released scheme with scores, field checks, policy gaps, monitored households with alerts, and
`fupin assess` scoring every town, village and grid worker."""

import json

import pytest
from django.core.management import call_command

from fupin.assessment.models import FieldCheck, PolicyGap, RiskAlert, Score, ScoreRun
from fupin.demo.seed import seed_demo
from fupin.geo.models import Division

pytestmark = pytest.mark.django_db


def test_demo_county_is_assessed(tmp_path, capsys):
    result = seed_demo(actor="system", scale=0.003, seed=11, password="demo-pass-2016")
    assert result["assessment_field_checks"] == FieldCheck.objects.filter(status="done").count() > 0
    assert PolicyGap.objects.filter(status="open").exists()
    assert PolicyGap.objects.filter(work_order__isnull=False).exists()
    assert RiskAlert.objects.filter(status="open").exists()
    assert ScoreRun.objects.filter(is_current=True).exists()
    call_command("stats", "--json")
    stats = json.loads(capsys.readouterr().out)
    for key in ("assessment_subjects_scored", "field_checks", "policy_gaps_open", "monitored_households",
                "risk_alerts_open", "kinship_flags"):
        assert key in stats
    assert stats["monitored_households"] > 0 and stats["policy_gaps_open"] > 0
    out = tmp_path / "2016.json"
    call_command("assess", "--period", "2016", "--out", str(out))
    data = json.loads(out.read_text(encoding="utf-8"))
    codes = {(s["kind"], s["code"]) for s in data["subjects"]}
    for level in ("town", "village"):
        for code in Division.objects.filter(level=level).values_list("code", flat=True):
            assert (level, code) in codes
    from fupin.geo.models import GridPost

    workers = set(GridPost.objects.filter(post="grid_worker", end_date__isnull=True).values_list("user_id", flat=True))
    assert workers and {("grid_worker", str(u)) for u in workers} <= codes
    assert Score.objects.filter(run__period="2016", kind="village").count() == 123
