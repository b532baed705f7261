"""Objects of the registry for the scoping sweep (tests/test_scoping_sweep.py): in the given village, a household
with a membership change, a village form, a roster import with a data-quality problem and a change request (a
birth reported with an evidence photo, waiting for the village team)."""

from __future__ import annotations

import tempfile
from pathlib import Path


def sweep_objects(*, village, grid, actor) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from fupin.core.testing import make_household
    from fupin.registry import services
    from fupin.registry.change_requests import request_submit
    from fupin.registry.importer import import_roster
    from fupin.registry.testdata import roster_rows, write_csv

    hh = make_household(village, grid=grid, head=f"{village.name[0]}变动", members=2,
                        poor_code=f"SW{village.code}", is_registered_poor=True, poverty_status="0")
    services.member_add(actor=actor, household=hh, member={"name": f"{village.name[0]}新生", "relationship": "之子"})
    services.member_leave(actor=actor, person=hh.members.get(relationship="配偶"))  # a change with no target household
    request_submit(actor=actor, household=hh, kind="birth", payload={"name": f"{village.name[0]}申报",
                                                                      "relationship": "之孙子"},
                   note=f"{village.name}出生申报", evidence=SimpleUploadedFile("e.jpg", village.name.encode()))
    services.village_profile_save(actor=actor, village=village, year=2016, rural_population=800)
    rows = roster_rows([(village.parent.name, village.name, village.code)], households=1, seed=3,
                       start=int(village.code[-4:]) * 10,
                       code_prefix="R")
    rows[0]["民族"] = f"{village.name}族"  # an unknown code: listed as a problem of the village
    with tempfile.TemporaryDirectory() as tmp:
        import_roster(actor=actor, path=write_csv(Path(tmp) / "sweep.csv", rows))
