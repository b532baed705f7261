"""What the dispatch services share: the clock, the acting user, text cleaning, the household scope check."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from fupin.core import scoping
from fupin.core.errors import ServiceError


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



def _place(*, household, grid, village, what: str):
    """(village, area_code) where an order or a report lands: the household's, else the grid's, else the village's;
    it must be a village or a community (`what` names the thing in the refusal)."""
    if household is not None:
        village, area_code = household.village, household.area_code
    elif grid is not None:
        village, area_code = grid.village, grid.code
    elif village is not None:
        area_code = village.code
    else:
        raise ServiceError(_("Name the household or its village"))
    if village.level not in ("village", "community"):
        raise ServiceError(_("%(what)s must be placed in a village (community) or on a household") % {"what": what})
    return village, area_code


def _check_household_scope(actor, household) -> None:
    scoping.require(_actor_user(actor), household.area_code, "edit", message=_("The household is outside your jurisdiction"))
