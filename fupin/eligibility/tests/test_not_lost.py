"""Nothing the comparison keeps is silently lost: an extract without a column a released rule reads is refused (or,
accepted, leaves that rule's findings as they were), and a database error fails the run visibly."""

import pytest
from django.db import DatabaseError

from fupin.core.audit import AuditEvent
from fupin.core.errors import ImportRefused
from fupin.eligibility.models import ComparisonRun, Finding
from fupin.eligibility.services import compare_run
from fupin.exchange.models import Snapshot
from fupin.exchange.services import import_department

from .conftest import write_csv

pytestmark = pytest.mark.django_db


def _vehicle_findings():
    return set(Finding.objects.filter(rule_code="vehicle").values_list("key", "status"))


def test_extract_without_a_rule_column_is_refused_naming_it(people, departments):
    compare_run(actor="test")
    before = _vehicle_findings()
    assert before and all(status == "open" for _, status in before)
    ids = people["ids"]
    path = write_csv(departments["tmp"] / "vehicle_thin.csv", ["序号", "姓名", "证件号码"],
                     [[1, "张伟", ids["zhang"]], [2, "刘芳", ids["zhang_wife"]]])
    current = Snapshot.objects.get(source__code="vehicle", is_current=True)
    with pytest.raises(ImportRefused) as exc:
        import_department(actor="test", source_code="vehicle", path=path)
    report = exc.value.report()
    assert "车辆类型" in report and "拥有小汽车" in report and "缺列也导入" in report
    assert Snapshot.objects.get(source__code="vehicle", is_current=True) == current  # nothing written
    assert Snapshot.objects.filter(source__code="vehicle").count() == 1


def test_accepted_thin_extract_keeps_the_rules_findings(people, departments):
    compare_run(actor="test")
    before = _vehicle_findings()
    ids = people["ids"]
    path = write_csv(departments["tmp"] / "vehicle_thin.csv", ["序号", "姓名", "证件号码"],
                     [[1, "张伟", ids["zhang"]], [2, "刘芳", ids["zhang_wife"]]])
    snap = import_department(actor="test", source_code="vehicle", path=path, accept_missing=True)
    assert snap.is_current and any("车辆类型" in str(p) for p in snap.problems)
    run = compare_run(actor="test")
    assert _vehicle_findings() == before  # kept open, never cleared
    info = run.stats["not_evaluated"]["vehicle"]
    assert info["source"] == "vehicle" and "车辆类型" in info["missing"]
    assert Finding.objects.filter(rule_code="business", status="open").exists()  # other rules still evaluated


def test_database_error_fails_the_run_visibly(people, departments, monkeypatch):
    from fupin.lifecycle.models import Procedure

    compare_run(actor="test")
    runs, open_before = ComparisonRun.objects.count(), Finding.objects.filter(status="open").count()

    def broken(*args, **kwargs):
        raise DatabaseError("simulated failure")

    monkeypatch.setattr(Procedure.objects, "filter", broken)
    with pytest.raises(DatabaseError):
        compare_run(actor="test")
    assert ComparisonRun.objects.count() == runs  # the run's work rolled back
    assert Finding.objects.filter(status="open").count() == open_before
    failed = AuditEvent.objects.get(action="eligibility.compare.failed")
    assert "simulated failure" in failed.after["error"]
