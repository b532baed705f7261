"""Masking is decided in one place (fupin.core.idviews): numbers inside free text follow the same rule as `shown`."""

from types import SimpleNamespace

from fupin.core import idviews

NUMBER = "11010519491231002X"


def test_text_is_masked_for_who_may_not_see_full_ids():
    clerk = SimpleNamespace(may_view_full_id=False, is_superuser=False)
    text = f"证件号 {NUMBER},另一人 420581********123X"
    assert idviews.shown_in_text(text, clerk) == "证件号 110105********002X,另一人 420581********123X"
    assert idviews.shown_in_text(None, clerk) == ""
    assert idviews.shown_in_text(NUMBER, None) == "110105********002X"


def test_full_ids_in_text_are_shown_and_noted_for_the_audit_trail():
    officer = SimpleNamespace(may_view_full_id=True, is_superuser=False)
    token = idviews.start()
    try:
        assert idviews.shown_in_text(f"[{NUMBER}]", officer) == f"[{NUMBER}]"
        assert idviews._shown.get() == {NUMBER}
    finally:
        idviews._shown.reset(token)
