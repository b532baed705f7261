"""`fupin assess` on a small county, with every number worked out by hand in the comments."""

import datetime as dt
import json

import pytest
from django.core.management import call_command

from fupin.assessment import services
from fupin.assessment.models import Score, ScoreRun
from fupin.assessment.tests.conftest import SHANGHAI, poor
from fupin.assistance import services as assistance
from fupin.core.errors import ServiceError
from fupin.core.testing import make_user
from fupin.geo.services import grid_assign_post

pytestmark = pytest.mark.django_db


def _scheme(weights=None):
    """A released scheme with two indicators for every household-based kind (the default pack is replaced):
    A visits per household per month, higher is better, target 1, weight 60;
    B visits in the period, lower is better, target 10, weight 40."""
    services.scheme_ensure_default(actor="test")
    draft = services.scheme_draft(actor="test", name="测试方案")
    for ind in list(draft.indicators.all()):
        services.indicator_delete(actor="test", indicator=ind)
    for kind in ("town", "village", "grid_worker", "cadre", "unit"):
        services.indicator_save(actor="test", scheme=draft, code="visit_rate", name="户均月走访", subject_kind=kind,
                                formula="visits / households / months", applies_when="households > 0",
                                target=1, weight=60, drill="visits")
        services.indicator_save(actor="test", scheme=draft, code="visits_few", name="走访不宜过多", subject_kind=kind,
                                formula="visits", direction="lower", target=10, weight=40, drill="visits")
    draft.period_weights = weights or {}
    draft.caps = []
    draft.save()
    return services.scheme_release(actor="test", scheme=draft)


@pytest.fixture
def small(county, frozen):
    """va1: hh1 (3 visits), hh2 (none), both in grid ga1 of worker gw; va2: hh3 (6 visits); vb1: hh4 (12 visits).
    The cadre carries hh1 and hh3."""
    c = county
    hh1 = poor(c["va1"], c["ga1"], head="张甲")
    hh2 = poor(c["va1"], c["ga1"], head="王乙")
    hh3 = poor(c["va2"], head="李丙")
    hh4 = poor(c["vb1"], c["gb1"], head="赵丁")
    gw = make_user("gw1", "grid_worker", grid=c["ga1"], display_name="网格员甲")
    grid_assign_post(actor="test", grid=c["ga1"], post="grid_worker", user=gw, start=dt.date(2026, 1, 1))
    unit = assistance.unit_create(actor="test", name="市扶贫办", kind="department")
    cadre = assistance.cadre_create(actor="test", name="王干部", unit=unit)
    for hh in (hh1, hh3):
        assistance.pairing_assign(actor="test", household=hh, cadre=cadre, start=dt.date(2026, 1, 1))
    for hh, n in ((hh1, 3), (hh3, 6), (hh4, 12)):
        for i in range(n):
            assistance.record_create(actor="test", household=hh, occurred_on=dt.date(2026, 1, 5) + dt.timedelta(days=i),
                                     content="走访")
    return {**c, "hh": [hh1, hh2, hh3, hh4], "gw": gw, "cadre": cadre, "unit": unit}


def _by(result):
    return {(s["kind"], s["code"]): s for s in result["subjects"]}


def test_scores_and_ranks_recomputed_by_hand(small):
    scheme = _scheme()
    run, result = services.assess_run(actor="test", period="2026H1", scheme=scheme)
    s = _by(result)
    # 2026H1 seen on 15 June: months = 6 (January to June)
    # va1: 2 households, 3 visits: A = 3/2/6 = 0.25 → 0.25; B = 3 ≤ 10 → 1; 100 × (60×0.25 + 40×1)/100 = 55
    va1 = s[("village", small["va1"].code)]
    assert va1["indicators"]["visit_rate"]["value"] == 0.25
    assert va1["score"] == 55.0
    # va2: 1 household, 6 visits: A = 1 → 1; B = 6 → 1; 100
    assert s[("village", small["va2"].code)]["score"] == 100.0
    # vb1: 1 household, 12 visits: A = 2 → 1; B: 12 > 10 → 10/12; 60 + 40 × 0.8333 = 93.33
    assert s[("village", small["vb1"].code)]["score"] == 93.33
    assert [s[("village", small[v].code)]["rank"] for v in ("va2", "vb1", "va1")] == [1, 2, 3]
    # town A: 3 households, 9 visits: A = 0.5; B = 1 → 30 + 40 = 70; town B as vb1
    assert s[("town", small["town_a"].code)]["score"] == 70.0
    assert s[("town", small["town_b"].code)]["score"] == 93.33
    assert s[("town", small["town_b"].code)]["rank"] == 1
    # the grid worker of ga1 carries hh1 and hh2: as va1
    assert s[("grid_worker", str(small["gw"].pk))]["score"] == 55.0
    # the cadre (and its unit) carries hh1 and hh3: 9 visits over 2 households: A = 0.75 → 45 + 40 = 85
    assert s[("cadre", str(small["cadre"].pk))]["score"] == 85.0
    assert s[("unit", str(small["unit"].pk))]["score"] == 85.0
    assert s[("cadre", str(small["cadre"].pk))]["area_code"] == small["town_a"].code[:9]  # two villages of town A
    # stored: one score per subject in the current run
    assert Score.objects.filter(run=run).count() == len(result["subjects"])
    assert Score.objects.get(run=run, kind="village", code=small["va1"].code).rank == 3
    # the default grades: ≥ 90 excellent, ≥ 80 good, ≥ 60 pass
    assert s[("village", small["va2"].code)]["grade"] == "excellent"
    assert va1["grade"] == "fail"


def test_half_year_weights_make_the_year(small, frozen):
    scheme = _scheme(weights={"H1": 30, "H2": 70})
    frozen.move_to(dt.datetime(2027, 1, 10, 12, 0, tzinfo=SHANGHAI))
    hh2 = small["hh"][1]
    for i in range(12):  # hh2: 12 visits in the second half
        assistance.record_create(actor="test", household=hh2, occurred_on=dt.date(2026, 8, 1) + dt.timedelta(days=i),
                                 content="走访")
    _run, result = services.assess_run(actor="test", period="2026", scheme=scheme)
    va1 = _by(result)[("village", small["va1"].code)]
    # H1: 55 (as above). H2: 2 households, 12 visits, 6 months: A = 1 → 1; B: 10/12 → 60 + 33.33 = 93.33
    assert va1["parts"] == {"2026H1": 55.0, "2026H2": 93.33}
    assert va1["score"] == round(0.3 * 55.0 + 0.7 * 93.33, 2)


def test_cap_keeps_a_subject_from_excellent(small):
    scheme = _scheme()
    scheme.caps = [{"when": "visit_rate >= 1 and visits > 5", "max_grade": "good", "label": "测试上限"}]
    scheme.save()
    _run, result = services.assess_run(actor="test", period="2026H1", scheme=scheme)
    s = _by(result)
    assert s[("village", small["va2"].code)]["grade"] == "good"  # 100 but capped: visit_rate 1, 6 visits
    assert s[("village", small["vb1"].code)]["grade"] == "good"  # 93.33, capped (12 visits)


def test_command_writes_the_json(small, tmp_path):
    _scheme()
    out = tmp_path / "scores.json"
    call_command("assess", "--period", "2026H1", "--out", str(out))
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["period"] == "2026H1"
    kinds = {s["kind"] for s in data["subjects"]}
    assert {"town", "village", "grid_worker", "cadre", "unit"} <= kinds
    one = next(s for s in data["subjects"] if s["code"] == small["va1"].code)
    assert set(one) >= {"kind", "code", "name", "score", "rank", "indicators"}
    assert ScoreRun.objects.filter(period="2026H1", is_current=True).count() == 1


def test_bad_period_and_bad_formula_are_refused(small):
    with pytest.raises(ServiceError, match="考评期"):
        services.assess_run(actor="test", period="2016H3")
    draft = services.scheme_draft(actor="test")
    with pytest.raises(ServiceError, match="公式有误"):
        services.indicator_save(actor="test", scheme=draft, code="x", name="x", subject_kind="village",
                                formula="import os", target=1, weight=1)
    with pytest.raises(ServiceError, match="公式有误"):
        services.indicator_save(actor="test", scheme=draft, code="x", name="x", subject_kind="village",
                                formula="no_such_fact / 2", target=1, weight=1)
    assert not draft.indicators.filter(code="x").exists()
    released = services.scheme_current()
    with pytest.raises(ServiceError, match="已发布"):
        services.indicator_save(actor="test", scheme=released, code="y", name="y", subject_kind="village",
                                formula="visits", target=1, weight=1)
