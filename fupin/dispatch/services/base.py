"""What the dispatch services share: the clock, the acting user, text cleaning, the household scope check."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from fupin.core.errors import ServiceError
from fupin.core.scoping import scope_prefix


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
    user = _actor_user(actor)
    if user is None:
        return
    prefix = scope_prefix(user)
    if prefix is None or not household.area_code.startswith(prefix) or not user.can("edit"):
        raise ServiceError("该户不在您的管辖范围内")
