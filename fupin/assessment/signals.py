"""The built-in risk signals of return-to-poverty monitoring (防返贫监测). Each is a registered provider
(`services.signal_provider`), so another app adds its own (the funds app: an overdue loan) the same way.

Watched households: exited registered households, monitored households and households that are not registered
(the near-poor); households still poor are already under assistance. Thresholds not found in the sources are
settings: FUPIN_MONITOR_MEDICAL_SELF_PAY (yuan, default 10,000), FUPIN_MONITOR_INCOME_DROP (the share by which a
year's per-capita income falling from the year before raises an alert, default 0.3) and the income threshold
(IncomeThreshold of the year, else 1.5 × the poverty line, the 2020 rule quoted in docs/domain.md).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.db.models import Q

from fupin.assessment.services import Signal, signal_provider

POOR_STATUSES = ("0", "3", "未脱贫", "返贫")
LABOUR = ("1", "2", "普通劳动力", "技能劳动力")


def _watched():
    from fupin.registry.models import Household

    return Household.objects.filter(dissolved_on__isnull=True).exclude(
        Q(is_registered_poor=True) & Q(poverty_status__in=POOR_STATUSES) & Q(monitoring_category=""))


def income_threshold(year: int) -> Decimal | None:
    from fupin.assessment.models import IncomeThreshold
    from fupin.registry.models import PovertyLine

    t = IncomeThreshold.objects.filter(year__lte=year).order_by("-year").first()
    if t is not None:
        return t.amount
    line = PovertyLine.objects.filter(year__lte=year).order_by("-year").first()
    return (line.amount * Decimal("1.5")).quantize(Decimal("0.01")) if line else None


@signal_provider("income_below_threshold")
def income_below(today: dt.date) -> list[Signal]:
    threshold = income_threshold(today.year)
    if threshold is None:
        return []
    # only households whose income was surveyed (an income year): the registry keeps 0 for the others
    rows = _watched().filter(income_year__isnull=False, per_capita_net_income__lt=threshold).values_list(
        "id", "per_capita_net_income")
    return [Signal(hid, f"income:{hid}:{today.year}", "income", f"人均纯收入{inc}元,低于监测标准{threshold}元",
                   {"人均纯收入": str(inc), "监测标准": str(threshold)}) for hid, inc in rows]


def income_drop_share() -> Decimal:
    try:
        share = Decimal(str(getattr(settings, "FUPIN_MONITOR_INCOME_DROP", "0.3")))
    except ArithmeticError:
        share = Decimal("0.3")
    return share if Decimal(0) < share < Decimal(1) else Decimal("0.3")


@signal_provider("income_drop")
def income_drop(today: dt.date) -> list[Signal]:
    """A watched household whose per-capita income of its latest year fell from the year before it by at least the
    configured share, or fell below that year's poverty line: the income history (IncomeYear), two reads."""
    from fupin.assessment.models import IncomeYear
    from fupin.registry.models import PovertyLine

    share = income_drop_share()
    lines = dict(PovertyLine.objects.values_list("year", "amount"))
    latest: dict[int, list] = {}
    for hid, year, pc in (IncomeYear.objects.filter(household__in=_watched()).order_by("household_id", "-year")
                          .values_list("household_id", "year", "per_capita_net_income")):
        rows = latest.setdefault(hid, [])
        if len(rows) < 2:
            rows.append((year, pc))
    out = []
    for hid, rows in latest.items():
        if len(rows) < 2:
            continue
        (year, now), (before_year, before) = rows
        if before is None or now is None or before <= 0 or now >= before:
            continue
        drop = (before - now) / before
        line = lines.get(year)
        below = line is not None and now < line <= before
        if drop < share and not below:
            continue
        why = f"低于{year}年扶贫标准{line}元" if below else f"下降{drop * 100:.0f}%"
        out.append(Signal(hid, f"income_drop:{hid}:{year}", "income_drop",
                          f"人均纯收入由{before_year}年{before}元降至{year}年{now}元,{why}",
                          {f"{before_year}年人均纯收入": str(before), f"{year}年人均纯收入": str(now),
                           "降幅": f"{drop * 100:.1f}%", "预警降幅": f"{share * 100:.0f}%",
                           "扶贫标准": str(line) if line is not None else ""}))
    return out


def _linked(source: str):
    """(person, record data) of the current snapshot's records of a source linked to members of watched households."""
    from fupin.exchange.models import RecordLink, StagedRecord

    links = RecordLink.objects.filter(source_code=source, person__household__in=_watched()).values_list(
        "person_id", "person__household_id", "person__name", "record_id")
    links = list(links)
    data = dict(StagedRecord.objects.filter(pk__in=[r for *_x, r in links], snapshot__is_current=True)
                .values_list("pk", "data"))
    return [(pid, hid, name, data[rid]) for pid, hid, name, rid in links if rid in data]


def _money(value) -> float:
    try:
        return float(str(value).replace(",", "").replace("元", "").strip())
    except ValueError:
        return 0.0


@signal_provider("large_medical_expense")
def large_medical(today: dt.date) -> list[Signal]:
    limit = float(getattr(settings, "FUPIN_MONITOR_MEDICAL_SELF_PAY", 10000))
    totals: dict[int, float] = {}
    for _pid, hid, _name, d in _linked("medical"):
        totals[hid] = totals.get(hid, 0.0) + _money(d.get("自付") or d.get("个人自付") or 0)
    return [Signal(hid, f"medical:{hid}:{today.year}", "medical", f"医疗费用个人自付{total:.0f}元,超过{limit:.0f}元",
                   {"自付合计": f"{total:.2f}", "标准": f"{limit:.0f}"})
            for hid, total in totals.items() if total > limit]


@signal_provider("new_disability")
def new_disability(today: dt.date) -> list[Signal]:
    from fupin.registry.models import Person

    out = []
    missing = set(Person.objects.filter(disability_card="").values_list("pk", flat=True))
    for pid, hid, name, d in _linked("disability"):
        if pid in missing:
            out.append(Signal(hid, f"disability:{pid}", "disability", f"{name}新办残疾人证",
                              {"成员": name, "残疾类别": str(d.get("残疾类别", "")),
                               "残疾等级": str(d.get("残疾等级", ""))}))
    return out


@signal_provider("labourer_death_or_illness")
def labourer_loss(today: dt.date) -> list[Signal]:
    from fupin.registry.models import Person

    since = today - dt.timedelta(days=365)
    out = []
    rows = Person.objects.filter(household__in=_watched(), labour_skill__in=LABOUR).filter(
        Q(is_alive=False, death_date__gte=since) | Q(is_alive=True)).values_list(  # health is sealed: read below
        "pk", "household_id", "name", "is_alive", "health")
    for pid, hid, name, alive, health in rows:
        if alive and "3" not in (health or []):
            continue
        what = "患大病" if alive else "去世"
        out.append(Signal(hid, f"labour:{pid}:{'ill' if alive else 'dead'}", "labour", f"主要劳动力{name}{what}",
                          {"成员": name, "情况": what}))
    return out
