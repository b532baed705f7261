"""Importing the national poverty roster (建档立卡花名册): one row per member, households keyed by 户编号.

The file is read whole and checked before anything is written:

- structural errors (a required column missing, a row without 户编号 or 姓名, a town or village that does not exist or
  is ambiguous, members of one 户编号 in different villages, a place outside the importing user's jurisdiction)
  refuse the file: `ImportRefused` with the row-by-row report, nothing written;
- suspect values (an ID number failing its check digit, an unknown code, a household size that does not match its
  rows, a person listed in two households) are imported verbatim and stored as `ImportProblem` rows of the batch.

A re-import of the same roster changes nothing: households are matched by 户编号 and members within their household
by ID number (else by name). Members of a household that the file no longer lists are kept and reported, never
deleted. One Batch and one audit event per import; rows written carry the batch.
"""

from __future__ import annotations

import datetime as dt
import gc
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fupin.core import idnumber, scoping
from fupin.core.bulk import insert_rows, update_rows
from fupin.core.errors import ImportRefused, RowProblem
from fupin.core.fields import blind_q, unchanged_since, values_opened
from fupin.core.household_rows import relocate_rows
from fupin.core.services import batch_finish, batch_start
from fupin.core.tabular import ReadReport, TableSpec, cell_text, read_table
from fupin.geo.models import Division, Grid
from fupin.registry.labels import CodeTables, code_tables, yes_no
from fupin.registry.models import Household, ImportProblem, Person

# Canonical column → header names seen in rosters (the first name is the one exports write).
COLUMNS: dict[str, list[str]] = {
    "seq": ["序号", "编号"],
    "town": ["乡镇", "乡(镇)", "乡镇(街道)", "乡镇街道", "乡镇名称", "所属乡镇", "乡镇代码", "镇"],
    "village": ["行政村", "村", "行政村名称", "村名称", "村(社区)", "所属村", "行政村代码", "村代码"],
    "group": ["组", "村民小组", "组别", "自然村(组)"],
    "grid": ["网格", "网格编码", "网格代码"],
    "poor_code": ["户编号", "贫困户编号", "户编码", "户码"],
    "name": ["姓名", "成员姓名", "人员姓名"],
    "relationship": ["与户主关系", "与户主的关系"],
    "id_number": ["证件号码", "身份证号", "身份证号码", "公民身份号码", "证件号", "sfzh"],
    "id_type": ["证件类型"],
    "sex": ["性别"],
    "ethnicity": ["民族"],
    "size": ["家庭人口数", "家庭人数", "户人口数", "家庭人口"],
    "attribute": ["贫困户属性", "贫困户类型"],
    "main_cause": ["主要致贫原因", "致贫原因"],
    "other_causes": ["其他致贫原因", "次要致贫原因"],
    "status": ["脱贫状态", "脱贫标志", "脱贫属性"],
    "standard": ["识别标准"],
    "year_identified": ["识别年度", "识别年份", "纳入年度"],
    "year_exited": ["脱贫年度", "脱贫年份"],
    "political": ["政治面貌"],
    "education": ["文化程度"],
    "schooling": ["在校生状况", "在校生情况"],
    "health": ["健康状况"],
    "labour": ["劳动技能", "劳动能力"],
    "work_status": ["务工状况", "务工情况"],
    "work_months": ["务工时间", "务工时间月", "务工月数"],
    "work_place": ["务工地点", "务工所在地"],
    "dibao": ["是否低保", "享受低保", "低保"],
    "rural_medical": ["是否参加新农合", "新农合", "参加新型农村合作医疗", "是否参加新型农村合作医疗"],
    "pension": ["是否参加城乡居民基本养老保险", "城乡居民养老保险", "养老保险"],
    "serious_illness": ["是否参加大病保险", "大病保险"],
    "soldier": ["是否现役军人", "现役军人"],
    "disability_card": ["残疾证号", "残疾人证号"],
    "phone": ["联系电话", "电话", "手机号码", "联系方式"],
    "per_capita_income": ["人均纯收入", "人均纯收入元", "家庭人均纯收入"],
    "address": ["住址", "家庭住址", "详细地址"],
}
REQUIRED = ["village", "poor_code", "name", "relationship", "id_number"]
ROSTER_SPEC = TableSpec(columns={k: v for k, v in COLUMNS.items()}, required=REQUIRED)
HEADER = {k: v[0] for k, v in COLUMNS.items()}

# file column → (code list, Person field)
PERSON_CODED = {"relationship": ("relationship", "relationship"), "ethnicity": ("ethnicity", "ethnicity"),
                "political": ("political", "political_status"), "education": ("education", "education"),
                "schooling": ("schooling", "schooling"), "labour": ("labour", "labour_skill")}
PERSON_FLAGS = {"dibao": "dibao", "rural_medical": "rural_medical", "pension": "pension_insurance",
                "serious_illness": "serious_illness_insurance", "soldier": "serving_soldier"}
HOUSEHOLD_CODED = {"attribute": ("attribute", "attribute"), "main_cause": ("cause", "main_cause"),
                   "status": ("status", "poverty_status"), "standard": ("standard", "identification_standard")}
ID_TYPES = {"身份证": "id_card", "居民身份证": "id_card", "残疾人证": "disability", "残疾证": "disability",
            "户口簿": "hukou", "其他": "other"}
CHUNK = 900  # under SQLite's 999 parameters per statement
_MAXLEN = {f.name: f.max_length for f in (*Person._meta.concrete_fields, *Household._meta.concrete_fields)
           if getattr(f, "max_length", None)}

Progress = Callable[[int, str], None]


@dataclass
class MemberRow:
    row: int
    key: tuple
    fields: dict[str, Any]


@dataclass
class HouseholdRows:
    poor_code: str
    village: Division
    grid: Grid | None
    first_row: int
    fields: dict[str, Any] = field(default_factory=dict)
    members: list[MemberRow] = field(default_factory=list)
    declared_size: int | None = None
    heads: int = 0


@dataclass
class Finding:
    """A suspect value: imported as it stands, stored as an ImportProblem."""

    kind: str
    row: int | None
    column: str
    value: str
    problem: str
    poor_code: str = ""
    person_key: tuple | None = None

    def as_text(self) -> str:
        return RowProblem(self.row or 0, self.column, self.value, self.problem).as_text()


@dataclass
class ImportResult:
    """What an import did (or, in a dry run, would do)."""

    dry_run: bool
    rows: int = 0
    households_created: int = 0
    households_updated: int = 0
    households_unchanged: int = 0
    persons_created: int = 0
    persons_updated: int = 0
    persons_unchanged: int = 0
    problems: list[Finding] = field(default_factory=list)
    batch_id: int | None = None
    seconds: float = 0.0
    write_seconds: float = 0.0  # the write transaction (on SQLite: how long the write lock was held)
    skipped: list[str] = field(default_factory=list)  # sheets read or left, footer rows skipped (fupin.core.tabular)

    @property
    def households(self) -> int:
        return self.households_created + self.households_updated + self.households_unchanged

    def summary(self) -> dict:
        return {"rows": self.rows, "households": self.households, "households_created": self.households_created,
                "households_updated": self.households_updated, "households_unchanged": self.households_unchanged,
                "persons_created": self.persons_created, "persons_updated": self.persons_updated,
                "persons_unchanged": self.persons_unchanged, "problems": len(self.problems),
                "problems_by_kind": dict(Counter(p.kind for p in self.problems)), "dry_run": self.dry_run}

    def report(self, limit: int = 200) -> str:
        head = "试导入(未写入数据库)" if self.dry_run else "导入完成"
        lines = [f"{head}:共{self.rows}行,{self.households}户"
                 f"(新增{self.households_created}户,更新{self.households_updated}户,未变{self.households_unchanged}户),"
                 f"成员新增{self.persons_created}人,更新{self.persons_updated}人,未变{self.persons_unchanged}人。"]
        lines += self.skipped
        if self.problems:
            lines.append(f"数据质量问题{len(self.problems)}处(已按原样导入,请核实修正):")
            lines += [p.as_text() for p in self.problems[:limit]]
            if len(self.problems) > limit:
                lines.append(f"……另有{len(self.problems) - limit}处问题未列出")
        else:
            lines.append("未发现数据质量问题。")
        return "\n".join(lines)


class _Places:
    """Towns, villages and grids by code and by name, loaded once."""

    def __init__(self) -> None:
        self.by_code: dict[str, Division] = {}
        self.towns_by_name: dict[str, list[Division]] = defaultdict(list)
        self.villages_by_name: dict[str, list[Division]] = defaultdict(list)
        self.villages_by_town_name: dict[tuple[int, str], Division] = {}
        for d in Division.objects.filter(level__in=("town", "village", "community")).only(
                "id", "code", "name", "full_name", "level", "parent_id"):
            self.by_code[d.code] = d
            if d.level == "town":
                self.towns_by_name[d.name].append(d)
                if d.full_name and d.full_name != d.name:
                    self.towns_by_name[d.full_name].append(d)
            else:
                self.villages_by_name[d.name].append(d)
                self.villages_by_town_name[(d.parent_id, d.name)] = d
        self.grids: dict[str, Grid] = {}

    def grid(self, code: str) -> Grid | None:
        if code not in self.grids:
            self.grids[code] = Grid.objects.filter(code=code).only("id", "code", "village_id").first()
        return self.grids[code]

    def resolve(self, town_text: str, village_text: str) -> tuple[Division | None, str, str]:
        """(village, column at fault, problem) for a row's town and village cells."""
        town = None
        if town_text:
            if town_text.isdigit() and len(town_text) in (9, 12):
                town = self.by_code.get(town_text.ljust(12, "0"))
                if town is None or town.level != "town":
                    return None, "town", "乡镇代码不存在"
            else:
                towns = self.towns_by_name.get(town_text, [])
                if not towns:
                    return None, "town", "乡镇不存在"
                if len(towns) > 1:
                    return None, "town", "乡镇名称不唯一,请改用乡镇代码"
                town = towns[0]
        if not village_text:
            return None, "village", "行政村为空"
        if village_text.isdigit() and len(village_text) == 12:
            v = self.by_code.get(village_text)
            if v is None or v.level not in ("village", "community"):
                return None, "village", "行政村代码不存在"
            if town is not None and v.parent_id != town.pk:
                return None, "village", f"该村不属于{town.name}"
            return v, "", ""
        if town is not None:
            v = self.villages_by_town_name.get((town.pk, village_text))
            if v is None:
                return None, "village", f"{town.name}没有这个村"
            return v, "", ""
        candidates = self.villages_by_name.get(village_text, [])
        if not candidates:
            return None, "village", "行政村不存在"
        if len(candidates) > 1:
            return None, "village", "村名在多个乡镇中重复,须填写乡镇"
        return candidates[0], "", ""


def _text(value: object) -> str:
    if type(value) is str:
        return value.strip()
    return cell_text(value) if value is not None else ""


def _fit(value: str, name: str, row: int, column: str, findings: list[Finding], poor_code: str) -> str:
    limit = _MAXLEN.get(name)
    if limit and len(value) > limit:
        findings.append(Finding("value", row, HEADER.get(column, column), value, _("Too long: only the first %(limit)s characters were kept") % {"limit": limit},
                                poor_code))
        return value[:limit]
    return value


def _int(text: str) -> int | None:
    try:
        return int(Decimal(text))
    except (InvalidOperation, ValueError):
        return None


class _Parser:
    """Turns table rows into households and members, collecting structural errors and suspect values."""

    def __init__(self, columns: set[str], tables: CodeTables, places: _Places, scope=None) -> None:
        self.columns = columns
        self.tables = tables
        self.places = places
        self.scope = scope
        self.errors: list[RowProblem] = []
        self.findings: list[Finding] = []
        self.households: dict[str, HouseholdRows] = {}
        self.rows = 0
        self.place_cache: dict[tuple[str, str, str], tuple] = {}
        self.today = timezone.localdate()
        # per-column work decided once for the file's columns (the hot loop runs per row)
        self.person_coded = [(column, key, target, tables.lookup(key))
                             for column, (key, target) in PERSON_CODED.items() if column in columns]
        self.sex_table = tables.lookup("sex")
        self.flags = [(column, target) for column, target in PERSON_FLAGS.items() if column in columns]
        self.plain_text = [c for c in ("work_status", "work_place") if c in columns]
        self.household_coded = [(column, key, target, tables.lookup(key))
                                for column, (key, target) in HOUSEHOLD_CODED.items() if column in columns]
        self.health_cache: dict[str, tuple[list[str], list[str]]] = {}
        self.causes_cache: dict[str, tuple[list[str], list[str]]] = {}
        self.months_cache: dict[str, Any] = {}

    def coded(self, key: str, text: str, row: int, column: str, poor_code: str, target: str) -> str:
        if not text:
            return ""
        code = self.tables.code(key, text)
        if code is None:
            self.findings.append(Finding("code", row, HEADER[column], text, _("The value is not in the code table: imported as it is"),
                                         poor_code))
            return _fit(text, target, row, column, self.findings, poor_code)
        return code

    def place(self, row: int, r: dict) -> tuple[Division | None, Grid | None]:
        key = (r.get("town"), r.get("village"), r.get("grid"))  # the cells as read: most rows repeat a few places
        cached = self.place_cache.get(key)
        if cached is None:
            town_t, village_t = _text(r.get("town")), _text(r.get("village"))
            grid_t = _text(r.get("grid")) if "grid" in self.columns else ""
            village, col, problem = self.places.resolve(town_t, village_t)
            grid = None
            if village is not None and grid_t:
                grid = self.places.grid(grid_t)
                if grid is None:
                    col, problem, village = "grid", "网格代码不存在", None
                elif grid.village_id != village.pk:
                    col, problem, village, grid = "grid", f"该网格不属于{village.name}", None, None
            if village is not None and self.scope is not None and not scoping.covers(
                    self.scope, grid.code if grid else village.code):
                col, problem, village, grid = "village", "不在您的管辖范围内", None, None
            value = {"town": town_t, "village": village_t, "grid": grid_t}.get(col, "")
            cached = (village, grid, col, value, problem)
            self.place_cache[key] = cached
        village, grid, col, value, problem = cached
        if village is None:
            self.errors.append(RowProblem(row, HEADER[col], value, problem))
        return village, grid

    def add(self, row: int, r: dict) -> None:
        self.rows += 1
        cols = self.columns
        poor_code = _text(r.get("poor_code"))
        name = _text(r.get("name"))
        if not poor_code:
            self.errors.append(RowProblem(row, HEADER["poor_code"], "", _("The household number is empty")))
        if not name:
            self.errors.append(RowProblem(row, HEADER["name"], "", _("The name is empty")))
        village, grid = self.place(row, r)
        if not poor_code or not name or village is None:
            return
        findings = self.findings
        if len(poor_code) > _MAXLEN["poor_code"]:
            self.errors.append(RowProblem(row, HEADER["poor_code"], poor_code, _("The household number is longer than %(_maxlen)s characters") % {"_maxlen": _MAXLEN['poor_code']}))
            return
        hh = self.households.get(poor_code)
        if hh is None:
            hh = self.households[poor_code] = HouseholdRows(poor_code=poor_code, village=village, grid=grid,
                                                             first_row=row)
        elif hh.village.pk != village.pk or (grid is not None and hh.grid is not None and hh.grid.pk != grid.pk):
            self.errors.append(RowProblem(row, HEADER["village"], _text(r.get("village")),
                                          _("The members of household %(poor_code)s are in different villages or grids (row %(first_row)s is in %(village_name)s)") % {"poor_code": poor_code, "first_row": hh.first_row, "village_name": hh.village.name}))
            return

        if len(name) > 50:
            name = _fit(name, "name", row, "name", findings, poor_code)
        # ID number: cleaned (spaces, full-width digits, x, 15 digits); a failing one is kept verbatim and listed
        raw_id = r.get("id_number")
        id_text = raw_id.strip() if type(raw_id) is str else ""
        birth = idnumber.quick_birth(id_text, self.today)
        if birth is not None:
            p: dict[str, Any] = {"name": name, "id_number": id_text, "id_valid": True,
                                 "birth_date": birth, "sex": "1" if id_text[16] in "13579" else "2"}
        else:
            p = {"name": name}
            id_text = idnumber.clean(raw_id)
            if not id_text:
                p.update(id_number="", id_valid=False)
                findings.append(Finding("id_number", row, HEADER["id_number"], "", _("The ID number is empty"), poor_code))
            else:
                try:
                    number = idnumber.normalise(id_text)
                except idnumber.IdNumberError as exc:
                    id_text = _fit(id_text, "id_number", row, "id_number", findings, poor_code)
                    p.update(id_number=id_text, id_valid=False)
                    findings.append(Finding("id_number", row, HEADER["id_number"], _text(raw_id), exc.message,
                                            poor_code))
                else:
                    p.update(id_number=number, id_valid=True,
                             sex="1" if number[16] in "13579" else "2",
                             birth_date=dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14])))
        if "id_type" in cols:
            t = _text(r.get("id_type"))
            p["id_type"] = ID_TYPES.get(t, t[:10]) if t else "id_card"
        for column, key, target, table in self.person_coded:
            v = r[column]
            text = v.strip() if type(v) is str else _text(v)
            code = table.get(text) if text else ""
            p[target] = code if code is not None else self.coded(key, text, row, column, poor_code, target)
        if p.get("relationship") == "户主":
            hh.heads += 1
            if hh.heads == 1:
                hh.fields["head_name"] = p["name"]
        if "sex" in cols:
            sex_text = _text(r["sex"])
            sex = self.sex_table.get(sex_text) if sex_text else ""
            if sex is None:
                sex = self.coded("sex", sex_text, row, "sex", poor_code, "sex")
            if not p["id_valid"]:
                p["sex"] = sex
            elif sex in ("1", "2") and sex != p["sex"]:
                findings.append(Finding("value", row, HEADER["sex"], sex_text, _("Sex does not match the ID number (taken from the ID number)"), poor_code))
        if "health" in cols:
            text = _text(r["health"])
            parsed = self.health_cache.get(text)
            if parsed is None:
                parsed = self.health_cache[text] = self.tables.codes("health", text)
            for piece in parsed[1]:
                findings.append(Finding("code", row, HEADER["health"], piece, _("The value is not in the code table: imported as it is"), poor_code))
            p["health"] = parsed[0] + parsed[1]
        for column, target in self.flags:
            text = _text(r[column])
            flag = yes_no(text)
            if flag is None and text:
                findings.append(Finding("value", row, HEADER[column], text, _("Should be yes or no: imported as no"), poor_code))
            p[target] = bool(flag)
        for column in self.plain_text:
            text = _text(r[column])
            p[column] = text if len(text) <= _MAXLEN[column] else _fit(text, column, row, column, findings, poor_code)
        if "work_months" in cols:
            text = _text(r["work_months"])
            months = self.months_cache.get(text, -1)
            if months == -1:
                t = text.removesuffix("个月").removesuffix("月")
                months = _int(t) if t else None
                if months is not None and not 0 <= months <= 12:
                    months = False
                self.months_cache[text] = months
            if months is False or (text and months is None):
                findings.append(Finding("value", row, HEADER["work_months"], text, _("Months worked must be 0–12: the value was not imported"), poor_code))
                months = None
            p["work_months"] = months
        if "phone" in cols:
            phone = _text(r["phone"])
            p["phone"] = phone if len(phone) <= 30 else _fit(phone, "phone", row, "phone", findings, poor_code)
            if phone and p.get("relationship") == "户主":
                hh.fields["phone"] = p["phone"]
        if "disability_card" in cols:
            card = idnumber.clean(r.get("disability_card"))
            p.update(disability_card=card[:25], disability_category="", disability_grade=None)
            if card:
                try:
                    parsed = idnumber.parse_disability_card(card)
                except idnumber.IdNumberError as exc:
                    findings.append(Finding("id_number", row, HEADER["disability_card"], card, exc.message, poor_code))
                else:
                    p.update(disability_category=parsed.category, disability_grade=parsed.grade)
        member_key = ("id", p["id_number"]) if p["id_number"] else ("name", p["name"])
        hh.members.append(MemberRow(row=row, key=member_key, fields=p))

        if len(hh.members) == 1 or p.get("relationship") == "户主":
            self.household_fields(hh, row, r)

    def household_fields(self, hh: HouseholdRows, row: int, r: dict) -> None:
        """Household-level cells, taken from the head's row (else the first row)."""
        cols, f, pc = self.columns, hh.fields, hh.poor_code
        f["is_registered_poor"] = True
        for column, key, target, table in self.household_coded:
            text = _text(r[column])
            code = table.get(text) if text else ""
            f[target] = code if code is not None else self.coded(key, text, row, column, pc, target)
        if "other_causes" in cols:
            text = _text(r["other_causes"])
            parsed = self.causes_cache.get(text)
            if parsed is None:
                parsed = self.causes_cache[text] = self.tables.codes("cause", text)
            for piece in parsed[1]:
                self.findings.append(Finding("code", row, HEADER["other_causes"], piece, _("The value is not in the code table: imported as it is"), pc))
            f["other_causes"] = parsed[0] + parsed[1]
        if "group" in cols:
            f["group_name"] = _fit(_text(r.get("group")), "group_name", row, "group", self.findings, pc)
        if "address" in cols:
            f["address"] = _fit(_text(r.get("address")), "address", row, "address", self.findings, pc)
        for column in ("year_identified", "year_exited"):
            if column in cols:
                text = _text(r.get(column)).removesuffix("年")
                year = _int(text) if text else None
                if text and (year is None or not 1980 <= year <= 2100):
                    self.findings.append(Finding("value", row, HEADER[column], text, _("Invalid year: the value was not imported"), pc))
                    year = None
                f[column] = year
        if "size" in cols:
            text = _text(r.get("size"))
            hh.declared_size = _int(text) if text else None
            if text and hh.declared_size is None:
                self.findings.append(Finding("size", row, HEADER["size"], text, _("The household size is not a number"), pc))
        if "per_capita_income" in cols:
            text = _text(r.get("per_capita_income")).replace(",", "")
            if text:
                try:
                    f["per_capita_net_income"] = Decimal(text).quantize(Decimal("0.01"))
                except InvalidOperation:
                    self.findings.append(Finding("value", row, HEADER["per_capita_income"], text, _("Net income per person is not a number: the value was not imported"), pc))

    def finish(self) -> None:
        """Household-level checks once all rows are read."""
        for hh in self.households.values():
            n = len(hh.members)
            hh.fields["size"] = n
            if "head_name" not in hh.fields:
                hh.fields["head_name"] = hh.members[0].fields["name"]
                if "relationship" in self.columns:
                    self.findings.append(Finding("value", hh.first_row, HEADER["relationship"], "",
                                                 _("The household has no head"), hh.poor_code))
            elif hh.heads > 1:
                self.findings.append(Finding("value", hh.first_row, HEADER["relationship"], "户主",
                                             _("The household has %(heads)s heads") % {"heads": hh.heads}, hh.poor_code))
            if hh.declared_size is not None and hh.declared_size != n:
                self.findings.append(Finding("size", hh.first_row, HEADER["size"], str(hh.declared_size),
                                             _("The household size does not match the members listed in the roster (%(n)s)") % {"n": n}, hh.poor_code))
            pc = hh.fields.get("per_capita_net_income")
            if pc is not None:
                hh.fields["net_income"] = (pc * n).quantize(Decimal("0.01"))


def _chunks(items: list, size: int = CHUNK) -> Iterable[list]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def parse_roster(path: str | Path, *, scope=None, tables: CodeTables | None = None,
                 progress: Progress | None = None) -> _Parser:
    """Read and check a roster file; raise ImportRefused on structural errors (nothing is written here)."""
    read_report = ReadReport()
    _header, rows = read_table(path, ROSTER_SPEC, report=read_report)
    tables = tables or code_tables()
    first = next(rows, None)
    if first is None:
        raise ImportRefused(problems=[RowProblem(0, "", Path(path).name, _("The file has no data row"))], headline=_("Roster not imported"))
    parser = _Parser(set(first[1]), tables, _Places(), scope)
    parser.add(*first)
    for rowno, r in rows:
        parser.add(rowno, r)
        if progress and parser.rows % 20000 == 0:
            progress(min(40, 5 + parser.rows // 20000), _("%(rows)s rows read") % {"rows": parser.rows})
    if parser.errors:
        raise ImportRefused(problems=parser.errors, headline=_("Roster not imported"))
    parser.finish()
    parser.read_report = read_report
    return parser


PERSON_COMPARE = ("name", "relationship", "id_number", "id_valid", "id_type", "sex", "birth_date",
                  "ethnicity", "political_status", "education", "schooling", "health", "labour_skill", "work_status",
                  "work_months", "work_place", "dibao", "rural_medical", "pension_insurance",
                  "serious_illness_insurance", "serving_soldier", "disability_card", "disability_category",
                  "disability_grade", "phone", "area_code")
HOUSEHOLD_COMPARE = ("village_id", "grid_id", "area_code", "group_name", "address", "head_name", "phone", "size",
                     "is_registered_poor", "identification_standard", "attribute", "main_cause", "other_causes",
                     "poverty_status", "year_identified", "year_exited", "per_capita_net_income", "net_income")


def _norm(v: Any) -> Any:
    if isinstance(v, Decimal):
        return v.quantize(Decimal("0.01"))
    return v


def import_roster(*, actor, path: str | Path, dry_run: bool = False, scope_user=None,
                  progress: Progress | None = None) -> ImportResult:
    """Import a roster file (xlsx or csv). See the module docstring for what is refused and what is reported.

    `scope_user` limits the villages the file may name to that user's jurisdiction (web imports).

    The file is read and matched with the registry before the write transaction (`_plan`); the transaction only
    checks that the rows the plan was made from are still as read and writes the prepared rows (`_apply`). On SQLite
    the transaction holds the one write lock and other users' writes wait for it at most the busy timeout
    (docs/security.md, "Load and crashes"). If someone changed those households or members in between, the plan is
    made again (the last attempt inside the transaction, so that an import always finishes).
    """
    started = time.perf_counter()
    # the user whose jurisdiction the file's places must lie in (fupin.core.scoping.covers); None: anywhere
    scope = scope_user if scope_user is not None and not scope_user.is_superuser else None
    progress and progress(2, _("Reading the file…"))
    # Hundreds of thousands of small objects: the cyclic collector would rescan them all again and again.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        parser = parse_roster(path, scope=scope, progress=progress)
        progress and progress(45, _("%(rows)s rows read, comparing") % {"rows": parser.rows})
        if dry_run:
            result = _new_result(parser, dry_run=True)
            _plan(parser, result, scope=scope)
        else:
            for attempt in range(PLAN_ATTEMPTS):
                result = _new_result(parser, dry_run=False)
                last = attempt == PLAN_ATTEMPTS - 1
                plan = None if last else _plan(parser, result, scope=scope)
                t = time.perf_counter()
                with transaction.atomic(), _sqlite_cache():
                    if plan is None:
                        plan = _plan(parser, result, scope=scope)
                    elif not plan.still_current():
                        continue
                    progress and progress(55, "正在写入")
                    _apply(plan, result, actor=actor, path=path, progress=progress)
                result.write_seconds = time.perf_counter() - t
                break
    finally:
        if gc_was_enabled:
            gc.enable()
    result.seconds = time.perf_counter() - started
    progress and progress(100, _("Import finished") if not dry_run else _("Trial import finished"))
    return result


PLAN_ATTEMPTS = 3


def _new_result(parser: _Parser, *, dry_run: bool) -> ImportResult:
    result = ImportResult(dry_run=dry_run, rows=parser.rows)
    result.skipped = parser.read_report.sheet_lines() + parser.read_report.skipped_lines()
    return result


@contextmanager
def _sqlite_cache(kib: int = 262144):
    """A large page cache while SQLite writes the import (index pages stay in memory), then back to the default."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cur:
        cur.execute("PRAGMA cache_size")
        before = cur.fetchone()[0]
        cur.execute(f"PRAGMA cache_size=-{int(kib)}")
    try:
        yield
    finally:
        with connection.cursor() as cur:
            cur.execute(f"PRAGMA cache_size={int(before)}")


HH_FIELDS = ("id", "poor_code", "version", *HOUSEHOLD_COMPARE)
P_FIELDS = ("id", "household_id", "version", "is_alive", *PERSON_COMPARE)


def _read_households(codes: list[str], stored: dict) -> dict[str, dict]:
    existing: dict[str, dict] = {}
    for chunk in _chunks(codes):
        for row in values_opened(Household.objects.filter(poor_code__in=chunk), *HH_FIELDS, stored=stored):
            existing[row["poor_code"]] = row
    return existing


def _read_members(household_ids: list[int], stored: dict) -> list[dict]:
    rows: list[dict] = []
    for chunk in _chunks(household_ids):
        rows += values_opened(Person.objects.filter(household_id__in=chunk).order_by("id"), *P_FIELDS, stored=stored)
    return rows


@dataclass
class _Plan:
    """What an import will write, prepared from the file and the registry rows it was matched with."""

    codes: list[str]
    existing: dict[str, dict]  # the households of the file already in the registry, as read
    members_read: list[dict]  # their members, as read
    stored: dict[str, dict]  # "households", "members": row id → their sealed values as stored (for still_current)
    hh_values: dict[str, dict]  # poor_code → the household's fields as the file gives them
    hh_ids: dict[str, int]  # poor_code → id of an existing household
    to_create: list[dict]
    to_update: list[tuple[Household, list[str]]]
    moves: dict[tuple[str, int], list[int]]
    new_people: list[tuple[str, dict]]  # (poor_code, row): household_id is set when the households are written
    updates: list[tuple[Person, list[str]]]
    findings: list[Finding]

    def still_current(self) -> bool:
        """The registry rows the plan was made from are unchanged (read again inside the write transaction). The
        sealed values are compared as stored, not opened a second time (fields.unchanged_since)."""
        for chunk in _chunks(self.codes):
            before = [self.existing[pc] for pc in chunk if pc in self.existing]
            if not unchanged_since(Household.objects.filter(poor_code__in=chunk), HH_FIELDS, before,
                                   self.stored["households"]):
                return False
        members: dict[int, list[dict]] = defaultdict(list)
        for row in self.members_read:
            members[row["household_id"]].append(row)
        for chunk in _chunks([self.existing[pc]["id"] for pc in self.codes if pc in self.existing]):
            if not unchanged_since(Person.objects.filter(household_id__in=chunk), P_FIELDS,
                                   [row for hid in chunk for row in members[hid]], self.stored["members"]):
                return False
        return True


def _plan(parser: _Parser, result: ImportResult, *, scope=None) -> _Plan:
    """Match the file with the registry and prepare the rows to write; reads only (refusals are raised here)."""
    findings = list(parser.findings)
    households = parser.households
    codes = list(households)
    stored: dict[str, dict] = {"households": {}, "members": {}}
    existing = _read_households(codes, stored["households"])

    if scope is not None:  # an existing household outside the importer's jurisdiction is not theirs to change
        outside = [RowProblem(households[pc].first_row, HEADER["poor_code"], pc,
                              _("This household number is registered in a village outside your jurisdiction: this import cannot change it or move it in"))
                   for pc, old in existing.items() if not scoping.covers(scope, old["area_code"])]
        if outside:
            raise ImportRefused(problems=outside, headline=_("Roster not imported"))

    # households: create or update (only what changed)
    to_create, to_update = [], []
    hh_ids: dict[str, int] = {}
    hh_values: dict[str, dict] = {}
    moves: dict[tuple[str, int], list[int]] = defaultdict(list)  # (area, village) → households placed elsewhere
    for pc, hh in households.items():
        values = dict(hh.fields)
        values.update(village_id=hh.village.pk, area_code=hh.grid.code if hh.grid else hh.village.code)
        if hh.grid is not None:
            values["grid_id"] = hh.grid.pk
        elif existing.get(pc, {}).get("grid_id") and existing[pc]["village_id"] != hh.village.pk:
            values["grid_id"] = None
        hh_values[pc] = values
        old = existing.get(pc)
        if old is None:
            row = {"poor_code": pc, **values}
            if "net_income" in row:
                row["annual_income"] = row["net_income"]
            to_create.append(row)
            result.households_created += 1
            continue
        if "per_capita_net_income" in values and _norm(old["per_capita_net_income"]) == _norm(
                values["per_capita_net_income"]):
            values.pop("net_income", None)  # the roster gives only the per-capita figure: keep the detailed net
        if old["grid_id"] and "grid_id" not in values:  # same village, no grid in the file: keep the household's grid
            values["area_code"] = old["area_code"]
        changed = {k: v for k, v in values.items() if _norm(old.get(k)) != _norm(v)}
        hh_ids[pc] = old["id"]
        if "area_code" in changed:
            moves[(values["area_code"], hh.village.pk)].append(old["id"])
        if changed:
            obj = Household(id=old["id"], version=old["version"] + 1, **changed)
            to_update.append((obj, [*changed, "version", "batch"]))
            result.households_updated += 1
        else:
            result.households_unchanged += 1

    # members: match the file's members with those already in the database, by key within the household
    members_read = _read_members([existing[pc]["id"] for pc in codes if pc in existing], stored["members"])
    existing_members: dict[int, dict[tuple, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for row in members_read:
        key = ("id", row["id_number"]) if row["id_number"] else ("name", row["name"])
        existing_members[row["household_id"]][key].append(row)
    new_people: list[tuple[str, dict]] = []
    updates: list[tuple[Person, list[str]]] = []
    matched: set[int] = set()
    refused: list[RowProblem] = []
    for pc, hh in households.items():
        hid = hh_ids.get(pc)
        area = hh_values[pc]["area_code"]
        pool = existing_members.get(hid, {}) if hid else {}
        added: list[MemberRow] = []
        for m in hh.members:
            values = {**m.fields, "area_code": area}
            candidates = pool.get(m.key)
            old = candidates.pop(0) if candidates else None
            if old is None:
                new_people.append((pc, values))
                result.persons_created += 1
                added.append(m)
                continue
            matched.add(old["id"])
            changed = {k: v for k, v in values.items() if old.get(k) != v}
            if changed:
                updates.append((Person(id=old["id"], version=old["version"] + 1, **changed),
                                [*changed, "version", "batch"]))
                result.persons_updated += 1
            else:
                result.persons_unchanged += 1
        left = [old for leftovers in pool.values() for old in leftovers if old["is_alive"]]
        for old in left:
            findings.append(Finding("not_in_file", None, HEADER["name"], old["name"],
                                    _("A member of this household in the system is not in the roster (left unchanged: check whether they moved out or died)"), pc))
        refused += _kept_beside(pc, hh, added, left)
    if refused:
        raise ImportRefused(problems=refused, headline=_("Roster not imported"))
    _find_duplicates(parser, matched, findings)
    result.problems = sorted(findings, key=lambda f: (f.row or 10**9, f.column))
    return _Plan(codes=codes, existing=existing, members_read=members_read, stored=stored, hh_values=hh_values, hh_ids=hh_ids,
                 to_create=to_create, to_update=to_update, moves=moves, new_people=new_people, updates=updates,
                 findings=findings)


def _apply(plan: _Plan, result: ImportResult, *, actor, path, progress: Progress | None) -> None:
    """Write a plan: inside the caller's transaction, nothing but writes and the ids they need."""
    households = plan.hh_values
    batch = batch_start(kind="registry.import_roster", actor=actor, source=path, keep_file=True)
    batch_id = batch.pk
    hh_ids = dict(plan.hh_ids)
    insert_rows(Household, [{**row, "batch_id": batch_id} for row in plan.to_create])
    if plan.to_create:
        hh_ids.update(Household.objects.filter(batch_id=batch_id).values_list("poor_code", "id"))
    for obj, _fields in plan.to_update:
        obj.batch_id = batch_id
    _bulk_update(Household, plan.to_update)
    progress and progress(60, f"已写入{len(households)}户")
    insert_rows(Person, [{"household_id": hh_ids[pc], "batch_id": batch_id, **values}
                         for pc, values in plan.new_people])
    for obj, _fields in plan.updates:
        obj.batch_id = batch_id
    _bulk_update(Person, plan.updates)
    # a household the file places in another village or grid: every row that belongs to it follows
    for (area, village_id), ids in plan.moves.items():
        relocate_rows(ids, area_code=area, village=Division(pk=village_id))
    progress and progress(85, f"已写入{result.persons_created + result.persons_updated}名成员")
    person_ids: dict[tuple, int] = {}
    keyed = sorted({hh_ids[f.poor_code] for f in result.problems if f.person_key and f.poor_code in hh_ids})
    for chunk in _chunks(keyed):  # only the households with a finding about one member
        for pid, hid, number, name in Person.objects.filter(household_id__in=chunk).values_list(
                "id", "household_id", "id_number", "name"):
            person_ids.setdefault((hid, ("id", number) if number else ("name", name)), pid)
    problems = []
    for f in result.problems:
        values = households.get(f.poor_code)
        hid = hh_ids.get(f.poor_code)
        problems.append(ImportProblem(
            batch=batch, kind=f.kind, row=f.row, column=f.column[:50], value=str(f.value)[:200],
            problem=f.problem[:500], poor_code=f.poor_code, household_id=hid,
            person_id=person_ids.get((hid, f.person_key)) if f.person_key else None,
            area_code=values["area_code"] if values else ""))
    ImportProblem.objects.bulk_create(problems, batch_size=CHUNK)
    result.batch_id = batch.pk
    area = _common_prefix([values["area_code"] for values in households.values()])
    batch_finish(batch, actor=actor, rows=result.rows, summary=result.summary(), area_code=area)


def _kept_beside(pc: str, hh: HouseholdRows, added: list[MemberRow], left: list[dict]) -> list[RowProblem]:
    """Structural conflicts of a re-import with the registry (the file is refused, nothing is applied):

    - a member the file adds beside a living member of the same name the file no longer lists (an ID number
      changed): the same person would be in the household twice;
    - a head (户主) the file adds while the registry's head, not listed, stays: the household would have two heads.
    """
    out = []
    left_names = {old["name"]: old for old in left}
    for m in added:
        old = left_names.get(m.fields.get("name"))
        if old is not None:
            out.append(RowProblem(m.row, HEADER["id_number"], idnumber.mask(m.fields.get("id_number") or ""),
                                  _("Member “%(old)s” of household %(pc)s has the ID number %(mask)s in the system, different from the roster: the import would list the same person twice in the household. If the ID number was corrected, change the member's ID number on the household page first, then import") % {"pc": pc, "old": old['name'], "mask": idnumber.mask(old['id_number'] or '') or _("(empty)")}))
    heads_left = [old for old in left if old.get("relationship") == "户主"]
    heads_added = [m for m in added if m.fields.get("relationship") == "户主"
                   and m.fields.get("name") not in left_names]
    if heads_left and heads_added:
        out.append(RowProblem(heads_added[0].row, HEADER["relationship"], "户主",
                              _("Household %(pc)s's head in the system, “%(heads_left)s”, is not in the roster, and the roster names another head, “%(get)s”: after the import the household would have two heads. Record the change of head (or the member's move out) on the household page first, then import") % {"pc": pc, "heads_left": heads_left[0]['name'], "get": heads_added[0].fields.get('name')}))
    return out


def _find_duplicates(parser: _Parser, matched: set[int], findings: list[Finding]) -> None:
    """A person (by valid ID number) in two households, in the file or between the file and the database:
    both records are kept as they stand and each occurrence is listed."""
    where: dict[str, list[tuple[str, int | None]]] = defaultdict(list)
    for pc, hh in parser.households.items():
        for m in hh.members:
            if m.fields.get("id_valid"):
                where[m.fields["id_number"]].append((pc, m.row))
    ids = list(where)
    living = Person.objects.filter(is_alive=True, household__isnull=False)
    cols = ("id", "id_number", "household__poor_code", "household__uuid")
    if len(ids) * 4 > living.count():  # most of the table is in the file: one scan beats many lookups
        found: Iterable = (r for r in living.filter(id_valid=True).values_list(*cols).iterator(chunk_size=20000)
                           if r[1] in where)
    else:
        found = (r for chunk in _chunks(ids) for r in living.filter(blind_q(Person, "id_number", chunk)).values_list(*cols))
    for pid, number, poor_code, uuid in found:
        if pid in matched:
            continue
        where[number].append((poor_code or f"(无户编号 {uuid})", None))
    for number, places in where.items():
        households = {pc for pc, _ in places}
        if len(places) < 2:
            continue
        for pc, row in places:
            if row is None or pc not in parser.households:
                continue
            others = sorted(households - {pc})
            if others:
                text = f"同一人登记在多个户中(另见户编号{'、'.join(others)}),两处均已保留,请核实"
            else:
                text = "同一证件号码在本户中重复列出,均已保留,请核实"
            findings.append(Finding("duplicate_person", row, HEADER["id_number"], number, text, pc,
                                    person_key=("id", number)))


def _bulk_update(model, updates: list[tuple[Any, list[str]]]) -> None:
    """The changed fields of each object, one prepared UPDATE per set of changed fields, run for its objects
    (`fupin.core.bulk.update_rows`: sealed fields and their blind indexes written as an insert writes them)."""
    groups: dict[tuple[str, ...], list] = defaultdict(list)
    for obj, fields_ in updates:
        groups[tuple(sorted(model._meta.get_field(name).attname for name in fields_))].append(obj)
    for attnames, objs in groups.items():
        update_rows(model, attnames, ((obj.pk, *(getattr(obj, a) for a in attnames)) for obj in objs))


def _common_prefix(codes: list[str]) -> str:
    if not codes:
        return ""
    lo, hi = min(codes), max(codes)
    n = 0
    while n < min(len(lo), len(hi)) and lo[n] == hi[n]:
        n += 1
    for length in (15, 12, 9, 6, 4, 2):
        if n >= length:
            return lo[:length]
    return ""
