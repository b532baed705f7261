"""Demo data for assistance, on top of the demo county (`fupin.demo.seed`): the bulletin's pairing structure, plans,
policies received, a year of records and errands, and so a realistic mix of lights.

- every poor household paired with a cadre of the unit that is linked to its village (部门包村); about one cadre per
  household, a few carrying two;
- 26 city leaders, 26 enterprises and 26 first secretaries with the 26 poor villages, a work team in every village
  (123), a standing committee member for every town;
- a plan for every village and every poor household (measures suggested from the causes, most confirmed and under
  way, some done with evidence, a few overdue);
- a policy catalogue by department and the policies each household received in the last year;
- a year of visits and calls: most cadres keep to a fortnight, some slip past 20 days, a few let households go red;
- errands run by the grid workers.

`seed_assistance(rng=..., scale=..., batch=...)` writes everything with bulk inserts under the caller's batch and then
computes every light; `fupin seed_assistance_demo` runs it on an already seeded database.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections import defaultdict
from decimal import Decimal

from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from fupin.assistance.choices import (
    AreaPairingKind,
    BenefitForm,
    ErrandStatus,
    MeasureKind,
    MeasureStatus,
    RecordKind,
    RecordSource,
    UnitKind,
)
from fupin.assistance.conf import local_today
from fupin.assistance.models import (
    AreaPairing,
    AssistanceRecord,
    Cadre,
    Errand,
    HouseholdPairing,
    HouseholdPlan,
    Measure,
    Policy,
    PolicyReceipt,
    Unit,
    VillagePlan,
    WorkTeam,
)
from fupin.assistance.suggest import HouseholdFacts, MemberFacts, Suggestion, suggest
from fupin.assistance.tracking import recompute_all
from fupin.core.errors import ServiceError
from fupin.geo.models import Division, GridPost
from fupin.org.models import Department
from fupin.registry.models import Household, Person

BULK = 5000
# 四大家 and the offices the city leaders, committee members and first secretaries come from, then other units
LEADERSHIP_UNITS = ["市委办公室", "市人民政府办公室", "市人大常委会办公室", "市政协办公室"]
OTHER_UNITS = [
    "市纪委监察局", "市委组织部", "市委宣传部", "市委统战部", "市委政法委", "市发展和改革局", "市经济和信息化局", "市商务局",
    "市科学技术局", "市司法局", "市审计局", "市统计局", "市环境保护局", "市交通运输局", "市水利湖泊局", "市文化体育局",
    "市食品药品监督管理局", "市安全生产监督管理局", "市旅游局", "市物价局", "市粮食局", "市城市管理局", "市供销合作社",
    "市总工会", "共青团市委", "市妇女联合会", "市科学技术协会", "市工商业联合会", "市人民医院", "市第一中学",
    "市国家税务局", "市地方税务局", "市农村商业银行", "市供电公司", "市邮政分公司", "市广播电视台", "市住房公积金管理部",
]
ENTERPRISE_WORDS = ["恒兴", "宏达", "楚源", "清江", "长江", "宜兴", "鑫达", "华宇", "昌盛", "金穗", "天成", "瑞丰", "丰源",
                    "同心", "汇通", "鸿泰", "东升", "永安", "安琪", "荆楚", "枝城", "聂河", "红花", "五眼泉", "高坝洲",
                    "王畈"]
ENTERPRISE_TRADES = ["化工", "建材", "食品", "茶业", "柑橘", "陶瓷", "电力", "物流", "机械", "纺织", "药业", "旅游"]
POSTS = ["科员", "科员", "科员", "副主任科员", "主任科员", "副科长", "科长", "副局长", "干部", "职工"]
LEADER_POSTS = ["市委副书记", "副市长", "市人大常委会副主任", "市政协副主席", "市委常委、组织部部长", "副市长",
                "市人大常委会主任", "市政协主席", "市委常委、宣传部部长", "市委常委、统战部部长", "市委常委、政法委书记",
                "市委常委、纪委书记", "副市长", "市人大常委会副主任", "市政协副主席", "副市长", "市人大常委会副主任",
                "市政协副主席", "市委常委、常务副市长", "副市长", "市人大常委会副主任", "市政协副主席", "副市长",
                "市人大常委会副主任", "市政协副主席", "市委常委、市委秘书长"]
# name, department code, kind, form, amount, per, benefit
POLICIES = [
    ("雨露计划", "fupinban", MeasureKind.EDUCATION, BenefitForm.CASH, 3000, "人·年", "中高职在校生每人每年补助"),
    ("建档立卡学生生活补助", "jiaoyu", MeasureKind.EDUCATION, BenefitForm.CASH, 1000, "人·年", "义务教育和高中阶段寄宿生"),
    ("新农合个人缴费资助", "weiji", MeasureKind.MEDICAL, BenefitForm.INSURANCE, 120, "人·年", "贫困人口参合个人缴费全额资助"),
    ("大病保险倾斜支付", "weiji", MeasureKind.MEDICAL, BenefitForm.INSURANCE, None, "", "起付线降低、报销比例提高"),
    ("医疗救助", "minzheng", MeasureKind.MEDICAL, BenefitForm.CASH, None, "次", "政策范围内自付费用按比例救助"),
    ("家庭医生签约服务", "weiji", MeasureKind.MEDICAL, BenefitForm.SERVICE, None, "", "慢病患者签约随访"),
    ("农村低保", "minzheng", MeasureKind.SOCIAL_SECURITY, BenefitForm.CASH, 3120, "户·年", "按月发放保障金"),
    ("特困人员供养", "minzheng", MeasureKind.SOCIAL_SECURITY, BenefitForm.CASH, 5400, "人·年", "基本生活费和照料护理费"),
    ("临时救助", "minzheng", MeasureKind.SOCIAL_SECURITY, BenefitForm.CASH, None, "次", "突发困难一次性救助"),
    ("残疾人两项补贴", "canlian", MeasureKind.SOCIAL_SECURITY, BenefitForm.CASH, 840, "人·年", "困难残疾人生活补贴和重度残疾人护理补贴"),
    ("农村危房改造补助", "zhujian", MeasureKind.HOUSING, BenefitForm.CASH, 20000, "户", "C级维修加固、D级拆除重建"),
    ("易地扶贫搬迁", "fupinban", MeasureKind.RELOCATION, BenefitForm.IN_KIND, None, "", "集中安置住房"),
    ("就业技能培训补贴", "renshe", MeasureKind.EMPLOYMENT, BenefitForm.SERVICE, 1200, "人", "免费技能培训并发放生活补贴"),
    ("公益性岗位", "renshe", MeasureKind.EMPLOYMENT, BenefitForm.CASH, 6000, "人·年", "护林员、保洁员等岗位"),
    ("产业发展扶持资金", "nongye", MeasureKind.INDUSTRY, BenefitForm.CASH, 2000, "户", "发展特色种养业以奖代补"),
    ("扶贫小额信贷贴息", "caizheng", MeasureKind.CREDIT, BenefitForm.LOAN, 50000, "户", "5万元以下、3年以内、免担保免抵押、财政贴息"),
    ("生态公益林补偿", "linye", MeasureKind.OTHER, BenefitForm.CASH, 15, "亩·年", "公益林管护补偿"),
]
VISIT_TEXTS = ["入户走访,了解家庭收入和生产情况", "入户走访,宣讲扶贫政策,核对帮扶措施进度", "入户走访,了解{m}落实情况",
               "入户慰问,了解生活困难", "入户走访,帮助制定{y}年增收计划", "入户核实家庭人口和收入变化"]
CALL_TEXTS = ["电话联系,询问{m}进展", "电话回访,了解近期生活情况", "电话联系,通知政策申报事项"]
MEETING_TEXTS = ["参加村民小组会,与户主面谈帮扶计划", "在村委会与户主座谈"]
NEEDS = ["希望推荐就近务工", "孩子上学费用困难", "申请危房改造补助", "希望发展养殖,缺少资金", "咨询大病报销政策",
         "申请办理残疾证", "家中缺劳力,农忙需帮助", "希望参加技能培训"]
ERRANDS = [("代办新农合缴费", "镇医保站"), ("代办医疗费用报销", "镇医保站"), ("代办残疾证", "市残联"),
           ("代办低保申请材料", "镇民政办"), ("代办临时救助申请", "镇民政办"), ("代办小额信贷申请", "农商行网点"),
           ("代办户口登记", "派出所"), ("代办养老保险认证", "镇人社中心"), ("代办雨露计划申报", "镇扶贫站"),
           ("代办危房改造申请", "镇规划建设办")]
EVIDENCE = ["已办结,附发放花名册", "已完成,村委会验收", "已落实,见银行流水", "已完成,附照片"]


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def _age(birth: dt.date | None, today: dt.date) -> int | None:
    if birth is None:
        return None
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


class _Builder:
    """Builds the rows in memory with explicit primary keys, then writes each table with bulk_create."""

    def __init__(self, *, rng: random.Random, scale: float, batch):
        self.rng, self.scale, self.batch = rng, scale, batch
        self.today = local_today()
        self.rows: dict[str, list] = defaultdict(list)
        self.fast_rows: dict[type, list[dict]] = defaultdict(list)
        self.next_id = {m: (m.objects.aggregate(m=Max("pk"))["m"] or 0) + 1
                        for m in (Unit, Cadre, WorkTeam, AreaPairing, HouseholdPairing, HouseholdPlan, Measure,
                                  Policy, PolicyReceipt, AssistanceRecord, Errand, VillagePlan)}
        from fupin.demo.names import SurnamePool

        self.surnames = SurnamePool(rng, clans=0)

    def add(self, model, **fields):
        pk = self.next_id[model]
        self.next_id[model] += 1
        obj = model(id=pk, uuid=_uuid(self.rng), batch=self.batch, **fields)
        self.rows[model.__name__].append(obj)
        return obj

    def fast(self, model, **values) -> int:
        """A row of a big table, kept as database values and written with fupin.core.bulk.BulkWriter."""
        pk = self.next_id[model]
        self.next_id[model] += 1
        self.fast_rows[model].append({"id": pk, "uuid": _uuid(self.rng), "batch_id": self.batch.pk, **values})
        return pk

    def person_name(self) -> str:
        from fupin.demo.names import full_name

        sex = "1" if self.rng.random() < 0.72 else "2"
        return full_name(self.rng, self.surnames.pick(self.rng), sex, self.rng.randint(1962, 1992))

    def phone(self) -> str:
        from fupin.demo.people import phone

        return phone(self.rng)

    def cadre(self, unit: Unit, post: str = "", user=None) -> Cadre:
        return self.add(Cadre, name=self.person_name(), unit=unit, phone=self.phone(),
                        post=post or self.rng.choice(POSTS), user=user)


def seed_assistance(*, rng: random.Random, scale: float, batch) -> dict:
    """Write the assistance demo data for the demo county already in the database; returns row counts."""
    b = _Builder(rng=rng, scale=scale, batch=batch)
    today = b.today
    users = _demo_users()
    departments = {d.code: d for d in Department.objects.all()}
    villages = list(Division.objects.filter(level="village").order_by("code"))
    if not villages:
        raise ServiceError(_("The database has no villages yet: run seed_demo first to build the demo county"))
    poor_villages = [v for v in villages if v.is_poor_village]
    towns = list(Division.objects.filter(level="town").order_by("code"))

    # Units: the departments, the leadership offices, other directly administered units, 26 enterprises
    units_by_name = {u.name: u for u in Unit.objects.all()}

    def unit(name, kind, department=None, contact=None):
        if name in units_by_name:
            return units_by_name[name]
        u = b.add(Unit, name=name, kind=kind, department=department, contact_user=contact,
                  phone="0717-" + f"{rng.randrange(4800000, 4899999)}")
        units_by_name[name] = u
        return u

    dept_units = [unit(d.name, UnitKind.DEPARTMENT, d,
                       users.get("dept_handler") if users.get("dept_handler") and
                       users["dept_handler"].department_id == d.pk else None)
                  for d in sorted(departments.values(), key=lambda d: d.order)]
    leadership = [unit(n, UnitKind.DEPARTMENT) for n in LEADERSHIP_UNITS]
    others = [unit(n, UnitKind.PUBLIC if n.endswith(("医院", "中学", "台")) else UnitKind.DEPARTMENT)
              for n in OTHER_UNITS]
    enterprises = []
    for i in range(len(poor_villages)):
        word = ENTERPRISE_WORDS[i % len(ENTERPRISE_WORDS)]
        trade = ENTERPRISE_TRADES[(i * 7) % len(ENTERPRISE_TRADES)]
        enterprises.append(unit(f"宜都市{word}{trade}有限公司", UnitKind.ENTERPRISE))
    sending = dept_units + others  # units that pair with villages and send cadres to households

    # Village-level pairing: a unit for every village, a work team, and for poor villages a leader, an enterprise
    # and a first secretary; a standing committee member for every town
    village_unit = {}
    start_area = today - dt.timedelta(days=rng.randint(400, 430))
    for i, v in enumerate(villages):
        u = sending[i % len(sending)]
        village_unit[v.pk] = u
        b.add(AreaPairing, kind=AreaPairingKind.UNIT_VILLAGE, division=v, area_code=v.code, unit=u,
              start_date=start_area, duty="部门包村:落实一村一策,协调项目资金", post="包村单位",
              exit_commitment="贫困村按期出列" if v.is_poor_village else "")
        leader = b.cadre(u, "驻村工作队队长")
        members = [b.cadre(u, "驻村工作队员") for _n in range(2)]
        if users.get("village_team") and users["village_team"].division_id == v.pk:
            members[0].user = users["village_team"]
        team = b.add(WorkTeam, name=f"{u.name}驻{v.name}工作队", village=v, area_code=v.code, unit=u, leader=leader,
                     formed_on=start_area)
        b.rows["_team_members"].append((team, members))
        b.add(AreaPairing, kind=AreaPairingKind.WORK_TEAM, division=v, area_code=v.code, unit=u, cadre=leader,
              team=team, start_date=start_area, duty="驻村帮扶、精准识别、落实帮扶措施", post="驻村工作队")
    for i, v in enumerate(poor_villages):
        leader = b.cadre(leadership[i % 4], LEADER_POSTS[i % len(LEADER_POSTS)],
                         user=users.get("city_leader") if i == 0 else None)
        b.add(AreaPairing, kind=AreaPairingKind.LEADER_VILLAGE, division=v, area_code=v.code, cadre=leader,
              unit=leader.unit, start_date=start_area, duty="联系贫困村,协调解决重大问题", post="联系市级领导",
              exit_commitment="贫困村按期出列", exit_target_year=today.year)
        b.add(AreaPairing, kind=AreaPairingKind.ENTERPRISE_VILLAGE, division=v, area_code=v.code,
              unit=enterprises[i], start_date=start_area, duty="产业帮扶、吸纳就业", post="对口帮扶企业")
        fs_unit = sending[(i * 5 + 3) % len(sending)]
        fs_user = users.get("first_secretary") if users.get("first_secretary") and \
            users["first_secretary"].division_id == v.pk else None
        secretary = b.cadre(fs_unit, "第一书记", user=fs_user)
        b.add(AreaPairing, kind=AreaPairingKind.FIRST_SECRETARY, division=v, area_code=v.code, cadre=secretary,
              unit=fs_unit, start_date=start_area, duty="抓党建促脱贫", post="第一书记",
              exit_commitment="贫困村按期出列", exit_target_year=today.year)
    for t in towns:
        member = b.cadre(leadership[0], "市委常委")
        b.add(AreaPairing, kind=AreaPairingKind.COMMITTEE_TOWN, division=t, area_code=t.code, cadre=member,
              unit=member.unit, start_date=start_area, duty="联系乡镇,统筹推进脱贫攻坚", post="联系市委常委")

    # Village plans (一村一策)
    for v in villages:
        industry = rng.choice(["柑橘", "茶叶", "生猪养殖", "蔬菜", "魔芋", "中药材"])
        b.add(VillagePlan, village=v, area_code=v.code, year=today.year,
              projects=f"{industry}基地扩建;村级光伏电站;农村电商服务站",
              leading_industries=f"{industry}、乡村旅游", infrastructure="通组公路硬化3公里;安全饮水管网改造;村卫生室标准化",
              targets="贫困户人均纯收入稳定超过贫困线;村集体经济收入5万元以上" if v.is_poor_village
              else "巩固脱贫成果,防止返贫", exit_target_year=today.year if v.is_poor_village else None)

    counts = _households(b, village_unit, users)
    _policies(b, departments)
    _receipts(b, counts["households"])
    _write(b)
    lights = recompute_all(notify=True, sms=False)
    summary = {k: len(v) for k, v in b.rows.items() if not k.startswith("_")}
    summary.update({m.__name__: len(rows) for m, rows in b.fast_rows.items()})
    return {**summary, "lights": {k: lights[k] for k in ("green", "yellow", "red")}}


def _demo_users() -> dict:
    from fupin.accounts.models import User

    return {u.username.removeprefix("demo_"): u for u in User.objects.filter(username__startswith="demo_")}


def _households(b: _Builder, village_unit: dict, users: dict) -> dict:
    """Pair every poor household, give it a plan from its facts, a year of records and some errands."""
    rng, today = b.rng, b.today
    hhs = list(Household.objects.filter(is_registered_poor=True, dissolved_on__isnull=True)
               .order_by("area_code", "pk").values("pk", "area_code", "village_id", "main_cause", "other_causes",
                                                   "dilapidated_grade", "drinking_difficulty", "attribute",
                                                   "poverty_status", "year_exited", "lng", "lat", "head_name"))
    members = defaultdict(list)
    for p in Person.objects.filter(household__is_registered_poor=True, is_alive=True).values(
            "household_id", "name", "birth_date", "schooling", "health", "labour_skill", "work_status",
            "rural_medical", "disability_category").order_by("pk"):
        members[p["household_id"]].append(p)
    grid_workers = dict(GridPost.objects.filter(post="grid_worker", end_date__isnull=True)
                        .values_list("grid__code", "user_id"))
    demo_cadre_user = users.get("pairing_cadre")
    demo_village = getattr(demo_cadre_user, "division_id", None)

    # How each cadre keeps up: most keep to a fortnight, some slip, a few let their households go red
    habits = ("diligent",) * 76 + ("slack",) * 14 + ("negligent",) * 10
    last_cadre_of_unit: dict[int, Cadre] = {}
    habit_of: dict[int, str] = {}
    demo_cadre, demo_load = None, 0
    for h in hhs:
        u = village_unit.get(h["village_id"]) or next(iter(village_unit.values()))
        if demo_cadre_user is not None and h["village_id"] == demo_village and demo_load < 4:
            # the demo pairing cadre's login carries four households of the demo village
            demo_cadre = demo_cadre or b.cadre(u, "结对帮扶干部", user=demo_cadre_user)
            cadre = demo_cadre
            demo_load += 1
        elif u.pk in last_cadre_of_unit and last_cadre_of_unit[u.pk] is not demo_cadre and rng.random() < 0.03:
            cadre = last_cadre_of_unit[u.pk]  # this cadre carries two households
        else:
            cadre = b.cadre(u)
        last_cadre_of_unit[u.pk] = cadre
        habit = "demo" if cadre is demo_cadre else habit_of.setdefault(cadre.pk, rng.choice(habits))
        start = today - dt.timedelta(days=rng.randint(380, 420))
        exited = h["poverty_status"] in ("1", "4")
        target = h["year_exited"] if exited and h["year_exited"] else today.year + rng.choice((0, 0, 1))
        b.fast(HouseholdPairing, household_id=h["pk"], cadre_id=cadre.pk, unit_id=u.pk, area_code=h["area_code"],
              start_date=start, duty="结对帮扶:宣讲政策、落实一户一法、每月至少走访一次", post="结对帮扶干部",
              exit_commitment=f"{target}年底前稳定脱贫" if not exited else "巩固脱贫成果", exit_target_year=target)
        _plan(b, h, members[h["pk"]], cadre)
        _records(b, h, cadre, habit, start)
        _errands(b, h, grid_workers)
    return {"households": hhs}


def _plan(b: _Builder, h: dict, people: list[dict], cadre: Cadre) -> None:
    rng, today = b.rng, b.today
    facts = HouseholdFacts(
        causes={c for c in [h["main_cause"], *(h["other_causes"] or [])] if c},
        dilapidated_grade=h["dilapidated_grade"] or "", drinking_difficulty=h["drinking_difficulty"],
        attribute=h["attribute"] or "",
        members=[MemberFacts(name=p["name"], age=_age(p["birth_date"], today), schooling=p["schooling"] or "",
                             health=list(p["health"] or []), labour_skill=p["labour_skill"] or "",
                             work_status=p["work_status"] or "", rural_medical=p["rural_medical"],
                             disability_category=p["disability_category"] or "") for p in people])
    suggestions = suggest(facts) or [Suggestion(MeasureKind.INDUSTRY, "产业扶持(特色种养、合作社带动)", "稳定增收")]
    plan_id = b.fast(HouseholdPlan, household_id=h["pk"], area_code=h["area_code"], year=today.year,
                     goal="人均纯收入稳定超过贫困线,实现两不愁三保障", exit_target_year=today.year)
    for s in suggestions[:4]:
        r = rng.random()
        if r < 0.50:
            status, target = MeasureStatus.DONE, today - dt.timedelta(days=rng.randint(10, 300))
        elif r < 0.975:
            status, target = MeasureStatus.IN_PROGRESS, today + dt.timedelta(days=rng.randint(5, 200))
        else:  # overdue: a yellow light until it is done or re-planned
            status, target = MeasureStatus.IN_PROGRESS, today - dt.timedelta(days=rng.randint(1, 40))
        done = status == MeasureStatus.DONE
        b.fast(Measure, plan_id=plan_id, household_id=h["pk"], area_code=h["area_code"], kind=s.kind, title=s.title,
               responsible_id=cadre.pk, responsible_name=cadre.name, target_date=target, status=status,
              done_on=target if done else None, evidence=rng.choice(EVIDENCE) if done else "", suggested=True,
              reason=s.reason[:200])


def _records(b: _Builder, h: dict, cadre: Cadre, habit: str, start: dt.date) -> None:
    """A year of records, newest first, ending at a gap that fits the cadre's habit."""
    rng, today = b.rng, b.today
    if habit == "diligent":
        gap = rng.randint(0, 16)
    elif habit == "slack":
        gap = rng.randint(8, 30)
    elif habit == "negligent":
        gap = rng.randint(22, 80)
    else:  # the demo cadre: one household red, the others green
        gap = 45 if rng.random() < 0.35 else rng.randint(1, 10)
    day = today - dt.timedelta(days=gap)
    earliest = max(start, today - dt.timedelta(days=365))
    while day >= earliest:
        r = rng.random()
        kind = RecordKind.VISIT if r < 0.7 else RecordKind.CALL if r < 0.95 else RecordKind.MEETING
        texts = VISIT_TEXTS if kind == RecordKind.VISIT else CALL_TEXTS if kind == RecordKind.CALL else MEETING_TEXTS
        lng = lat = None
        if kind == RecordKind.VISIT and h["lng"] is not None:
            lng = round(h["lng"] + rng.uniform(-0.0004, 0.0004), 6)
            lat = round(h["lat"] + rng.uniform(-0.0004, 0.0004), 6)
        b.fast(AssistanceRecord, household_id=h["pk"], area_code=h["area_code"], cadre_id=cadre.pk, kind=kind,
              occurred_on=day, content=rng.choice(texts).format(m=rng.choice(["产业扶持", "教育资助", "医疗救助", "危房改造"]),
                                                                y=today.year),
              needs=rng.choice(NEEDS) if rng.random() < 0.12 else "", lng=lng, lat=lat,
              gps_accuracy=round(rng.uniform(5, 40), 1) if lng is not None else None, source=RecordSource.DEMO)
        day -= dt.timedelta(days=rng.randint(9, 24) if habit != "negligent" else rng.randint(15, 45))


def _errands(b: _Builder, h: dict, grid_workers: dict) -> None:
    rng, today = b.rng, b.today
    for _n in range(rng.choices((0, 1, 2), weights=(50, 38, 12))[0]):
        matter, office = rng.choice(ERRANDS)
        opened = today - dt.timedelta(days=rng.randint(0, 360))
        r = rng.random()
        status = ErrandStatus.OPEN if (today - opened).days < 20 and r < 0.6 else \
            ErrandStatus.FAILED if r < 0.05 else ErrandStatus.DONE
        closed = None if status == ErrandStatus.OPEN else min(today, opened + dt.timedelta(days=rng.randint(1, 15)))
        b.fast(Errand, household_id=h["pk"], area_code=h["area_code"], for_name=h["head_name"], matter=matter,
              office=office, status=status, handled_by_id=grid_workers.get(h["area_code"]), opened_on=opened,
              closed_on=closed, result="" if status == ErrandStatus.OPEN else
              ("已办结" if status == ErrandStatus.DONE else "材料不全,已告知户主补齐后再办"))


def _policies(b: _Builder, departments: dict) -> None:
    existing = {p.name: p for p in Policy.objects.all()}
    b.policies = {}
    for name, dept, kind, form, amount, per, benefit in POLICIES:
        b.policies[name] = existing.get(name) or b.add(
            Policy, name=name, department=departments.get(dept), kind=kind, form=form,
            amount=Decimal(amount) if amount is not None else None, amount_unit=per, benefit=benefit)


def _receipts(b: _Builder, hhs: list[dict]) -> None:
    """The policies each household received in the last year, following its attribute, causes and facts."""
    rng, today = b.rng, b.today
    p = b.policies
    students = set(Person.objects.filter(household__is_registered_poor=True, schooling__gte="03")
                   .values_list("household_id", flat=True))
    labour = set(Person.objects.filter(household__is_registered_poor=True, is_alive=True, labour_skill__in=("1", "2"))
                 .values_list("household_id", flat=True))
    farming = {pk for pk, industry in Household.objects.filter(is_registered_poor=True).values_list(
        "pk", "leading_industry") if industry not in ("", "外出务工") and pk in labour}
    for h in hhs:
        got = [p["新农合个人缴费资助"]]
        if h["attribute"] == "2":
            got.append(p["农村低保"])
        if h["attribute"] in ("3", "4"):
            got.append(p["特困人员供养"])
        if h["pk"] in students:
            got.append(p["雨露计划"] if rng.random() < 0.4 else p["建档立卡学生生活补助"])
        if h["dilapidated_grade"] in ("C", "D") and rng.random() < 0.6:
            got.append(p["农村危房改造补助"])
        if h["main_cause"] == "1" and rng.random() < 0.5:
            got.append(p["医疗救助"])
        if h["main_cause"] == "2":
            got.append(p["残疾人两项补贴"])
        # 以奖代补: most households running an industry with labour had the year's award; a few are still owed
        if h["pk"] in farming and rng.random() < 0.92:
            got.append(p["产业发展扶持资金"])
        if h["main_cause"] == "9" and rng.random() < 0.5:
            got.append(p["扶贫小额信贷贴息"])
        if rng.random() < 0.15:
            got.append(p["就业技能培训补贴"])
        for policy in got:
            amount = policy.amount
            if policy.name == "医疗救助":
                amount = Decimal(rng.randrange(800, 12000, 100))
            b.fast(PolicyReceipt, household_id=h["pk"], policy_id=policy.pk, area_code=h["area_code"],
                  received_on=today - dt.timedelta(days=rng.randint(5, 360)), amount=amount, note="")


def _write(b: _Builder) -> None:
    from fupin.core.bulk import BulkWriter

    order = [Unit, Cadre, WorkTeam, AreaPairing, VillagePlan, Policy, HouseholdPairing, HouseholdPlan, Measure,
             PolicyReceipt, AssistanceRecord, Errand]
    with transaction.atomic():
        for model in order:
            rows = b.rows.get(model.__name__, [])
            if rows:
                model.objects.bulk_create(rows, batch_size=BULK)
            fast = b.fast_rows.get(model, [])
            if fast:
                writer = BulkWriter(model, with_pk=True)
                for i in range(0, len(fast), BULK):
                    writer.write(fast[i:i + BULK])
        through = WorkTeam.members.through
        through.objects.bulk_create([through(workteam_id=team.pk, cadre_id=m.pk)
                                     for team, ms in b.rows.get("_team_members", []) for m in ms], batch_size=BULK)
        _reset_sequences([Unit, Cadre, WorkTeam, AreaPairing, VillagePlan, HouseholdPairing, HouseholdPlan, Measure,
                          Policy, PolicyReceipt, AssistanceRecord, Errand])


def _reset_sequences(models: list) -> None:
    from django.core.management.color import no_style
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_sql(no_style(), models):
            cursor.execute(sql)
