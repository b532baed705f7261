"""Start-up registrations of data quality: the background job, the nightly step, stats keys, dashboard figures and
the household page's panel."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from fupin.core import extensions as ext
from fupin.core.household_rows import household_rows
from fupin.core.nightly import nightly_step
from fupin.core.services import job_handler
from fupin.core.stats import stats_provider

JOB_KIND = "quality.run"


@job_handler(JOB_KIND)
def _run_job(job, progress) -> dict:
    from fupin.quality.services import run_checks

    run = run_checks(actor=job.actor, trigger="job", progress=progress)
    return {"run": run.pk, "open": run.open_total, "opened": run.opened, "closed": run.closed,
            "seconds": run.seconds, "rule_errors": getattr(run, "rule_errors", [])}


@nightly_step("quality", order=80)
def _nightly() -> dict:
    from fupin.quality.services import run_checks

    run = run_checks(trigger="nightly")
    return {"open": run.open_total, "opened": run.opened, "closed": run.closed, "seconds": run.seconds,
            "rule_errors": getattr(run, "rule_errors", [])}


@stats_provider(order=75)
def _stats() -> dict:
    from fupin.quality.models import Problem

    return {"data_quality_problems": Problem.objects.filter(status=Problem.Status.OPEN).count()}


def _figures(ctx):
    from django.db.models import Count

    from fupin.core.extensions import Row
    from fupin.quality.models import Problem

    rows = (Problem.objects.filter(status=Problem.Status.OPEN).values_list("area_code", "rule__key")
            .annotate(n=Count("id")))
    for area_code, rule_key, n in rows:
        yield Row(area_code, "quality.open_problems", n)
        yield Row(area_code, "quality.problems_by_rule", n, dim=rule_key)


def _rule_dims():
    from fupin.dashboards.figures import memo
    from fupin.quality.models import Rule

    return memo("quality.rules", lambda: [(k, label, "") for k, label in Rule.objects.values_list("key", "label")])


def _link(area, dim):
    code = area[:12]
    return f"/quality/villages/{code}/" + (f"?rule={dim}" if dim else "") if len(code) == 12 and \
        not code.endswith("000") else f"/quality/?division={area}"


ext.register(ext.FigureProvider("quality", compute=_figures, watches=("quality.",), order=80, figures=[
    ext.Figure("quality.open_problems", _("Open data-quality problems"), section="quality", unit=_("problems"),
               column=True, order=64, link=_link,
               help=_("Problems the latest data-quality run found and nobody has fixed yet.")),
    ext.Figure("quality.problems_by_rule", _("Data-quality problems by rule"), section="quality", chart="hbar",
               unit=_("problems"), order=65, dims=_rule_dims, link=_link),
]))


def _household_panel(request, household) -> dict | None:
    from fupin.quality.models import Problem

    problems = list(Problem.objects.restrict(request.user).filter(household=household, status=Problem.Status.OPEN)
                    .select_related("rule", "person"))
    if not problems:
        return None
    return {"panel_title": _("Data quality"), "problems": problems}


ext.register(ext.HouseholdPanel(key="quality", template="quality/_household_panel.html", fn=_household_panel,
                                order=46))


# rows that belong to a household move with it (fupin/core/household_rows.py)
household_rows("quality.Problem", "household", village_field="village")
