"""The procedures API: scoped lists and details (404 outside), start, record a step with files, idempotent retries,
refusals as 400 with the Chinese message and nothing written."""

from __future__ import annotations

import json
import uuid

import pytest
from django.utils import timezone

from fupin.lifecycle import services
from fupin.lifecycle.models import Procedure, ProcedureStep
from fupin.lifecycle.tests.conftest import applicant, png, poor_household

pytestmark = pytest.mark.django_db
API = "/api/v1/lifecycle"


@pytest.fixture
def proc(world):
    hh = applicant(world, head="王五")
    return services.procedure_start(actor=world["users"]["village"], kind="identification", household=hh)


def test_list_and_detail_are_scoped(client, world, proc):
    client.force_login(world["users"]["village"])
    items = client.get(f"{API}/procedures").json()["items"]
    assert [i["uuid"] for i in items] == [str(proc.uuid)]
    assert items[0]["head_name"] == "王五" and items[0]["current_step"] == "apply"
    detail = client.get(f"{API}/procedures/{proc.uuid}").json()
    assert detail["next_step"]["code"] == "apply" and detail["steps"] == []
    client.force_login(world["users"]["village_b"])
    assert client.get(f"{API}/procedures").json()["items"] == []
    assert client.get(f"{API}/procedures/{proc.uuid}").status_code == 404
    assert client.post(f"{API}/procedures/{proc.uuid}/steps", {"step": "apply", "date": "2026-01-01"}).status_code == 404
    assert client.get(f"{API}/procedures/not-a-uuid").status_code == 404


def test_record_step_with_files_and_idempotent_retry(client, world, proc):
    client.force_login(world["users"]["grid"])
    key = str(uuid.uuid4())
    body = {"step": "apply", "decision": "approve", "date": timezone.localdate().isoformat(), "notes": "书面申请",
            "uuid": key, "photos": [png("申请书.png")]}
    r = client.post(f"{API}/procedures/{proc.uuid}/steps", body)
    assert r.status_code == 201, r.content
    out = r.json()
    assert out["uuid"] == key and out["actor"] == "甲一网格员" and out["attachments"][0]["kind"] == "photo"
    body["photos"] = [png("申请书.png")]
    r = client.post(f"{API}/procedures/{proc.uuid}/steps", body)
    assert r.status_code == 200 and r.json()["uuid"] == key
    assert ProcedureStep.objects.filter(procedure=proc).count() == 1
    assert client.get(out["attachments"][0]["url"]).status_code == 200


def test_refusal_is_400_with_the_message(client, world, proc):
    client.force_login(world["users"]["grid"])
    r = client.post(f"{API}/procedures/{proc.uuid}/steps", {"step": "visit", "date": timezone.localdate().isoformat()})
    assert r.status_code == 400 and "不能跳过步骤" in r.json()["detail"]
    r = client.post(f"{API}/procedures/{proc.uuid}/steps", {"step": "apply", "date": "2026-01-01", "data": "[1]"})
    assert r.status_code == 400 and r.json()["field"] == "data"
    assert not ProcedureStep.objects.exists()


def test_exit_verification_through_the_api(client, world):
    hh = poor_household(world)
    client.force_login(world["users"]["village"])
    r = client.post(f"{API}/procedures", {"kind": "exit", "household": hh.poor_code}, content_type="application/json")
    assert r.status_code == 201, r.content
    p = Procedure.objects.get(uuid=r.json()["uuid"])
    day = timezone.localdate().isoformat()
    assert client.post(f"{API}/procedures/{p.uuid}/steps", {"step": "committee_review", "date": day}).status_code == 201
    partial = json.dumps({"food": True, "clothing": True})
    r = client.post(f"{API}/procedures/{p.uuid}/steps", {"step": "team_verification", "date": day, "data": partial})
    assert r.status_code == 400 and "两不愁三保障" in r.json()["detail"]
    full = json.dumps({k: True for k in ("food", "clothing", "education", "medical", "housing")})
    r = client.post(f"{API}/procedures/{p.uuid}/steps", {"step": "team_verification", "date": day, "data": full})
    assert r.status_code == 201 and r.json()["data"]["guarantees"]["housing"] is True
    r = client.post(f"{API}/procedures/{p.uuid}/steps", {"step": "household_consent", "date": day})
    assert r.status_code == 400 and "签字或手印" in r.json()["detail"]
    r = client.post(f"{API}/procedures/{p.uuid}/steps", {"step": "household_consent", "date": day,
                                                          "thumbprint": [png("手印.png")]})
    assert r.status_code == 201 and r.json()["attachments"][0]["kind"] == "thumbprint"


def test_start_refusals(client, world):
    hh = applicant(world)
    client.force_login(world["users"]["village_b"])
    r = client.post(f"{API}/procedures", {"kind": "identification", "household": str(hh.uuid)},
                    content_type="application/json")
    assert r.status_code == 404
    client.force_login(world["users"]["town"])
    r = client.post(f"{API}/procedures", {"kind": "identification", "household": str(hh.uuid)},
                    content_type="application/json")
    assert r.status_code == 400 and "须由" in r.json()["detail"]
    assert not Procedure.objects.exists()


def test_spot_check_through_the_api(client, world, walker, proc):
    walker.until(proc, "town_review")
    client.force_login(world["users"]["town"])
    r = client.post(f"{API}/procedures/{proc.uuid}/spot-checks", {"level": "town", "date": walker.next_day(proc)})
    assert r.status_code == 201 and r.json()["step"] == "spot_check_town"
