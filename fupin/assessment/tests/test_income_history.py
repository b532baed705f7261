"""The income history (one row per household and year) and the income-drop signal of return-to-poverty monitoring:
an alert when a watched household's per-capita income falls by the configured share or below the year's line."""

import datetime as dt
from decimal import Decimal

import pytest

from fupin.assessment import services
from fupin.assessment.models import IncomeYear, RiskAlert
from fupin.assessment.signals import income_drop
from fupin.assessment.tests.conftest import poor
from fupin.core.errors import ServiceError
from fupin.core.testing import make_household
from fupin.registry.models import Household, PovertyLine

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 6, 15)


def _with_income(hh, year, per_capita):
    """The registry's current income year, as a survey leaves it."""
    Household.objects.filter(pk=hh.pk).update(income_year=year, per_capita_net_income=Decimal(per_capita),
                                              net_income=Decimal(per_capita) * hh.size)
    hh.refresh_from_db()
    return hh


@pytest.fixture
def watched(county, frozen):
    PovertyLine.objects.create(year=2025, amount=Decimal("4000"))
    va1 = county["va1"]
    return {
        "drop": _with_income(poor(va1, head="降甲", poverty_status="1"), 2025, "5000"),  # exited
        "small": _with_income(poor(va1, head="稳乙", poverty_status="1"), 2025, "7500"),
        "below": _with_income(make_household(va1, head="边丙"), 2025, "3900"),  # near-poor, not registered
        "rise": _with_income(poor(va1, head="增丁", poverty_status="1"), 2025, "9000"),
        "one_year": _with_income(poor(va1, head="新戊", poverty_status="1"), 2025, "2000"),
        "still_poor": _with_income(poor(va1, head="贫己"), 2025, "1500"),  # under assistance, not watched
    }


def _history(w):
    services.income_history_record(actor="test")
    for key, before in (("drop", "10000"), ("small", "8000"), ("below", "4300"), ("rise", "8000"),
                        ("still_poor", "9000")):
        services.income_year_set(actor="test", household=w[key], year=2024, per_capita=before)


def test_history_keeps_one_row_per_household_and_year(watched):
    stats = services.income_history_record(actor="test")
    assert stats == {"new": 6, "changed": 0}
    assert services.income_history_record(actor="test") == {"new": 0, "changed": 0}
    _with_income(watched["drop"], 2025, "5100")  # a correction of the same year replaces it
    assert services.income_history_record(actor="test") == {"new": 0, "changed": 1}
    _with_income(watched["drop"], 2026, "5200")  # the next year's survey adds a row
    assert services.income_history_record(actor="test") == {"new": 1, "changed": 0}
    assert list(IncomeYear.objects.filter(household=watched["drop"]).values_list("year", "per_capita_net_income")) \
        == [(2026, Decimal("5200.00")), (2025, Decimal("5100.00"))]


def test_drop_by_share_or_below_the_line_raises_one_alert_each(watched, settings):
    settings.FUPIN_MONITOR_INCOME_DROP = "0.3"
    _history(watched)
    found = {s.household_id: s for s in income_drop(TODAY)}
    # 10,000 → 5,000 is a 50 % drop; 4,300 → 3,900 is 9 % but crosses the 4,000 line; 8,000 → 7,500 is 6 %
    assert set(found) == {watched["drop"].pk, watched["below"].pk}
    assert found[watched["drop"].pk].evidence["降幅"] == "50.0%"
    assert "低于2025年扶贫标准" in found[watched["below"].pk].detail
    stats = services.risk_scan(actor="test", today=TODAY)
    assert RiskAlert.objects.filter(signal="income_drop").count() == 2
    assert services.risk_scan(actor="test", today=TODAY)["new"] == 0 < stats["new"]  # one alert per year


def test_the_share_is_a_setting(watched, settings):
    _history(watched)
    settings.FUPIN_MONITOR_INCOME_DROP = "0.05"
    assert {s.household_id for s in income_drop(TODAY)} == {watched["drop"].pk, watched["below"].pk,
                                                            watched["small"].pk}
    settings.FUPIN_MONITOR_INCOME_DROP = "not a number"  # a bad setting falls back to 30 %, never crashes
    assert {s.household_id for s in income_drop(TODAY)} == {watched["drop"].pk, watched["below"].pk}


def test_a_hand_entered_year_is_checked_scoped_and_kept(watched, village_b_user):
    with pytest.raises(ServiceError, match="管辖"):
        services.income_year_set(actor=village_b_user, household=watched["drop"], year=2024, per_capita="9000")
    for bad in ("abc", "-5", "NaN", "1e20"):
        with pytest.raises(ServiceError):
            services.income_year_set(actor="test", household=watched["drop"], year=2024, per_capita=bad)
    with pytest.raises(ServiceError, match="年份"):
        services.income_year_set(actor="test", household=watched["drop"], year=1900, per_capita="9000")
    services.income_year_set(actor="test", household=watched["drop"], year=2025, per_capita="9000")
    services.income_history_record(actor="test")  # the registry copy does not overwrite the office's figure
    assert IncomeYear.objects.get(household=watched["drop"], year=2025).per_capita_net_income == Decimal("9000")
    assert not IncomeYear.objects.filter(household__in=[watched["drop"]], source="registry").exists()
