import datetime as dt

import pytest

from fupin.core import idnumber


def test_check_digit_known_example():
    assert idnumber.check_char("11010519491231002") == "X"
    assert idnumber.normalise("11010519491231002x") == "11010519491231002X"


@pytest.mark.parametrize("raw", [" 110105 19491231002X ", "'11010519491231002X", "１１０１０５１９４９１２３１００２Ｘ"])
def test_clean_repairs_typing_noise(raw):
    assert idnumber.normalise(raw) == "11010519491231002X"


def test_fifteen_to_eighteen():
    assert idnumber.normalise("110105491231002") == "11010519491231002X"


@pytest.mark.parametrize(
    ("raw", "code"),
    [("", "empty"), ("1234", "length"), ("11010519491231002A", "chars"), ("11010519491331002X", "birth"),
     ("110105194912310021", "check"), ("00010519491231002X", "area")],
)
def test_each_failure_has_a_chinese_message(raw, code):
    with pytest.raises(idnumber.IdNumberError) as exc:
        idnumber.normalise(raw)
    assert exc.value.code == code
    assert any("\u4e00" <= ch <= "\u9fff" for ch in exc.value.message)


def test_info_and_mask():
    info = idnumber.info("11010519491231002X")
    assert info.birth_date == dt.date(1949, 12, 31)
    assert info.sex == "2"
    assert idnumber.mask("42058119900101123X") == "420581********123X"


def test_excel_float_keeps_fifteen_significant_digits():
    assert idnumber.clean(4.20581199001011e17) == "420581199001011000"
    assert idnumber.clean("4.20581199001011E+17") == "420581199001011000"


def test_disability_card():
    card = idnumber.parse_disability_card("11010519491231002X42")
    assert (card.category, card.grade, card.category_label) == ("4", 2, "肢体")
    with pytest.raises(idnumber.IdNumberError):
        idnumber.parse_disability_card("11010519491231002X92")


@pytest.mark.parametrize("text", [
    "11010519491231002X",  # valid
    "11010519491231002x",  # lower-case x: normalise repairs it, the fast check leaves that to normalise
    "90010519491231002X", "00010519491231002X",  # no province has these area codes
    "110105194912310020",  # wrong check character
    "110105194902300021", "110105188001010012", "110105299901010012",  # no such date; before 1890; in the future
    "1101051949123100", "１１０１０５１９４９１２３１００２Ｘ", "11010519491231002X ",
])
def test_quick_birth_agrees_with_normalise(text):
    """The one fast check (importer, exchange, quality rules) accepts exactly what normalise accepts unchanged."""
    body = text[:17]
    if len(text) == 18 and body.isascii() and body.isdigit():  # give every digit body its right check character
        text = body + idnumber.check_char(body) if text != "110105194912310020" else text
    try:
        strict = idnumber.normalise(text) == text
    except idnumber.IdNumberError:
        strict = False
    birth = idnumber.quick_birth(text)
    assert (birth is not None) == strict
    if birth is not None:
        assert birth == idnumber.info(text).birth_date
