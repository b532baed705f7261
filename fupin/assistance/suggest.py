"""Suggested plan measures from a household's poverty causes and facts (pure; the cadre confirms what to keep).

    >>> hh = HouseholdFacts(causes={"3"}, members=[MemberFacts(name="李明", age=15, schooling="05")])
    >>> [s.kind for s in suggest(hh)]
    ['education']

Titles and reasons are Chinese because they become the household's plan, printed on its 明白卡.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fupin.assistance.choices import MeasureKind

# 致贫原因 codes (fupin.registry.codes.CAUSE)
ILLNESS, DISABILITY, SCHOOLING, DISASTER, NO_LAND, NO_WATER, NO_SKILLS, NO_LABOUR, NO_CAPITAL, TRANSPORT, DRIVE = (
    "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11")
# 在校生状况 codes that mean "at school" (01 学龄前儿童 is not)
AT_SCHOOL = {f"{n:02d}" for n in range(2, 26)}
CHRONIC, SERIOUS, DISABLED = "2", "3", "4"  # 健康状况
ABLE = {"1", "2"}  # 普通劳动力, 技能劳动力
UNABLE = {"4", "5"}  # 丧失劳动力, 无劳动力


@dataclass
class MemberFacts:
    name: str
    age: int | None = None
    schooling: str = ""
    health: list[str] = field(default_factory=list)
    labour_skill: str = ""
    work_status: str = ""
    rural_medical: bool = True
    disability_category: str = ""


@dataclass
class HouseholdFacts:
    causes: set[str] = field(default_factory=set)
    dilapidated_grade: str = ""
    drinking_difficulty: bool | None = None
    attribute: str = ""
    members: list[MemberFacts] = field(default_factory=list)


@dataclass(frozen=True)
class Suggestion:
    kind: str
    title: str
    reason: str


def suggest(hh: HouseholdFacts, *, existing_kinds: frozenset[str] | set[str] = frozenset()) -> list[Suggestion]:
    """The measures the facts call for, in plan order; kinds the household's plan already has are left out."""
    out: dict[str, Suggestion] = {}

    def add(kind: str, title: str, reason: str) -> None:
        if kind not in existing_kinds:
            out.setdefault(title, Suggestion(kind, title, reason))

    causes = hh.causes
    students = [m for m in hh.members if m.schooling in AT_SCHOOL]
    sick = [m for m in hh.members if CHRONIC in m.health or SERIOUS in m.health]
    disabled = [m for m in hh.members if DISABLED in m.health or m.disability_category]
    uninsured = [m for m in hh.members if not m.rural_medical]
    able = [m for m in hh.members if m.labour_skill in ABLE and (m.age is None or 16 <= m.age <= 60)
            and m.schooling not in AT_SCHOOL]
    idle = [m for m in able if not m.work_status or m.work_status in ("无", "未务工", "0")]

    if students:
        names = "、".join(m.name for m in students)
        why = "致贫原因为因学" if SCHOOLING in causes else "家中有在校生"
        add(MeasureKind.EDUCATION, f"教育资助(雨露计划、助学金、生源地助学贷款):{names}", f"{why}:{names}")
    if hh.dilapidated_grade in ("C", "D"):
        add(MeasureKind.HOUSING, f"危房改造({hh.dilapidated_grade}级危房)", f"住房为{hh.dilapidated_grade}级危房")
    if ILLNESS in causes or sick or uninsured:
        who = "、".join(m.name for m in (sick or uninsured))
        why = "致贫原因为因病" if ILLNESS in causes else ("家中有长期慢性病或大病患者" if sick else "有成员未参加新农合")
        add(MeasureKind.MEDICAL, "医疗救助与参保(新农合、大病保险、慢病签约服务)" + (f":{who}" if who else ""),
            f"{why}" + (f":{who}" if who else ""))
    if DISABILITY in causes or disabled:
        who = "、".join(m.name for m in disabled)
        add(MeasureKind.SOCIAL_SECURITY, "残疾人两项补贴与康复服务" + (f":{who}" if who else ""),
            "致贫原因为因残" if DISABILITY in causes else f"家中有残疾人:{who}")
    if NO_LABOUR in causes or (hh.members and all(m.labour_skill in UNABLE for m in hh.members)):
        add(MeasureKind.SOCIAL_SECURITY, "低保或特困供养兜底保障", "缺劳力,家庭成员无劳动能力")
    if NO_SKILLS in causes or idle:
        who = "、".join(m.name for m in idle)
        add(MeasureKind.EMPLOYMENT, "技能培训与就业推荐" + (f":{who}" if who else ""),
            "致贫原因为缺技术" if NO_SKILLS in causes else f"有劳动力未就业:{who}")
    if NO_CAPITAL in causes:
        add(MeasureKind.CREDIT, "扶贫小额信贷(5万元以下、3年以内、免担保免抵押、财政贴息)", "致贫原因为缺资金")
    if NO_LAND in causes or DRIVE in causes or NO_CAPITAL in causes:
        add(MeasureKind.INDUSTRY, "产业扶持(特色种养、合作社带动)",
            "致贫原因为" + "、".join(label for code, label in ((NO_LAND, "缺土地"), (DRIVE, "自身发展动力不足"),
                                                                (NO_CAPITAL, "缺资金")) if code in causes))
    if TRANSPORT in causes or (DISASTER in causes and hh.dilapidated_grade == "D"):
        add(MeasureKind.RELOCATION, "易地扶贫搬迁", "交通条件落后" if TRANSPORT in causes else "因灾且住房为D级危房")
    if DISASTER in causes:
        add(MeasureKind.SOCIAL_SECURITY, "临时救助与灾后重建补助", "致贫原因为因灾")
    if NO_WATER in causes or hh.drinking_difficulty:
        add(MeasureKind.OTHER, "安全饮水工程入户", "缺水或饮水困难")
    return list(out.values())
