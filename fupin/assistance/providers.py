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
