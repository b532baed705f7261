"""Objects the scoping sweep (tests/test_scoping_sweep.py) creates in each village, so every assistance page and
endpoint is tried with village B's identifiers by a user of village A."""

from __future__ import annotations

import datetime as dt

from django.core.files.uploadedfile import SimpleUploadedFile

from fupin.assistance import services
from fupin.assistance.conf import local_today
from fupin.assistance.models import Policy, Unit
from fupin.registry.models import Household

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde\x00"
       b"\x00\x00\x0cIDATx\x9cc\xf8\xcf\xc0\x00\x00\x03\x01\x01\x00\xc9\xfe\x92\xef\x00\x00\x00\x00IEND\xaeB`\x82")


def sweep_objects(*, village, grid, actor) -> None:
    today = local_today()
    unit = Unit.objects.filter(name="扫描测试单位").first() or services.unit_create(actor=actor, name="扫描测试单位")
    policy = Policy.objects.filter(name="扫描测试政策").first() or services.policy_create(
        actor=actor, name="扫描测试政策", kind="education")
    cadre = services.cadre_create(actor=actor, name=f"干部{village.code[-3:]}", unit=unit)
    for hh in Household.objects.filter(village=village, is_registered_poor=True):
        services.pairing_assign(actor=actor, household=hh, cadre=cadre, start=today - dt.timedelta(days=40))
        services.record_create(actor=actor, household=hh, occurred_on=today, content="扫描走访",
                               attachments=[SimpleUploadedFile(f"{village.name}走访.png", PNG, "image/png")])
        services.measure_add(actor=actor, household=hh, kind="education", title="扫描措施",
                             target_date=today + dt.timedelta(days=30))
        services.errand_create(actor=actor, household=hh, matter="扫描代办")
        services.policy_receipt_add(actor=actor, household=hh, policy=policy, received_on=today)
    services.area_pairing_create(actor=actor, kind="first_secretary", division=village, cadre=cadre)
    services.village_plan_save(actor=actor, village=village, year=today.year, projects="扫描项目")
    services.work_team_create(actor=actor, village=village, unit=unit, leader=cadre)
