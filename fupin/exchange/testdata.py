"""A messy county for tests and benchmarks: a 建档立卡 roster, the 14 department extracts, and the truth.

`make_county(outdir, scale=1.0, seed=1)` writes, at scale 1 (Yidu: about 390,000 registered people and 400,000
department records):
- `roster.xlsx`: the national roster layout (序号, 乡镇, 行政村, 户编号, 姓名, 与户主关系, 证件号码, 性别, 民族, 家庭人口数,
  贫困户属性, 主要致贫原因, 脱贫状态), a title row above the header;
- one file per source (`<source>.csv` / `.xlsx`): GBK and UTF-8 CSVs, xlsx with a merged title row, varying header
  names (synonyms), each row numbered in 序号;
- `truth.json`: for every department row (source, 序号) the ID number of the registry person it is about (or null
  for people not in the registry), the findings a correct comparison must produce, and the decoys it must not flag.

Stated noise (fractions of department rows that carry an ID): 5% without an ID (the row keeps its birth date or
address), 2% one-digit typos or adjacent swaps, 3% 15-digit legacy numbers (people born in the 1900s), 15% of the
vehicle extract's IDs stored as Excel numbers (only 15 significant digits survive), 2% each of spaces, apostrophes,
full-width digits and lower-case x; 5% homophone names (王晓明→王小明); namesakes (same name, sex and birth date,
different ID) in other towns, 0.3% of people; people listed in two poor households; and decoys for every rule.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import random
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from fupin.core import idnumber

# the demo county's real division file, shipped in the project (fupin/demo/fixtures, CC BY 4.0)
DIVISIONS_CSV = Path(__file__).resolve().parents[1] / "demo" / "fixtures" / "yidu_420581_divisions_2016.csv"
COUNTY_PEOPLE = 390_000
COUNTY_RECORDS = 400_000

SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪"
            "范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
GIVEN = ("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红梅鹏飞建国志宏海波俊辉斌云林燕文亮晓小春晨欣怡佳琪"
         "子涵宇浩然博文思雨嘉轩梓萱一诺铭维慧蕙新鑫阳扬学雪成诚彬兵凤峰锋丹单清青庆琴勤琳玲灵凌龙隆荣容蓉松嵩"
         "婷庭廷亭霆旭绪煦秋求球远源媛元园长昌常畅翠萃金锦进晶菁景敬静境")
ETHNIC = [("汉族", 0.82), ("土家族", 0.17), ("苗族", 0.01)]
ATTRIBUTES = [("一般贫困户", 0.6), ("低保贫困户", 0.3), ("特困供养贫困户", 0.1)]
CAUSES = ["因病", "因残", "因学", "因灾", "缺土地", "缺技术", "缺劳力", "缺资金", "自身发展动力不足"]
STATUS = [("未脱贫", "0", 0.50), ("已脱贫(享受政策)", "1", 0.30), ("已脱贫(不再享受政策)", "4", 0.15), ("返贫", "3", 0.05)]
OTHER_AREAS = ["420526", "420525", "420527", "420528", "420529", "420502"]

# source: (share of the county's records, file format, header variants)
EXTRACTS: dict[str, tuple[float, str, dict[str, list[str]]]] = {
    "household_register": (0.30, "csv-gbk", {"姓名": ["姓名"], "证件": ["公民身份号码", "身份证号"], "性别": ["性别"],
                                             "出生日期": ["出生日期"], "地址": ["户籍地址"]}),
    "death": (0.015, "xlsx", {"姓名": ["姓名"], "证件": ["公民身份号码"], "出生日期": ["出生日期"],
                              "死亡日期": ["死亡日期", "注销日期"], "地址": ["户籍地址"]}),
    "vehicle": (0.0625, "xlsx", {"姓名": ["机动车所有人", "车主"], "证件": ["身份证明号码"], "地址": ["住所地址"]}),
    "business": (0.0375, "csv-utf8", {"姓名": ["法定代表人(负责人)", "经营者"], "证件": ["证件号码"], "地址": ["住所"]}),
    "property": (0.075, "xlsx", {"姓名": ["权利人"], "证件": ["权利人证件号", "证件号码"], "地址": ["坐落"]}),
    "payroll": (0.03, "csv-gbk", {"姓名": ["姓名"], "证件": ["身份证号码"], "出生日期": ["出生日期"], "地址": ["住址"]}),
    "dibao": (0.05, "xlsx", {"姓名": ["姓名"], "证件": ["身份证号"], "地址": ["住址"]}),
    "disability": (0.03, "csv-utf8", {"姓名": ["姓名"], "证件": ["残疾人证号"], "地址": ["住址"]}),
    "social_insurance": (0.20, "csv-gbk", {"姓名": ["姓名"], "证件": ["身份证号码", "SFZH"], "出生日期": ["出生年月"],
                                           "地址": ["住址"]}),
    "student": (0.0875, "xlsx", {"姓名": ["学生姓名"], "证件": ["身份证件号"], "出生日期": ["出生日期"],
                                 "地址": ["家庭住址"]}),
    "medical": (0.0625, "csv-utf8", {"姓名": ["患者姓名", "姓名"], "证件": ["身份证号"], "地址": ["住址"]}),
    "housing_safety": (0.0125, "xlsx", {"姓名": ["户主姓名"], "证件": ["身份证号"], "地址": ["住址"]}),
    "land": (0.025, "csv-gbk", {"姓名": ["承包方代表"], "证件": ["身份证号"], "地址": ["地址"]}),
    "forest": (0.0125, "csv-utf8", {"姓名": ["林权权利人"], "证件": ["身份证号"], "地址": ["地址"]}),
}


# -- the regression style (issue 5's generator, kept so its figures can be reproduced) ----------------------------
# frozen copies of what that generator derived from the linkage's own code: its homophone groups (toneless pinyin of
# GIVEN) and the canonical columns of each source; the new style below uses neither
HOMOPHONE_GROUPS_V1 = ["伟维", "静晶菁景敬境", "军俊", "洋阳扬", "艳燕", "明铭", "平萍", "玉宇雨", "红宏", "波博", "辉慧蕙",
                       "斌彬", "林琳", "晓小", "欣新鑫", "怡一", "佳嘉", "子梓", "轩萱", "学雪", "成诚", "凤峰锋", "丹单",
                       "清青庆", "琴勤", "玲灵凌", "龙隆", "荣容蓉", "松嵩", "婷庭廷亭霆", "旭绪煦", "秋求球", "远源媛元园",
                       "昌常畅", "翠萃", "金锦进"]
_BDSA = [("出生日期", "birth_date"), ("性别", "sex")]
FIELDS_V1: dict[str, list[tuple[str, str]]] = {
    "household_register": [("姓名", "name"), ("公民身份号码", "id"), ("民族", "text"), ("户号", "text"),
                           ("与户主关系", "text"), *_BDSA, ("户籍地址", "address")],
    "death": [("姓名", "name"), ("公民身份号码", "id"), ("死亡日期", "date"), ("注销类别", "text"), *_BDSA,
              ("户籍地址", "address")],
    "vehicle": [("机动车所有人", "name"), ("身份证明号码", "id"), ("号牌号码", "text"), ("车辆类型", "text"),
                ("使用性质", "text"), ("机动车状态", "text"), ("初次登记日期", "date"), ("购置价格", "number"), *_BDSA,
                ("住所地址", "address")],
    "business": [("企业名称", "text"), ("市场主体类型", "text"), ("法定代表人", "name"), ("证件号码", "id"),
                 ("注册资本", "number"), ("成立日期", "date"), ("登记状态", "text"), *_BDSA, ("住所", "address")],
    "property": [("权利人", "name"), ("证件号", "id"), ("坐落", "address"), ("房屋性质", "text"), ("规划用途", "text"),
                 ("建筑面积", "number"), ("登簿时间", "date"), *_BDSA],
    "payroll": [("姓名", "name"), ("身份证号码", "id"), ("单位名称", "text"), ("人员类别", "text"), ("编制类型", "text"),
                ("状态", "text"), *_BDSA, ("住址", "address")],
    "dibao": [("姓名", "name"), ("身份证号", "id"), ("保障类型", "text"), ("月保障金额", "number"), ("乡镇", "text"),
              *_BDSA, ("住址", "address")],
    "disability": [("姓名", "name"), ("残疾人证号", "disability_card"), ("残疾类别", "text"), ("残疾等级", "text"),
                   *_BDSA, ("住址", "address")],
    "social_insurance": [("姓名", "name"), ("身份证号码", "id"), ("参保险种", "text"), ("参保状态", "text"),
                         ("待遇", "number"), *_BDSA, ("住址", "address")],
    "student": [("学生姓名", "name"), ("身份证件号", "id"), ("学校", "text"), ("学段/年级", "text"), *_BDSA,
                ("家庭住址", "address")],
    "medical": [("姓名", "name"), ("身份证号", "id"), ("病种", "text"), ("医疗总费用", "number"), ("自付", "number"),
                *_BDSA, ("住址", "address")],
    "housing_safety": [("户主姓名", "name"), ("身份证号", "id"), ("危房等级", "text"), ("改造状态", "text"), *_BDSA,
                       ("住址", "address")],
    "land": [("承包方代表", "name"), ("身份证号", "id"), ("承包面积", "number"), *_BDSA, ("地址", "address")],
    "forest": [("林权权利人", "name"), ("身份证号", "id"), ("林地面积", "number"), *_BDSA, ("地址", "address")],
}


@dataclass
class Person:
    """A generated resident (in the roster or not)."""

    name: str
    id18: str
    birth: dt.date
    sex: str
    town: str
    village: str
    households: list[str] = field(default_factory=list)  # 户编号 of the poor households listing them

    @property
    def address(self) -> str:
        return f"湖北省宜都市{self.town}{self.village}"


def _weighted(rng: random.Random, items):
    r = rng.random()
    acc = 0.0
    for item in items:
        acc += item[-1]
        if r <= acc:
            return item
    return items[-1]


class County:
    def __init__(self, *, scale: float, seed: int, divisions_csv: Path):
        self.rng = random.Random(seed)
        self.scale = scale
        self.used_ids: set[str] = set()
        self.villages = self._villages(divisions_csv)
        self.homophones = self._homophones()
        self.roster: list[dict] = []
        self.people: list[Person] = []  # everybody in the roster (once per person)
        self.outsiders: list[Person] = []
        self.target_households: set[str] = set()
        self.household_status: dict[str, str] = {}

    # -- building blocks ------------------------------------------------------------------------------------------
    @staticmethod
    def _villages(path: Path) -> list[tuple[str, str, str]]:
        rows = list(csv.DictReader(path.open(encoding="utf-8")))
        names = {r["code"]: r["name"] for r in rows}
        return [(r["code"], names[r["parent"]], r["name"]) for r in rows if r["level"] == "village"]

    @staticmethod
    def _homophones() -> dict[str, list[str]]:
        return {ch: [o for o in g if o != ch] for g in HOMOPHONE_GROUPS_V1 for ch in g}

    def new_id(self, birth: dt.date, sex: str, area: str | None = None) -> str:
        area = area or ("420581" if self.rng.random() < 0.93 else self.rng.choice(OTHER_AREAS))
        while True:
            seq = self.rng.randrange(0, 500) * 2 + (1 if sex == "1" else 0)
            body = f"{area}{birth:%Y%m%d}{seq:03d}"
            number = body + idnumber.check_char(body)
            if number not in self.used_ids:
                self.used_ids.add(number)
                return number

    def new_name(self) -> str:
        given = "".join(self.rng.choice(GIVEN) for _ in range(1 if self.rng.random() < 0.25 else 2))
        return self.rng.choice(SURNAMES) + given

    def birth(self, lo: int, hi: int) -> dt.date:
        start = dt.date(lo, 1, 1)
        return start + dt.timedelta(days=self.rng.randrange((dt.date(hi, 12, 31) - start).days))

    def new_person(self, *, birth: dt.date, sex: str, village: tuple[str, str, str], name: str | None = None,
                   surname: str | None = None) -> Person:
        name = name or ((surname + self.new_name()[1:]) if surname else self.new_name())
        return Person(name=name, id18=self.new_id(birth, sex), birth=birth, sex=sex, town=village[1],
                      village=village[2])

    # -- the roster -----------------------------------------------------------------------------------------------
    def build_roster(self) -> None:
        n_people = max(30, round(COUNTY_PEOPLE * self.scale))
        seqs: dict[str, int] = defaultdict(int)
        while len(self.people) < n_people:
            village = self.rng.choice(self.villages)
            seqs[village[0]] += 1
            code = f"{village[0]}{seqs[village[0]]:04d}"
            members = self._family(village)
            status = _weighted(self.rng, STATUS)
            self.household_status[code] = status[1]
            if status[1] != "4":
                self.target_households.add(code)
            attribute = _weighted(self.rng, ATTRIBUTES)[0]
            cause = self.rng.choice(CAUSES)
            for rel, p in members:
                p.households.append(code)
                self.people.append(p)
                self._roster_row(code, village, rel, p, len(members), attribute, cause, status[0])
        self._namesakes()
        self._duplicates()

    def _family(self, village) -> list[tuple[str, Person]]:
        rng = self.rng
        head_sex = "1" if rng.random() < 0.85 else "2"
        head_birth = self.birth(1938, 1990)
        head = self.new_person(birth=head_birth, sex=head_sex, village=village)
        out = [("户主", head)]
        size = _weighted(rng, [(1, 0.15), (2, 0.25), (3, 0.25), (4, 0.2), (5, 0.1), (6, 0.05)])[0]
        if size >= 2:
            spouse_birth = min(head_birth + dt.timedelta(days=rng.randint(-2000, 2000)), dt.date(1995, 12, 31))
            out.append(("配偶", self.new_person(birth=spouse_birth, sex="2" if head_sex == "1" else "1",
                                              village=village)))
        for _ in range(size - len(out)):
            lo = min(head_birth.year + 20, 2014)
            sex = "1" if rng.random() < 0.5 else "2"
            child = self.new_person(birth=self.birth(lo, min(lo + 15, 2015)), sex=sex, village=village,
                                    surname=head.name[0])
            out.append(("之子" if sex == "1" else "之女", child))
        return out

    def _roster_row(self, code, village, rel, p: Person, size, attribute, cause, status_label) -> None:
        self.roster.append({"乡镇": village[1], "行政村": village[2], "户编号": code, "姓名": p.name,
                            "与户主关系": rel, "证件号码": p.id18, "性别": "男" if p.sex == "1" else "女",
                            "民族": _weighted(self.rng, ETHNIC)[0], "家庭人口数": size, "贫困户属性": attribute,
                            "主要致贫原因": cause, "脱贫状态": status_label})

    def _namesakes(self) -> None:
        """0.3% of people get a namesake (same name, sex, birth date; another ID) in a household of another town."""
        rng = self.rng
        self.namesake_pairs: list[tuple[Person, Person]] = []
        index = {r["证件号码"]: i for i, r in enumerate(self.roster)}
        position = {p.id18: i for i, p in enumerate(self.people)}
        used: set[str] = set()
        for a in rng.sample(self.people, max(2, len(self.people) * 3 // 1000)):
            donor = rng.choice(self.people)
            if donor.town == a.town or donor is a or a.id18 in used or donor.id18 in used:
                continue
            # the donor is replaced by a's namesake: same name/sex/birth, a new ID, the donor's household
            b = Person(name=a.name, id18=self.new_id(a.birth, a.sex), birth=a.birth, sex=a.sex, town=donor.town,
                       village=donor.village, households=list(donor.households))
            i = index.pop(donor.id18)
            self.roster[i].update({"姓名": b.name, "证件号码": b.id18, "性别": "男" if b.sex == "1" else "女"})
            index[b.id18] = i
            self.people[position.pop(donor.id18)] = b
            position[b.id18] = len(position)  # placeholder, not used again for b
            used.update({a.id18, b.id18})
            self.namesake_pairs.append((a, b))
        self._index = index

    def _duplicates(self) -> None:
        """0.2% of households also list a person who is already a member of another poor household."""
        rng = self.rng
        first_row: dict[str, dict] = {}
        for r in self.roster:
            first_row.setdefault(r["户编号"], r)
        codes = sorted(first_row)
        namesakes = {p.id18 for pair in self.namesake_pairs for p in pair}
        villages = {v[0]: v for v in self.villages}
        self.duplicates: list[Person] = []
        for code in rng.sample(codes, max(1, len(codes) // 500)):
            p = rng.choice(self.people)
            if code in p.households or len(p.households) != 1 or p.id18 in namesakes:
                continue
            own = self.roster[self._index[p.id18]]
            village = villages[code[:12]]
            head = first_row[code]
            self.roster.append({**own, "乡镇": village[1], "行政村": village[2], "户编号": code, "与户主关系": "其他",
                                "家庭人口数": head["家庭人口数"], "贫困户属性": head["贫困户属性"],
                                "主要致贫原因": head["主要致贫原因"], "脱贫状态": head["脱贫状态"]})
            p.households.append(code)
            self.duplicates.append(p)
        self.roster.sort(key=lambda r: (r["户编号"], r["与户主关系"] != "户主"))

    # -- department extracts --------------------------------------------------------------------------------------
    def build_outsiders(self, n: int) -> None:
        for _ in range(n):
            village = self.rng.choice(self.villages)
            sex = "1" if self.rng.random() < 0.5 else "2"
            self.outsiders.append(self.new_person(birth=self.birth(1935, 2012), sex=sex, village=village))


def _noisy_id(rng: random.Random, p: Person, stats: dict) -> tuple[object, str]:
    """The ID as a department wrote it, and the kind of noise applied."""
    r = rng.random()
    number = p.id18
    if r < 0.02:
        digits = list(number)
        if rng.random() < 0.5:
            i = rng.randrange(17)
            digits[i] = rng.choice([d for d in "0123456789" if d != digits[i]])
            kind = "typo"
        else:
            pairs = [i for i in range(16) if digits[i] != digits[i + 1]]
            i = rng.choice(pairs)
            digits[i], digits[i + 1] = digits[i + 1], digits[i]
            kind = "swap"
        stats[kind] = stats.get(kind, 0) + 1
        return "".join(digits), kind
    if r < 0.05 and p.birth.year < 2000 and p.birth.year >= 1900:
        stats["legacy15"] = stats.get("legacy15", 0) + 1
        return number[:6] + number[8:17], "legacy15"
    if r < 0.07:
        return number[:6] + " " + number[6:14] + " " + number[14:], "spaces"
    if r < 0.09:
        return "'" + number, "apostrophe"
    if r < 0.11:
        return number.translate(str.maketrans("0123456789", "０１２３４５６７８９")), "fullwidth"
    if r < 0.13 and number.endswith("X"):
        return number[:-1] + "x", "lower_x"
    return number, "clean"


def _homophone(rng: random.Random, name: str, homophones: dict[str, list[str]]) -> str:
    positions = [i for i, ch in enumerate(name) if i > 0 and ch in homophones]
    if not positions:
        return name
    i = rng.choice(positions)
    return name[:i] + rng.choice(homophones[name[i]]) + name[i + 1:]


VEHICLE_TRUE = ["小型轿车", "小型普通客车", "中型普通客车", "小型越野客车"]
VEHICLE_DECOY = ["轮式拖拉机", "手扶拖拉机", "轻型普通货车", "重型半挂牵引车货车", "三轮汽车", "低速货车", "普通二轮摩托车",
                 "正三轮摩托车"]
VEHICLE_DEAD = ["注销", "报废", "转移"]


def _fields_for(source: str, rng: random.Random, p: Person, kind: str) -> dict:
    """Source-specific columns; kind is 'hit' (the rule must flag), 'decoy' (it must not) or 'plain'."""
    today = dt.date(2016, 10, 1)
    if source == "household_register":
        return {"民族": "汉族", "户号": f"{rng.randrange(10**8):08d}", "与户主关系": "户主"}
    if source == "death":
        return {"死亡日期": (today - dt.timedelta(days=rng.randrange(1, 700))).isoformat(), "注销类别": "死亡"}
    if source == "vehicle":
        if kind == "hit":
            vtype, status = rng.choice(VEHICLE_TRUE), "正常"
        elif kind == "decoy":
            if rng.random() < 0.6:
                vtype, status = rng.choice(VEHICLE_DECOY), "正常"
            else:
                vtype, status = rng.choice(VEHICLE_TRUE), rng.choice(VEHICLE_DEAD)
        else:
            vtype, status = rng.choice(VEHICLE_DECOY), rng.choice(["正常", "注销"])
        price = rng.choice([8000, 25000, 45000, 120000]) if "客车" in vtype or "轿车" in vtype else rng.randint(3, 90) * 1000
        return {"号牌号码": f"鄂E{rng.randrange(10**5):05d}", "车辆类型": vtype, "使用性质": "非营运",
                "机动车状态": status, "初次登记日期": f"{rng.randint(2005, 2016)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
                "购置价格": price}
    if source == "business":
        if kind == "hit":
            btype, status = rng.choice([("个体工商户", "存续"), ("个体工商户", "在业"), ("有限责任公司", "存续(在营、开业、在册)"),
                                        ("个人独资企业", "开业")])
            name = "宜都市" + p.name + rng.choice(["商店", "餐馆", "建材经营部", "农资店"])
        elif kind == "decoy":
            btype, status = rng.choice([("个体工商户", "注销"), ("有限责任公司", "吊销,未注销"), ("农民专业合作社", "存续"),
                                        ("农民专业合作社", "在业")])
            name = "宜都市" + p.village + rng.choice(["柑橘专业合作社", "茶叶种植专业合作社", "农资店"])
        else:
            btype, status = "农民专业合作社", "存续"
            name = "宜都市" + p.village + "养殖专业合作社"
        return {"企业名称": name, "市场主体类型": btype, "注册资本": rng.choice([3, 10, 50, 100]) * 10000,
                "成立日期": f"{rng.randint(2000, 2016)}-05-01", "登记状态": status}
    if source == "property":
        if kind == "hit":
            nature, use = rng.choice([("商品房", "住宅"), ("商品房", "成套住宅"), ("自建房", "商业"), ("宅基地", "商服")])
        elif kind == "decoy":
            nature, use = rng.choice([("宅基地", "住宅"), ("自建房", "住宅"), ("宅基地", "农村宅基地住宅")])
        else:
            nature, use = "宅基地", "住宅"
        return {"坐落": p.address + f"{rng.randint(1, 12)}组", "房屋性质": nature, "规划用途": use,
                "建筑面积": rng.randint(60, 200), "登簿时间": f"{rng.randint(2008, 2016)}-03-15"}
    if source == "payroll":
        return {"单位名称": rng.choice(["宜都市教育局", "红花套镇人民政府", "宜都市人民医院", "宜都市水利局"]),
                "人员类别": rng.choice(["公务员", "事业人员", "工勤人员"]), "编制类型": rng.choice(["行政编制", "事业编制"]),
                "状态": rng.choice(["在职", "在职", "退休"])}
    if source == "dibao":
        return {"保障类型": rng.choice(["农村低保", "特困供养"]), "月保障金额": rng.choice([150, 210, 260]), "乡镇": p.town}
    if source == "disability":
        return {"残疾类别": rng.choice(["肢体", "视力", "听力", "智力"]), "残疾等级": rng.choice(["一级", "二级", "三级", "四级"])}
    if source == "social_insurance":
        return {"参保险种": rng.choice(["城乡居民基本养老保险", "新型农村合作医疗", "城乡居民基本养老保险"]),
                "参保状态": rng.choice(["参保缴费", "享受待遇"]), "待遇": rng.choice([0, 0, 70, 85])}
    if source == "student":
        return {"学校": rng.choice(["宜都市第一中学", "红花套镇中心小学", "宜都市职业教育中心"]),
                "学段/年级": rng.choice(["小学三年级", "七年级", "普通高中二年级", "中职一年级"])}
    if source == "medical":
        total = rng.randint(500, 80000)
        return {"病种": rng.choice(["高血压", "糖尿病", "肺癌", "尿毒症", "骨折"]), "医疗总费用": total,
                "自付": int(total * rng.uniform(0.1, 0.5))}
    if source == "housing_safety":
        return {"危房等级": rng.choice(["C级", "D级"]), "改造状态": rng.choice(["未改造", "已改造", "改造中"])}
    if source == "land":
        return {"承包面积": round(rng.uniform(0.5, 8), 2)}
    if source == "forest":
        return {"林地面积": round(rng.uniform(1, 50), 1)}
    return {}


HIT_RULES = {"vehicle": "vehicle", "business": "business", "property": "property", "payroll": "payroll",
             "death": "deceased"}


def make_county(outdir: str | Path, *, scale: float = 1.0, seed: int = 1, divisions_csv: str | Path | None = None,
                style: str = "new", quirks: tuple[str, ...] | None = None) -> dict:
    """Write the roster, the 14 extracts and truth.json into outdir; return a summary.

    style "new" (default): the independent generator with the noise the linkage does not model (see NEW_NOISE) and
    the file quirks in `quirks` (default all of FILE_QUIRKS); style "regression": issue 5's generator, unchanged, for
    the old figures.
    """
    if style == "new":
        from fupin.exchange.testcounty import make_county_new

        return make_county_new(outdir, scale=scale, seed=seed, divisions_csv=divisions_csv, quirks=quirks)
    if style != "regression":
        raise ValueError(f"unknown style {style!r}")
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    county = County(scale=scale, seed=seed, divisions_csv=Path(divisions_csv or DIVISIONS_CSV))
    rng = county.rng
    county.build_roster()
    n_records = max(140, round(COUNTY_RECORDS * scale))
    county.build_outsiders(max(50, n_records // 3))
    # an xlsx sheet holds 1,048,576 rows: a bigger county's roster is a CSV, as the national system exports it too
    roster_name = "roster.xlsx" if len(county.roster) < 1_000_000 else "roster.csv"
    _write_roster(out / roster_name, county.roster)

    targets = [p for p in county.people if any(h in county.target_households for h in p.households)]
    truth_links: list[dict] = []
    findings: set[tuple] = set()
    decoys: list[dict] = []
    noise: dict[str, int] = {}
    files: dict[str, str] = {}
    for source, (share, fmt, headers) in EXTRACTS.items():
        n = max(10, round(n_records * share))
        rows: list[dict] = []

        def add(p: Person, kind: str, *, in_registry: bool, rows=rows, source=source, headers=headers):
            seq = len(rows) + 1
            name = p.name
            if rng.random() < 0.05:
                name2 = _homophone(rng, name, county.homophones)
                if name2 != name:
                    noise["homophone"] = noise.get("homophone", 0) + 1
                name = name2
            id_value, id_kind = (p.id18, "clean") if kind == "twin" else _noisy_id(rng, p, noise)
            if source == "disability" and id_kind == "legacy15":
                id_value = p.id18
            row = {"序号": seq, "姓名": name, "证件": id_value,
                   "出生日期": p.birth.isoformat() if "出生日期" in headers else None,
                   "性别": "男" if p.sex == "1" else "女", "地址": p.address, "_text_id": kind == "twin"}
            if source == "disability":
                row["证件"] = (id_value if isinstance(id_value, str) else p.id18) + rng.choice("1234567") + rng.choice("1234")
            if kind != "twin" and rng.random() < 0.05 and (row["出生日期"] or row["地址"]):
                row["证件"] = ""
                noise["missing_id"] = noise.get("missing_id", 0) + 1
            row.update(_fields_for(source, rng, p, "hit" if kind == "twin" else kind))
            if source == "property":
                row["地址"] = row.pop("坐落")
            rows.append(row)
            truth_links.append({"source": source, "seq": seq, "person": p.id18 if in_registry else None})
            note_truth(county, p, kind, seq, source=source, rule=HIT_RULES.get(source), in_registry=in_registry,
                       findings=findings, decoys=decoys)

        fill_extract(county, targets, add, rows, n=n, source=source, rule=HIT_RULES.get(source), decoys=decoys)
        # the truth is keyed by 序号, which travels with the row
        files[source] = _write_extract(out, source, fmt, headers, rows, rng, noise)
    return write_truth(out, county, roster_name=roster_name, files=files, truth_links=truth_links,
                       findings=findings, decoys=decoys, noise=noise, scale=scale, seed=seed)


def note_truth(county, p: Person, kind: str, seq: int, *, source: str, rule: str | None, in_registry: bool,
               findings: set, decoys: list) -> None:
    """What a department row planted: a finding (a hit about a registered person of a target household) or a decoy
    the rule must not flag. Both generators' `add` end here."""
    if kind == "hit" and in_registry and rule:
        for h in p.households:
            if h in county.target_households:
                findings.add((h, rule, p.id18, source))
    elif kind == "decoy" and rule:
        decoys.append({"source": source, "seq": seq, "rule": rule,
                       "households": [h for h in p.households if h in county.target_households]})


def fill_extract(county, targets: list[Person], add, rows: list, *, n: int, source: str, rule: str | None,
                 decoys: list) -> None:
    """The people of one extract, through `add(person, kind, in_registry=...)` (each generator writes its own rows):
    hits and decoys of the source's rule among `targets`, namesake twins, then plain rows up to `n`, shuffled. Both
    generators draw from `county.rng` in this order, so a seed gives the files it gave before."""
    rng = county.rng
    if rule:
        n_hits = max(3, len(targets) // 200)
        for p in rng.sample(targets, min(n_hits, len(targets))):
            add(p, "hit", in_registry=True)
        if source not in ("death", "payroll"):
            for p in rng.sample(targets, min(n_hits, len(targets))):
                add(p, "decoy", in_registry=True)
        # namesake decoys: another person (same name and birth date, own valid ID, another town), not in the
        # registry, whose row would be a hit
        for a in rng.sample(targets, min(max(2, n_hits // 3), len(targets))):
            elsewhere = rng.choice([v for v in county.villages if v[1] != a.town])
            twin = Person(name=a.name, id18=county.new_id(a.birth, a.sex), birth=a.birth, sex=a.sex,
                          town=elsewhere[1], village=elsewhere[2])
            seq_before = len(rows)
            add(twin, "twin", in_registry=False)
            decoys.append({"source": source, "seq": seq_before + 1, "rule": rule, "namesake_of": a.id18,
                           "households": [h for h in a.households if h in county.target_households]})
    while len(rows) < n:
        # every payroll or death row is a hit: their other rows are about people outside the registry
        if rng.random() < 0.6 and source not in ("payroll", "death"):
            add(rng.choice(county.people), "plain", in_registry=True)
        else:
            add(rng.choice(county.outsiders), "plain", in_registry=False)
    rng.shuffle(rows)


def write_truth(out: Path, county, *, roster_name: str, files: dict, truth_links: list, findings: set,
                decoys: list, noise: dict, scale: float, seed: int, **head) -> dict:
    """Add the registry's own findings (a person in two households) and decoys (namesakes) to what the extracts
    planted, write truth.json (head's keys first: the new-style generator's style and quirks) and return the
    summary both generators return."""
    for p in county.duplicates:
        if len(p.households) >= 2:
            for h in p.households:
                if h in county.target_households:
                    findings.add((h, "duplicate_member", p.id18, "registry"))
    for a, b in county.namesake_pairs:
        decoys.append({"rule": "duplicate_member", "namesakes": [a.id18, b.id18],
                       "households": a.households + b.households})
    truth = {
        **head, "scale": scale, "seed": seed, "noise": noise, "files": files, "roster_file": roster_name,
        "roster": {"people": len(county.people), "rows": len(county.roster),
                   "households": len({r["户编号"] for r in county.roster}),
                   "target_households": len(county.target_households)},
        "links": truth_links,
        "findings": [{"household": h, "rule": r, "person": pid, "source": s} for h, r, pid, s in sorted(findings)],
        "decoys": decoys,
        "namesakes": [[a.id18, b.id18] for a, b in county.namesake_pairs],
        "duplicates": [p.id18 for p in county.duplicates],
    }
    (out / "truth.json").write_text(json.dumps(truth, ensure_ascii=False), encoding="utf-8")
    return {"roster": str(out / roster_name), "files": files, "truth": str(out / "truth.json"),
            "people": len(county.people), "records": len(truth_links), "findings": len(truth["findings"]),
            "noise": noise}


ROSTER_HEADER = ["序号", "乡镇", "行政村", "户编号", "姓名", "与户主关系", "证件号码", "性别", "民族", "家庭人口数", "贫困户属性",
                 "主要致贫原因", "脱贫状态"]


def _write_roster(path: Path, roster: list[dict]) -> None:
    if path.suffix == ".csv":
        with path.open("w", encoding="utf-8-sig", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(ROSTER_HEADER)
            for i, r in enumerate(roster, start=1):
                w.writerow([i, *[r[h] for h in ROSTER_HEADER[1:]]])
        return
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    ws = wb.add_worksheet("花名册")
    ws.merge_range(0, 0, 0, len(ROSTER_HEADER) - 1, "宜都市建档立卡贫困人口花名册")
    ws.write_row(1, 0, ROSTER_HEADER)
    for i, r in enumerate(roster, start=1):
        ws.write_row(i + 1, 0, [i, *[r[h] for h in ROSTER_HEADER[1:]]])
        ws.write_string(i + 1, 6, r["证件号码"])
        ws.write_string(i + 1, 3, r["户编号"])
    wb.close()


def _extract_columns(source: str, headers: dict[str, list[str]], rng: random.Random) -> list[tuple[str, str]]:
    """(key in the row dict, header written) in file order."""
    fields = [{"name": n, "role": r} for n, r in FIELDS_V1[source]]
    cols = [("序号", "序号")]
    role_key = {"name": "姓名", "id": "证件", "disability_card": "证件", "birth_date": "出生日期", "address": "地址"}
    for f in fields:
        key = role_key.get(f["role"], f["name"])
        if f["role"] == "sex":
            cols.append(("性别", "性别"))
            continue
        if key in ("出生日期",) and "出生日期" not in headers:
            continue
        if key == "地址" and "地址" not in headers:
            continue
        variants = headers.get({"姓名": "姓名", "证件": "证件", "出生日期": "出生日期", "地址": "地址"}.get(key, ""), [])
        header = rng.choice(variants) if variants else f["name"]
        if source == "death" and f["name"] == "死亡日期":
            header = rng.choice(headers["死亡日期"])
        cols.append((key, header))
    return cols


def _write_extract(out: Path, source: str, fmt: str, headers, rows: list[dict], rng: random.Random, noise: dict
                   ) -> str:
    cols = _extract_columns(source, headers, rng)
    if fmt == "xlsx":
        import xlsxwriter

        path = out / f"{source}.xlsx"
        wb = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_numbers": False})
        ws = wb.add_worksheet("Sheet1")
        ws.merge_range(0, 0, 0, len(cols) - 1, f"宜都市{source}数据(2016年)")
        ws.write_row(1, 0, [h for _, h in cols])
        as_number = source == "vehicle"
        for i, row in enumerate(rows, start=2):
            for j, (key, _) in enumerate(cols):
                v = row.get(key)
                if v is None or v == "":
                    continue
                if key == "证件" and as_number and isinstance(v, str) and v.isdigit() and len(v) == 18 \
                        and not row.get("_text_id") and rng.random() < 0.15:
                    ws.write_number(i, j, float(v[:15] + "000"))  # Excel keeps 15 significant digits
                    noise["excel_number"] = noise.get("excel_number", 0) + 1
                elif isinstance(v, (int, float)) and key != "证件":
                    ws.write_number(i, j, v)
                else:
                    ws.write_string(i, j, str(v))
        wb.close()
        return path.name
    path = out / f"{source}.csv"
    encoding = "gb18030" if fmt == "csv-gbk" else "utf-8-sig"
    with path.open("w", encoding=encoding, newline="") as fh:
        w = csv.writer(fh)
        w.writerow([h for _, h in cols])
        for row in rows:
            w.writerow(["" if row.get(k) is None else row.get(k) for k, _ in cols])
    return path.name
