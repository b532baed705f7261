"""The phone's sync: the worker's slice and only it, a change feed with tombstones, each change applied exactly once
through the owning services, photos in resumable chunks, field-level merge and conflicts kept for a person."""

import io
import json
import uuid

import pytest
from django.test import Client
from PIL import Image

from fupin.accounts.services import device_token_issue, token_revoke
from fupin.assistance import services as assistance
from fupin.assistance.models import AssistanceRecord, Errand, Measure, RecordAttachment
from fupin.core.models import AuditEvent
from fupin.core.testing import make_household, make_user
from fupin.dispatch.models import MinqingReport
from fupin.eligibility.models import Finding
from fupin.mobile.models import SyncChange, SyncConflict, Upload
from fupin.registry.services import household_update

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(county, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    worker = make_user("wk_a", "grid_worker", grid=county["ga1"])
    worker_b = make_user("wk_b", "grid_worker", grid=county["gb1"])
    team = make_user("team_a", "village_team", division=county["va1"])
    hh = make_household(county["va1"], grid=county["ga1"], head="李大山", phone="13800000001", is_registered_poor=True)
    hh2 = make_household(county["va1"], grid=county["ga1"], head="王秀英")
    other = make_household(county["vb1"], grid=county["gb1"], head="赵建国", is_registered_poor=True)
    _t, secret = device_token_issue(actor=worker, user=worker, device_name="甲的手机")
    _t2, secret_b = device_token_issue(actor=worker_b, user=worker_b, device_name="乙的手机")
    return {"tree": county, "worker": worker, "worker_b": worker_b, "team": team, "hh": hh, "hh2": hh2,
            "other": other, "secret": secret, "secret_b": secret_b}


def api(secret, method, path, body=None, **extra):
    c = Client()
    kw = {"HTTP_AUTHORIZATION": f"Bearer {secret}", **extra}
    if method == "get":
        return c.get(f"/api/v1/mobile{path}", **kw)
    if method == "put":
        return c.put(f"/api/v1/mobile{path}", body, content_type=extra.pop("ct", "image/jpeg"), **kw)
    return c.post(f"/api/v1/mobile{path}", json.dumps(body), content_type="application/json", **kw)


def push(secret, *changes):
    r = api(secret, "post", "/changes", {"changes": list(changes)})
    assert r.status_code == 200, r.content
    return r.json()["results"]


def visit(hh, **data):
    return {"uuid": str(uuid.uuid4()), "kind": "visit", "made_at": "2026-12-01T08:00:00+08:00",
            "data": {"household": str(hh.uuid), "content": "入户走访,了解收入", **data}}


def test_first_sync_is_the_workers_slice_and_only_it(world):
    r = api(world["secret"], "get", "/sync")
    assert r.status_code == 200
    body = r.json()
    heads = {h["head_name"] for h in body["upserts"]["households"]}
    assert heads == {"李大山", "王秀英"} and body["full"] is True
    member = body["upserts"]["households"][0]["members"][0]
    assert "*" in member["id_number"]  # the phone never holds a full ID number
    assert "赵建国" not in r.content.decode()


def test_a_pairing_cadre_gets_their_paired_households(world):
    tree = world["tree"]
    cadre_user = make_user("cadre", "pairing_cadre", division=tree["county"])
    unit = assistance.unit_create(actor="test", name="县交通局")
    cadre = assistance.cadre_create(actor="test", name="周干部", unit=unit, user=cadre_user)
    assistance.pairing_assign(actor="test", household=world["other"], cadre=cadre)
    _t, secret = device_token_issue(actor=cadre_user, user=cadre_user, device_name="干部手机")
    heads = {h["head_name"] for h in api(secret, "get", "/sync").json()["upserts"]["households"]}
    assert heads == {"赵建国"}  # a county-wide user gets their paired households, not the county


def test_later_syncs_bring_only_changes_and_tombstones(world):
    first = api(world["secret"], "get", "/sync").json()
    again = api(world["secret"], "get", f"/sync?cursor={first['cursor']}").json()
    assert again["full"] is False and not any(again["upserts"].values()) and not any(again["deletes"].values())
    household_update(actor="test", household=world["hh"], phone="13911112222")
    household_update(actor="test", household=world["hh2"], grid=None)  # leaves the grid: leaves the slice
    delta = api(world["secret"], "get", f"/sync?cursor={again['cursor']}").json()
    assert [h["phone"] for h in delta["upserts"]["households"]] == ["13911112222"]
    assert delta["deletes"]["households"] == [str(world["hh2"].uuid)]
    # a phone that lost the answer comes back with the previous cursor and gets the same delta again
    retry = api(world["secret"], "get", f"/sync?cursor={again['cursor']}").json()
    assert retry["deletes"]["households"] == [str(world["hh2"].uuid)]
    # a change below the household (a new plan measure) sends the household again
    assistance.measure_add(actor="test", household=world["hh"], kind="education", title="申请助学金")
    below = api(world["secret"], "get", f"/sync?cursor={delta['cursor']}").json()
    assert [m["title"] for h in below["upserts"]["households"] for m in h["measures"]] == ["申请助学金"]
    unknown = api(world["secret"], "get", "/sync?cursor=not-a-cursor").json()
    assert unknown["full"] is True


def test_the_first_sync_is_compressed_for_a_phone_that_accepts_it(world):
    import gzip

    r = api(world["secret"], "get", "/sync", HTTP_ACCEPT_ENCODING="gzip, deflate")
    assert r["Content-Encoding"] == "gzip"
    assert {h["head_name"] for h in json.loads(gzip.decompress(r.content))["upserts"]["households"]} == {
        "李大山", "王秀英"}


def test_a_visit_sent_twice_is_recorded_once(world):
    change = visit(world["hh"], lng=111.4, lat=30.5, gps_accuracy=12)
    first = push(world["secret"], change)[0]
    second = push(world["secret"], change)[0]
    assert first["status"] == second["status"] == "applied"
    assert first["duplicate"] is False and second["duplicate"] is True
    rec = AssistanceRecord.objects.get()
    assert str(rec.uuid) == change["uuid"] and rec.source == "app" and rec.gps_accuracy == 12
    assert rec.recorded_by == world["worker"]
    assert SyncChange.objects.get().status == "applied"
    audit = AuditEvent.objects.get(action="mobile.change.apply")
    assert "分钟后送达" in audit.note


def test_photos_arrive_in_resumable_chunks(world):
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), "red").save(buf, "JPEG")
    data = buf.getvalue()
    pid = str(uuid.uuid4())
    half = len(data) // 2
    change = visit(world["hh"], photos=[pid])
    assert push(world["secret"], change)[0]["status"] == "pending"  # not arrived: nothing recorded
    assert not SyncChange.objects.exists() and not AssistanceRecord.objects.exists()
    r = api(world["secret"], "put", f"/uploads/{pid}?offset=0&total={len(data)}", data[:half])
    assert r.json()["received"] == half
    r = api(world["secret"], "put", f"/uploads/{pid}?offset=0&total={len(data)}", data[:half])  # retried chunk
    assert r.json()["received"] == half
    r = api(world["secret"], "put", f"/uploads/{pid}?offset={half + 10}&total={len(data)}", data[half + 10:])
    assert r.status_code == 409 and r.json()["received"] == half  # resume where the server is
    assert api(world["secret"], "get", f"/uploads/{pid}").json()["received"] == half
    r = api(world["secret"], "put", f"/uploads/{pid}?offset={half}&total={len(data)}", data[half:])
    assert r.json()["complete"] is True
    assert push(world["secret"], change)[0]["status"] == "applied"
    att = RecordAttachment.objects.get()
    assert att.kind == "photo" and att.file.read() == data
    # another user cannot use or read this upload
    assert api(world["secret_b"], "get", f"/uploads/{pid}").json()["received"] == 0


def test_a_non_image_upload_is_refused_with_the_reason(world):
    pid = str(uuid.uuid4())
    api(world["secret"], "put", f"/uploads/{pid}?offset=0&total=5", b"hello")
    change = visit(world["hh"], photos=[pid])
    first = push(world["secret"], change)[0]
    assert first["status"] == "refused" and "照片" in first["message"]
    assert push(world["secret"], change)[0]["message"] == first["message"]  # same answer on retry
    assert not AssistanceRecord.objects.exists()
    assert Upload.objects.get().completed_at is not None


def test_minqing_errand_measure_and_finding_through_the_services(world):
    hh = world["hh"]
    measure = assistance.measure_add(actor="test", household=hh, kind="education", title="助学金申请")
    finding = Finding.objects.create(key="k1", household=hh, rule_code="vehicle", rule_name="名下有车辆",
                                     source_code="vehicle", evidence={}, evidence_hash="x", area_code=hh.area_code)
    slice_ = api(world["secret"], "get", "/sync").json()
    bundle = next(h for h in slice_["upserts"]["households"] if h["uuid"] == str(hh.uuid))
    assert bundle["findings"][0]["rule"] == "名下有车辆" and bundle["measures"][0]["title"] == "助学金申请"
    changes = [
        {"uuid": str(uuid.uuid4()), "kind": "minqing",
         "data": {"household": str(hh.uuid), "category": "medical", "content": "老人看病难"}},
        {"uuid": str(uuid.uuid4()), "kind": "errand", "data": {"household": str(hh.uuid), "matter": "代办医保报销"}},
        {"uuid": str(uuid.uuid4()), "kind": "measure_done", "base_version": measure.version,
         "data": {"household": str(hh.uuid), "measure": str(measure.uuid), "evidence": "已发放"}},
        {"uuid": str(uuid.uuid4()), "kind": "finding", "base_version": finding.version,
         "data": {"household": str(hh.uuid), "finding": str(finding.uuid), "decision": "dismiss", "reason": "车已卖"}},
    ]
    results = push(world["secret"], *changes)
    assert [r["status"] for r in results] == ["applied"] * 4, results
    push(world["secret"], *changes)  # the whole outbox again: nothing twice
    report = MinqingReport.objects.get()
    assert report.channel == "grid_worker" and report.recorded_by == world["worker"] and report.household == hh
    assert Errand.objects.get().matter == "代办医保报销"
    assert Measure.objects.get().status == "done"
    finding.refresh_from_db()
    assert finding.status == "dismissed" and finding.reason == "车已卖"
    reports = api(world["secret"], "get", "/sync").json()["upserts"]["reports"]
    assert [r["content"] for r in reports] == ["老人看病难"]


def test_changes_outside_the_slice_are_refused_and_kept(world):
    bad = visit(world["other"])
    r = push(world["secret"], bad)[0]
    assert r["status"] == "refused" and "管辖" in r["message"]
    assert not AssistanceRecord.objects.exists()
    assert SyncChange.objects.get(uuid=bad["uuid"]).status == "refused"
    weird = push(world["secret"], {"uuid": str(uuid.uuid4()), "kind": "delete_everything", "data": {}})[0]
    assert weird["status"] == "refused"
    # another user re-using my change uuid gets no access to it
    assert push(world["secret_b"], bad)[0]["status"] == "refused"


def test_household_edits_merge_by_field_and_conflict_on_the_same_field(world):
    hh = world["hh"]
    base_version = hh.version
    base = {"phone": "13800000001", "address": ""}
    # someone else changes the phone on the server after both phones synced
    household_update(actor=world["team"], household=hh, phone="13700000000")
    # phone A changed the address only (another field): merged
    a = {"uuid": str(uuid.uuid4()), "kind": "household", "base_version": base_version,
         "data": {"household": str(hh.uuid), "fields": {"address": "三组12号"}, "base": base}}
    assert push(world["secret"], a)[0]["status"] == "applied"
    # phone A also changed the phone number on the old version: a conflict, nothing overwritten
    b = {"uuid": str(uuid.uuid4()), "kind": "household", "base_version": base_version,
         "data": {"household": str(hh.uuid), "fields": {"phone": "13600000000", "group_name": "三组"}, "base": {
             "phone": "13800000001", "group_name": ""}}}
    res = push(world["secret"], b)[0]
    assert res["status"] == "merged" and res["result"]["applied"] == ["group_name"]
    hh.refresh_from_db()
    assert (hh.phone, hh.address, hh.group_name) == ("13700000000", "三组12号", "三组")
    c = SyncConflict.objects.get()
    assert (c.field, c.base_value, c.theirs, c.ours, c.status) == ("phone", "13800000001", "13700000000",
                                                                     "13600000000", "open")
    assert push(world["secret"], b)[0]["duplicate"] is True and SyncConflict.objects.count() == 1
    # the worker sees it on the next sync; the other grid's worker does not
    assert [x["ours"] for x in api(world["secret"], "get", "/sync").json()["conflicts"]] == ["13600000000"]
    assert api(world["secret_b"], "get", "/conflicts").json() == []
    assert api(world["secret_b"], "post", f"/conflicts/{c.uuid}/resolve", {"choice": "ours"}).status_code == 404
    # the village team resolves it on its page: the phone's value wins
    team = Client()
    team.force_login(world["team"])
    page = team.get("/app/conflicts/").content.decode()
    assert "13600000000" in page and "13700000000" in page
    team.post(f"/app/conflicts/{c.uuid}/resolve/", {"choice": "ours"})
    hh.refresh_from_db()
    c.refresh_from_db()
    assert hh.phone == "13600000000" and c.status == "resolved" and c.resolved_by == world["team"]
    assert AuditEvent.objects.filter(action="mobile.conflict.resolve").count() == 1


def test_the_worker_may_keep_theirs(world):
    hh = world["hh"]
    household_update(actor="test", household=hh, phone="13700000000")
    ch = {"uuid": str(uuid.uuid4()), "kind": "household", "base_version": 1,
          "data": {"household": str(hh.uuid), "fields": {"phone": "13600000000"}, "base": {"phone": "13800000001"}}}
    assert push(world["secret"], ch)[0]["status"] == "conflict"
    c = SyncConflict.objects.get()
    r = api(world["secret"], "post", f"/conflicts/{c.uuid}/resolve", {"choice": "theirs"})
    assert r.status_code == 200 and r.json()["resolution"] == "theirs"
    hh.refresh_from_db()
    assert hh.phone == "13700000000"
    r = api(world["secret"], "post", f"/conflicts/{c.uuid}/resolve", {"choice": "ours"})
    assert r.status_code in (400, 404)
    hh.refresh_from_db()
    assert hh.phone == "13700000000"


def test_a_revoked_device_cannot_sync(world):
    from fupin.accounts.models import AccessToken

    token = AccessToken.objects.get(name="甲的手机")
    assert api(world["secret"], "get", "/sync").status_code == 200
    token_revoke(actor=world["worker"], token=token, reason="手机丢失")
    assert api(world["secret"], "get", "/sync").status_code == 401
    assert api(world["secret"], "post", "/changes", {"changes": [visit(world["hh"])]}).status_code == 401
    assert not AssistanceRecord.objects.exists()


def test_the_shell_manifest_and_service_worker_open_without_a_session(world):
    c = Client()
    shell = c.get("/app/")
    assert shell.status_code == 200 and b"<script>" not in shell.content and b"mobile/app.js" in shell.content
    manifest = c.get("/app/manifest.webmanifest").json()
    assert manifest["start_url"] == "/app/" and {i["sizes"] for i in manifest["icons"]} >= {"192x192", "512x512"}
    sw = c.get("/app/sw.js")
    assert sw["Service-Worker-Allowed"] == "/app/" and b"/static/mobile/app.js" in sw.content
    assert c.get("/app/conflicts/").status_code == 302  # the conflicts page needs a session


def test_stats_count_devices_and_open_conflicts(world):
    from fupin.core.stats import collect

    hh = world["hh"]
    household_update(actor="test", household=hh, phone="13700000000")
    push(world["secret"], {"uuid": str(uuid.uuid4()), "kind": "household", "base_version": 1,
                           "data": {"household": str(hh.uuid), "fields": {"phone": "1"}, "base": {"phone": "2"}}})
    stats = collect()
    assert stats["devices_active"] == 2 and stats["sync_conflicts_open"] == 1


def _household_change(hh, fields, base, base_version):
    return {"uuid": str(uuid.uuid4()), "kind": "household", "base_version": base_version,
            "data": {"household": str(hh.uuid), "fields": fields, "base": base}}


def test_the_household_form_goes_to_the_phone_with_its_code_lists(world):
    from fupin.mobile.selectors import FORM_EXTRA
    from fupin.mobile.services import PHONE_EDITABLE

    household_update(actor=world["team"], household=world["hh"], housing_area="45.5", sanitary_toilet=False)
    body = api(world["secret"], "get", "/sync").json()
    form = next(f for f in body["upserts"]["forms"] if f["key"] == "registry.household")
    fields = {f["name"]: f for f in form["definition"]["fields"]}
    assert set(fields) == set(PHONE_EDITABLE) and set(FORM_EXTRA) <= set(fields)
    assert ["2", "砖混"] in fields["housing_structure"]["choices"]
    item = next(h for h in body["upserts"]["households"] if h["uuid"] == str(world["hh"].uuid))
    assert item["housing_area"] == "45.50" and item["sanitary_toilet"] is False
    assert "drinking_safe" not in item  # empty values are left out; the phone reads them as empty


def test_household_form_fields_merge_and_conflict_by_type(world):
    hh = world["hh"]
    v = hh.version
    household_update(actor=world["team"], household=hh, housing_area="60", sanitary_toilet=True)
    # the phone started from housing_area 60.00 (the same number written differently is no change), toilet unknown
    res = push(world["secret"], _household_change(
        hh, {"housing_area": "60.0", "sanitary_toilet": False, "housing_structure": "2", "drinking_safe": True},
        {"housing_area": "60.00", "sanitary_toilet": None, "housing_structure": None, "drinking_safe": None}, v))[0]
    assert res["status"] == "merged", res
    assert res["result"]["applied"] == ["drinking_safe", "housing_structure"]
    hh.refresh_from_db()
    assert (str(hh.housing_area), hh.sanitary_toilet, hh.housing_structure, hh.drinking_safe) == \
        ("60.00", True, "2", True)
    c = SyncConflict.objects.get()
    assert (c.field, c.base_value, c.theirs, c.ours) == ("sanitary_toilet", None, True, False)
    # the worker keeps the phone's value: applied through the registry's service
    assert api(world["secret"], "post", f"/conflicts/{c.uuid}/resolve", {"choice": "ours"}).status_code == 200
    hh.refresh_from_db()
    assert hh.sanitary_toilet is False


@pytest.mark.parametrize("fields", [{"housing_area": "大约五十"}, {"housing_area": "-3"}, {"housing_area": "NaN"},
                                    {"housing_structure": "钢铁"}, {"drinking_safe": "也许"}, {"size": 9},
                                    {"phone": "1" * 40}])
def test_bad_form_values_are_refused_with_the_reason(world, fields):
    res = push(world["secret"], _household_change(world["hh"], fields, {}, world["hh"].version))[0]
    assert res["status"] == "refused" and any("\u4e00" <= ch <= "\u9fff" for ch in res["message"])
    world["hh"].refresh_from_db()
    assert world["hh"].housing_area is None and world["hh"].version == 1


def test_a_birth_reported_offline_becomes_one_change_request_with_its_photo(world):
    from fupin.registry.change_requests import request_approve
    from fupin.registry.models import ChangeRequest, Person

    buf = io.BytesIO()
    Image.new("RGB", (64, 48), "blue").save(buf, "JPEG")
    pid = str(uuid.uuid4())
    change = {"uuid": str(uuid.uuid4()), "kind": "change_request", "made_at": "2026-12-01T08:00:00+08:00",
              "data": {"household": str(world["hh"].uuid), "kind": "birth", "date": "2016-06-01",
                       "payload": {"name": "李小宝", "sex": "1", "relationship": "之孙子"}, "photos": [pid],
                       "photo_sizes": [{"bytes": 2400000, "width": 4000, "height": 3000}]}}
    assert push(world["secret"], change)[0]["status"] == "pending"
    api(world["secret"], "put", f"/uploads/{pid}?offset=0&total={len(buf.getvalue())}", buf.getvalue())
    first = push(world["secret"], change)[0]
    again = push(world["secret"], change)[0]
    assert first["status"] == "applied" and again["duplicate"] is True
    req = ChangeRequest.objects.get()
    assert str(req.uuid) == change["uuid"] and req.state == "submitted" and req.evidence.read() == buf.getvalue()
    assert SyncChange.objects.get().payload["photo_sizes"][0]["width"] == 4000  # the original size is kept
    assert not Person.objects.filter(name="李小宝").exists()  # waits for the village team
    request_approve(actor=world["team"], request=req)
    assert Person.objects.get(name="李小宝").household_id == world["hh"].pk
    # a death of someone not in the household, or outside the slice, is refused and kept
    bad = {"uuid": str(uuid.uuid4()), "kind": "change_request",
           "data": {"household": str(world["hh"].uuid), "kind": "death", "payload": {"person": str(uuid.uuid4())}}}
    assert push(world["secret"], bad)[0]["status"] == "refused"
    outside = {"uuid": str(uuid.uuid4()), "kind": "change_request",
               "data": {"household": str(world["other"].uuid), "kind": "birth", "payload": {"name": "x"}}}
    assert push(world["secret"], outside)[0]["status"] == "refused"
    assert ChangeRequest.objects.count() == 1
