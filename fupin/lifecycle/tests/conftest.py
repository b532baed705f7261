"""Fixtures for the procedures: a county with users of every role a procedure needs, and a walker that records
steps in order with valid dates (notice periods respected, spot-checks made where the ratio needs them)."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from fupin.core.testing import make_household, make_user
from fupin.lifecycle import services
from fupin.lifecycle.definitions import PROCEDURES
from fupin.registry.models import PovertyLine

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde\x00"
       b"\x00\x00\x0cIDATx\x9cc\xf8\xcf\xc0\x00\x00\x03\x01\x01\x00\xc9\xfe\x92\xef\x00\x00\x00\x00IEND\xaeB`\x82")


def png(name: str = "photo.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PNG, content_type="image/png")


def thumbprint():
    return services.Upload(kind="thumbprint", file=io.BytesIO(PNG), name="手印.png")


@pytest.fixture
def world(county):
    this_year = timezone.localdate().year
    for year, amount in ((2015, 2855), (2016, 2952), (this_year - 1, 4000), (this_year, 4100)):
        PovertyLine.objects.get_or_create(year=year, defaults={"amount": Decimal(amount)})
    users = {
        "village": make_user("va1_team", "village_team", division=county["va1"], display_name="甲一村工作队"),
        "grid": make_user("ga1_grid", "grid_worker", grid=county["ga1"], display_name="甲一网格员"),
        "info": make_user("va1_info", "info_officer", division=county["va1"], display_name="甲一村信息员"),
        "town": make_user("town_a", "town_staff", division=county["town_a"], display_name="甲镇工作站"),
        "county": make_user("county_office", "city_office", division=county["county"], display_name="市扶贫办"),
        "town_b": make_user("town_b", "town_staff", division=county["town_b"], display_name="乙镇工作站"),
        "village_b": make_user("vb1_team", "village_team", division=county["vb1"], display_name="乙一村工作队"),
        "leader": make_user("leader", "city_leader", division=county["county"]),
    }
    return {**county, "users": users}


def applicant(world, *, head="王五", members=3, **fields):
    return make_household(world["va1"], grid=world["ga1"], head=head, members=members, **fields)


def poor_household(world, *, head="赵六", income=Decimal("5200"), year=None, status="0", **fields):
    """A registered poor household whose per-capita net income is `income` (wages only)."""
    year = year or timezone.localdate().year
    members = fields.pop("members", 3)
    return applicant(world, head=head, members=members, is_registered_poor=True, poverty_status=status,
                     attribute="1", main_cause="1", poor_code=fields.pop("poor_code", None) or f"P{head}",
                     income_year=year, income_wages=income * members, year_identified=2014, **fields)


def actor_for(world, stepdef):
    users = world["users"]
    for key in ("village", "info", "town", "county"):
        if users[key].role in stepdef.roles:
            return users[key]
    raise AssertionError(stepdef)


def step_data(kind: str, code: str) -> dict:
    if code == "team_verification":
        return {k: True for k in ("food", "clothing", "education", "medical", "housing")}
    if code == "risk_warning":
        return {"monitoring_category": "edge", "monitoring_risks": ["1", "5"]}
    if code == "visit" and kind == "monitoring_exit":
        return {"risks_eliminated": True}
    if code in ("town_review", "county_verification") and kind == "village_exit":
        return {k: True for k in ("collective_income", "roads", "water", "power", "clinic", "culture", "broadband")}
    if code == "visit" and kind == "identification":
        return {"attribute": "1", "main_cause": "2"}
    return {}


def step_uploads(code: str) -> list:
    if code in ("household_consent", "commitment"):
        return [thumbprint()]
    return []


class Walker:
    """Records steps in order for one or more procedures, one day apart, waiting out notice periods."""

    def __init__(self, world, start: dt.date | None = None):
        self.world = world
        self.day = start or (timezone.localdate() - dt.timedelta(days=80))

    def next_day(self, procedure) -> dt.date:
        last = procedure.steps.order_by("-seq").first()
        day = self.day
        if last is not None:
            day = max(day, last.date + dt.timedelta(days=1))
            if "notice_until" in last.data:
                day = max(day, dt.date.fromisoformat(last.data["notice_until"]) + dt.timedelta(days=1))
        return day

    def step(self, procedure, **kw):
        procedure.refresh_from_db()
        sdef = procedure.current_step_def
        pdef = PROCEDURES[procedure.kind]
        if sdef.spot_check:
            self.spot_checks(procedure, sdef.spot_check)
        kwargs = {"actor": actor_for(self.world, sdef), "procedure": procedure, "step": sdef.code,
                  "decision": "approve", "date": self.next_day(procedure), "notes": "",
                  "data": step_data(pdef.kind, sdef.code), "attachments": step_uploads(sdef.code)}
        kwargs.update(kw)
        rec = services.procedure_record_step(**kwargs)
        procedure.refresh_from_db()
        return rec

    def spot_checks(self, procedure, level: str):
        from fupin.lifecycle.selectors import spot_check_state

        user = self.world["users"]["town" if level == "town" else "county"]
        procedure.refresh_from_db()
        if spot_check_state(procedure.batch, level, procedure=procedure).met:
            return
        services.procedure_record_spot_check(actor=user, procedure=procedure, level=level,
                                             date=self.next_day(procedure), notes="入户抽查,情况属实")

    def until(self, procedure, code: str | None = None):
        """Record steps until `code` is the current step (None: to the end)."""
        procedure.refresh_from_db()
        while procedure.status == "open" and procedure.current_step != code:
            self.step(procedure)
        return procedure


@pytest.fixture
def walker(world):
    return Walker(world)
