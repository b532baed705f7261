"""The review page: both sides field by field, differences flagged, the explanation, decisions that move on."""

import pytest

from fupin.core.testing import make_household, make_user
from fupin.exchange.models import LinkReview, RecordLink
from fupin.exchange.testing import EXPLANATION, RECORD_LEVEL_EXPLANATION, make_review, sweep_objects

pytestmark = pytest.mark.django_db


@pytest.fixture
def queue(county):
    actor = make_user("review_admin", "city_office", division=county["county"])
    hh_a = make_household(county["va1"], grid=county["ga1"], head="甲审核", members=1, is_registered_poor=True,
                          poor_code="A1")
    hh_b = make_household(county["vb1"], grid=county["gb1"], head="乙审核", members=1, is_registered_poor=True,
                          poor_code="B1")
    sweep_objects(village=county["va1"], grid=county["ga1"], actor=actor)
    sweep_objects(village=county["vb1"], grid=county["gb1"], actor=actor)
    a = LinkReview.objects.get(area_code__startswith=county["va1"].code)
    b = LinkReview.objects.get(area_code__startswith=county["vb1"].code)
    return {"actor": actor, "a": a, "b": b, "hh_a": hh_a, "hh_b": hh_b}


def test_pair_page_shows_both_sides_differences_and_explanation(client, queue, county):
    a = queue["a"]
    # the department wrote the name with a look-alike character
    a.record.name = a.person.name[:-1] + "玉"
    a.record.save()
    client.force_login(queue["actor"])
    body = client.get(f"/exchange/review/{a.pk}/").content.decode()
    assert "部门记录" in body and "人口库中的人" in body
    assert "<mark>玉</mark>" in body and 'class="differs"' in body
    assert "脱敏号码:可见部分全部相符" in body  # the ID note, in words
    assert "脱敏号码:地区、后四位相符" in body and "+12.0" in body and "姓名相同" in body  # the explanation
    assert 'data-key="y"' in body and "exchange/review.js" in body


def test_pair_page_and_person_page_show_the_record_level(client, queue, county):
    """A pair of the decision per record: the pairwise probability, the other candidates' share, the share outside
    the registry (with the department's ρ) and the probability that the record is this person, in Chinese."""
    hh = make_household(county["va1"], grid=county["ga1"], head="丙审核", members=1, is_registered_poor=True,
                        poor_code="A2")
    rv = make_review(hh.members.first(), score=0.619, row=7, explanation=RECORD_LEVEL_EXPLANATION)
    client.force_login(queue["actor"])
    body = client.get(f"/exchange/review/{rv.pk}/").content.decode()
    assert "本部门有效身份证号的记录中 0.283 是人口库中的人" in body and "-20.3" in body  # the department's prior
    assert "是此人而不是其他任何人的概率(只看这一对)" in body and "0.697" in body
    assert "本条记录其他候选人所占份额" in body and "0.234" in body
    assert "人口库以外的人所占份额" in body and "0.147" in body
    assert "本条记录就是此人的概率" in body and "<strong>0.619</strong>" in body
    assert "一条记录至多是一个人" in body  # how the shares add up, in words
    assert "同一人的概率" not in body  # the pairwise-only row of older explanations is not shown
    # an older comparison's explanation keeps its one probability
    old = client.get(f"/exchange/review/{queue['a'].pk}/").content.decode()
    assert "同一人的概率" in old and "本条记录就是此人的概率" not in old
    body = client.get(f"/exchange/persons/{rv.person_id}/").content.decode()
    assert "是此人而不是其他任何人的概率 0.697" in body
    assert "其他候选人 0.234,人口库以外的人 0.147:本条记录就是此人的概率 0.619" in body
    reviews = {r["id"]: r for r in client.get("/api/v1/exchange/reviews").json()}
    assert reviews[rv.pk]["explanation"]["pair_probability"] == 0.697
    assert reviews[rv.pk]["explanation"]["outside_share"] == 0.147 and reviews[rv.pk]["score"] == 0.619


def test_decision_moves_to_the_next_pair_and_is_audited(client, queue):
    from fupin.core.models import AuditEvent

    a, b = queue["a"], queue["b"]
    client.force_login(queue["actor"])
    response = client.post(f"/exchange/review/{a.pk}/decide/", {"decision": "match", "next": str(b.pk)})
    assert response.status_code == 302 and response["Location"] == f"/exchange/review/{b.pk}/"
    a.refresh_from_db()
    assert a.status == "match" and a.decided_by == queue["actor"]
    assert RecordLink.objects.filter(record=a.record, method="reviewed").exists()
    assert AuditEvent.objects.filter(action="exchange.review.decide", object_id=str(a.pk)).exists()
    response = client.post(f"/exchange/review/{b.pk}/decide/", {"decision": "maybe", "next": ""})
    b.refresh_from_db()
    assert b.status == "open"  # a decision that is neither is refused


def test_pair_page_is_scoped(client, queue, county):
    worker = make_user("grid_a_worker", "grid_worker", grid=county["ga1"])
    client.force_login(worker)
    assert client.get(f"/exchange/review/{queue['b'].pk}/").status_code == 404
    assert client.post(f"/exchange/review/{queue['b'].pk}/decide/", {"decision": "match"}).status_code == 404
    assert queue["a"].person.name in client.get(f"/exchange/review/{queue['a'].pk}/").content.decode()
    leader = make_user("county_leader", "city_leader", division=county["county"])
    client.force_login(leader)
    body = client.get(f"/exchange/review/{queue['a'].pk}/").content.decode()
    number = queue["a"].person.id_number
    assert queue["a"].person.name in body and number not in body and number[:6] in body  # masked for a leader
    assert 'id="decide-form"' not in body  # a leader may look, not decide


def test_person_page_shows_the_explanation(client, queue):
    client.force_login(queue["actor"])
    person = queue["a"].person
    body = client.get(f"/exchange/persons/{person.pk}/").content.decode()
    assert "比较明细" in body and EXPLANATION["fields"][0]["level"] in body


def test_api_gives_the_explanation(client, queue):
    client.force_login(queue["actor"])
    person = queue["a"].person
    records = client.get(f"/api/v1/exchange/persons/{person.pk}/records").json()
    assert records[0]["explanation"]["fields"][0]["level"] == EXPLANATION["fields"][0]["level"]
    reviews = client.get("/api/v1/exchange/reviews").json()
    assert {r["id"] for r in reviews} == {queue["a"].pk, queue["b"].pk}
    assert all(r["explanation"]["weight"] == EXPLANATION["weight"] for r in reviews)
