"""seed_demo at a tiny scale: the whole county's geography and staff, a few hundred residents."""

import io
import json
from collections import Counter

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command

from fupin.accounts.choices import Role
from fupin.accounts.models import User
from fupin.core import idnumber
from fupin.core.errors import ServiceError
from fupin.core.models import AuditEvent, Batch, CodeItem
from fupin.demo.seed import seed_demo
from fupin.geo.models import Division, Grid, GridPost, Terminal
from fupin.org.models import CommandUnit, Department
from fupin.registry.models import Household, Person, PovertyLine

SCALE = 0.003


def _stats() -> dict:
    out, err = io.StringIO(), io.StringIO()
    call_command("stats", "--json", stdout=out, stderr=err)
    return json.loads(out.getvalue())


@pytest.mark.django_db
def test_seed_demo_builds_the_county(capsys):
    result = seed_demo(actor="system", scale=SCALE, seed=11, password="demo-pass-2016")
    assert capsys.readouterr().out == ""  # the service prints nothing; the command prints its progress

    stats = _stats()
    assert (stats["towns"], stats["villages"], stats["communities"], stats["grids"]) == (11, 123, 30, 850)
    assert stats["poor_households"] == round(4491 * SCALE) == result["poor_households"]
    assert stats["households"] == Household.objects.count() == result["households"]
    assert stats["persons"] == Person.objects.count() == result["persons"]
    assert abs(stats["persons"] - 390_000 * SCALE) < 20
    assert stats["poor_persons"] == Person.objects.filter(household__is_registered_poor=True).count() > 0
    assert stats["departments"] == 13
    assert stats["users"] == User.objects.count() >= 1700
    # the department extracts about the county's own people were imported and compared
    from fupin.eligibility.models import Finding
    from fupin.exchange.models import LinkRun, RecordLink, Snapshot
    from fupin.inbox.models import InboxItem

    assert Snapshot.objects.filter(is_current=True).count() == 14
    assert stats["department_records"] == result["exchange_records"] > 0
    assert stats["persons_linked"] > 0 and stats["findings_open"] > 0
    assert RecordLink.objects.filter(method="exact_id").exists() and LinkRun.objects.get().model is not None
    assert InboxItem.objects.filter(kind="verify").count() >= Finding.objects.filter(status="open").values(
        "household").distinct().count() > 0

    # the grid network
    assert not Division.objects.filter(level="village", grids__isnull=True).exists()
    assert not Grid.objects.filter(village__level="community").exists()
    assert Division.objects.filter(level="village", is_poor_village=True).count() == 26
    codes = list(Grid.objects.values_list("code", "village__code"))
    assert len({c for c, _ in codes}) == 850
    by_village = Counter(v for _, v in codes)
    for code, village in codes:
        assert len(code) == 15 and code.isdigit() and code.startswith(village)
        assert 1 <= int(code[12:]) <= by_village[village]
    assert not Division.objects.exclude(level="county").filter(boundary__isnull=True).exists()
    assert Division.objects.filter(boundary_synthetic=True).count() == 164
    assert Division.objects.get(level="county").boundary_synthetic is False
    assert not Division.objects.filter(lng__isnull=True).exists()
    assert Division.objects.filter(point_synthetic=False).count() == 37  # the real points of the fixture
    assert not Grid.objects.filter(boundary__isnull=True).exists()

    # one grid worker, one information officer, one terminal per grid
    open_posts = GridPost.objects.filter(end_date__isnull=True)
    assert open_posts.count() == 1700
    assert Counter(open_posts.values_list("post", flat=True)) == {"grid_worker": 850, "info_officer": 850}
    for post in open_posts.select_related("user", "grid")[:50]:
        assert post.user.role == post.post and post.user.grid_id == post.grid_id
        assert post.user.area_code == post.grid.code
    assert Terminal.objects.count() == 850
    for t in Terminal.objects.select_related("holder")[:50]:
        assert t.holder.grid_id == t.grid_id and t.holder.role == Role.GRID_WORKER

    # command units and departments
    kinds = Counter(CommandUnit.objects.values_list("kind", flat=True))
    assert kinds == {"city_hq": 1, "city_centre": 1, "town_command": 11, "town_station": 11, "village_office": 123}
    assert Department.objects.filter(head__isnull=False).count() == 13
    assert set(Department.objects.values_list("short_name", flat=True)) >= {"民政", "公安", "人社", "扶贫办"}

    # residents: valid, unique IDs (except the ID mistakes the forms' demo plants for the data-quality checks,
    # each of which the first data-quality run lists); rows where they belong
    from fupin.quality.models import Problem

    planted = Problem.objects.filter(rule__key__in=["id_invalid", "duplicate_person"]).values_list("person_id")
    numbers = list(Person.objects.exclude(pk__in=planted).values_list("id_number", flat=True))
    assert len(numbers) == len(set(numbers))
    assert all(idnumber.is_valid(n) and n.startswith("420581") for n in numbers)
    for hh in Household.objects.prefetch_related("members").select_related("grid", "village")[:200]:
        assert hh.area_code == (hh.grid.code if hh.grid else hh.village.code)
        assert hh.size == len(hh.members.all())
        assert {p.area_code for p in hh.members.all()} == {hh.area_code}
        assert hh.lng is not None and hh.lat is not None
        if hh.grid is not None:
            assert hh.grid.village_id == hh.village_id
    assert not Household.objects.filter(village__level="community", grid__isnull=False).exists()

    # registered poor households: all in villages, weighted to the poor villages, with 户编号 and consistent fields
    poor = Household.objects.filter(is_registered_poor=True)
    assert not poor.filter(village__level="community").exists()
    # (except the households where the forms' demo planted mistakes for the data-quality checks to find)
    for hh in poor.exclude(pk__in=Problem.objects.values("household_id")).prefetch_related("members"):
        assert hh.poor_code.startswith(hh.village.code) and len(hh.poor_code) == 16
        assert hh.attribute in {"1", "2", "3"} and hh.main_cause and hh.poverty_status in {"0", "1", "2", "3"}
        assert hh.per_capita_net_income == (hh.net_income / hh.size).quantize(hh.per_capita_net_income)
        if hh.main_cause == "3":
            assert any(m.schooling not in ("", "01", "02") for m in hh.members.all())
        assert all(isinstance(m.health, list) for m in hh.members.all())

    # one batch, one audit event, and every written row carries the batch
    batch = Batch.objects.get(kind="seed_demo")
    assert AuditEvent.objects.filter(batch=batch).count() == 1
    assert not Household.objects.exclude(batch=batch).exists()
    assert not Person.objects.exclude(batch=batch).exists()
    assert not Grid.objects.exclude(batch=batch).exists()
    assert not Division.objects.exclude(batch=batch).exists()
    assert CodeItem.objects.filter(code_list__key="cause", code="3", label="因学").exists()
    assert PovertyLine.objects.get(year=2016).amount == 2952

    # one demo user per role, bound sensibly, with the password given
    admin = authenticate(username="demo_admin", password="demo-pass-2016")
    assert admin is not None and admin.is_superuser
    for role in Role:
        user = authenticate(username=f"demo_{role.value}", password="demo-pass-2016")
        assert user is not None and user.role == role.value, role
    grid_worker = User.objects.get(username="demo_grid_worker")
    assert grid_worker.grid.village.is_poor_village
    assert GridPost.objects.get(grid=grid_worker.grid, post="grid_worker", end_date__isnull=True).user == grid_worker
    assert User.objects.get(username="demo_first_secretary").division == grid_worker.grid.village
    assert User.objects.get(username="demo_town_staff").division == grid_worker.grid.village.parent
    handler = User.objects.get(username="demo_dept_handler")
    assert handler.department.code == "minzheng" and handler.division is None
    assert User.objects.get(username="demo_city_leader").division.level == "county"
    assert User.objects.get(username="demo_auditor").division.level == "county"
    # staff share one unusable password: no 1,700 hashes
    assert not User.objects.get(username=f"wg{Grid.objects.exclude(pk=grid_worker.grid_id).first().code}"
                                ).has_usable_password()

    # the phone app: a few phones (one revoked as lost), offline work that arrived later, one open conflict
    phone_stats = _stats()
    assert phone_stats["devices_active"] == 3 and phone_stats["sync_conflicts_open"] == 1
    arrived = AuditEvent.objects.filter(action="mobile.change.apply", actor=grid_worker)
    assert arrived.count() >= 3 and all("分钟后送达" in e.note for e in arrived)
    assert not AuditEvent.objects.filter(action="mobile.change.refuse").exists()

    # a second seeding is refused and changes nothing
    with pytest.raises(ServiceError):
        seed_demo(actor="system", scale=SCALE, seed=11)
    assert Household.objects.count() == result["households"]

    # --if-empty only ensures the demo users (with the new password) and prints the logins
    out = io.StringIO()
    User.objects.filter(username="demo_auditor").delete()
    call_command("seed_demo", "--if-empty", "--password", "another-pass-2016", stdout=out)
    text = out.getvalue()
    assert "demo_admin" in text and "demo_grid_worker" in text and "another-pass-2016" in text
    assert Household.objects.count() == result["households"]
    assert authenticate(username="demo_admin", password="another-pass-2016") is not None
    auditor = authenticate(username="demo_auditor", password="another-pass-2016")
    assert auditor is not None and auditor.division.level == "county"


@pytest.mark.django_db
def test_stats_json_is_pure_json_on_an_empty_database(capsys):
    out = io.StringIO()
    call_command("stats", "--json", stdout=out)
    figures = json.loads(out.getvalue())
    assert capsys.readouterr().out == ""
    for key in ("towns", "villages", "communities", "grids", "households", "persons", "poor_households",
                "poor_persons", "users", "departments", "department_records"):
        assert figures[key] == 0, key


@pytest.mark.django_db
def test_stats_table_is_chinese():
    out = io.StringIO()
    call_command("stats", stdout=out)
    assert "行政村" in out.getvalue() and "网格" in out.getvalue()


@pytest.mark.django_db
def test_scale_must_be_positive():
    with pytest.raises(ServiceError, match="规模"):
        seed_demo(actor="system", scale=0)
    assert not Division.objects.exists()
