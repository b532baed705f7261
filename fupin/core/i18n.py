"""Texts a service stores for people to read later, and the language's list separator.

A message stored as text is frozen in the language of whoever (or whatever night run) wrote it. So a service stores
the message's id (its English msgid, marked with `gettext_noop` so makemessages collects it) and its parameters, and
the page, the API or the export translates it when it shows it, in the reader's language:

    job.message = stored(gettext_noop("The job was queued again after a service interruption"))
    {{ job.message|shown }}          in a template (fupin/web/templatetags/fupin.py)
    shown(job.message)               in Python (an API response, an export, an inbox title)

The stored form is the marker `i18n:` and a JSON array [id, parameters], in the text column the message always had,
so no column changes and rows written before hold their literal text: `shown` gives back any text without the marker
as it is. A parameter may itself be a stored message (a reason joined to an earlier reason); it is shown in the same
language.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from django.utils.translation import gettext, override, pgettext

MARK = "i18n:"


def stored(msgid: str, /, *, max_length: int | None = None, **params) -> str:
    """The stored form of msgid % params: translated when shown, not now. With max_length (the column's), the longest
    text parameter is shortened until the stored form fits; msgid itself must fit."""
    params = {k: (v if isinstance(v, str | int | float | bool) or v is None else str(v)) for k, v in params.items()}
    text = _encode(msgid, params)
    while max_length is not None and len(text) > max_length:
        longest = max((k for k, v in params.items() if isinstance(v, str) and not v.startswith(MARK)),
                      key=lambda k: len(params[k]), default=None)
        if longest is None or not params[longest]:
            raise ValueError(f"message {msgid!r} does not fit in {max_length} characters")
        over = len(text) - max_length
        params[longest] = params[longest][:max(0, len(params[longest]) - over - 1)] + "…"
        text = _encode(msgid, params)
    return text


def _encode(msgid: str, params: dict) -> str:
    return MARK + json.dumps([msgid, params] if params else [msgid], ensure_ascii=False, separators=(",", ":"))


def is_stored(value) -> bool:
    return isinstance(value, str) and value.startswith(MARK)


def shown(value, language: str | None = None) -> str:
    """A stored message in the current language (or `language`); any other text as it is (rows written before
    messages were stored by id keep their literal text); None and "" as ""."""
    if value is None:
        return ""
    if not is_stored(value):
        return str(value)
    if language is not None:
        with override(language):
            return shown(value)
    try:
        msgid, *rest = json.loads(value[len(MARK):])
        params = rest[0] if rest else {}
    except (ValueError, TypeError):
        return value  # not ours after all: the text as it is
    text = gettext(msgid)
    if not params:
        return text
    values = {k: shown(v) if is_stored(v) else v for k, v in params.items()}
    for form in (text, msgid):  # a translation that names other parameters: the untranslated message
        try:
            return form % values
        except (KeyError, TypeError, ValueError):
            continue
    return msgid


def separator() -> str:
    """The current language's list separator: 、 in Chinese, ", " in English."""
    return pgettext("list separator", ", ")


def join_list(items: Iterable) -> str:
    """Items joined by the current language's list separator."""
    return separator().join(str(item) for item in items)
