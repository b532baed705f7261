"""Extension points of the procedures, filled by later capabilities, and what this app registers at start-up.

- `register_assessment_provider(fn)`: fn(household) -> dict | None, the household's scores shown and kept at the
  visit step (the eligibility rules capability fills it). Dict keys: `label`, `score`, `items` (list of
  {"label", "value"}), optional `url`.
- `register_findings_provider(fn)`: fn(household) -> list[dict] | None, department comparison findings for the
  comparison step (the data-exchange capability fills it). None means "this provider has no data for the household";
  each finding is {"source", "label", "detail"}.
The household page (registry) shows this app's panel (`lifecycle/_household_panel.html`): its procedures with every
step, actor and file, what may be started, and the 明白卡 link.

- `register_card_section(fn)`: fn(household) -> dict | None, a section of the household's 明白卡 (assistance card):
  {"key": "cadre" | "plan" | "policies" | ..., "title", "rows": [(label, value), ...]}. A missing key leaves the
  card's blank lines for that section.
"""

from __future__ import annotations

from collections.abc import Callable

from fupin.core.household_rows import household_rows
from fupin.core.stats import stats_provider
from fupin.registry.panels import register_panel

_ASSESSMENT: list[Callable] = []
_FINDINGS: list[Callable] = []
_CARD_SECTIONS: list[Callable] = []


def register_assessment_provider(fn: Callable) -> Callable:
    if fn not in _ASSESSMENT:
        _ASSESSMENT.append(fn)
    return fn


def register_findings_provider(fn: Callable) -> Callable:
    if fn not in _FINDINGS:
        _FINDINGS.append(fn)
    return fn


def register_card_section(fn: Callable) -> Callable:
    if fn not in _CARD_SECTIONS:
        _CARD_SECTIONS.append(fn)
    return fn


def assessment_providers() -> list[Callable]:
    return list(_ASSESSMENT)


def findings_providers() -> list[Callable]:
    return list(_FINDINGS)


def card_sections() -> list[Callable]:
    return list(_CARD_SECTIONS)


def _household_panel(request, household) -> dict | None:
    from fupin.lifecycle.views import panel_context

    return panel_context(request, household)


register_panel("lifecycle/_household_panel.html", _household_panel, order=30)


@stats_provider(order=40)
def _open_procedures() -> dict:
    from django.db.models import Count

    from fupin.lifecycle.choices import Status
    from fupin.lifecycle.models import Procedure

    rows = Procedure.objects.filter(status=Status.OPEN).values("kind").annotate(n=Count("id"))
    return {"open_procedures_by_kind": {r["kind"]: r["n"] for r in rows}}


def _register_map_and_dashboards() -> None:
    """The battle map's layers and the dashboards' figures (see fupin/lifecycle/map_and_dashboards.py)."""
    from fupin.lifecycle import map_and_dashboards

    map_and_dashboards.register_all()


_register_map_and_dashboards()


# rows that belong to a household move with it (fupin/core/household_rows.py)
household_rows("lifecycle.Procedure", "household", village_field="village")
household_rows("lifecycle.ProcedureStep", "procedure__household")
household_rows("lifecycle.StepAttachment", "step__procedure__household")
