import json

import pytest

from fupin.core.errors import ServiceError
from fupin.eligibility.models import Finding
from fupin.eligibility.services import (
    compare_run,
    finding_confirm,
    finding_correct,
    finding_dismiss,
    findings_export,
)
from fupin.inbox.models import InboxItem

from .conftest import EXPECTED, write_csv

pytestmark = pytest.mark.django_db


def _got(ids):
    names = {v: k for k, v in ids.items()}
    return {(f["household"], f["rule"], names.get(f["person"], f["person"])) for f in findings_export()["findings"]}


@pytest.fixture
def workers(county):
    import datetime as dt

    from fupin.core.testing import make_user
    from fupin.geo.models import GridPost

    gw = make_user("gw_a1", "grid_worker", grid=county["ga1"])
    GridPost.objects.create(grid=county["ga1"], post="grid_worker", user=gw, start_date=dt.date(2016, 1, 1))
    town = make_user("town_a", "town_staff", division=county["town_a"])
    return {"gw": gw, "town": town}


def test_each_rule_hits_and_no_decoy_is_flagged(people, departments):
    run = compare_run(actor="test")
    assert _got(people["ids"]) == EXPECTED
    assert run.households == 3  # P004 has exited (status 4) and is not compared
    f = Finding.objects.get(household_code="P001", rule_code="vehicle")
    rec = f.evidence["records"][0]
    assert rec["fields"]["车辆类型"] == "小型轿车" and rec["row"] == 2 and rec["file"] == "vehicle.csv"
    dup = Finding.objects.get(household_code="P001", rule_code="duplicate_member")
    assert dup.source_code == "registry" and dup.evidence["households"] == ["P001", "P003"]


def test_verification_tasks_go_to_grid_worker_or_town_staff(people, departments, workers):
    compare_run(actor="test")
    gw_items = InboxItem.objects.filter(user=workers["gw"], kind="verify")
    town_items = InboxItem.objects.filter(user=workers["town"], kind="verify")
    assert gw_items.count() == Finding.objects.filter(household_code="P001").count()
    assert town_items.count() == Finding.objects.filter(household_code="P003").count()
    item = gw_items.first()
    assert item.url.startswith("/comparison/findings/") and item.area_code == people["h1"].area_code
    compare_run(actor="test")  # a rerun posts nothing new
    assert InboxItem.objects.filter(kind="verify").count() == gw_items.count() + town_items.count()


def test_lifecycle_dismissed_stays_until_evidence_changes(people, departments, workers):
    from fupin.exchange.services import import_department

    compare_run(actor="test")
    vehicle = Finding.objects.get(household_code="P001", rule_code="vehicle")
    payroll = Finding.objects.get(household_code="P001", rule_code="payroll")
    business = Finding.objects.get(household_code="P001", rule_code="business")
    with pytest.raises(ServiceError):
        finding_dismiss(actor=workers["gw"], finding=vehicle, reason=" ")
    finding_dismiss(actor=workers["gw"], finding=vehicle, reason="车已卖掉,过户手续在办")
    finding_confirm(actor=workers["gw"], finding=payroll, note="确为卫生院在编职工")
    with pytest.raises(ServiceError):
        finding_correct(actor=workers["gw"], finding=business, note="")
    assert InboxItem.objects.get(dedupe_key=vehicle.inbox_key).done_at is not None
    compare_run(actor="test")
    vehicle.refresh_from_db()
    assert vehicle.status == "dismissed"
    got = _got(people["ids"])
    assert ("P001", "vehicle", "zhang") not in got and ("P001", "payroll", "zhang_wife") in got
    # the vehicle extract is reloaded: same car, new price → the evidence changed → reopened and posted again
    header, rows = departments["files"]["vehicle"]
    rows = [[*r[:5], 9000] if r[0] == 1 else r for r in rows]
    import_department(actor="test", source_code="vehicle",
                      path=write_csv(departments["tmp"] / "vehicle2.csv", header, rows))
    # and the business extract no longer lists 张伟's shop → that finding is cleared
    header, rows = departments["files"]["business"]
    import_department(actor="test", source_code="business",
                      path=write_csv(departments["tmp"] / "business2.csv", header, rows[1:]))
    run = compare_run(actor="test")
    vehicle.refresh_from_db()
    business.refresh_from_db()
    assert vehicle.status == "open" and vehicle.evidence["records"][0]["fields"]["购置价格"] == "9000"
    assert business.status == "cleared"
    assert run.stats["changes"]["reopened"] == 1 and run.stats["changes"]["cleared"] >= 1
    assert InboxItem.objects.filter(dedupe_key=vehicle.inbox_key, done_at__isnull=True).exists()
    assert InboxItem.objects.get(dedupe_key=business.inbox_key).done_at is not None


def test_compare_command_writes_the_contract(people, departments, tmp_path):
    from django.core.management import call_command

    out = tmp_path / "findings.json"
    call_command("compare", out=str(out))
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert list(doc) == ["findings", "not_understood"]
    assert doc["not_understood"] == {"values": [], "undecided": [], "undecided_total": 0}
    for f in doc["findings"]:
        assert list(f) == ["household", "rule", "person", "source", "evidence"]
        assert isinstance(f["evidence"], dict)
    assert {f["source"] for f in doc["findings"]} == {"vehicle", "business", "property", "payroll", "death",
                                                     "registry"}


def test_stats_keys(people, departments):
    from fupin.core.stats import collect

    compare_run(actor="test")
    stats = collect()
    assert stats["findings_open"] == len(EXPECTED)
    assert stats["findings_confirmed"] == 0 and stats["findings_dismissed"] == 0
    assert stats["department_records"] == 23 and stats["persons_linked"] >= 5


def test_procedure_providers_give_scores_and_findings(people, departments):
    lifecycle_hooks = pytest.importorskip("fupin.lifecycle.hooks")
    from fupin.eligibility.hooks import assessment_for, findings_for

    assert assessment_for in lifecycle_hooks.assessment_providers()
    assert findings_for in lifecycle_hooks.findings_providers()
    compare_run(actor="test")
    score = assessment_for(people["h1"])
    assert score["label"] and score["rank"] >= 1 and score["items"]
    rows = findings_for(people["h1"])
    assert {r["label"] for r in rows} >= {"拥有小汽车", "财政供养"}
    assert assessment_for(people["h4"]) is None  # exited households are not scored


def test_compare_on_an_empty_county_succeeds(tmp_path, county):
    from django.core.management import call_command

    out = tmp_path / "f.json"
    call_command("compare", out=str(out))
    assert json.loads(out.read_text(encoding="utf-8")) == {
        "findings": [], "not_understood": {"values": [], "undecided": [], "undecided_total": 0}}


def test_a_rule_that_cannot_run_is_reported_on_the_run_and_the_others_still_run(people, departments):
    """A released rule stored before the save-time limits (990-digit numbers) no longer makes every comparison fail."""
    from fupin.eligibility.models import Rule

    compare_run(actor="test")
    vehicle = Finding.objects.get(household_code="P001", rule_code="vehicle")
    Rule.objects.filter(code="vehicle").update(expression="9" * 990 + " * " + "9" * 990 + " > 1")
    run = compare_run(actor="test")
    assert any("vehicle" in m for m in run.stats["rule_errors"])
    vehicle.refresh_from_db()
    assert vehicle.status == "open"  # not found by a rule that could not run is not cleared
    assert ("P001", "payroll", "zhang_wife") in _got(people["ids"])  # the other rules ran
