"""What the dispatch app registers at start-up: stats keys, the nightly escalation, and its contributions to other
apps (the household list's ordering and page's panel, map layers and popups, dashboard figures, the 明白卡's joint
plan)."""

from __future__ import annotations

from fupin.core import extensions as ext
from fupin.core.household_rows import household_rows
from fupin.core.nightly import nightly_step
from fupin.core.stats import stats_provider


@stats_provider(order=80)
def _dispatch_stats() -> dict:
    from django.utils import timezone

    from fupin.dispatch.choices import ReportStatus
    from fupin.dispatch.models import HouseholdPin, JointPlan, MinqingReport, WorkOrder
    from fupin.dispatch.selectors import state_counts
    from fupin.dispatch.services import overdue_q

    return {
        "work_orders": state_counts(WorkOrder.objects.all()),
        "work_orders_overdue": WorkOrder.objects.filter(overdue_q(timezone.now())).count(),
        "pinned_households": HouseholdPin.objects.filter(unpinned_at__isnull=True).count(),
        "joint_plans": JointPlan.objects.count(),
        "minqing_reports": MinqingReport.objects.count(),
        "minqing_answered": MinqingReport.objects.filter(status=ReportStatus.ANSWERED).count(),
    }


@nightly_step("dispatch.escalate", order=60)
def _escalate() -> dict:
    """Overdue work orders escalate to the department head, the town station and then the city office."""
    from fupin.dispatch.services import escalate_overdue

    return escalate_overdue(actor="system")


def _register_with_other_apps() -> None:
    from fupin.dispatch import integration, selectors

    ext.register(ext.HouseholdOrdering(fn=selectors.pinned_first))
    ext.register(ext.HouseholdPanel(key="dispatch", template="dispatch/_household_panel.html",
                                    fn=integration.registry_panel_context, order=60))
    ext.register(ext.CardSection(fn=integration.card_section, order=20))
    for item in (*integration.map_extensions(), *integration.dashboard_extensions()):
        ext.register(item)


_register_with_other_apps()


# rows that belong to a household move with it (fupin/core/household_rows.py)
household_rows("dispatch.WorkOrder", "household", village_field="village")
household_rows("dispatch.HouseholdPin", "household")
household_rows("dispatch.JointPlan", "household")
household_rows("dispatch.JointPlanItem", "plan__household")
household_rows("dispatch.MinqingReport", "household", village_field="village")


def _need_adapters() -> list:
    from fupin.dispatch.services.orders import need_adapters

    return need_adapters()


# work orders made from other apps' needs: the sources dispatch knows by itself
for _adapter in _need_adapters():
    ext.register(_adapter)
