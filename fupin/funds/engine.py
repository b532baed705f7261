"""The micro-credit arithmetic as pure functions (no database inside), shared by the services, the nightly step,
the benchmarks and the tests.

Interest accrues daily on the principal outstanding at the end of each day: a repayment made on day d stops the
interest on what it repaid from day d on. Daily interest = annual rate / 100 / day_basis (360 by the banks'
convention, `FUPIN_FUNDS["day_basis"]`).

    >>> accrued_interest(Decimal(50000), Decimal("4.75"), date(2017, 1, 1), [], "2017Q1", day_basis=360)
    Decimal('593.75')
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal

date = dt.date
CENT = Decimal("0.01")
ONE_DAY = dt.timedelta(days=1)


def money(value) -> Decimal:
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


def period_of(day: dt.date) -> str:
    return f"{day.year}Q{(day.month - 1) // 3 + 1}"


def quarter_bounds(period: str) -> tuple[dt.date, dt.date]:
    """First and last day of a quarter written "2017Q1"."""
    year, q = int(period[:4]), int(period[-1])
    if period[4] != "Q" or not 1 <= q <= 4:
        raise ValueError(period)
    start = dt.date(year, 3 * q - 2, 1)
    end = add_months(start, 3) - dt.timedelta(days=1)
    return start, end


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` later (the month's last day when it is shorter)."""
    m = day.month - 1 + months
    year, month = day.year + m // 12, m % 12 + 1
    import calendar

    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def rate_for(term_months: int, rate_short: Decimal, rate_long: Decimal) -> Decimal:
    """The benchmark rate a term falls under: up to one year, or over one year (up to three)."""
    return rate_short if term_months <= 12 else rate_long


def principal_days(amount: Decimal, disbursed_on: dt.date, repayments: Iterable[tuple[dt.date, Decimal]],
                   start: dt.date, end: dt.date, *, closed_on: dt.date | None = None) -> Decimal:
    """Σ over the days of [start, end] of the principal outstanding that day (yuan·days)."""
    return Decimal(_cent_days(amount, disbursed_on, repayments, start, end, closed_on)) / 100


def _cent_days(amount, disbursed_on, repayments, start, end, closed_on) -> int:
    # whole cents and days: integer arithmetic, exact, and fast enough for every loan of a county each quarter
    first = disbursed_on if disbursed_on > start else start
    last = end if closed_on is None else min(end, closed_on - ONE_DAY)
    if last < first:
        return 0
    total = int(amount * 100) * ((last - first).days + 1)
    for paid_on, principal in repayments:
        if paid_on > last or not principal:
            continue
        total -= int(principal * 100) * ((last - (paid_on if paid_on > first else first)).days + 1)
    return max(total, 0)


def quarter_interest(amount: Decimal, rate: Decimal, disbursed_on: dt.date,
                     repayments: Iterable[tuple[dt.date, Decimal]], start: dt.date, end: dt.date, *,
                     day_basis: int = 360, closed_on: dt.date | None = None) -> Decimal:
    """The interest accrued over [start, end], to the cent."""
    cd = _cent_days(amount, disbursed_on, repayments, start, end, closed_on)
    if not cd:
        return Decimal("0.00")
    return (Decimal(cd) * Decimal(rate) / (10000 * day_basis)).quantize(CENT, rounding=ROUND_HALF_UP)


def quarter_interest_cents(amount_cents: int, rate_milli: int, share_milli: int, disbursed_on: dt.date,
                           repayments_cents: Iterable[tuple[dt.date, int]], start: dt.date, end: dt.date, *,
                           day_basis: int = 360, closed_on: dt.date | None = None) -> tuple[int, int]:
    """(interest, subsidy) in whole cents, rounded half up, from integer inputs: the amount and repayments in cents,
    the annual rate in thousandths of a percent (4.750 % → 4750), the subsidised share in thousandths (1 → 1000).
    The same figures as `quarter_interest` and `subsidy`, in integers only, for a county's loans every quarter."""
    first = disbursed_on if disbursed_on > start else start
    last = end if closed_on is None else min(end, closed_on - ONE_DAY)
    if last < first:
        return 0, 0
    cd = amount_cents * ((last - first).days + 1)
    for paid_on, principal in repayments_cents:
        if paid_on <= last:
            cd -= principal * ((last - (paid_on if paid_on > first else first)).days + 1)
    if cd <= 0:
        return 0, 0
    den = 100_000 * day_basis  # cent·days × rate‰% → cents: / 1000 (milli) / 100 (percent) / day_basis
    interest = (2 * cd * rate_milli + den) // (2 * den)
    return interest, (2 * interest * share_milli + 1000) // 2000


def accrued_interest(amount: Decimal, rate: Decimal, disbursed_on: dt.date,
                     repayments: Iterable[tuple[dt.date, Decimal]], period: str, *, day_basis: int = 360,
                     closed_on: dt.date | None = None) -> Decimal:
    """The interest a loan accrued in a quarter, to the cent."""
    start, end = quarter_bounds(period)
    return quarter_interest(amount, rate, disbursed_on, repayments, start, end, day_basis=day_basis,
                            closed_on=closed_on)


def subsidy(interest: Decimal, share: Decimal) -> Decimal:
    return (interest * share).quantize(CENT, rounding=ROUND_HALF_UP)


def overdue_days(due_on: dt.date | None, outstanding: Decimal, today: dt.date) -> int:
    """Days past the due date with principal still outstanding (0 when not overdue)."""
    if due_on is None or outstanding <= 0 or today <= due_on:
        return 0
    return (today - due_on).days


def light_for_overdue(days: int, *, yellow_after: int, red_after: int) -> str | None:
    """The colour an overdue loan gives its household: yellow from `yellow_after` days, red from `red_after`."""
    if days >= red_after:
        return "red"
    if days >= yellow_after:
        return "yellow"
    return None


def lending_limit(balance: Decimal, multiple: Decimal) -> Decimal:
    return money(Decimal(balance) * Decimal(multiple))


def split_loss(loss: Decimal, bank_share: Decimal) -> tuple[Decimal, Decimal]:
    """(bank's part, fund's part) of a loss; the fund's part is rounded, the bank bears the rest."""
    fund = money(Decimal(loss) * (Decimal(1) - Decimal(bank_share)))
    return money(Decimal(loss) - fund), fund


def schedule(amount: Decimal, rate: Decimal, disbursed_on: dt.date, term_months: int, *, day_basis: int = 360
             ) -> list[dict]:
    """The repayment plan of 扶贫小额信贷 as the banks lend it: interest at each quarter's end (按季付息), the
    principal at maturity (到期还本), with the interest each instalment is expected to carry."""
    due = add_months(disbursed_on, term_months)
    rows = []
    cursor = disbursed_on
    while True:
        _, q_end = quarter_bounds(period_of(cursor))
        end = min(q_end, due - dt.timedelta(days=1))
        days = (end - cursor).days + 1
        interest = money(Decimal(amount) * days * Decimal(rate) / Decimal(100) / Decimal(day_basis))
        last = end >= due - dt.timedelta(days=1)
        rows.append({"due_on": due if last else end, "principal": money(amount) if last else Decimal("0.00"),
                     "interest": interest})
        if last:
            return rows
        cursor = end + dt.timedelta(days=1)
