"""Facts the lights need from other capabilities, through two extension points (fupin/core/extensions.py):

- `assistance.unverified_findings` (`extensions.UnverifiedFindings`): comparison findings (部门比对疑点) awaiting a
  visit: fn(household_ids or None) -> {household_id: date (or time) the oldest was raised}. The eligibility app
  registers `fupin.eligibility.selectors.unverified_finding_dates`;
- `assistance.light_condition` (`extensions.LightCondition`): fn(household_ids or None, today) -> {household_id:
  [reason, ...]}, each reason a dict with at least "code" and "colour" (green/yellow/red) and any numbers its text
  needs ("days", "count"). The reasons join the light's own (the worst colour wins) and are stored with it; the
  registration's `describe[code](reason)` turns a stored reason into (what is wrong, the action that clears it) in
  the active language. Example: fupin.funds.hooks registers overdue micro-credit loans (yellow, then red).

A provider that raises stops the recompute: a broken extension must show, not silently turn lights green.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.utils import timezone

from fupin.core import extensions


def unverified_findings(household_ids: Iterable[int] | None = None) -> dict[int, dt.date]:
    """The oldest unverified finding date per household, merged over every provider; {} when none is registered."""
    ids = list(household_ids) if household_ids is not None else None
    out: dict[int, dt.date] = {}
    for provider in extensions.registered("assistance.unverified_findings"):
        for hid, when in (provider.fn(ids) or {}).items():
            if isinstance(when, dt.datetime):
                when = timezone.localtime(when).date() if timezone.is_aware(when) else when.date()
            if hid not in out or when < out[hid]:
                out[hid] = when
    return out


def conditions(household_ids: Iterable[int] | None, today: dt.date) -> dict[int, list[dict]]:
    """Every registered provider's reasons per household."""
    ids = list(household_ids) if household_ids is not None else None
    out: dict[int, list[dict]] = {}
    for provider in extensions.registered("assistance.light_condition"):
        for hid, reasons in (provider.fn(ids, today) or {}).items():
            out.setdefault(hid, []).extend(reasons)
    return out


def describe_condition(reason: dict) -> tuple[str, str] | None:
    code = reason.get("code", "")
    for provider in extensions.registered("assistance.light_condition"):
        if code in provider.describe:
            return provider.describe[code](reason)
    return None


# Compatibility for registrations written before the extension registry; tests/test_extensions.py lists callers.
def condition_provider(*, codes):
    """Deprecated: `extensions.register(extensions.LightCondition(fn=fn, describe=codes))`."""

    def deco(fn):
        extensions.register(extensions.LightCondition(fn=fn, describe=dict(codes)))
        return fn

    return deco
