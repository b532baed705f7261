"""Synthetic residents: households of plausible make-up, valid ID numbers, and the 建档立卡 details of poor households.

Pure functions of a `random.Random` (no database): the same generator state gives the same people, which is what
makes `seed_demo --seed N` reproducible. Ages are as of the demo's reference date, the end of 2016.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from decimal import Decimal

from fupin.core import idnumber
from fupin.demo.names import SurnamePool, full_name

REF_YEAR = 2016
POVERTY_LINE = 2952  # yuan per person, 2016 (fupin.registry.codes.POVERTY_LINES)
_JAN1 = {y: dt.date(y, 1, 1).toordinal() for y in range(1900, REF_YEAR + 1)}


class IdAllocator:
    """Valid GB 11643 numbers for one area code, never the same twice (sequence parity gives the sex)."""

    def __init__(self, area: str):
        self.area = area
        self.used: set[str] = set()

    def allocate(self, rng: random.Random, birth: dt.date, sex: str) -> str:
        ymd = f"{birth.year:04d}{birth.month:02d}{birth.day:02d}"
        odd = 1 if sex == "1" else 0
        for _ in range(2000):
            seq = rng.randrange(1, 500) * 2 - 1 + (0 if odd else 1)  # odd 1..997 for men, even 2..998 for women
            body = f"{self.area}{ymd}{seq:03d}"
            if body not in self.used:
                self.used.add(body)
                return body + idnumber.check_char(body)
        raise RuntimeError(f"no ID sequence left for {ymd}")


@dataclass
class Context:
    """What a household generator needs: the generator, the ID allocator, and the place's surnames."""

    rng: random.Random
    ids: IdAllocator
    surnames: SurnamePool
    tujia_share: float = 0.08
    rural: bool = True
    extra: dict = field(default_factory=dict)


def _birth(rng: random.Random, age: int) -> dt.date:
    year = REF_YEAR - age
    return dt.date.fromordinal(_JAN1[year] + rng.randrange(365))


def _education(rng: random.Random, age: int, birth_year: int) -> tuple[str, str]:
    """(文化程度, 在校生状况): students have a schooling code and no education yet."""
    if age < 3:
        return "", "01"
    if age < 6:
        return "", "02"
    if age < 12:
        return "", "03"
    if age < 15:
        return "", ("04", "05", "06")[age - 12]
    if age < 18:
        r = rng.random()
        if r < 0.68:
            return "", ("07", "08", "09")[age - 15]
        if r < 0.93:
            return "", ("10", "11", "12")[age - 15]
        return "3", ""
    if age < 22 and rng.random() < 0.38:
        return "", (("13", "14", "15") if rng.random() < 0.5 else ("20", "21", "22", "23"))[min(age - 18, 2)]
    r = rng.random()
    if birth_year < 1950:
        table = ((0.40, "1"), (0.85, "2"), (1.0, "3"))
    elif birth_year < 1966:
        table = ((0.15, "1"), (0.60, "2"), (0.92, "3"), (1.0, "4"))
    elif birth_year < 1981:
        table = ((0.03, "1"), (0.23, "2"), (0.78, "3"), (0.93, "4"), (0.98, "5"), (1.0, "6"))
    elif birth_year < 1996:
        table = ((0.05, "2"), (0.50, "3"), (0.78, "4"), (0.92, "5"), (1.0, "6"))
    else:
        table = ((0.35, "3"), (0.70, "4"), (0.88, "5"), (1.0, "6"))
    for p, code in table:
        if r < p:
            return code, ""
    return "3", ""


def _political(rng: random.Random, age: int) -> str:
    if age < 14:
        return ""
    r = rng.random()
    if age >= 18 and r < 0.065:
        return "1"
    if age <= 28 and r < 0.30:
        return "3"
    return "4"


def _person(ctx: Context, relationship: str, sex: str, age: int, surname: str, ethnicity: str) -> dict:
    rng = ctx.rng
    age = max(0, min(age, 100))
    birth = _birth(rng, age)
    number = ctx.ids.allocate(rng, birth, sex)
    education, schooling = _education(rng, age, birth.year)
    return {
        "relationship": relationship, "name": full_name(rng, surname, sex, birth.year), "sex": sex,
        "birth_date": birth, "id_number": number, "ethnicity": ethnicity,
        "education": education, "schooling": schooling, "political_status": _political(rng, age),
        "rural_medical": ctx.rural and rng.random() < 0.97,
        "pension_insurance": age >= 16 and not schooling and rng.random() < 0.82,
    }


# kind: (weight among all residents, weight among poor households)
KINDS = {
    "single": (0.14, 0.24),
    "couple": (0.26, 0.30),
    "nuclear1": (0.22, 0.16),
    "nuclear2": (0.13, 0.10),
    "single_parent": (0.04, 0.06),
    "three_gen": (0.12, 0.08),
    "with_parents": (0.09, 0.06),
}
_KIND_NAMES = list(KINDS)
_KIND_CUM_ALL = [sum(v[0] for v in list(KINDS.values())[: i + 1]) for i in range(len(KINDS))]
_KIND_CUM_POOR = [sum(v[1] for v in list(KINDS.values())[: i + 1]) for i in range(len(KINDS))]


def household_members(ctx: Context, kind: str | None = None, *, old_head: bool = False,
                      student: bool = False) -> list[dict]:
    """The members of one household, head first, with consistent ages, sexes, surnames and relationships.

    `old_head` makes the head 62 or older (no able-bodied members); `student` guarantees a child of school age.
    """
    rng = ctx.rng
    kind = kind or rng.choices(_KIND_NAMES, cum_weights=_KIND_CUM_ALL)[0]
    tujia = rng.random() < ctx.tujia_share
    eth = "15" if tujia else "01"

    def other_eth() -> str:
        return "15" if rng.random() < ctx.tujia_share else "01"

    family = ctx.surnames.pick(rng)
    members: list[dict] = []

    def child_rel(sex: str) -> str:
        return "之子" if sex == "1" else "之女"

    if kind == "single":
        age = rng.randint(62, 92) if old_head or rng.random() < 0.6 else rng.randint(22, 59)
        members.append(_person(ctx, "户主", "1" if rng.random() < 0.5 else "2", age, family, eth))
    elif kind == "couple":
        age = rng.randint(62, 86) if old_head else int(rng.triangular(25, 86, 64))
        members.append(_person(ctx, "户主", "1", age, family, eth))
        members.append(_person(ctx, "配偶", "2", age - rng.randint(-2, 5), ctx.surnames.pick(rng), other_eth()))
    elif kind in ("nuclear1", "nuclear2", "single_parent"):
        n_children = 2 if kind == "nuclear2" else 1
        first_child = rng.randint(7, 20) if student else rng.randint(0, 24)
        head_age = first_child + rng.randint(22, 34)
        head_sex = "1" if kind != "single_parent" or rng.random() < 0.45 else "2"
        members.append(_person(ctx, "户主", head_sex, head_age, family, eth))
        if kind != "single_parent":
            members.append(_person(ctx, "配偶", "2", head_age - rng.randint(-2, 5), ctx.surnames.pick(rng),
                                   other_eth()))
        ages = [first_child] + [max(0, first_child - rng.randint(1, 8)) for _ in range(n_children - 1)]
        for a in ages:
            sex = "1" if rng.random() < 0.52 else "2"
            members.append(_person(ctx, child_rel(sex), sex, a, family, eth))
    elif kind == "three_gen":
        if student:
            first_grandchild = rng.randint(7, 16)
            son_age = first_grandchild + rng.randint(22, 30)
            head_age = son_age + rng.randint(22, 30)
        else:
            head_age = rng.randint(50, 80)
            son_age = max(20, head_age - rng.randint(22, 32))
        members.append(_person(ctx, "户主", "1", head_age, family, eth))
        if rng.random() < 0.85:
            members.append(_person(ctx, "配偶", "2", head_age - rng.randint(-2, 5), ctx.surnames.pick(rng),
                                   other_eth()))
        members.append(_person(ctx, "之子", "1", son_age, family, eth))
        members.append(_person(ctx, "之儿媳", "2", son_age - rng.randint(-2, 4), ctx.surnames.pick(rng),
                               other_eth()))
        top = max(0, son_age - 20)
        grandchildren = 1 if rng.random() < 0.6 else 2
        for i in range(grandchildren):
            sex = "1" if rng.random() < 0.52 else "2"
            age = first_grandchild if student and i == 0 else rng.randint(0, min(top, 18))
            members.append(_person(ctx, "之孙子" if sex == "1" else "之孙女", sex, age, family, eth))
    else:  # with_parents
        head_age = rng.randint(28, 55)
        members.append(_person(ctx, "户主", "1", head_age, family, eth))
        members.append(_person(ctx, "配偶", "2", head_age - rng.randint(-2, 5), ctx.surnames.pick(rng), other_eth()))
        if student or rng.random() < 0.7:
            age = rng.randint(7, min(20, max(7, head_age - 22))) if student else rng.randint(0, max(0, head_age - 22))
            sex = "1" if rng.random() < 0.52 else "2"
            members.append(_person(ctx, child_rel(sex), sex, age, family, eth))
        parent_age = min(96, head_age + rng.randint(22, 34))
        if rng.random() < 0.55:
            members.append(_person(ctx, "之父", "1", parent_age, family, eth))
        if len(members) < 4 or rng.random() < 0.7:
            members.append(_person(ctx, "之母", "2", parent_age - rng.randint(0, 5), ctx.surnames.pick(rng),
                                   other_eth()))
    return members


def age_of(member: dict) -> int:
    return REF_YEAR - member["birth_date"].year


# ---- 建档立卡 ------------------------------------------------------------------------------------------------------

CAUSE_WEIGHTS = {"1": 40, "2": 10, "3": 9, "4": 2, "5": 3, "6": 1, "7": 12, "8": 9, "9": 9, "10": 1, "11": 3, "99": 1}
STATUS_WEIGHTS = {"0": 74, "1": 19, "2": 5, "3": 2}
WORK = ("乡（镇）内务工", "乡（镇）外县内务工", "县外省内务工", "省外务工")
INDUSTRIES = ("柑橘种植", "茶叶", "生猪养殖", "蔬菜种植", "外出务工", "魔芋种植", "中药材", "家禽养殖", "")


def _labour(rng: random.Random, m: dict) -> str:
    age = age_of(m)
    if age < 16 or m["schooling"]:
        return "5"
    if age < 60:
        return "2" if rng.random() < 0.18 else "1"
    if age < 70:
        return "3" if rng.random() < 0.7 else "1"
    return "4" if rng.random() < 0.6 else "3"


def poor_household(ctx: Context) -> tuple[list[dict], dict]:
    """A registered poor household: members whose make-up fits the poverty causes, and the household's fields."""
    rng = ctx.rng
    cause = rng.choices(list(CAUSE_WEIGHTS), weights=list(CAUSE_WEIGHTS.values()))[0]
    if cause == "3":
        kind = rng.choice(("nuclear1", "nuclear2", "single_parent", "three_gen", "with_parents"))
        members = household_members(ctx, kind, student=True)
    elif cause == "8":
        members = household_members(ctx, rng.choice(("single", "couple", "couple")), old_head=True)
    else:
        members = household_members(ctx, rng.choices(_KIND_NAMES, cum_weights=_KIND_CUM_POOR)[0])

    for m in members:
        m["health"] = ["2"] if age_of(m) >= 65 and rng.random() < 0.3 else ["1"]
        m["labour_skill"] = _labour(rng, m)
        m["serious_illness_insurance"] = m["rural_medical"]
    adults = sorted((m for m in members if age_of(m) >= 18), key=age_of, reverse=True) or members
    if cause == "1":
        sick = adults[0] if rng.random() < 0.6 else rng.choice(adults)
        sick["health"] = ["3"] if rng.random() < 0.5 else ["2"]
        sick["labour_skill"] = "4" if sick["health"] == ["3"] and age_of(sick) > 50 else "3"
    elif cause == "2":
        _make_disabled(rng, rng.choice(members))
    elif cause == "8":
        for m in members:
            m["labour_skill"] = "4" if age_of(m) >= 70 else "3"
    elif cause == "3":
        _ensure_student(members)
    students = [m for m in members if m["schooling"] and m["schooling"] not in ("01", "02")]
    labourers = [m for m in members if m["labour_skill"] in ("1", "2")]

    others_pool = ["7", "9", "5", "4", "11", "1"]
    if students:
        others_pool.append("3")
    if len(labourers) <= 1:
        others_pool.append("8")
    others_pool = [c for c in others_pool if c != cause]
    n_other = rng.choices((0, 1, 2), weights=(35, 45, 20))[0]
    other_causes = rng.sample(others_pool, n_other)
    if "1" in other_causes and all(m["health"] == ["1"] for m in members):
        rng.choice(adults)["health"] = ["2"]

    old_single = len(members) == 1 and age_of(members[0]) >= 60
    r = rng.random()
    # 两项制度衔接: a household without labour is mostly on 低保 (or 特困供养); the few left out are the demo's
    # 应享未享 gaps of the 低保 rule
    if old_single and r < 0.45:
        attribute = "3"
    elif r < (0.92 if not labourers else 0.65 if old_single else 0.30):
        attribute = "2"
    else:
        attribute = "1"
    for m in members:
        m["dibao"] = attribute == "2"
    for m in labourers:
        if rng.random() < 0.65:
            m["work_status"] = rng.choice(WORK)
            m["work_months"] = rng.randint(3, 12)
    for m in members:
        if m["sex"] == "1" and 18 <= age_of(m) <= 24 and rng.random() < 0.01:
            m["serving_soldier"] = True

    status = rng.choices(list(STATUS_WEIGHTS), weights=list(STATUS_WEIGHTS.values()))[0]
    year_identified = rng.choices((2014, 2015, 2016), weights=(80, 12, 8))[0]
    year_exited = None
    if status == "1":
        year_exited = max(year_identified, rng.choices((2014, 2015, 2016), weights=(5, 40, 55))[0])
    fields = {
        "is_registered_poor": True,
        "identification_standard": "national" if rng.random() < 0.85 else "provincial",
        "attribute": attribute, "main_cause": cause, "other_causes": other_causes, "poverty_status": status,
        "year_identified": year_identified, "year_exited": year_exited,
        "leading_industry": rng.choice(INDUSTRIES),
        **_income(rng, members, attribute, status),
        **_living(rng),
    }
    return members, fields


def _ensure_student(members: list[dict]) -> None:
    """A household poor because of schooling costs has someone at school (the generator made one of school age)."""
    if any(m["schooling"] and m["schooling"] not in ("01", "02") for m in members):
        return
    child = min((m for m in members if 6 <= age_of(m) <= 22), key=age_of)
    age = age_of(child)
    child["schooling"] = "03" if age < 12 else ("04", "05", "06")[age - 12] if age < 15 else \
        ("07", "08", "09")[age - 15] if age < 18 else ("13", "14", "15")[min(age - 18, 2)]
    child["education"] = ""
    child["labour_skill"] = "5"
    child["pension_insurance"] = False


def _make_disabled(rng: random.Random, m: dict) -> None:
    category = rng.choices("1234567", weights=(12, 10, 4, 45, 14, 10, 5))[0]
    grade = rng.choices((1, 2, 3, 4), weights=(15, 30, 30, 25))[0]
    m["health"] = ["4"]
    m["disability_category"] = category
    m["disability_grade"] = grade
    m["disability_card"] = f"{m['id_number']}{category}{grade}"
    m["labour_skill"] = "4" if grade <= 2 else "3"


def _income(rng: random.Random, members: list[dict], attribute: str, status: str) -> dict:
    """The income block: per-capita net income drawn by status, split into its parts so that they add up."""
    size = len(members)
    if status == "0":
        target = rng.randint(1300, 2900) if rng.random() < 0.9 else rng.randint(2960, 3800)
    elif status == "2":
        target = rng.randint(3000, 4200)
    elif status == "1":
        target = rng.randint(3200, 7000)
    else:
        target = rng.randint(1000, 2800)
    elderly = sum(1 for m in members if age_of(m) >= 60)
    pension = sum(rng.randint(900, 1300) for _ in range(elderly))
    dibao = sum(rng.randint(1200, 2000) for _ in range(size)) if attribute == "2" else 0
    wubao = rng.randint(4000, 5500) * size if attribute == "3" else 0
    family_planning = 960 * min(elderly, 2) if elderly and rng.random() < 0.1 else 0
    eco = rng.randint(50, 300) if rng.random() < 0.3 else 0
    other = rng.randint(100, 800) if rng.random() < 0.3 else 0
    transfers = pension + dibao + wubao + family_planning + eco + other
    net = max(target * size, transfers + rng.randint(200, 800))
    rest = net - transfers
    prop = min(rest, rng.randint(100, 500)) if rng.random() < 0.2 else 0
    rest -= prop
    workers = [m for m in members if m.get("work_months")]
    wages = int(rest * rng.uniform(0.5, 0.9)) if workers else 0
    business_net = rest - wages
    costs = int(business_net * rng.uniform(0.3, 0.8))
    business = business_net + costs
    total = wages + business - costs + prop + transfers
    assert total == net
    return {
        "income_year": REF_YEAR, "income_wages": Decimal(wages), "income_business": Decimal(business),
        "cost_business": Decimal(costs), "income_property": Decimal(prop),
        "transfer_family_planning": Decimal(family_planning), "transfer_dibao": Decimal(dibao),
        "transfer_wubao": Decimal(wubao), "transfer_pension": Decimal(pension), "transfer_eco": Decimal(eco),
        "transfer_other": Decimal(other), "annual_income": Decimal(wages + business + prop + transfers),
        "net_income": Decimal(net),
        "per_capita_net_income": (Decimal(net) / size).quantize(Decimal("0.01")),
    }


def _living(rng: random.Random) -> dict:
    cultivated = round(rng.uniform(0.5, 6.0), 1)
    structure = rng.choices(("1", "2", "3", "4"), weights=(5, 40, 40, 15))[0]
    dilapidated = ""
    if structure in ("3", "4"):
        dilapidated = rng.choices(("", "C", "D"), weights=(70, 18, 12))[0]
    return {
        "land_cultivated": Decimal(str(cultivated)),
        "land_irrigated": Decimal(str(round(cultivated * rng.uniform(0.2, 0.9), 1))),
        "land_forest": Decimal(str(round(rng.uniform(0, 20), 1))),
        "land_orchard": Decimal(str(round(rng.uniform(0, 3), 1))) if rng.random() < 0.4 else None,
        "production_power": rng.random() < 0.97,
        "road_distance_km": Decimal(str(round(rng.uniform(0, 2.5), 2))),
        "road_type": rng.choices(("水泥路", "砂石路", "泥土路"), weights=(65, 25, 10))[0],
        "housing_area": Decimal(rng.randint(40, 180)),
        "housing_structure": structure,
        "dilapidated_grade": dilapidated,
        "drinking_difficulty": rng.random() < 0.1,
        "drinking_safe": rng.random() < 0.88,
        "water_source": rng.choices(("1", "2", "3", "4"), weights=(60, 30, 8, 2))[0],
        "sanitary_toilet": rng.random() < 0.45,
        "fuel": rng.choices(("柴草", "煤", "电", "液化气"), weights=(45, 10, 25, 20))[0],
        "in_cooperative": rng.random() < 0.2,
    }


def phone(rng: random.Random) -> str:
    return "1" + rng.choice(("30", "32", "33", "35", "36", "38", "39", "50", "52", "55", "58", "59", "86", "87")) + \
        f"{rng.randrange(10**8):08d}"
