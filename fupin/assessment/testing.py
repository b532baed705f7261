"""Test factories of the assessment app, used by the project's scoping sweep (tests/test_scoping_sweep.py)."""

from __future__ import annotations

import tempfile
from pathlib import Path


def sweep_objects(*, village, grid, actor) -> dict:
    """In this village: a scored period, a field-check sample with a recorded check, a policy gap sent as a work
    order, a risk alert, last year's income of a household and a kinship flag."""
    from django.utils import timezone

    from fupin.assessment import services
    from fupin.assessment.models import PolicyGap
    from fupin.core.testing import make_id, make_user
    from fupin.dispatch.services import dispatch_setup_defaults
    from fupin.dispatch.testing import make_departments
    from fupin.exchange.services import import_department, sources_ensure_defaults
    from fupin.registry.models import Household
    from fupin.registry.services import household_create

    make_departments()
    dispatch_setup_defaults(actor=actor)
    staff_id = make_id(birth="19700101")
    student_id = make_id(birth="20120101")
    hh = household_create(actor=actor, village=village, grid=grid, is_registered_poor=True, poverty_status="0",
                          address=f"{village.name}1组1号", members=[
                              {"name": f"{village.name[:1]}学户主", "relationship": "户主",
                               "id_number": make_id(birth="19800101"), "labour_skill": "1"},
                              {"name": f"{village.name[:1]}学生", "relationship": "之子", "id_number": student_id,
                               "schooling": "03"}])
    services.policy_match(actor=actor, household_ids=[hh.pk])
    gap = PolicyGap.objects.filter(household=hh, rule__code="education_aid").first()
    if gap is not None:
        services.gap_dispatch(actor=actor, gap=gap)
    year = timezone.localdate().year
    sample = services.sample_create(actor=actor, village=village, year=year, count=1, seed=1)
    for check in sample.checks.all():
        services.check_record(actor=actor, check=check, satisfied=True, correctly_identified=True,
                              wrongly_exited=False, missed_found=False)
    other = Household.objects.filter(village=village).exclude(pk=hh.pk).order_by("pk").first() or hh
    alert = services.risk_self_report(actor=actor, household=other, detail=f"{village.name}农户因灾受损")
    services.income_year_set(actor=actor, household=other, year=year - 1, per_capita=5200)
    staff = make_user(f"staff_{village.code}", "village_team", division=village, display_name=f"{village.name}村干")
    services.staff_identity_set(actor=actor, user=staff, role="village_cadre", id_number=staff_id)
    sources_ensure_defaults()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "户籍.csv"
        path.write_text("姓名,公民身份号码,户号,与户主关系,户籍地址\n"
                        f"{village.name}村干,{staff_id},H{village.code},户主,{village.name}1组2号\n"
                        f"{village.name[:1]}学生,{student_id},H{village.code},之子,{village.name}1组2号\n",
                        encoding="utf-8")
        import_department(actor=actor, source_code="household_register", path=path)
    services.kinship_scan(actor=actor, year=year)
    run, _ = services.assess_run(actor=actor, period=str(year))
    return {"gap": gap, "sample": sample, "alert": alert, "run": run}
