"""What assessment and screening plug into the platform: `fupin stats` keys, nightly steps (policy matching and
risk signals), the built-in risk signal providers, household-page panel and 明白卡 lines, map and dashboards."""

from fupin.core import extensions as ext
from fupin.core.nightly import nightly_step
from fupin.core.stats import stats_provider


@stats_provider(order=75)
def assessment_stats() -> dict:
    from fupin.assessment.selectors import stats

    return stats()


@nightly_step("assessment.policy_match", order=60)
def nightly_policy_match(**_kw) -> dict:
    """Households and receipts change: re-match policies (opens new gaps, closes received ones)."""
    from fupin.assessment.services import policy_match

    return policy_match(actor="nightly")


@nightly_step("assessment.risk_scan", order=61)
def nightly_risk_scan(**_kw) -> dict:
    """New department data or incomes: keep this year's incomes in the income history, then raise
    return-to-poverty alerts for the village teams."""
    from fupin.assessment.services import income_history_record, risk_scan

    return {"incomes": income_history_record(actor="nightly"), **risk_scan(actor="nightly")}


def _register() -> None:
    from fupin.assessment import integration, signals  # noqa: F401 - signals registers the built-in providers

    ext.register(ext.HouseholdPanel(key="assessment", fn=integration.household_panel, order=45))
    ext.register(ext.CardSection(fn=integration.card_gaps, order=40))
    for item in integration.extensions():
        ext.register(item)


_register()


# rows that belong to a household move with it (fupin/core/household_rows.py)
def _declare_household_rows() -> None:
    from fupin.core.household_rows import household_rows

    for label in ("assessment.FieldCheck", "assessment.PolicyGap", "assessment.KinshipFlag", "assessment.RiskAlert",
                  "assessment.IncomeYear"):
        household_rows(label, "household")


_declare_household_rows()
