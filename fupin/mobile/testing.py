"""Objects the scoping sweep (tests/test_scoping_sweep.py) creates in each village: a phone's change that ended in a
conflict over a household's phone number, so the conflicts page and API are tried with village B's identifiers."""

from __future__ import annotations

import uuid

from fupin.mobile import services
from fupin.registry.models import Household
from fupin.registry.services import household_update


def sweep_objects(*, village, grid, actor) -> None:
    from fupin.core.testing import make_user

    worker = make_user(f"sweep_phone_{village.code}", "grid_worker", grid=grid, display_name=f"手机{village.code[-3:]}")
    hh = Household.objects.filter(village=village, grid=grid).order_by("pk").first()
    if hh is None:
        return
    base_version, base_phone = hh.version, hh.phone
    household_update(actor=actor, household=hh, phone="13700000000")
    services.change_apply(actor=worker, change={
        "uuid": str(uuid.uuid4()), "kind": "household", "base_version": base_version,
        "data": {"household": str(hh.uuid), "fields": {"phone": "13600000000"}, "base": {"phone": base_phone}}})
