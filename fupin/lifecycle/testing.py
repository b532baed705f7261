"""Objects of this app for the scoping sweep (tests/test_scoping_sweep.py): a procedure with a recorded step, an
attachment and a batch in the given village."""

from __future__ import annotations

import io

from django.utils import timezone

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde\x00"
       b"\x00\x00\x0cIDATx\x9cc\xf8\xcf\xc0\x00\x00\x03\x01\x01\x00\xc9\xfe\x92\xef\x00\x00\x00\x00IEND\xaeB`\x82")


def sweep_objects(*, village, grid, actor) -> None:
    from fupin.core.testing import make_household, make_user
    from fupin.lifecycle import services

    worker = make_user(f"lc_sweep_{village.code}", "village_team", division=village,
                       display_name=f"{village.name}程序员")
    hh = make_household(village, grid=grid, head=f"{village.name[0]}申请", members=2)
    proc = services.procedure_start(actor=worker, kind="identification", household=hh)
    services.procedure_record_step(actor=worker, procedure=proc, step="apply", decision="approve",
                                   date=timezone.localdate(), notes=f"{village.name}申请",
                                   attachments=[services.Upload(kind="photo", file=io.BytesIO(PNG),
                                                                name=f"{village.name}.png")])
