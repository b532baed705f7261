"""Change requests: reported from the field, approved by the village team or the town, applied through the
registry's services (a move through the household move service), rejected with a reason, audited, scoped."""

import datetime as dt
import io

import pytest
from django.core.files.base import ContentFile
from django.test import Client

from fupin.core.errors import ServiceError
from fupin.core.models import AuditEvent
from fupin.core.testing import make_household, make_id
from fupin.registry import change_requests as cr
from fupin.registry.models import ChangeRequest, Household, MemberChange, Person

DAY = dt.date(2016, 6, 1)


@pytest.fixture
def hh_g(county):
    """A household of the grid worker's grid (甲一村第1网格)."""
    return make_household(county["va1"], grid=county["ga1"], head="王大山", members=3, poor_code="420581100201001",
                          is_registered_poor=True, poverty_status="0")


def _photo() -> ContentFile:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buf, "JPEG")
    return ContentFile(buf.getvalue(), name="p.jpg")


def test_a_birth_waits_for_the_village_team_then_is_recorded(users, hh_g, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    req = cr.request_submit(actor=users["grid_a1"], household=hh_g, kind="birth", date=DAY, evidence=_photo(),
                            payload={"name": "王小宝", "sex": "男", "relationship": "之孙子", "birth_date": "2016-05-20"})
    assert req.state == "submitted" and req.evidence and req.area_code == hh_g.area_code
    assert Person.objects.filter(household=hh_g).count() == 3  # nothing changes before approval
    with pytest.raises(ServiceError):  # the requester (and a grid worker) does not decide
        cr.request_approve(actor=users["grid_a1"], request=req)
    with pytest.raises(ServiceError):  # another town's team does not decide
        cr.request_approve(actor=users["village_b1"], request=req)
    req = cr.request_approve(actor=users["village_a1"], request=req)
    assert req.state == "approved" and req.decided_by == users["village_a1"]
    child = Person.objects.get(uuid=req.result["person"])
    assert child.household_id == hh_g.pk and child.birth_date == dt.date(2016, 5, 20)
    assert MemberChange.objects.get(person=child).kind == "birth"
    hh_g.refresh_from_db()
    assert hh_g.size == 4
    actions = set(AuditEvent.objects.filter(object_id=str(req.pk)).values_list("action", flat=True))
    assert {"registry.change_request.submit", "registry.change_request.approve"} <= actions
    with pytest.raises(ServiceError):  # decided once
        cr.request_approve(actor=users["town_a"], request=req)


def test_a_death_is_checked_at_submission_and_hands_over_the_head(users, hh_g):
    head, spouse = list(Person.objects.filter(household=hh_g).order_by("id"))[:2]
    with pytest.raises(ServiceError):
        cr.request_submit(actor=users["grid_a1"], household=hh_g, kind="death", date=DAY, payload={})
    with pytest.raises(ServiceError):
        cr.request_submit(actor=users["grid_a1"], household=hh_g, kind="death", date=DAY,
                          payload={"person": "not-a-uuid"})
    req = cr.request_submit(actor=users["grid_a1"], household=hh_g, kind="death", date=DAY,
                            payload={"person": str(head.uuid), "new_head": str(spouse.uuid)})
    cr.request_approve(actor=users["town_a"], request=req)  # the town may decide too
    head.refresh_from_db()
    spouse.refresh_from_db()
    assert not head.is_alive and head.death_date == DAY and spouse.relationship == "户主"


def test_a_rejected_request_keeps_the_reason_and_changes_nothing(users, hh_g):
    req = cr.request_submit(actor=users["grid_a1"], household=hh_g, kind="birth", date=DAY,
                            payload={"name": "王二宝", "relationship": "之孙女"})
    with pytest.raises(ServiceError):
        cr.request_reject(actor=users["village_a1"], request=req, reason=" ")
    req = cr.request_reject(actor=users["village_a1"], request=req, reason="出生证明不清楚")
    assert req.state == "rejected" and req.reason == "出生证明不清楚"
    assert not Person.objects.filter(name="王二宝").exists()
    assert AuditEvent.objects.filter(action="registry.change_request.reject", object_id=str(req.pk)).exists()


def test_a_refusal_at_approval_leaves_the_request_submitted(users, hh_g):
    person = Person.objects.filter(household=hh_g, relationship="之子").first() or \
        list(Person.objects.filter(household=hh_g).order_by("id"))[2]
    req = cr.request_submit(actor=users["grid_a1"], household=hh_g, kind="move_out", date=DAY,
                            payload={"person": str(person.uuid), "to_place": "武汉市"})
    from fupin.registry import services

    services.member_death(actor="t", person=person, date=DAY)  # someone recorded it meanwhile
    with pytest.raises(ServiceError):
        cr.request_approve(actor=users["village_a1"], request=req)
    req.refresh_from_db()
    assert req.state == "submitted" and req.decided_by is None


def test_move_in_and_move_out_go_through_the_member_services(users, hh_g, county):
    other = make_household(county["va2"], head="赵四", members=2)
    mover = Person.objects.filter(household=other).exclude(relationship="户主").first()
    req = cr.request_submit(actor=users["village_a1"], household=hh_g, kind="move_in", date=DAY,
                            payload={"name": mover.name, "id_number": mover.id_number, "relationship": "之儿媳"})
    cr.request_approve(actor=users["town_a"], request=req)
    mover.refresh_from_db()
    assert mover.household_id == hh_g.pk and mover.area_code == hh_g.area_code
    assert MemberChange.objects.filter(person=mover, kind="move", from_household=other).exists()
    newcomer = cr.request_submit(actor=users["grid_a1"], household=hh_g, kind="move_in", date=DAY,
                                 payload={"name": "外来人", "id_number": make_id(), "from_place": "湖南"})
    cr.request_approve(actor=users["village_a1"], request=newcomer)
    assert Person.objects.get(name="外来人").household_id == hh_g.pk
    out = cr.request_submit(actor=users["grid_a1"], household=hh_g, kind="move_out", date=DAY,
                            payload={"person": str(mover.uuid), "to_place": "广州"})
    cr.request_approve(actor=users["village_a1"], request=out)
    mover.refresh_from_db()
    assert mover.household_id is None
    assert MemberChange.objects.filter(person=mover, kind="move_out").exists()


def test_a_household_move_takes_its_rows_along(users, hh_g, county):
    req = cr.request_submit(actor=users["grid_a1"], household=hh_g, kind="household_move", date=DAY,
                            payload={"village": county["va2"].code})
    other_req = cr.request_submit(actor=users["grid_a1"], household=hh_g, kind="birth", date=DAY,
                                  payload={"name": "待审"})
    cr.request_approve(actor=users["town_a"], request=req)
    hh_g.refresh_from_db()
    assert hh_g.village_id == county["va2"].pk and hh_g.area_code == county["va2"].code
    assert set(Person.objects.filter(household=hh_g).values_list("area_code", flat=True)) == {county["va2"].code}
    other_req.refresh_from_db()
    assert other_req.area_code == county["va2"].code  # a declared household row: it follows the household
    with pytest.raises(ServiceError):  # the village team of A1 cannot move a household out to another town
        r = cr.request_submit(actor=users["grid_a1"], household=Household.objects.get(pk=hh_g.pk), kind="birth",
                              date=DAY, payload={"name": "x"})
        cr.request_approve(actor=users["village_a1"], request=r)


def test_bad_input_is_refused_with_a_chinese_message(users, hh_g):
    for kind, payload, date in [("adopt", {}, DAY), ("birth", {}, DAY), ("birth", {"name": "x", "id_number": "123"}, DAY),
                                ("birth", {"name": "x", "birth_date": "2016-13-01"}, DAY),
                                ("birth", {"name": "x", "birth_date": "2017-01-01"}, DAY),
                                ("birth", {"name": "x", "relationship": "户主"}, DAY),
                                ("birth", {"name": "x"}, "2999-01-01"), ("household_move", {}, DAY)]:
        with pytest.raises(ServiceError) as exc:
            cr.request_submit(actor=users["grid_a1"], household=hh_g, kind=kind, payload=payload, date=date)
        assert any("\u4e00" <= ch <= "\u9fff" for ch in exc.value.message)
    with pytest.raises(ServiceError):  # outside the jurisdiction
        cr.request_submit(actor=users["village_b1"], household=hh_g, kind="birth", payload={"name": "x"})
    assert not ChangeRequest.objects.exists()


def test_a_client_uuid_makes_submission_idempotent(users, hh_g):
    import uuid

    uid = uuid.uuid4()
    a = cr.request_submit(actor=users["grid_a1"], household=hh_g, kind="birth", payload={"name": "甲"}, uuid=uid)
    b = cr.request_submit(actor=users["grid_a1"], household=hh_g, kind="birth", payload={"name": "乙"}, uuid=uid)
    assert a.pk == b.pk and ChangeRequest.objects.count() == 1


def test_the_review_page_and_the_api(users, hh_g, hh_b1, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    mine = cr.request_submit(actor=users["grid_a1"], household=hh_g, kind="birth", date=DAY, evidence=_photo(),
                             payload={"name": "王小宝", "relationship": "之孙子"})
    theirs = cr.request_submit(actor=users["county"], household=hh_b1, kind="birth", date=DAY,
                               payload={"name": "李小宝", "relationship": "之孙子"})
    c = Client()
    c.force_login(users["village_a1"])
    page = c.get("/households/requests/").content.decode()
    assert "变动申请" in page and "王小宝" in page and "李小宝" not in page and "批准" in page
    assert c.get(f"/households/requests/{mine.uuid}/evidence/").status_code == 200
    assert c.get(f"/households/requests/{theirs.uuid}/evidence/").status_code == 404
    assert c.post(f"/households/requests/{theirs.uuid}/decide/", {"decision": "approve"}).status_code == 404
    r = c.post(f"/households/requests/{mine.uuid}/decide/", {"decision": "approve"})
    assert r.status_code == 302
    mine.refresh_from_db()
    assert mine.state == "approved"
    api = Client()
    api.force_login(users["grid_a1"])
    r = api.post("/api/v1/households/requests", {"household": hh_g.poor_code, "kind": "death", "date": "2016-06-02",
                                                  "payload": {"person": str(Person.objects.filter(
                                                      household=hh_g).last().uuid)}},
                 content_type="application/json")
    assert r.status_code == 201, r.content
    uid = r.json()["uuid"]
    assert api.post("/api/v1/households/requests", {"household": hh_b1.poor_code, "kind": "birth",
                                                    "payload": {"name": "x"}},
                    content_type="application/json").status_code == 404
    assert api.post(f"/api/v1/households/requests/{uid}/approve", {}, content_type="application/json"
                    ).status_code == 400
    listed = api.get("/api/v1/households/requests").json()
    assert [x["uuid"] for x in listed] == [uid]
    town = Client()
    town.force_login(users["town_a"])
    r = town.post(f"/api/v1/households/requests/{uid}/reject", {"reason": "核实无此事"},
                  content_type="application/json")
    assert r.status_code == 200 and r.json()["state"] == "rejected"
