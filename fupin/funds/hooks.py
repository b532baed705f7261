"""What the funds app plugs into the platform: `fupin stats` keys, the nightly overdue step, and (defined in
`fupin.funds.integration`) the household panel, the 明白卡 sections, the lights' condition, the work-order adapter,
map layers and dashboard figures."""

from django.utils.translation import gettext_lazy as _

from fupin.core import extensions as ext
from fupin.core.nightly import nightly_step
from fupin.core.stats import stats_provider


@stats_provider(order=75)
def funds_stats() -> dict:
    from fupin.funds.selectors import stats

    return stats()


@nightly_step("funds.overdue", order=45)
def nightly_overdue(**_kw) -> dict:
    """Days pass: loans fall due. Runs before the lights (order 50), which then show the overdue loans."""
    from fupin.funds.services import mark_overdue

    return mark_overdue()


def _register() -> None:
    from fupin.funds import integration

    ext.register(ext.HouseholdPanel(key="funds", template="funds/_panel.html", fn=integration.panel_context,
                                    order=55))
    ext.register(ext.CardSection(fn=integration.card_credit, order=30))
    ext.register(ext.CardSection(fn=integration.card_projects, order=31))
    ext.register(ext.LightCondition(fn=integration.overdue_conditions,
                                    describe={"loan_overdue": integration.describe_overdue}))
    for item in (*integration.map_extensions(), *integration.dashboard_extensions()):
        ext.register(item)
    ext.register(ext.NeedAdapter(key="funds.loan", fn=integration.loan_need))
    ext.register(ext.HouseholdFact(key="loans", kind="number", label=_("Microcredit loans of the household (refused ones not counted)"),
                                   fn=integration.loans_fact))
    ext.register(ext.RiskSignal(key="loan_overdue", fn=integration.loan_overdue))


_register()


# rows that belong to a household move with it (fupin/core/household_rows.py)
def _declare_household_rows() -> None:
    from fupin.core.household_rows import household_rows

    for label in ("funds.ProjectBeneficiary", "funds.AssetShare", "funds.AssetIncome", "funds.Loan"):
        household_rows(label, "household")
    for label in ("funds.LoanStep", "funds.Repayment", "funds.Subsidy", "funds.CompensationClaim"):
        household_rows(label, "loan__household")


_declare_household_rows()
