"""The light rules as pure functions."""

import datetime as dt

import pytest

from fupin.assistance.engine import Facts, Rules, describe, evaluate

D = dt.date(2026, 3, 1)


@pytest.mark.parametrize(("days", "colour"), [(0, "green"), (19, "green"), (20, "yellow"), (30, "yellow"),
                                              (31, "red"), (400, "red")])
def test_thresholds(days, colour):
    v = evaluate(Facts(1, last_record_on=D, has_cadre=True), Rules(), D + dt.timedelta(days=days))
    assert v.colour == colour
    assert v.days == days
    assert v.since == D


def test_counting_from_pairing_when_no_record():
    v = evaluate(Facts(1, paired_since=D, has_cadre=True), Rules(), D + dt.timedelta(days=31))
    assert v.colour == "red"
    assert v.reasons[0]["code"] == "stale"
    assert v.reasons[0]["has_record"] is False


def test_no_cadre_is_red_even_with_fresh_record():
    v = evaluate(Facts(1, last_record_on=D, has_cadre=False), Rules(), D)
    assert v.colour == "red"
    assert [r["code"] for r in v.reasons] == ["no_cadre"]


def test_overdue_measure_and_finding_are_yellow_by_default_and_configurable():
    facts = Facts(1, last_record_on=D, has_cadre=True, overdue_measures=2, oldest_overdue_target=D,
                  finding_since=D - dt.timedelta(days=15))
    v = evaluate(facts, Rules(), D)
    assert v.colour == "yellow"
    assert {r["code"] for r in v.reasons} == {"overdue_measure", "finding"}
    assert evaluate(facts, Rules(overdue_measure_colour="red"), D).colour == "red"
    # a finding younger than the limit is not yet a warning
    young = Facts(1, last_record_on=D, has_cadre=True, finding_since=D - dt.timedelta(days=14))
    assert evaluate(young, Rules(), D).colour == "green"


def test_custom_thresholds():
    rules = Rules(yellow_from_days=10, red_from_days=15)
    assert evaluate(Facts(1, last_record_on=D, has_cadre=True), rules, D + dt.timedelta(days=10)).colour == "yellow"
    assert evaluate(Facts(1, last_record_on=D, has_cadre=True), rules, D + dt.timedelta(days=15)).colour == "red"


def test_every_reason_names_its_clearing_action():
    facts = Facts(1, paired_since=D, has_cadre=False, overdue_measures=1, oldest_overdue_target=D,
                  finding_since=D - dt.timedelta(days=40))
    v = evaluate(facts, Rules(), D + dt.timedelta(days=40))
    assert len(v.reasons) == 4
    for r in v.reasons:
        text, action = describe(r)
        assert text and action
    # worst first
    assert v.reasons[0]["colour"] == "red"
