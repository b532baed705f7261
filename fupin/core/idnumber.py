"""Citizen ID numbers (GB 11643-1999): normalisation, validation, 15→18 conversion, masking.

Every function here is pure; callers decide what to do with a failure. Error messages are Chinese because they are
shown to county staff as they stand.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal
from operator import mul
from zoneinfo import ZoneInfo

from django.utils.translation import gettext as _

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"
_FULLWIDTH = str.maketrans("０１２３４５６７８９ＸｘＩｌ", "0123456789XX11")
_BAD_AREA = frozenset(("00", "10", "20", "30", "40", "70", "80", "90"))  # no province code starts so
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
        raise IdNumberError("empty", _("The ID number is empty"))
    if len(text) == 15:
        if not text.isdigit():
            raise IdNumberError("chars", _("A 15-digit ID number can only be digits: %(id)s") % {"id": mask(text)})
        text = upgrade15(text)
    if len(text) != 18:
        raise IdNumberError("length", _("An ID number has 18 digits (or 15 for an old one), this has %(n)s: %(id)s")
                                          % {"n": len(text), "id": mask(text)})
    if not (text[:17].isdigit() and (text[17].isdigit() or text[17] == "X")):
        raise IdNumberError("chars", _("The ID number has characters that are not allowed (the first 17 must be digits, the last a digit or X): %(id)s")
                                     % {"id": mask(text)})
    if text[:2] in _BAD_AREA:
        raise IdNumberError("area", _("The area code in the ID number is not valid: %(code)s") % {"code": text[:6]})
    birth = _parse_date(text[6:14])
    today = today or _today()
    if birth is None:
        raise IdNumberError("birth", _("The birth date in the ID number is not valid: %(date)s") % {"date": text[6:14]})
    if birth > today or birth.year < 1890:
        raise IdNumberError("birth", _("The birth date in the ID number is implausible: %(date)s") % {"date": birth.isoformat()})
    expected = check_char(text[:17])
    if text[17] != expected:
        raise IdNumberError("check", _("The check digit of the ID number is wrong: the last character should be %(expected)s, it is %(actual)s")
                                     % {"expected": expected, "actual": text[17]})
    return text


def quick_birth(text: str, today: dt.date | None = None) -> dt.date | None:
    """The birth date of an already clean 18-character number that `normalise` would accept unchanged, else None.

    The one fast check, for the loops that read every resident's number (importer, exchange staging, quality
    rules): the same rules as `normalise` (area code, birth date, check character) without its cleaning and without
    building an error; on None, `normalise` or `parse` decides and words the reason.
    """
    if len(text) != 18 or not text.isascii() or not text[:17].isdigit() or text[:2] in _BAD_AREA:
        return None
    if CHECK_CHARS[sum(map(mul, map(int, text[:17]), WEIGHTS)) % 11] != text[17]:
        return None
    try:
        birth = dt.date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
    except ValueError:
        return None
    if birth.year < 1890 or birth > (today or _today()):
        return None
    return birth


def _today() -> dt.date:
    return dt.datetime.now(ZoneInfo("Asia/Shanghai")).date()


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
        raise IdNumberError("disability_length", _("A disability certificate number has 20 characters (ID number + category + grade), this has %(n)s: %(id)s")
                                                     % {"n": len(text), "id": mask(text)})
    id_part, category, grade = text[:18], text[18], text[19]
    number = normalise(id_part)
    if category not in DISABILITY_CATEGORIES:
        raise IdNumberError("disability_category", _("Invalid disability category code: %(code)s (it should be 1-7)") % {"code": category})
    if grade not in "1234":
        raise IdNumberError("disability_grade", _("Invalid disability grade: %(grade)s (it should be 1-4)") % {"grade": grade})
    return DisabilityCard(id_number=number, category=category, grade=int(grade))


# -- one reading of an ID cell, masked (脱敏) forms included ---------------------------------------------------------

class IdKind:
    """What an ID cell turned out to be (`ParsedId.kind`)."""

    FULL = "full"  # 18 characters as received, passing the check
    REPAIRED = "repaired"  # passes the check once spaces, apostrophes, full-width digits, lower-case x are removed
    LEGACY15 = "legacy15"  # a 15-digit number, upgraded to 18
    MASKED = "masked"  # desensitised (脱敏): part of digits 7-17 hidden by `*`, `＊`, x-runs or spaces
    INVALID = "invalid"  # none of the above (typo, wrong length, Excel number that lost its last digits ...)
    MISSING = "missing"  # an empty cell

    ALL = (FULL, REPAIRED, LEGACY15, MASKED, INVALID, MISSING)
    LABELS = {FULL: "完整", REPAIRED: "修正后有效", LEGACY15: "15位旧号", MASKED: "脱敏", INVALID: "无效",
              MISSING: "缺失"}


@dataclass(frozen=True)
class ParsedId:
    """An ID cell read once: its kind, the number when it is one, and what is visible of it.

    The visible parts are filled for every kind that shows them: full, repaired and legacy15 numbers show all of
    them; a masked one shows what the mask left (the area code, the birth year or date when not hidden, the last four
    characters: the sequence with the sex digit and the check character); an invalid one shows none.
    """

    kind: str
    raw: str = ""  # the cell as text
    clean: str = ""  # cleaned text; for a masked ID 18 characters with `*` where digits are hidden
    number: str = ""  # the normalised 18-character number (full, repaired, legacy15)
    area6: str = ""
    birth_year: int | None = None
    birth_date: dt.date | None = None
    last4: str = ""
    sex: str = ""  # "1" male, "2" female, "" when not visible
    error: str = ""  # the Chinese reason for invalid

    @property
    def is_number(self) -> bool:
        return self.kind in (IdKind.FULL, IdKind.REPAIRED, IdKind.LEGACY15)


_MASK_FULLWIDTH = str.maketrans({"＊": "*", "×": "*", "✱": "*", "\u3000": " ", "\u00a0": " ", "\t": " "})
_MASK_TRIM = re.compile(r"^[\s'‘’\"“”`]+|[\s'‘’\"“”`]+$")
_PLACEHOLDERS = {"无", "不详", "空", "暂无", "未知", "NULL", "NONE", "N/A", "NA", "/", "\\", "0", "－", "—", "——"}  # said "no ID"


def _visible(number: str) -> dict:
    birth = _parse_date(number[6:14])
    return {"area6": number[:6], "birth_year": birth.year if birth else None, "birth_date": birth,
            "last4": number[14:18], "sex": "1" if int(number[16]) % 2 else "2"}


def _mask_template(text: str) -> str | None:
    """The 18-character template (digits, final X, `*` where hidden) of a masked ID, or None if `text` is not one.

    Mask characters: `*` when the text has any (spaces are then separators); otherwise runs of x (an x in the middle
    of the digits, or a run of two or more; a single X at the end after a digit is the check character); otherwise a
    run of spaces as long as the digits it hides. A mask shorter or longer than the digits it hides is understood only
    in the common form: six digits, the mask, four characters (420581****123X).
    """
    text = _MASK_TRIM.sub("", text.translate(_MASK_FULLWIDTH).translate(_FULLWIDTH))
    if "*" in text:
        body = re.sub(r"\s+", "", text).upper()
    elif re.search(r"[xX].", re.sub(r"\s+", "", text)):  # an x before the last character: a mask
        chars = list(re.sub(r"\s+", "", text).upper())
        last = len(chars) - 1
        for i, ch in enumerate(chars):
            if ch == "X" and (i < last or chars[i - 1] in "X*"):
                chars[i] = "*"
        body = "".join(chars)
    elif re.search(r"[\dXx]\s{2,}[\dXx]", text):  # a run of spaces as long as the digits it hides
        body = re.sub(r"\s{2,}", lambda m: "*" * len(m.group()), text)
        body = re.sub(r"\s", "", body).upper()
        if len(body) != 18:
            return None
    else:
        return None
    if not re.fullmatch(r"[\d*]*[\dX*]", body) or body.count("*") == 0:
        return None
    if len(body) == 18:
        template = body
    else:
        m = re.fullmatch(r"(\d{6})\*+([\d]{3}[\dX])", body)
        if not m:
            return None
        template = m.group(1) + "*" * 8 + m.group(2)
    return template


def parse(raw: object, *, today: dt.date | None = None) -> ParsedId:
    """Read one ID cell: full | repaired | legacy15 | masked | invalid | missing, with the visible parts.

    The one place that decides what an ID cell is; `normalise` stays the strict check for a number someone types.
    """
    if raw is None or (isinstance(raw, float) and raw != raw):
        return ParsedId(IdKind.MISSING)
    raw_text = raw if isinstance(raw, str) else str(raw)
    raw_text = raw_text.strip()
    if not raw_text:
        return ParsedId(IdKind.MISSING)
    if isinstance(raw, str):
        template = _mask_template(raw_text)
        if template is not None:
            return _parse_masked(raw_text, template, today=today)
    text = clean(raw)
    if not text or text in _PLACEHOLDERS:
        return ParsedId(IdKind.MISSING, raw=raw_text)
    try:
        number = normalise(text, today=today)
    except IdNumberError as exc:
        return ParsedId(IdKind.INVALID, raw=raw_text, clean=text, error=exc.message)
    if len(text) == 15:
        kind = IdKind.LEGACY15
    elif raw_text == number and isinstance(raw, str):
        kind = IdKind.FULL
    else:
        kind = IdKind.REPAIRED
    return ParsedId(kind, raw=raw_text, clean=text, number=number, **_visible(number))


def _parse_masked(raw_text: str, t: str, *, today: dt.date | None) -> ParsedId:
    today = today or _today()
    area6 = t[:6] if t[:6].isdigit() else ""
    if area6 and area6[:2] in _BAD_AREA:
        return ParsedId(IdKind.INVALID, raw=raw_text, clean=t, error=f"脱敏证件号码的地区码无效:{area6}")
    year = int(t[6:10]) if t[6:10].isdigit() else None
    if year is not None and not 1890 <= year <= today.year:
        return ParsedId(IdKind.INVALID, raw=raw_text, clean=t, error=f"脱敏证件号码中的出生年份不合理:{year}")
    birth = None
    if t[6:14].isdigit():
        birth = _parse_date(t[6:14])
        if birth is None or birth > today:
            return ParsedId(IdKind.INVALID, raw=raw_text, clean=t, error=f"脱敏证件号码中的出生日期无效:{t[6:14]}")
    elif year is not None and t[10:12].isdigit() and not 1 <= int(t[10:12]) <= 12:
        return ParsedId(IdKind.INVALID, raw=raw_text, clean=t, error=f"脱敏证件号码中的出生月份无效:{t[10:12]}")
    last4 = t[14:18] if "*" not in t[14:18] else ""
    sex = ("1" if int(t[16]) % 2 else "2") if t[16].isdigit() else ""
    return ParsedId(IdKind.MASKED, raw=raw_text, clean=t, area6=area6, birth_year=year, birth_date=birth,
                    last4=last4, sex=sex)
