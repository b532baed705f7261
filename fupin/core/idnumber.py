"""Citizen ID numbers (GB 11643-1999): normalisation, validation, 15→18 conversion, masking.

Every function here is pure; callers decide what to do with a failure. Error messages are Chinese because they are
shown to county staff as they stand.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"
_FULLWIDTH = str.maketrans("０１２３４５６７８９ＸｘＩｌ", "0123456789XX11")
_SPACES = re.compile(r"[\s\u3000\u00a0'‘’\"“”`\-]")


class IdNumberError(ValueError):
    """An ID number that cannot be accepted; `code` names the kind of failure, the message is Chinese."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class IdInfo:
    """What an 18-digit ID number says about its holder."""

    number: str
    area: str
    birth_date: dt.date
    sex: str  # "1" male, "2" female (GB/T 2261.1)


def check_char(first17: str) -> str:
    """The check character for 17 digits: check_char("11010519491231002") == "X"."""
    total = sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True))
    return CHECK_CHARS[total % 11]


def clean(raw: object) -> str:
    """Strip what Excel and typists add (spaces, apostrophes, full-width digits, lower-case x); no validation.

    A float that Excel made of an ID keeps only 15 significant digits: it is rounded to them and written as an integer,
    so the result has zeros where the last digits were lost (the linkage step knows how to treat that).
    """
    if raw is None:
        return ""
    if isinstance(raw, float):
        if raw != raw or raw in (float("inf"), float("-inf")):  # NaN, or a number no ID can be
            return ""
        return str(int(Decimal(f"{raw:.15g}")))
    if isinstance(raw, int):
        return str(raw)
    text = str(raw).translate(_FULLWIDTH)
    text = _SPACES.sub("", text).upper()
    if re.fullmatch(r"\d{1,20}(\.\d{1,20})?[eE]\+?\d{1,2}", text):  # scientific notation from a CSV made by Excel
        return str(int(Decimal(f"{float(text):.15g}")))
    if text.endswith(".0") and text[:-2].isdigit():
        text = text[:-2]
    return text


def _parse_date(s: str) -> dt.date | None:
    try:
        return dt.date(int(s[0:4]), int(s[4:6]), int(s[6:8]))
    except ValueError:
        return None


def upgrade15(number15: str) -> str:
    """A 15-digit legacy number as 18 digits: '19' before the year and a computed check character."""
    body = number15[:6] + "19" + number15[6:15]
    return body + check_char(body)


def normalise(raw: object, *, today: dt.date | None = None) -> str:
    """Clean, convert 15→18 and validate; return the 18-character number or raise IdNumberError (Chinese message)."""
    text = clean(raw)
    if not text:
        raise IdNumberError("empty", "证件号码为空")
    if len(text) == 15:
        if not text.isdigit():
            raise IdNumberError("chars", f"15位证件号码只能是数字:{text}")
        text = upgrade15(text)
    if len(text) != 18:
        raise IdNumberError("length", f"证件号码应为18位(或15位旧号),实际{len(text)}位:{text}")
    if not (text[:17].isdigit() and (text[17].isdigit() or text[17] == "X")):
        raise IdNumberError("chars", f"证件号码含非法字符(前17位须为数字,末位为数字或X):{text}")
    if text[:2] in ("00", "10", "20", "30", "40", "70", "80", "90"):
        raise IdNumberError("area", f"证件号码的地区码无效:{text[:6]}")
    birth = _parse_date(text[6:14])
    today = today or dt.datetime.now(ZoneInfo("Asia/Shanghai")).date()
    if birth is None:
        raise IdNumberError("birth", f"证件号码中的出生日期无效:{text[6:14]}")
    if birth > today or birth.year < 1890:
        raise IdNumberError("birth", f"证件号码中的出生日期不合理:{birth.isoformat()}")
    expected = check_char(text[:17])
    if text[17] != expected:
        raise IdNumberError("check", f"证件号码校验位错误:末位应为{expected},实际为{text[17]}")
    return text


def is_valid(raw: object) -> bool:
    try:
        normalise(raw)
    except IdNumberError:
        return False
    return True


def info(number: str) -> IdInfo:
    """Area, birth date and sex of a valid 18-digit number (call normalise first)."""
    birth = _parse_date(number[6:14])
    assert birth is not None
    return IdInfo(number=number, area=number[:6], birth_date=birth, sex="1" if int(number[16]) % 2 else "2")


def mask(number: str | None) -> str:
    """420581********123X: the area and the last four stay, the birth date and sequence are hidden."""
    if not number:
        return ""
    if len(number) <= 10:
        return "*" * len(number)
    return number[:6] + "*" * (len(number) - 10) + number[-4:]


DISABILITY_CATEGORIES = {"1": "视力", "2": "听力", "3": "言语", "4": "肢体", "5": "智力", "6": "精神", "7": "多重"}


@dataclass(frozen=True)
class DisabilityCard:
    """A 残疾人证 number: the holder's ID + category (1-7) + grade (1-4)."""

    id_number: str
    category: str
    grade: int

    @property
    def category_label(self) -> str:
        return DISABILITY_CATEGORIES[self.category]

    def __str__(self) -> str:
        return f"{self.id_number}{self.category}{self.grade}"


def parse_disability_card(raw: object) -> DisabilityCard:
    """Parse '420581199001011234' + '4' + '2' (20 chars; an optional 'X'-suffix ID); raise IdNumberError in Chinese."""
    text = clean(raw)
    if len(text) not in (20, 22):
        raise IdNumberError("disability_length", f"残疾人证号应为20位(身份证号+类别+等级),实际{len(text)}位:{text}")
    id_part, category, grade = text[:18], text[18], text[19]
    number = normalise(id_part)
    if category not in DISABILITY_CATEGORIES:
        raise IdNumberError("disability_category", f"残疾类别代码无效:{category}(应为1-7)")
    if grade not in "1234":
        raise IdNumberError("disability_grade", f"残疾等级无效:{grade}(应为1-4)")
    return DisabilityCard(id_number=number, category=category, grade=int(grade))
