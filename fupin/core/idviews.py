"""Who saw which full ID numbers (等保 2.0 audit of access to sensitive data): every place that shows an ID number in
full calls `note(number)`; at the end of the request the middleware records one audit event `view.full_id` with the
page and the masked numbers shown (the trail itself never holds a full ID number)."""

from __future__ import annotations

import contextvars
import re

from fupin.core import idnumber

_shown: contextvars.ContextVar[set | None] = contextvars.ContextVar("fupin_full_ids_shown", default=None)
MAX_LISTED = 100


def note(number: str | None) -> None:
    bucket = _shown.get()
    if bucket is not None and number:
        bucket.add(number)


def may_see_full(user) -> bool:
    return user is not None and (getattr(user, "may_view_full_id", False) or getattr(user, "is_superuser", False))


def shown(number: str | None, user) -> str:
    """An ID number as `user` may see it: in full (and noted for the audit trail) or masked. The one place that
    decides; every page, API answer and document calls it (or `formatter`, or `shown_in_text`)."""
    if not number:
        return ""
    number = str(number)
    if may_see_full(user):
        note(number)
        return number
    return idnumber.mask(number)


_ID_LIKE = re.compile(r"\d{6}[\dXx*]{8,12}")


def shown_in_text(text: object, user) -> str:
    """Free text (a department's cell, a finding's evidence) with every ID-like run of characters as `user` may see
    it: `shown` applied to each."""
    text = "" if text is None else str(text)
    return _ID_LIKE.sub(lambda m: shown(m.group(), user), text)


def formatter(user):
    return lambda number: shown(number, user)


def start() -> contextvars.Token:
    return _shown.set(set())


def finish(token: contextvars.Token, *, request) -> None:
    shown = _shown.get() or set()
    _shown.reset(token)
    user = getattr(request, "user", None)
    if not shown or user is None or not user.is_authenticated:
        return
    from fupin.core import audit

    masked = sorted(idnumber.mask(n) for n in shown)
    audit.record(actor=user, action="view.full_id", object_type="core.request", object_id=str(len(shown)),
                 object_repr=request.path[:200], area_code=getattr(user, "area_code", "") or "",
                 after={"count": len(shown), "ids": masked[:MAX_LISTED], "method": request.method})
