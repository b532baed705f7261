"""What the comparison adds to the dashboards (registered by `fupin.eligibility.hooks`): findings to verify (also a column of the drill-down table), findings by status and the
open ones by rule."""

from __future__ import annotations

from django.utils.translation import gettext_lazy, pgettext_lazy


def dashboard_rows(ctx):
    from django.db.models import Count

    from fupin.core.extensions import Row
    from fupin.eligibility.models import Finding

    for area, status, rule, n in (Finding.objects.order_by().values("area_code", "status", "rule_code")
                                  .annotate(n=Count("id")).values_list("area_code", "status", "rule_code", "n")):
        yield Row(area, "eligibility.findings", n, dim=status)
        if status == Finding.Status.OPEN:
            yield Row(area, "eligibility.open", n)
            yield Row(area, "eligibility.open_by_rule", n, dim=rule)


def _status_dims():
    from fupin.eligibility.models import Finding

    colours = {"open": "#e0a800", "confirmed": "#c0392b", "dismissed": "#7f8c8d", "corrected": "#2e8b57",
               "cleared": "#95a5a6"}
    return [(code, str(label), colours.get(code, "")) for code, label in Finding.Status.choices]


def _rule_dims():
    from fupin.dashboards.figures import memo
    from fupin.eligibility.models import Finding

    def load():
        names = dict(Finding.objects.order_by().values_list("rule_code", "rule_name").distinct())
        return [(code, name or code, "") for code, name in sorted(names.items())]

    return memo("eligibility.rules", load)


def _url(status: str | None = None, rule: str | None = None) -> str:
    from urllib.parse import urlencode

    query = [(k, v) for k, v in (("status", status), ("rule", rule)) if v]
    return "/comparison/findings/" + (f"?{urlencode(query)}" if query else "")


def figure_provider():
    from fupin.core.extensions import Figure, FigureProvider

    findings = pgettext_lazy("unit", "findings")
    return FigureProvider("eligibility", compute=dashboard_rows, watches=("eligibility.",), order=60, figures=[
        Figure("eligibility.open", gettext_lazy("Comparison findings to verify"), section="quality", unit=findings,
               order=1, column=True, link=lambda area, dim: _url("open"),
               help=gettext_lazy("Department data contradicting a household's registration, awaiting a visit.")),
        Figure("eligibility.findings", gettext_lazy("Comparison findings by status"), section="quality",
               chart="pie", unit=findings, order=2, dims=_status_dims, link=lambda area, dim: _url(dim)),
        Figure("eligibility.open_by_rule", gettext_lazy("Findings to verify by rule"), section="quality",
               chart="hbar", unit=findings, order=3, dims=_rule_dims, link=lambda area, dim: _url("open", dim)),
    ])
