"""What the comparison registers at start-up: stats keys, the comparison job, the procedures' providers (scores and
findings at the 入户核实 and 部门比对 steps), the household page's findings panel, the findings awaiting a visit on
the tracking lights, and the dashboards' figures."""

from __future__ import annotations

from fupin.core import extensions as ext
from fupin.core.household_rows import household_rows
from fupin.core.services import job_handler
from fupin.core.stats import stats_provider
from fupin.eligibility import map_and_dashboards


@stats_provider(order=161)
def _findings_stats() -> dict:
    from django.db.models import Count

    from fupin.eligibility.models import Finding

    counts = dict(Finding.objects.values_list("status").annotate(n=Count("id")).values_list("status", "n"))
    return {"findings_open": counts.get("open", 0), "findings_confirmed": counts.get("confirmed", 0),
            "findings_dismissed": counts.get("dismissed", 0)}


@job_handler("eligibility.compare")
def _compare_job(job, progress) -> dict:
    from fupin.eligibility.services import compare_run

    run = compare_run(actor=job.actor or "system", progress=progress)
    return {"run": run.pk, "households": run.households, "changes": run.stats.get("changes", {}),
            "findings_by_rule": run.stats.get("findings_by_rule", {}), "url": "/comparison/"}


def assessment_for(household) -> dict | None:
    """The household's 四看四算 score and rank (procedures' 入户核实 step)."""
    from fupin.eligibility.selectors import assessment_summary

    return assessment_summary(household)


def findings_for(household) -> list[dict] | None:
    """The household's comparison findings (procedures' 部门比对 step)."""
    from fupin.eligibility.selectors import findings_summary

    return findings_summary(household)


def findings_panel(request, household) -> dict | None:
    """The household page's panel (None when the user may see no finding nor assessment of the household)."""
    from fupin.eligibility.selectors import household_panel

    return household_panel(request, household)


def unverified_finding_dates(household_ids: list[int] | None) -> dict:
    from fupin.eligibility.selectors import unverified_finding_dates

    return unverified_finding_dates(household_ids)


ext.register(ext.ProcedureAssessment(fn=assessment_for))
ext.register(ext.ProcedureFindings(fn=findings_for))
ext.register(ext.HouseholdPanel(key="findings", template="eligibility/_household_panel.html", fn=findings_panel,
                                order=50))
ext.register(ext.UnverifiedFindings(fn=unverified_finding_dates))


def _released_rules_reading(source_code: str) -> dict[str, list[str]]:
    from fupin.eligibility.services import released_rules_reading

    return released_rules_reading(source_code)


ext.register(ext.FieldReader(fn=_released_rules_reading))


ext.register(map_and_dashboards.figure_provider())


# rows that belong to a household move with it (fupin/core/household_rows.py)
household_rows("eligibility.Finding", "household")
household_rows("eligibility.Assessment", "household")
