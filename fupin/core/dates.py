"""The one date parser for files: every form counties' exports use, and a refusal where the day and the month could
be either.

Accepted: date and datetime cells, `2015-03-02`, `2015/3/2`, `2015.3.2`, `2015年3月2日`, `20150302` (text or number),
Excel serial day numbers (`42065`, as a number or as the text an export wrote), full-width digits, a trailing time
(`2015-03-02 00:00:00`), and `2/3/2015`-style dates only when they cannot be read two ways (`25/3/2015`, `3/25/2015`,
`3/3/2015`). `03/02/2015` could be 3 February or 2 March: it is refused, never guessed.
"""

from __future__ import annotations

import datetime as dt
import re

from django.utils.translation import gettext as _

_FULLWIDTH = str.maketrans("０１２３４５６７８９／．－：　", "0123456789/.-: ")
_YMD = re.compile(r"^(\d{4})\s*(?:[-/.]|年)\s*(\d{1,2})\s*(?:[-/.]|月)\s*(\d{1,2})\s*日?$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_DMY = re.compile(r"^(\d{1,2})\s*[-/.]\s*(\d{1,2})\s*[-/.]\s*(\d{4})$")
_SERIAL = re.compile(r"^\d{3,5}(\.0+)?$")
_TIME = re.compile(r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)$")
EXCEL_EPOCH = dt.date(1899, 12, 30)
MIN_YEAR, MAX_YEAR = 1890, 2100


class DateError(ValueError):
    """A value that is not a date we may read; `code` is `ambiguous` or `unreadable`, the message is in the active language (gettext)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def _make(y: int, m: int, d: int, text: str) -> dt.date:
    try:
        value = dt.date(y, m, d)
    except ValueError:
        raise DateError("unreadable", _("Not a valid date: %(text)s") % {"text": text}) from None
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise DateError("unreadable", _("The year of the date is implausible: %(text)s") % {"text": text})
    return value


def _serial(n: float, text: str) -> dt.date:
    if n != int(n) or not 1 <= n < 80000:
        raise DateError("unreadable", _("Cannot be read as a date: %(text)s") % {"text": text})
    return EXCEL_EPOCH + dt.timedelta(days=int(n))


def parse_date(value: object) -> dt.date | None:
    """The date in a cell; None for an empty cell; DateError (a translated message) when it is no date or could be two dates."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, bool):
        raise DateError("unreadable", _("Cannot be read as a date: %(text)s") % {"text": value})
    if isinstance(value, (int, float)):
        if value != value:  # NaN
            return None
        if value in (float("inf"), float("-inf")):
            raise DateError("unreadable", _("Cannot be read as a date: %(text)s") % {"text": value})
        if value == int(value) and 18000101 <= value <= 21001231:
            return parse_date(str(int(value)))
        return _serial(float(value), str(value))
    text = str(value).translate(_FULLWIDTH).strip()
    if not text:
        return None
    text = _TIME.sub("", text).strip()
    if m := _YMD.match(text):
        return _make(int(m.group(1)), int(m.group(2)), int(m.group(3)), text)
    if m := _COMPACT.match(text):
        return _make(int(m.group(1)), int(m.group(2)), int(m.group(3)), text)
    if m := _DMY.match(text):
        a, b, y = int(m.group(1)), int(m.group(2)), int(m.group(3))
        if a <= 12 and b <= 12 and a != b:
            raise DateError("ambiguous", _("The date “%(text)s” can be read as %(y)s-%(a)s-%(b)s or as %(y)s-%(b)s-%(a)s (year-month-day): it "
                                           "cannot be decided, please write it as %(y)s-MM-DD")
                                         % {"text": text, "y": y, "a": a, "b": b})
        if a > 12:  # day first
            return _make(y, b, a, text)
        return _make(y, a, b, text)
    if _SERIAL.match(text):
        return _serial(float(text), text)
    raise DateError("unreadable", _("Cannot be read as a date: %(text)s") % {"text": text})


def parse_date_or_none(value: object) -> dt.date | None:
    """parse_date, with None for whatever it refuses (where a caller only wants a date when there plainly is one)."""
    try:
        return parse_date(value)
    except DateError:
        return None
