"""Pinning a household (重点关注): pin and unpin, audited."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils.translation import gettext as _

from fupin.core import audit
from fupin.core.errors import ServiceError
from fupin.dispatch.models import (
    HouseholdPin,
)
from fupin.dispatch.services.base import _actor_user, _check_household_scope, _now, _text

# Pinning ---------------------------------------------------------------------------------------------------------


@transaction.atomic
def household_pin(*, actor, household, reason: str, now: dt.datetime | None = None) -> HouseholdPin:
    """Pin a household in special difficulty (置顶): it comes first in every list and stands out on the map."""
    reason = _text(reason)
    if not reason:
        raise ServiceError(_("Pinning needs a reason"))
    _check_household_scope(actor, household)
    if HouseholdPin.objects.filter(household=household, unpinned_at__isnull=True).exists():
        raise ServiceError(_("%(household)s is already pinned") % {"household": household})
    pin = HouseholdPin.objects.create(household=household, area_code=household.area_code, reason=reason[:300],
                                      pinned_by=_actor_user(actor), pinned_at=_now(now))
    audit.record(actor=actor, action="dispatch.householdpin.create", obj=pin, after=audit.snapshot(pin), note=reason)
    return pin


@transaction.atomic
def household_unpin(*, actor, pin: HouseholdPin, reason: str, now: dt.datetime | None = None) -> HouseholdPin:
    reason = _text(reason)
    if not reason:
        raise ServiceError(_("Unpinning needs a reason"))
    pin = HouseholdPin.objects.select_for_update().get(pk=pin.pk)
    if pin.unpinned_at is not None:
        raise ServiceError(_("The household is already unpinned"))
    _check_household_scope(actor, pin.household)
    before = audit.snapshot(pin)
    pin.unpinned_at = _now(now)
    pin.unpinned_by = _actor_user(actor)
    pin.unpin_reason = reason[:300]
    pin.version += 1
    pin.save()
    audit.record(actor=actor, action="dispatch.householdpin.unpin", obj=pin, before=before, after=audit.snapshot(pin),
                 note=reason)
    return pin
