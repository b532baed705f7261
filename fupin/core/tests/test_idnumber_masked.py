"""fupin.core.idnumber.parse: every kind of ID cell, masked (脱敏) forms with what they show."""

import datetime as dt

import pytest

from fupin.core import idnumber
from fupin.core.idnumber import IdKind, parse


def _number(area: str, birth: str, seq: str) -> str:
    body = area + birth + seq
    return body + idnumber.check_char(body)


MALE_X = _number("420581", "19800301", "123")  # check character computed below; sequence 123: odd → male
TODAY = dt.date(2026, 1, 1)


@pytest.mark.parametrize(("cell", "visible"), [
    ("420581********1234", {"area6": "420581", "birth_year": None, "birth_date": None, "last4": "1234", "sex": "1"}),
    ("420581********123X", {"area6": "420581", "birth_year": None, "last4": "123X", "sex": "1"}),
    ("4205811980****123X", {"area6": "420581", "birth_year": 1980, "birth_date": None, "last4": "123X"}),
    ("420581 ******** 123X", {"area6": "420581", "last4": "123X"}),
    ("４２０５８１＊＊＊＊＊＊＊＊１２３Ｘ", {"area6": "420581", "last4": "123X"}),
    ("420581＊＊＊＊＊＊＊＊1242", {"area6": "420581", "last4": "1242", "sex": "2"}),
    ("420581xxxxxxxx123X", {"area6": "420581", "last4": "123X"}),
    ("420581XXXXXXXX1234", {"area6": "420581", "last4": "1234"}),
    ("4205811980xxxx123x", {"birth_year": 1980, "last4": "123X"}),
    ("420581        123X", {"area6": "420581", "last4": "123X"}),
    ("420581****123X", {"area6": "420581", "last4": "123X"}),
    ("42058119800301***X", {"birth_date": dt.date(1980, 3, 1), "last4": "", "sex": ""}),
    ("4205811980xxxxxxxx", {"birth_year": 1980, "last4": "", "sex": ""}),
])
def test_masked_forms_are_masked_with_their_visible_parts(cell, visible):
    p = parse(cell, today=TODAY)
    assert p.kind == IdKind.MASKED, p
    assert len(p.clean) == 18 and "*" in p.clean
    for key, value in visible.items():
        assert getattr(p, key) == value, (cell, key)
    assert p.number == "" and not p.is_number


def test_a_final_x_is_the_check_character_not_a_mask():
    number = _number("110105", "19491231", "002")
    assert number.endswith("X")
    for cell in (number, number[:-1] + "x"):
        p = parse(cell, today=TODAY)
        assert p.kind in (IdKind.FULL, IdKind.REPAIRED) and p.number == number
        assert p.last4 == number[-4:] and p.birth_date == dt.date(1949, 12, 31) and p.sex == "2"
    assert parse(number, today=TODAY).kind == IdKind.FULL
    assert parse(number[:-1] + "x", today=TODAY).kind == IdKind.REPAIRED


def test_kinds_of_unmasked_cells():
    number = _number("420581", "19800301", "121")
    assert parse(number, today=TODAY).kind == IdKind.FULL
    assert parse(f" {number[:6]} {number[6:14]} {number[14:]} ", today=TODAY).kind == IdKind.REPAIRED
    assert parse("'" + number, today=TODAY).kind == IdKind.REPAIRED
    legacy = parse(number[:6] + number[8:17], today=TODAY)
    assert legacy.kind == IdKind.LEGACY15 and legacy.number == number and legacy.area6 == "420581"
    wrong_check = number[:-1] + ("1" if number[-1] != "1" else "2")
    bad = parse(wrong_check, today=TODAY)
    assert bad.kind == IdKind.INVALID and "校验位" in bad.error and bad.area6 == ""
    assert parse("", today=TODAY).kind == IdKind.MISSING
    assert parse(None, today=TODAY).kind == IdKind.MISSING
    assert parse("   ", today=TODAY).kind == IdKind.MISSING
    assert parse("abc", today=TODAY).kind == IdKind.INVALID
    for placeholder in ("无", "不详", "NULL", "/", "0", "－"):  # what typists write for "no ID"
        assert parse(placeholder, today=TODAY).kind == IdKind.MISSING


@pytest.mark.parametrize(("cell", "word"), [
    ("000000********123X", "地区码"),
    ("4205812999****123X", "年份"),
    ("420581198013**123X", "月份"),
    ("42058119800231123X", "出生日期"),  # nothing masked: an ordinary invalid number
])
def test_impossible_visible_parts_are_invalid(cell, word):
    p = parse(cell, today=TODAY)
    assert p.kind == IdKind.INVALID and word in p.error


def test_not_a_mask_when_lengths_do_not_fit():
    assert parse("420581*****123", today=TODAY).kind == IdKind.INVALID  # 6 + mask + 3: not the common form
    assert parse("42058*1234", today=TODAY).kind == IdKind.INVALID
