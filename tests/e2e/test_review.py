"""Browser test: a county clerk walks the review queue by keyboard (J/K to move, Y/N to decide, S to skip)."""

import os

import pytest

from fupin.core.testing import make_county_tree, make_household, make_user
from fupin.exchange.models import LinkReview
from fupin.exchange.testing import RECORD_LEVEL_EXPLANATION, make_review

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def queue(db):
    tree = make_county_tree()
    make_user("clerk", "city_office", division=tree["county"], display_name="王文书", password="review-pass-2016")
    reviews = []
    for i, head in enumerate(("李大山", "王秀英", "赵建国")):
        hh = make_household(tree["va1"], grid=tree["ga1"], head=head, is_registered_poor=True, poor_code=f"R{i}")
        person = hh.members.order_by("pk").first()
        reviews.append(make_review(person, score=0.9 - i / 10, row=2 + i, name=head[:-1] + "玉",
                                   address="宜都市甲镇甲一村",
                                   explanation=RECORD_LEVEL_EXPLANATION if i == 0 else None))
    return reviews


def test_review_queue_by_keyboard(live_server, page, artifacts_dir, queue):
    p1, p2, p3 = queue
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", "clerk")
    page.fill("input[name=password]", "review-pass-2016")
    page.click("button[type=submit]")
    page.wait_for_load_state()
    page.goto(f"{live_server.url}/exchange/review/")
    page.click("#review-start")
    page.wait_for_url(f"**/exchange/review/{p1.pk}/")
    assert page.locator("tr.differs[data-field='name'] mark").first.inner_text() == "玉"
    assert page.locator(".why-table").count() == 1
    # the decision per record, as the reviewer reads it: the pair alone, the record's other candidates, outside
    # the registry, and the probability that this record is this person
    shares = page.locator(".why-table tr.record-level")
    assert [shares.nth(i).get_attribute("data-share") for i in range(shares.count())] == [
        "pair", "others", "outside", "record"]
    assert shares.nth(3).locator("td.num").inner_text() == "0.619" and shares.nth(3).is_visible()
    page.screenshot(path=os.path.join(artifacts_dir, "review_pair.png"), full_page=True)

    page.keyboard.press("j")
    page.wait_for_url(f"**/exchange/review/{p2.pk}/")
    page.keyboard.press("k")
    page.wait_for_url(f"**/exchange/review/{p1.pk}/")
    # typing a note does not decide
    page.click("#decide-note")
    page.keyboard.type("yn 入户核实")
    page.keyboard.press("Escape")
    assert LinkReview.objects.filter(status="open").count() == 3
    page.keyboard.press("y")
    page.wait_for_url(f"**/exchange/review/{p2.pk}/")
    page.keyboard.press("s")
    page.wait_for_url(f"**/exchange/review/{p3.pk}/")
    page.keyboard.press("n")
    page.wait_for_url(f"**/exchange/review/{p2.pk}/")  # the one skipped is still waiting
    statuses = dict(LinkReview.objects.values_list("pk", "status"))
    assert statuses == {p1.pk: "match", p2.pk: "open", p3.pk: "non_match"}
    assert LinkReview.objects.get(pk=p1.pk).note == "yn 入户核实"

    page.set_viewport_size({"width": 360, "height": 800})
    page.screenshot(path=os.path.join(artifacts_dir, "review_pair_360.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
