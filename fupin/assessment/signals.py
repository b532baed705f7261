"""The built-in risk signals of return-to-poverty monitoring (防返贫监测). Each is a registered provider
(`services.signal_provider`), so another app adds its own (the funds app: an overdue loan) the same way.

Watched households: exited registered households, monitored households and households that are not registered
(the near-poor); households still poor are already under assistance. Figures not found in the sources are
settings: FUPIN_MONITOR_SERIOUS_DISEASES (the diagnoses counted as serious illness), FUPIN_MONITOR_INCOME_DROP (the
share by which a year's per-capita income falling from the year before raises an alert, default 0.3) and the income
threshold
(IncomeThreshold of the year, else 1.5 × the poverty line, the 2020 rule quoted in docs/domain.md).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.db.models import Q

from fupin.assessment.choices import INCOME_SURVEY
from fupin.assessment.services import Signal, signal_provider

POOR_STATUSES = ("0", "3", "未脱贫", "返贫")
LABOUR = ("1", "2", "普通劳动力", "技能劳动力")
# the diseases of the national programme for the rural poor's serious illnesses (农村贫困人口大病专项救治, 2017: 9,
# widened in 2018) as far as found, with 尿毒症 for 终末期肾病 as extracts write it (白内障, also in the programme, is
# a one-off operation, not a loss of labour); a county replaces the list with FUPIN_MONITOR_SERIOUS_DISEASES
SERIOUS_DISEASES = ("儿童白血病", "儿童先天性心脏病", "食管癌", "胃癌", "结肠癌", "直肠癌", "终末期肾病", "尿毒症",
                    "重性精神病", "耐多药肺结核", "肺癌", "肝癌", "乳腺癌", "宫颈癌", "急性心肌梗死", "尘肺",
                    "神经母细胞瘤", "儿童淋巴瘤", "骨肉瘤", "血友病", "地中海贫血", "唇腭裂", "尿道下裂",
                    "艾滋病机会性感染")


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


def _current_snapshot(source: str):
    from fupin.exchange.models import Snapshot

    return Snapshot.objects.filter(source__code=source, is_current=True).order_by("-pk").first()


def _linked(source: str):
    """(person, household, name, record data) of the current snapshot's records of a source linked to members of
    watched households."""
    from fupin.exchange.models import RecordLink, StagedRecord

    snap = _current_snapshot(source)
    if snap is None:
        return []
    links = list(RecordLink.objects.filter(source_code=source, snapshot=snap, person__household__in=_watched())
                 .values_list("person_id", "person__household_id", "person__name", "record_id"))
    data = dict(StagedRecord.objects.filter(pk__in=[r for *_x, r in links], snapshot=snap).values_list("pk", "data"))
    return [(pid, hid, name, data[rid]) for pid, hid, name, rid in links if rid in data]


def _money(value) -> float:
    try:
        return float(str(value).replace(",", "").replace("元", "").strip())
    except ValueError:
        return 0.0


def surveyed_incomes(household_ids: list[int]) -> dict[int, tuple[int, Decimal]]:
    """household → (year, per-capita net income) of its latest surveyed income: the registry's income year, else
    the latest year of the income history (a year the office entered, e.g. after an income-survey task)."""
    from fupin.assessment.models import IncomeYear
    from fupin.registry.models import Household

    out: dict[int, tuple[int, Decimal]] = {}
    for hid, year, pc in IncomeYear.objects.filter(household_id__in=household_ids).order_by("household_id", "year") \
            .values_list("household_id", "year", "per_capita_net_income"):
        if pc is not None:
            out[hid] = (year, pc)  # ascending years: the latest stays
    for hid, year, pc in Household.objects.filter(pk__in=household_ids, income_year__isnull=False).values_list(
            "pk", "income_year", "per_capita_net_income"):
        if pc is not None and (hid not in out or year >= out[hid][0]):
            out[hid] = (year, pc)
    return out


@signal_provider("large_medical_expense", signal="medical", version=3)
def large_medical(today: dt.date) -> list[Signal]:
    """Medical self-payments (the current medical extract, summed per household) that leave a watched household
    below the monitoring threshold (version 3): the household's surveyed per-capita income was at or above the
    threshold and, less the self-payment per member, is below it (a household already below is raised by the
    income signal). A household whose income was never surveyed and whose self-payment per member reaches the
    threshold gets an income-survey task (`INCOME_SURVEY`), not an alert: whether it falls below the threshold
    depends on an income nobody has measured; once the income is recorded the next scan decides on it. Version 2
    raised those households as alerts; version 1 raised every self-payment over 10,000 yuan, whatever the income."""
    from fupin.registry.models import Household

    threshold = income_threshold(today.year)
    if threshold is None:
        return []
    t = float(threshold)
    totals: dict[int, float] = {}
    for _pid, hid, _name, d in _linked("medical"):
        totals[hid] = totals.get(hid, 0.0) + max(0.0, _money(d.get("自付") or d.get("个人自付") or 0))
    billed = [h for h, v in totals.items() if v > 0]
    sizes = dict(Household.objects.filter(pk__in=billed).values_list("pk", "size"))
    incomes = surveyed_incomes(billed)
    out = []
    for hid in billed:
        if hid not in sizes:
            continue
        total = totals[hid]
        members = max(int(sizes[hid] or 0), 1)
        per_member = total / members
        evidence = {"自付合计": f"{total:.2f}", "家庭人口": str(members), "监测标准": str(threshold), "规则版本": "3"}
        if hid in incomes:
            year, pc = incomes[hid]
            before = float(pc)
            after = before - per_member
            if not (before >= t > after):
                continue
            detail = f"医疗费用个人自付{total:.0f}元,扣除后人均纯收入{after:.0f}元,低于监测标准{t:.0f}元"
            evidence |= {"收入年度": str(year), "人均纯收入": f"{before:.2f}", "扣除自付后人均": f"{after:.2f}"}
            out.append(Signal(hid, f"medical:{hid}:{today.year}", "medical", detail, evidence))
        elif per_member >= t:
            detail = f"医疗费用个人自付{total:.0f}元,人均{per_member:.0f}元,收入未调查:请入户调查收入"
            evidence |= {"人均自付": f"{per_member:.2f}", "原因": "医疗费用个人自付较大"}
            out.append(Signal(hid, f"{INCOME_SURVEY}:{hid}:{today.year}", INCOME_SURVEY, detail, evidence))
    return out


@signal_provider("new_disability", signal="disability", version=2)
def new_disability(today: dt.date) -> list[Signal]:
    """A member of a watched household newly certified disabled (version 2): linked to a record of the current
    disability extract, absent from the extract before it (neither linked there nor by ID number) and not already
    recorded as disabled in the registry. The first extract of the source is the baseline: with no earlier one,
    nothing is new. Version 1 raised every linked card holder the registry lacked a card number for."""
    from fupin.exchange.models import RecordLink, Snapshot, StagedRecord
    from fupin.registry.models import Person

    current = _current_snapshot("disability")
    if current is None:
        return []
    before = (Snapshot.objects.filter(source__code="disability", is_current=False, pk__lt=current.pk)
              .order_by("-pk").first())
    if before is None:
        return []
    linked = _linked("disability")
    if not linked:
        return []
    known_people = set(RecordLink.objects.filter(snapshot=before).values_list("person_id", flat=True))
    known_ids = set(StagedRecord.objects.filter(snapshot=before).exclude(id_number="")
                    .values_list("id_number", flat=True))
    pids = {pid for pid, *_x in linked}
    facts = {pk: (id_no, category, grade) for pk, id_no, category, grade in Person.objects.filter(pk__in=pids)
             .values_list("pk", "id_number", "disability_category", "disability_grade")}
    out = []
    for pid, hid, name, d in linked:
        id_no, category, grade = facts.get(pid, ("", "", None))
        if pid in known_people or (id_no and id_no in known_ids) or category or grade:
            continue
        out.append(Signal(hid, f"disability:{pid}", "disability", f"{name}新办残疾人证",
                          {"成员": name, "残疾类别": str(d.get("残疾类别", "")), "残疾等级": str(d.get("残疾等级", "")),
                           "上期数据": before.file_name, "本期数据": current.file_name, "规则版本": "2"}))
    return out


def serious_diseases() -> set[str]:
    """Diagnoses of the medical extract that count as a serious illness (大病): FUPIN_MONITOR_SERIOUS_DISEASES."""
    return set(getattr(settings, "FUPIN_MONITOR_SERIOUS_DISEASES", SERIOUS_DISEASES))


@signal_provider("labourer_death_or_illness", signal="labour", version=2)
def labourer_loss(today: dt.date) -> list[Signal]:
    """A full labourer (普通 or 技能劳动力) of a watched household who died in the last 12 months, or who is in the
    current medical extract with a serious disease (version 2: the illness of the period, from the health
    department's data). Version 1 raised every living labourer marked 患有大病 in the registry, an illness known
    at registration and already in the household's plan."""
    from fupin.registry.models import Person

    since = today - dt.timedelta(days=365)
    out = []
    dead = Person.objects.filter(household__in=_watched(), labour_skill__in=LABOUR, is_alive=False,
                                 death_date__gte=since, death_date__lte=today)
    for pid, hid, name, died in dead.values_list("pk", "household_id", "name", "death_date"):
        out.append(Signal(hid, f"labour:{pid}:dead", "labour", f"主要劳动力{name}去世",
                          {"成员": name, "情况": "去世", "死亡日期": str(died), "规则版本": "2"}))
    serious = serious_diseases()
    ill = {pid: d for pid, _hid, _name, d in _linked("medical") if str(d.get("病种", "")).strip() in serious}
    labourers = Person.objects.filter(pk__in=ill, labour_skill__in=LABOUR, is_alive=True)
    for pid, hid, name in labourers.values_list("pk", "household_id", "name"):
        disease = str(ill[pid].get("病种", "")).strip()
        out.append(Signal(hid, f"labour:{pid}:ill", "labour", f"主要劳动力{name}患大病({disease})",
                          {"成员": name, "情况": "患大病", "病种": disease, "规则版本": "2"}))
    return out
