"""Search, the household popup (with sections other capabilities add) and locating a household."""

import pytest

from fupin.core import extensions, idnumber
from fupin.core.coords import wgs84_to_gcj02
from fupin.core.errors import ServiceError
from fupin.core.models import AuditEvent
from fupin.core.testing import make_user
from fupin.maps.services import household_locate


@pytest.fixture
def users(mapped):
    return {
        "leader": make_user("leader", "city_leader", division=mapped["county"]),
        "office": make_user("office", "city_office", division=mapped["county"]),
        "worker": make_user("ga1_worker", "grid_worker", grid=mapped["ga1"], display_name="甲网格员"),
    }


def search(client, q):
    return client.get("/api/v1/map/search", {"q": q}).json()["results"]


def test_search_by_name_number_and_id(client, mapped, users):
    client.force_login(users["leader"])
    hh = mapped["hh"]["b_secret"]
    assert [r["id"] for r in search(client, "乙秘密")] == [hh.pk]
    assert [r["id"] for r in search(client, "420581101201001")] == [hh.pk]
    member = hh.members.exclude(relationship="户主").first()
    found = search(client, member.name)
    assert hh.pk in [r["id"] for r in found]
    number = hh.members.first().id_number
    assert [r["id"] for r in search(client, number)] == [hh.pk]
    assert hh.pk in [r["id"] for r in search(client, number[-6:])]
    first = search(client, "乙秘密")[0]
    assert first["lng"] == 111.43 and first["url"] == "/households/420581101201001/"
    assert search(client, "") == []
    assert search(client, "不存在的人") == []


def test_search_of_an_unlocated_household_says_so(client, mapped, users):
    client.force_login(users["leader"])
    (r,) = search(client, "甲未定")
    assert r["lng"] is None


def test_popup_summary_members_causes_and_masked_id(client, mapped, users):
    hh = mapped["hh"]["a_open"]
    client.force_login(users["leader"])  # city leaders may not see full ID numbers
    data = client.get(f"/api/v1/map/households/{hh.pk}").json()
    assert data["head"] == "甲未脱" and data["poor_code"] == hh.poor_code
    assert data["status"]["label"] == "未脱贫" and data["status"]["color"] == "#d7301f"
    assert data["causes"] == ["因病"]
    assert data["url"] == f"/households/{hh.poor_code}/"
    assert len(data["members"]) == 3 and data["members"][0]["relationship"] == "户主"
    head_id = hh.members.get(relationship="户主").id_number
    assert data["head_id"] == idnumber.mask(head_id) and head_id not in str(data)
    assert "甲镇" in data["place"] and "甲一村第1网格" in data["place"]
    client.force_login(users["worker"])
    assert client.get(f"/api/v1/map/households/{hh.pk}").json()["head_id"] == head_id


def test_popup_sections_from_other_capabilities(client, mapped, users):
    def cadre(household, user):
        return {"title": "结对帮扶", "rows": [("帮扶干部", "李干部"), ("电话", None)]}

    def broken(household, user):
        raise RuntimeError("boom")

    url = f"/api/v1/map/households/{mapped['hh']['a_open'].pk}"
    client.force_login(users["leader"])
    with extensions.replaced("maps.popup_section", extensions.PopupSection(fn=cadre, order=10)):
        data = client.get(url).json()
        assert data["sections"] == [{"title": "结对帮扶", "rows": [["帮扶干部", "李干部"], ["电话", ""]], "url": None}]
    # a broken section fails the popup (and so the tests) instead of vanishing from it
    client.raise_request_exception = True
    with extensions.added(extensions.PopupSection(fn=broken, order=20)), pytest.raises(RuntimeError, match="boom"):
        client.get(url)


def test_locate_by_click_records_who_when_and_audits(client, mapped, users):
    hh = mapped["hh"]["a2_unlocated"]
    client.force_login(users["office"])
    response = client.post(f"/api/v1/map/households/{hh.pk}/location",
                           {"lng": 111.431, "lat": 30.512, "source": "map"}, content_type="application/json")
    assert response.status_code == 200, response.content
    hh.refresh_from_db()
    assert (hh.lng, hh.lat, hh.location_source) == (111.431, 30.512, "map")
    assert hh.located_by == users["office"] and hh.located_at is not None
    event = AuditEvent.objects.filter(object_id=str(hh.pk), action="registry.household.update").latest("at")
    assert event.after["lng"] == 111.431 and event.actor == users["office"]
    assert response.json()["location"]["by"] == str(users["office"])


def test_locate_from_gcj02_stores_wgs84(mapped, users):
    hh = mapped["hh"]["a_open"]
    g_lng, g_lat = wgs84_to_gcj02(111.45, 30.40)
    household_locate(actor=users["worker"], household=hh, lng=g_lng, lat=g_lat, source="gps", crs="gcj02")
    hh.refresh_from_db()
    assert abs(hh.lng - 111.45) < 1e-6 and abs(hh.lat - 30.40) < 1e-6 and hh.location_source == "gps"


@pytest.mark.parametrize("lng,lat,source,message", [
    (30.5, 111.4, "map", "不在中国境内"),
    ("x", 30.5, "map", "经纬度应为数字"),
    (111.4, 30.5, "magic", "未知的定位方式"),
])
def test_bad_locations_are_refused_and_nothing_changes(mapped, users, lng, lat, source, message):
    hh = mapped["hh"]["a_open"]
    before = (hh.lng, hh.lat, hh.version)
    with pytest.raises(ServiceError, match=message):
        household_locate(actor=users["worker"], household=hh, lng=lng, lat=lat, source=source)
    hh.refresh_from_db()
    assert (hh.lng, hh.lat, hh.version) == before


def test_locate_api_refuses_viewers_and_other_areas(client, mapped, users):
    client.force_login(users["leader"])  # view only
    url = f"/api/v1/map/households/{mapped['hh']['a_open'].pk}/location"
    assert client.post(url, {"lng": 111.4, "lat": 30.5}, content_type="application/json").status_code == 403
    client.force_login(users["worker"])
    other = f"/api/v1/map/households/{mapped['hh']['b_secret'].pk}/location"
    assert client.post(other, {"lng": 111.4, "lat": 30.5}, content_type="application/json").status_code == 404
    bad = client.post(url, {"lng": 1, "lat": 1}, content_type="application/json")
    assert bad.status_code == 400 and "不在中国境内" in bad.json()["detail"]
    mapped["hh"]["b_secret"].refresh_from_db()
    assert mapped["hh"]["b_secret"].lng == 111.43


def test_map_page_renders_with_its_data(client, mapped, users, django_assert_max_num_queries):
    client.force_login(users["leader"])
    with django_assert_max_num_queries(12):
        response = client.get("/map/")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="map-data"' in body and "leaflet.js" in body and "甲镇" in body
    assert "unpkg" not in body and "cdn" not in body.lower()
    assert client.get(f"/map/?division={mapped['town_b'].code}").status_code == 200
    client.force_login(users["worker"])
    body = client.get("/map/").content.decode()
    assert "乙一村" not in body and "甲二村" not in body
    assert client.get(f"/map/?division={mapped['vb1'].code}").status_code == 404
