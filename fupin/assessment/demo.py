"""Demo data of assessment and screening on an already seeded county (called by seed_demo after assistance, dispatch
and quality): the default scheme released, field checks recorded in a few villages, policy matching with some gaps
sent to departments, monitored households with risk alerts, staff identities with kinship flags, and the current
year scored (`fupin assess --period <year>` then works on every town, village and grid worker).

Everything goes through the services (so it is audited); the rows are few enough at scale 1 for that.
"""

from __future__ import annotations

import random
from decimal import Decimal

from django.utils import timezone

ACTOR = "seed_demo"
CHECK_VILLAGES = 6
CHECKS_PER_GROUP = 5
DISPATCHED_GAPS = 30
MONITORED_SHARE = 0.03
INCOME_DROPS = 8


def seed_assessment(*, rng: random.Random, scale: float, batch) -> dict:
    from fupin.accounts.models import User
    from fupin.assessment import services
    from fupin.assessment.models import PolicyGap, StaffIdentity
    from fupin.geo.models import Division
    from fupin.registry.models import Household, Person, PovertyLine

    today = timezone.localdate()
    services.scheme_ensure_default(actor=ACTOR)
    villages = list(Division.objects.filter(level="village").order_by("code"))
    if not villages:
        return {}

    # field checks in a few villages (reproducible seeds)
    checks = 0
    for village in rng.sample(villages, min(CHECK_VILLAGES, len(villages))):
        if not Household.objects.filter(village=village).exists():
            continue
        sample = services.sample_create(actor=ACTOR, village=village, year=today.year, count=CHECKS_PER_GROUP,
                                        seed=rng.randint(1, 99999))
        for check in sample.checks.all():
            services.check_record(actor=ACTOR, check=check, satisfied=rng.random() < 0.94,
                                  correctly_identified=rng.random() < 0.98, wrongly_exited=rng.random() < 0.02,
                                  missed_found=rng.random() < 0.03, note="")
            checks += 1

    # policy matching; the first gaps are sent to their departments
    match = services.policy_match(actor=ACTOR)
    dispatched = 0
    for gap in PolicyGap.objects.filter(status="open").order_by("pk")[:DISPATCHED_GAPS]:
        if gap.rule.department_id:
            services.gap_dispatch(actor=ACTOR, gap=gap)
            dispatched += 1

    # return-to-poverty monitoring: a dated threshold (1.5 × the line), some exited households monitored
    line = PovertyLine.objects.order_by("-year").first()
    if line is not None:
        services.threshold_set(actor=ACTOR, year=today.year, amount=(line.amount * Decimal("1.5")).quantize(
            Decimal("0.01")), valid_from=today.replace(month=1, day=1), note="演示:扶贫标准的1.5倍")
    exited = list(Household.objects.filter(is_registered_poor=True, poverty_status__in=("1", "4"),
                                           monitoring_category="").order_by("pk").values_list("pk", flat=True))
    monitored = rng.sample(exited, max(1, int(len(exited) * MONITORED_SHARE))) if exited else []
    from fupin.registry.services import household_update

    for i, pk in enumerate(monitored):
        hh = Household.objects.get(pk=pk)
        household_update(actor=ACTOR, household=hh, monitoring_category=("unstable", "edge", "sudden")[i % 3],
                         monitoring_risks=[rng.choice(("1", "2", "4", "5"))])
    for hh in Household.objects.filter(pk__in=monitored[:10]):
        services.risk_self_report(actor=ACTOR, household=hh, detail=rng.choice(
            ("家中主要劳动力务工受伤", "房屋受暴雨损坏", "家人患重病住院", "种养业受灾减收")))
    # income history: this year's incomes from the registry, and for a few watched households a better year before
    # (a drop of 35-60 %, or from just above the line to below it), which the income-drop signal then raises
    services.income_history_record(actor=ACTOR)
    drops = 0
    watched = list(Household.objects.filter(pk__in=exited, income_year__isnull=False,
                                            per_capita_net_income__gt=0).order_by("pk")[:400])
    lines = dict(PovertyLine.objects.values_list("year", "amount"))
    for hh in rng.sample(watched, min(INCOME_DROPS, len(watched))):
        now, line = hh.per_capita_net_income, lines.get(hh.income_year)
        before = (now / Decimal(str(rng.uniform(0.4, 0.65)))).quantize(Decimal("0.01"))
        if line is not None and now < line and drops % 2:
            before = (line * Decimal("1.08")).quantize(Decimal("0.01"))
        services.income_year_set(actor=ACTOR, household=hh, year=hh.income_year - 1, per_capita=before,
                                 source="demo")
        drops += 1
    risk = services.risk_scan(actor=ACTOR)

    # staff identities: a few village cadres whose relatives are registered households (a second look, no more)
    team = list(User.objects.filter(role="village_team").order_by("pk")[:8])
    persons = list(Person.objects.filter(household__is_registered_poor=True, relationship="之子", id_valid=True,
                                         household__dissolved_on__isnull=True).order_by("pk")[:200])
    for user, person in zip(team, rng.sample(persons, min(len(team), len(persons))), strict=False):
        if person.id_number and not StaffIdentity.objects.filter(user=user).exists():
            services.staff_identity_set(actor=ACTOR, user=user, role="village_cadre", id_number=person.id_number)
    kinship = services.kinship_scan(actor=ACTOR, year=today.year)

    run, _ = services.assess_run(actor=ACTOR, period=str(today.year))
    return {"field_checks": checks, "policy_gaps": match["open"], "gaps_dispatched": dispatched,
            "monitored": len(monitored), "risk_alerts": risk["new"] + min(10, len(monitored)),
            "kinship_flags": kinship["flags"], "income_drops": drops, "scores": sum(run.stats["subjects"].values())}
