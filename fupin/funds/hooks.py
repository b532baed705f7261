"""What the funds app plugs into the platform: `fupin stats` keys, the nightly overdue step, and (through
`fupin.funds.integration`) the household panel, the 明白卡 section, the lights' condition, the work-order adapter,
map layers and dashboard figures."""

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

    integration.register_all()


_register()


# rows that belong to a household move with it (fupin/core/household_rows.py)
def _declare_household_rows() -> None:
    from fupin.core.household_rows import household_rows

    for label in ("funds.ProjectBeneficiary", "funds.AssetShare", "funds.AssetIncome", "funds.Loan"):
        household_rows(label, "household")
    for label in ("funds.LoanStep", "funds.Repayment", "funds.Subsidy", "funds.CompensationClaim"):
        household_rows(label, "loan__household")


_declare_household_rows()
