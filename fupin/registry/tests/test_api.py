"""The households API: scoped, masked, conflict detection and idempotent creation."""

import uuid

import pytest

from fupin.core.testing import make_id
from fupin.registry.models import Household, MemberChange, Person

API = "/api/v1/households"


def login(client, user):
    client.force_login(user)
    return client


def test_list_is_scoped_and_masked(client, users, hh_a1, hh_b1):
    data = login(client, users["county"]).get(f"{API}/").json()
    assert {h["poor_code"] for h in data["items"]} == {hh_a1.poor_code, hh_b1.poor_code}
    assert data["count"] == 2
    data = login(client, users["village_a1"]).get(f"{API}/").json()
    assert [h["poor_code"] for h in data["items"]] == [hh_a1.poor_code]
    assert data["items"][0]["attribute_label"] == "一般贫困户"


def test_list_filters_and_search(client, users, hh_a1, hh_b1):
    c = login(client, users["county"])
    assert [h["poor_code"] for h in c.get(f"{API}/", {"attribute": "2"}).json()["items"]] == [hh_b1.poor_code]
    head = Person.objects.get(household=hh_a1, relationship="户主")
    assert [h["poor_code"] for h in c.get(f"{API}/", {"q": head.id_number[-5:]}).json()["items"]] == [hh_a1.poor_code]
    page = c.get(f"{API}/", {"limit": 1, "offset": 1}).json()
    assert page["count"] == 2 and len(page["items"]) == 1


def test_detail_outside_jurisdiction_is_404(client, users, hh_a1, hh_b1):
    c = login(client, users["village_a1"])
    assert c.get(f"{API}/{hh_b1.poor_code}").status_code == 404
    assert c.get(f"{API}/{hh_b1.uuid}").status_code == 404
    assert c.patch(f"{API}/{hh_b1.poor_code}", {"expected_version": 1, "phone": "1"},
                   content_type="application/json").status_code == 404
    other = Person.objects.filter(household=hh_b1).first()
    assert c.patch(f"{API}/persons/{other.uuid}", {"expected_version": 1, "phone": "1"},
                   content_type="application/json").status_code == 404
    assert c.get(f"{API}/persons", {"household": hh_b1.poor_code}).json()["count"] == 0


def test_detail_with_members_masked_per_role(client, users, hh_a1):
    head = Person.objects.get(household=hh_a1, relationship="户主")
    full = login(client, users["village_a1"]).get(f"{API}/{hh_a1.poor_code}").json()
    assert head.id_number in {m["id_number"] for m in full["members"]}
    assert full["income"]["per_capita_net_income"] is not None
    masked = login(client, users["cadre_a1"]).get(f"{API}/{hh_a1.poor_code}").json()
    numbers = {m["id_number"] for m in masked["members"]}
    assert head.id_number not in numbers and f"{head.id_number[:6]}********{head.id_number[-4:]}" in numbers
    persons = login(client, users["cadre_a1"]).get(f"{API}/persons").json()
    assert all("********" in p["id_number"] for p in persons["items"])


def test_create_is_idempotent_by_client_uuid(client, users, county):
    key = str(uuid.uuid4())
    body = {"uuid": key, "village": county["va1"].code, "address": "3组",
            "members": [{"name": "新户主", "relationship": "户主", "id_number": make_id()},
                        {"name": "新配偶", "relationship": "配偶", "id_number": make_id()}]}
    c = login(client, users["village_a1"])
    r1 = c.post(f"{API}/", body, content_type="application/json")
    assert r1.status_code == 201, r1.content
    r2 = c.post(f"{API}/", body, content_type="application/json")
    assert r2.status_code == 200 and r2.json()["uuid"] == key
    assert Household.objects.filter(uuid=key).count() == 1 and Person.objects.filter(name="新户主").count() == 1
    assert r1.json()["size"] == 2 and r1.json()["url"] == f"/households/{key}/"


def test_create_refuses_bad_id_and_outside_village(client, users, county):
    c = login(client, users["village_a1"])
    r = c.post(f"{API}/", {"village": county["va1"].code,
                           "members": [{"name": "甲", "relationship": "户主", "id_number": "110105194912310021"}]},
               content_type="application/json")
    assert r.status_code == 400 and "校验位" in r.json()["detail"]
    r = c.post(f"{API}/", {"village": county["vb1"].code,
                           "members": [{"name": "甲", "relationship": "户主", "id_number": make_id()}]},
               content_type="application/json")
    assert r.status_code == 404
    assert not Household.objects.exists()
    r = login(client, users["leader"]).post(f"{API}/", {"village": county["va1"].code, "members": []},
                                            content_type="application/json")
    assert r.status_code == 403


def test_update_with_expected_version_and_conflict(client, users, hh_a1):
    c = login(client, users["village_a1"])
    r = c.patch(f"{API}/{hh_a1.poor_code}", {"expected_version": 1, "income_wages": "6000", "income_year": 2016},
                content_type="application/json")
    assert r.status_code == 200, r.content
    assert r.json()["version"] == 2 and r.json()["income"]["per_capita_net_income"] == "2000.00"
    r = c.patch(f"{API}/{hh_a1.poor_code}", {"expected_version": 1, "phone": "1"}, content_type="application/json")
    assert r.status_code == 409 and "版本" in r.json()["detail"]
    hh_a1.refresh_from_db()
    assert hh_a1.phone == "" and hh_a1.version == 2


def test_person_update_and_conflict(client, users, hh_a1):
    p = Person.objects.filter(household=hh_a1).exclude(relationship="户主").first()
    c = login(client, users["village_a1"])
    r = c.patch(f"{API}/persons/{p.uuid}", {"expected_version": 1, "phone": "13912345678"},
                content_type="application/json")
    assert r.status_code == 200 and r.json()["phone"] == "13912345678"
    r = c.patch(f"{API}/persons/{p.uuid}", {"expected_version": 1, "phone": "0"}, content_type="application/json")
    assert r.status_code == 409
    r = c.patch(f"{API}/persons/{p.uuid}", {"expected_version": 2, "id_number": "123"},
                content_type="application/json")
    assert r.status_code == 400 and "18位" in r.json()["detail"]


def test_changes_birth_idempotent_and_death(client, users, hh_a1):
    c = login(client, users["village_a1"])
    key = str(uuid.uuid4())
    body = {"kind": "birth", "date": "2016-03-01", "member": {"uuid": key, "name": "王小芽", "relationship": "之孙女"}}
    assert c.post(f"{API}/{hh_a1.poor_code}/changes", body, content_type="application/json").status_code == 201
    assert c.post(f"{API}/{hh_a1.poor_code}/changes", body, content_type="application/json").status_code == 200
    assert Person.objects.filter(name="王小芽").count() == 1
    spouse = Person.objects.get(household=hh_a1, relationship="配偶")
    r = c.post(f"{API}/{hh_a1.poor_code}/changes", {"kind": "death", "date": "2016-04-01", "person": str(spouse.uuid)},
               content_type="application/json")
    assert r.status_code == 201 and r.json()["is_alive"] is False
    detail = c.get(f"{API}/{hh_a1.poor_code}").json()
    assert {ch["kind"] for ch in detail["changes"]} == {"birth", "death"} and detail["size"] == 3
    assert MemberChange.objects.count() == 2


def test_move_to_a_household_outside_jurisdiction_is_refused(client, users, hh_a1, hh_b1):
    child = Person.objects.get(household=hh_a1, relationship="之子")
    r = login(client, users["village_a1"]).post(
        f"{API}/{hh_a1.poor_code}/changes", {"kind": "move", "person": str(child.uuid), "to_household": hh_b1.poor_code},
        content_type="application/json")
    assert r.status_code == 404
    child.refresh_from_db()
    assert child.household_id == hh_a1.pk


def test_village_figures(client, users, county, hh_a1):
    r = login(client, users["village_a1"]).get(f"{API}/villages/{county['va1'].code}").json()
    assert r["poor_persons_not_out"] == 3 and r["incidence"] == "100.00"
    assert login(client, users["village_a1"]).get(f"{API}/villages/{county['vb1'].code}").status_code == 404


@pytest.mark.parametrize("path", ["/", "/persons"])
def test_api_list_query_budget(client, users, county, django_assert_max_num_queries, path):
    from fupin.core.testing import make_household

    for i in range(20):
        make_household(county["va1"], head=f"户{i}", members=2, poor_code=f"Q{i:03d}", is_registered_poor=True)
    c = login(client, users["village_a1"])
    c.get(f"{API}{path}")
    with django_assert_max_num_queries(10):
        assert c.get(f"{API}{path}").status_code == 200
