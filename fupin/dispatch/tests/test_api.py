"""The API: the same services and the same scoping as the pages; refusals are 400 with the Chinese message."""

import json

from fupin.dispatch.models import HouseholdPin, MinqingReport, WorkOrder


def post(client, url, data):
    return client.post(url, data=json.dumps(data), content_type="application/json")


def test_push_accept_resolve_confirm_through_the_api(client, world):
    client.force_login(world.users["grid_a"])
    response = post(client, "/api/v1/dispatch/orders", {"household": "A-002", "title": "学费减免", "description": "高一"})
    assert response.status_code == 201, response.content
    order = response.json()
    assert order["department"] == "jiaoyu" and order["order_type"] == "education" and order["state"] == "pushed"
    assert order["actions"] == ["cancel"]

    client.force_login(world.users["jiaoyu"])
    url = f"/api/v1/dispatch/orders/{order['uuid']}/act"
    refused = post(client, url, {"action": "resolve", "note": "已办"})
    assert refused.status_code == 400 and refused.json()["detail"] == "本部门尚未受理该工单,不能办结"
    assert post(client, url, {"action": "accept"}).json()["state"] == "accepted"
    assert post(client, url, {"action": "resolve", "note": "已落实学费减免"}).json()["state"] == "resolved"

    client.force_login(world.users["grid_a"])
    refused = post(client, url, {"action": "confirm"})
    assert refused.status_code == 400 and "满意度" in refused.json()["detail"]
    done = post(client, url, {"action": "confirm", "satisfaction": 4})
    assert done.status_code == 200 and done.json()["satisfaction"] == 4
    detail = client.get(f"/api/v1/dispatch/orders/{order['uuid']}").json()
    assert [e["kind"] for e in detail["events"]] == ["push", "accept", "resolve", "confirm"]
    figures = client.get("/api/v1/dispatch/figures").json()
    assert figures["solved"] == 1 and figures["by_state"]["confirmed"] == 1


def test_api_refuses_outside_the_jurisdiction_and_writes_nothing(client, world):
    client.force_login(world.users["grid_a"])
    assert post(client, "/api/v1/dispatch/orders", {"household": "B-001", "title": "x"}).status_code == 404
    assert post(client, "/api/v1/dispatch/pins", {"household": "B-001", "reason": "x"}).status_code == 404
    client.force_login(world.users["weiji"])
    response = post(client, "/api/v1/dispatch/orders", {"village": world.county["va1"].code, "title": "x"})
    assert response.status_code == 404  # a department sees no divisions to push into
    assert not WorkOrder.objects.exists() and not HouseholdPin.objects.exists()


def test_pins_and_minqing_through_the_api(client, world):
    client.force_login(world.users["team_a"])
    pin = post(client, "/api/v1/dispatch/pins", {"household": "A-001", "reason": "重病"})
    assert pin.status_code == 201
    assert post(client, f"/api/v1/dispatch/pins/{pin.json()['uuid']}/unpin", {"reason": ""}).status_code == 400
    assert post(client, f"/api/v1/dispatch/pins/{pin.json()['uuid']}/unpin", {"reason": "已好转"}).status_code == 200
    assert client.get("/api/v1/dispatch/pins?active=false").json()[0]["unpin_reason"] == "已好转"
    hotline = post(client, "/api/v1/dispatch/minqing", {"channel": "hotline", "category": "credit",
                                                          "content": "贷款难", "village": world.county["va1"].code})
    assert hotline.status_code == 400 and "来电人" in hotline.json()["detail"]
    report = post(client, "/api/v1/dispatch/minqing", {"channel": "hotline", "category": "credit", "content": "贷款难",
                                                       "household": "A-001", "reporter_phone": "13800000000"})
    assert report.status_code == 201
    answered = post(client, f"/api/v1/dispatch/minqing/{report.json()['uuid']}/answer",
                    {"answer": "已电话告知小额信贷办理流程", "way": "phone"})
    assert answered.json()["answered_at"] is not None
    assert MinqingReport.objects.get().status == "answered"
    client.force_login(world.users["grid_b"])
    assert client.get(f"/api/v1/dispatch/minqing/{report.json()['uuid']}").status_code == 404
    assert client.get("/api/v1/dispatch/minqing").json() == []
    assert len(client.get("/api/v1/dispatch/rules").json()) == 21
