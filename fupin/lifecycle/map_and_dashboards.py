"""What the procedures add to the dashboards (registered by `fupin.lifecycle.hooks`):
the pipeline of open procedures of each kind by step, open procedures by kind, completed ones by kind, and the poor
villages that exited (出列, a completed village-exit procedure)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy, pgettext_lazy


def dashboard_rows(ctx):
    from django.db.models import Count

    from fupin.core.extensions import Row
    from fupin.lifecycle.choices import Kind, Status
    from fupin.lifecycle.models import Procedure

    for area, kind, step, n in (Procedure.objects.filter(status=Status.OPEN).order_by()
                                .values("area_code", "kind", "current_step").annotate(n=Count("id"))
                                .values_list("area_code", "kind", "current_step", "n")):
        yield Row(area, "lifecycle.open", n, dim=kind)
        yield Row(area, f"lifecycle.pipeline.{kind}", n, dim=step)
    for area, kind, n in (Procedure.objects.filter(status=Status.COMPLETED).order_by()
                          .values("area_code", "kind").annotate(n=Count("id")).values_list("area_code", "kind", "n")):
        yield Row(area, "lifecycle.completed", n, dim=kind)
    exited = (Procedure.objects.filter(kind=Kind.VILLAGE_EXIT, status=Status.COMPLETED, village__is_poor_village=True)
              .order_by().values_list("village__code", flat=True).distinct())
    for code in exited:
        yield Row(code, "lifecycle.villages_exited", 1)


def _kind_dims():
    from fupin.lifecycle.definitions import PROCEDURES

    return [(kind, str(pdef.label), "") for kind, pdef in PROCEDURES.items()]


def _step_dims(kind: str):
    def dims():
        from fupin.lifecycle.definitions import PROCEDURES

        return [(s.code, str(s.label), "") for s in PROCEDURES[kind].steps]

    return dims


def _url(area: str, **params) -> str:
    from urllib.parse import urlencode

    query = [("division", area)] if area else []
    query += [(k, str(v)) for k, v in params.items() if v not in (None, "")]
    return "/procedures/" + (f"?{urlencode(query)}" if query else "")


def figures() -> list:
    """The figures of the procedures: one pipeline per kind of procedure besides the totals."""
    from fupin.core.extensions import Figure
    from fupin.lifecycle.definitions import PROCEDURES

    procedures = pgettext_lazy("unit", "procedures")
    figures = [
        Figure("lifecycle.open", gettext_lazy("Procedures in progress by kind"), section="lifecycle", chart="bar",
               unit=procedures, order=1, dims=_kind_dims, link=lambda area, dim: _url(area, kind=dim)),
        Figure("lifecycle.completed", gettext_lazy("Procedures completed by kind"), section="lifecycle",
               chart="table", unit=procedures, order=90, dims=_kind_dims, higher_is_worse=False,
               link=lambda area, dim: _url(area, kind=dim, status="completed")),
        Figure("lifecycle.villages_exited", gettext_lazy("Poor villages exited"), section="villages",
               unit=gettext_lazy("villages"), order=45, higher_is_worse=False,
               link=lambda area, dim: _url(area, kind="village_exit", status="completed")),
    ]
    for i, (kind, pdef) in enumerate(PROCEDURES.items()):
        figures.append(Figure(
            f"lifecycle.pipeline.{kind}", pdef.label, section="lifecycle", chart="bar", unit=procedures,
            order=10 + i, dims=_step_dims(kind), zeros=True,
            link=lambda area, dim, kind=kind: _url(area, kind=kind, step=dim)))
    return figures
