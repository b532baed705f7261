"""Facts the lights need from other capabilities, read lazily so that the assistance app works without them.

Comparison findings (部门比对疑点) belong to the eligibility app. A provider is fn(household_ids or None) ->
{household_id: date the oldest still-unverified finding was raised}. The eligibility app may register one with
`finding_provider`; otherwise `fupin.eligibility.selectors.unverified_finding_dates` is used when it exists, else its
`Finding` rows with status "open" are read directly (one grouped query), and nothing (no finding warnings) when the
app is not installed.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable
from importlib import import_module

from django.utils import timezone

log = logging.getLogger(__name__)

FindingProvider = Callable[[Iterable[int] | None], dict[int, dt.date]]
_PROVIDERS: list[FindingProvider] = []


def finding_provider(fn: FindingProvider) -> FindingProvider:
    """Register fn(household_ids | None) -> {household_id: oldest unverified finding date}."""
    if fn not in _PROVIDERS:
        _PROVIDERS.append(fn)
    return fn


def _default_provider() -> FindingProvider | None:
    try:
        module = import_module("fupin.eligibility.selectors")
    except ImportError:
        return None
    return getattr(module, "unverified_finding_dates", None) or _open_findings


def _open_findings(household_ids: list[int] | None) -> dict[int, dt.datetime]:
    """The eligibility app's open findings (status "open": to verify), oldest per household; {} without the app."""
    try:
        from fupin.eligibility.models import Finding
    except ImportError:
        return {}
    from django.db.models import Min

    qs = Finding.objects.filter(status=getattr(getattr(Finding, "Status", None), "OPEN", "open"))
    if household_ids is not None:
        qs = qs.filter(household_id__in=household_ids)
    return dict(qs.order_by().values("household_id").annotate(m=Min("created_at")).values_list("household_id", "m"))


def unverified_findings(household_ids: Iterable[int] | None = None) -> dict[int, dt.date]:
    """The oldest unverified finding date per household, merged over every provider; {} when none is available."""
    providers = list(_PROVIDERS)
    if not providers:
        default = _default_provider()
        providers = [default] if default else []
    ids = list(household_ids) if household_ids is not None else None
    out: dict[int, dt.date] = {}
    for fn in providers:
        try:
            found = fn(ids) or {}
        except Exception:  # a broken provider must not stop the lights
            log.exception("finding provider %r failed", fn)
            continue
        for hid, when in found.items():
            if isinstance(when, dt.datetime):
                when = timezone.localtime(when).date() if timezone.is_aware(when) else when.date()
            if hid not in out or when < out[hid]:
                out[hid] = when
    return out


# Conditions other capabilities put on the light ------------------------------------------------------------------
#
# A condition provider is fn(household_ids or None, today) -> {household_id: [reason, ...]}, each reason a dict with
# at least "code" and "colour" (green/yellow/red) and any numbers its text needs ("days", "count"). The reasons join
# the light's own (the worst colour wins) and are stored with it. `describe` turns a stored reason into (what is
# wrong, the action that clears it) in the active language; it is registered with the code(s) it explains.
# Example: fupin.funds.hooks registers overdue micro-credit loans (yellow, then red after a number of days).

ConditionProvider = Callable[[list[int] | None, dt.date], dict[int, list[dict]]]
_CONDITIONS: list[ConditionProvider] = []
_DESCRIBERS: dict[str, Callable[[dict], tuple[str, str]]] = {}


def condition_provider(*, codes: dict[str, Callable[[dict], tuple[str, str]]]):
    """Register fn(household_ids | None, today) -> {household_id: [reason]} and the describers of its codes."""

    def deco(fn: ConditionProvider) -> ConditionProvider:
        if fn not in _CONDITIONS:
            _CONDITIONS.append(fn)
        _DESCRIBERS.update(codes)
        return fn

    return deco


def conditions(household_ids: Iterable[int] | None, today: dt.date) -> dict[int, list[dict]]:
    """Every registered provider's reasons per household (a provider that fails is logged and left out)."""
    ids = list(household_ids) if household_ids is not None else None
    out: dict[int, list[dict]] = {}
    for fn in _CONDITIONS:
        try:
            found = fn(ids, today) or {}
        except Exception:  # another capability's bug must not stop the lights
            log.exception("condition provider %r failed", fn)
            continue
        for hid, reasons in found.items():
            out.setdefault(hid, []).extend(reasons)
    return out


def describe_condition(reason: dict) -> tuple[str, str] | None:
    fn = _DESCRIBERS.get(reason.get("code", ""))
    return fn(reason) if fn else None
