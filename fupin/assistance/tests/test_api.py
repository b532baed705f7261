"""The API: scoped reads, roll-ups for the map and dashboards, idempotent submits from the phone app."""

import datetime as dt
import json
import uuid

import pytest

from fupin.assistance import services
from fupin.assistance.models import AssistanceRecord, Errand, HouseholdLight

from .conftest import TODAY

pytestmark = pytest.mark.django_db


@pytest.fixture
def paired(hh_a, hh_b, cadre, other_cadre):
    services.pairing_assign(actor="test", household=hh_a, cadre=cadre, start=TODAY - dt.timedelta(days=45))
    services.pairing_assign(actor="test", household=hh_b, cadre=other_cadre, start=TODAY - dt.timedelta(days=45))
    return hh_a, hh_b


def post(client, url, data):
    return client.post(url, json.dumps(data, default=str), content_type="application/json")


def test_lights_are_scoped(client, paired, village_a_user, office):
    hh_a, hh_b = paired
    client.force_login(village_a_user)
    rows = client.get("/api/v1/assistance/lights").json()
    assert [r["household"] for r in rows] == [str(hh_a.uuid)]
    assert rows[0]["colour"] == "red" and rows[0]["reasons"][0]["action"]
    assert client.get(f"/api/v1/assistance/households/{hh_b.uuid}").status_code == 404
    # asking for village B's division does not widen the scope
    rows = client.get("/api/v1/assistance/lights?division=420581101201").json()
    assert str(hh_b.uuid) not in {r["household"] for r in rows}
    client.force_login(office)
    assert len(client.get("/api/v1/assistance/lights?colour=red").json()) == 2


def test_rollups_and_map(client, paired, office, county):
    client.force_login(office)
    towns = client.get("/api/v1/assistance/rollup").json()
    assert {r["key"] for r in towns} == {"420581100000", "420581101000"}
    cadres = client.get("/api/v1/assistance/rollup?by=cadre&division=420581100000").json()
    assert len(cadres) == 1 and cadres[0]["red"] == 1
    assert client.get("/api/v1/assistance/rollup?by=nonsense").status_code == 400
    total = client.get("/api/v1/assistance/rollup?by=total").json()
    assert (total[0]["red"], total[0]["total"]) == (2, 2)
    points = client.get("/api/v1/assistance/map").json()
    assert {p["colour"] for p in points} == {"red"}


def test_record_submit_is_idempotent(client, paired, village_a_user):
    hh_a, hh_b = paired
    client.force_login(village_a_user)
    uid = str(uuid.uuid4())
    data = {"uuid": uid, "household": str(hh_a.uuid), "kind": "visit", "occurred_on": TODAY, "content": "入户走访",
            "lng": 111.4, "lat": 30.5}
    r1 = post(client, "/api/v1/assistance/records", data)
    assert r1.status_code == 201, r1.content
    assert r1.json()["light"] == "green"
    r2 = post(client, "/api/v1/assistance/records", data)
    assert r2.status_code == 200
    assert r2.json()["uuid"] == uid
    assert AssistanceRecord.objects.count() == 1
    # the same uuid for another household is a conflict, not a silent overwrite
    r3 = post(client, "/api/v1/assistance/records", {**data, "household": str(hh_b.uuid)})
    assert r3.status_code == 409
    assert HouseholdLight.objects.get(pk=hh_a.pk).colour == "green"


def test_record_submit_refuses_other_villages_and_bad_input(client, paired, village_a_user):
    hh_a, hh_b = paired
    client.force_login(village_a_user)
    r = post(client, "/api/v1/assistance/records", {"uuid": str(uuid.uuid4()), "household": str(hh_b.uuid),
                                                     "occurred_on": TODAY, "content": "x"})
    assert r.status_code == 404
    r = post(client, "/api/v1/assistance/records", {"uuid": str(uuid.uuid4()), "household": str(hh_a.uuid),
                                                     "occurred_on": TODAY, "content": "x", "lng": 10.0, "lat": 1.0})
    assert r.status_code == 400 and "定位" in r.json()["detail"]
    assert not AssistanceRecord.objects.exists()


def test_errand_submit_and_close(client, paired, village_a_user):
    hh_a, _ = paired
    client.force_login(village_a_user)
    uid = str(uuid.uuid4())
    data = {"uuid": uid, "household": hh_a.poor_code or str(hh_a.uuid), "matter": "代办残疾证", "office": "市残联"}
    assert post(client, "/api/v1/assistance/errands", data).status_code == 201
    assert post(client, "/api/v1/assistance/errands", data).status_code == 200
    assert Errand.objects.count() == 1
    r = post(client, f"/api/v1/assistance/errands/{uid}/close", {"status": "done", "result": "已办好"})
    assert r.status_code == 200 and r.json()["status"] == "done"


def test_household_summary(client, paired, village_a_user):
    hh_a, _ = paired
    client.force_login(village_a_user)
    data = client.get(f"/api/v1/assistance/households/{hh_a.uuid}").json()
    assert data["cadre_name"] == "王干部" and data["light"]["colour"] == "red"
