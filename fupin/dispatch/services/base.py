"""What the dispatch services share: the clock, the acting user, text cleaning, the household scope check."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from fupin.core import scoping


def _now(now: dt.datetime | None) -> dt.datetime:
    return now or timezone.now()


def _actor_user(actor):
    return actor if getattr(actor, "pk", None) else None


def _actor_name(actor) -> str:
    user = _actor_user(actor)
    if user is None:
        return str(actor or "system")[:150]
    return (getattr(user, "display_name", "") or user.get_username())[:150]


def _text(value: Any) -> str:
    return str(value or "").strip()



def _check_household_scope(actor, household) -> None:
    scoping.require(_actor_user(actor), household.area_code, "edit", message="该户不在您的管辖范围内")
