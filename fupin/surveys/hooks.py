"""Start-up registrations of the collection forms: stats keys and the household page's panel."""

from __future__ import annotations

from django.utils.translation import gettext

from fupin.core import extensions as ext
from fupin.core.household_rows import household_rows
from fupin.core.stats import stats_provider


@stats_provider(order=70)
def _form_stats() -> dict:
    from fupin.surveys.models import Form, Response

    return {"form_responses": Response.objects.count(), "forms": Form.objects.count()}


def _household_panel(request, household) -> dict | None:
    from fupin.surveys import selectors, services
    from fupin.surveys.models import Form, Level

    forms = [f for f in Form.objects.filter(level=Level.HOUSEHOLD) if services.current_version(f)]
    may_fill = request.user.can("edit") and request.user.may_view_full_id
    return {"panel_title": gettext("Collection forms"), "responses": selectors.household_responses(request.user, household),
            "fill_forms": forms if may_fill else []}


ext.register(ext.HouseholdPanel(key="surveys", template="surveys/_household_panel.html", fn=_household_panel,
                                order=45))


# rows that belong to a household move with it (fupin/core/household_rows.py)
household_rows("surveys.Response", "household", village_field="division")
