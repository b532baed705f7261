"""What the procedures register at start-up, and the readers of the three extension points they offer
(declared in fupin/core/extensions.py):

- `lifecycle.assessment` (`extensions.ProcedureAssessment`): fn(household) -> dict | None, the household's scores
  shown and kept at the visit step (the comparison fills it). Dict keys: `label`, `score`, `items` (list of
  {"label", "value"}), optional `url`.
- `lifecycle.findings` (`extensions.ProcedureFindings`): fn(household) -> list[dict] | None, department comparison
  findings for the comparison step. None means "this provider has no data for the household"; each finding is
  {"source", "label", "detail"}.
- `lifecycle.card_section` (`extensions.CardSection`): fn(household) -> dict | None, a section of the household's
  明白卡 (assistance card): {"key": "cadre" | "plan" | "policies" | ..., "title", "rows": [(label, value), ...]}. A
  missing key leaves the card's blank lines for that section.

The household page (registry) shows this app's panel (`lifecycle/_household_panel.html`): its procedures with every
step, actor and file, what may be started, and the 明白卡 link.
"""

from __future__ import annotations

from collections.abc import Callable

from fupin.core import extensions as ext
from fupin.core.household_rows import household_rows
from fupin.core.stats import stats_provider
from fupin.lifecycle import map_and_dashboards


def assessment_providers() -> list[Callable]:
    return [r.fn for r in ext.registered("lifecycle.assessment")]


def findings_providers() -> list[Callable]:
    return [r.fn for r in ext.registered("lifecycle.findings")]


def card_sections() -> list[Callable]:
    return [r.fn for r in ext.registered("lifecycle.card_section")]


# compatibility for registrations written before the extension registry (move them to ext.register)
def register_assessment_provider(fn: Callable) -> Callable:
    ext.register(ext.ProcedureAssessment(fn=fn))
    return fn


def register_findings_provider(fn: Callable) -> Callable:
    ext.register(ext.ProcedureFindings(fn=fn))
    return fn


def register_card_section(fn: Callable) -> Callable:
    ext.register(ext.CardSection(fn=fn))
    return fn


def _household_panel(request, household) -> dict | None:
    from fupin.lifecycle.views import panel_context

    return panel_context(request, household)


ext.register(ext.HouseholdPanel(key="lifecycle", template="lifecycle/_household_panel.html", fn=_household_panel,
                                order=30))


@stats_provider(order=40)
def _open_procedures() -> dict:
    from django.db.models import Count

    from fupin.lifecycle.choices import Status
    from fupin.lifecycle.models import Procedure

    rows = Procedure.objects.filter(status=Status.OPEN).values("kind").annotate(n=Count("id"))
    return {"open_procedures_by_kind": {r["kind"]: r["n"] for r in rows}}


ext.register(ext.FigureProvider("lifecycle", compute=map_and_dashboards.dashboard_rows,
                                figures=map_and_dashboards.figures(), watches=("lifecycle.",), order=30))


# rows that belong to a household move with it (fupin/core/household_rows.py)
household_rows("lifecycle.Procedure", "household", village_field="village")
household_rows("lifecycle.ProcedureStep", "procedure__household")
household_rows("lifecycle.StepAttachment", "step__procedure__household")
