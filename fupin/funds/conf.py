"""Settings of the funds app, read from `settings.FUPIN_FUNDS` (a dict) with these defaults.

    FUPIN_FUNDS = {
        "notice_min_days": 10,          # a notice must stay posted at least this many days (town and village level)
        "notice_before_entry": True,    # a project enters the library only after a finished project notice
        "day_basis": 360,               # daily interest = annual rate / day_basis (Chinese banks' convention)
        "yellow_after_days": 1,         # an overdue loan turns the household's light yellow from this day
        "red_after_days": 30,           # ... and red from this day
        "claim_after_days": 90,         # a compensation claim may be made this many days after the loan fell due
        "extension_max_months": 12,     # 展期: one extension, at most this long
        "max_extensions": 1,
        "renewal_max": 1,               # 续贷: how many times a loan may be renewed in a row
        "one_loan_per_household": True,
        "credit_department": "fupinban",  # the department that gets the work order of an overdue loan
    }

The credit rules themselves (ceiling, term, rates, subsidy share) are dated rows (`CreditRule`) the county edits; the
risk fund's multiple and the bank/fund loss ratio live on each bank's `RiskFund` row.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    "notice_min_days": 10,
    "notice_before_entry": True,
    "day_basis": 360,
    "yellow_after_days": 1,
    "red_after_days": 30,
    "claim_after_days": 90,
    "extension_max_months": 12,
    "max_extensions": 1,
    "renewal_max": 1,
    "one_loan_per_household": True,
    "credit_department": "fupinban",
}


def get(name: str) -> Any:
    return getattr(settings, "FUPIN_FUNDS", {}).get(name, DEFAULTS[name])
