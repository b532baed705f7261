"""Bounded query parameters shared by every API list, and the answers to requests the API cannot understand.

A list takes `limit: Limit = 50` and `offset: Offset = 0` (or the same fields in a query Schema): a negative offset,
an offset beyond MAX_OFFSET or a limit outside 1..MAX_LIMIT answers 422 with the field named, before any query runs.
`bad_request_answer` turns the failures a value can still cause deeper down (a number too large for the database, a
NUL character PostgreSQL refuses) into 422 instead of 500; fupin/api/api.py registers it for the whole API.
"""

from __future__ import annotations

from typing import Annotated

from django.db import DataError
from pydantic import Field

MAX_LIMIT = 1000
MAX_OFFSET = 10_000_000

Limit = Annotated[int, Field(ge=1, le=MAX_LIMIT, description=f"1 to {MAX_LIMIT}")]
Offset = Annotated[int, Field(ge=0, le=MAX_OFFSET, description=f"0 to {MAX_OFFSET}")]

# Exceptions that only a value sent by the caller can raise below a validated parameter.
INPUT_ERRORS: tuple[type[Exception], ...] = (DataError, OverflowError)


def is_input_error(exc: Exception) -> bool:
    """True for a database refusing a value (NUL in text, a number out of range), not for a bug in our code."""
    if isinstance(exc, INPUT_ERRORS):
        return True
    return isinstance(exc, ValueError) and "NUL" in str(exc)


def input_error_detail() -> list[dict]:
    return [{"loc": ["request"], "msg": "请求中的数值超出范围或含有无法保存的字符", "type": "value_error"}]
