"""The data-quality checks: set-based reads of the whole registry and all responses, rules evaluated in memory.

One run reads every live household, every living member and every form response with a handful of bulk queries
(`values_list`, no model instances), aggregates the member facts per household in one pass, counts open pairings and
duplicated ID numbers with SQL aggregates, then evaluates each rule's expression (compiled once by
`fupin.surveys.evaluator` from the rule language's parse tree) over the facts. The facts a rule may use are listed in
HOUSEHOLD_FACTS / PERSON_FACTS (docs/forms-and-quality.md).
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from django.apps import apps
from django.db import connection

from fupin.core import idnumber
from fupin.eligibility.expressions import ExpressionError, parse
from fupin.registry.models import Household, Person
from fupin.surveys import evaluator

INCOME = ("income_wages", "income_business", "cost_business", "income_property", "transfer_family_planning",
          "transfer_dibao", "transfer_wubao", "transfer_pension", "transfer_eco", "transfer_other")
HOUSEHOLD_COLUMNS = ("id", "area_code", "village_id", "grid_id", "poor_code", "uuid", "head_name", "size",
                     "is_registered_poor", "attribute", "main_cause", "other_causes", "poverty_status",
                     *INCOME, "annual_income", "net_income", "per_capita_net_income")
MONEY = (*INCOME, "annual_income", "net_income", "per_capita_net_income")
HOUSEHOLD_FACTS = (*HOUSEHOLD_COLUMNS[6:], "income_parts", "members", "students", "disabled", "sick",
                   "dibao_members", "pairing_cadres", "has_grid")
PERSON_COLUMNS = ("id", "household_id", "area_code", "name", "id_number", "id_type", "birth_date", "schooling",
                  "health", "labour_skill", "dibao", "disability_card")
PERSON_FACTS = ("name", "id_number", "id_type", "id_ok", "age", "schooling", "health", "healthy", "labour_skill",
                "dibao", "disabled", "is_poor")
NOT_AT_SCHOOL = {"", "01", "02"}  # 学龄前儿童, 学前教育 are not students for 因学


@dataclass
class Found:
    """One problem as a run finds it (before it is matched with the open problems)."""

    key: str
    rule_id: int
    area_code: str
    household_id: int | None = None
    person_id: int | None = None
    response_id: int | None = None
    village_id: int | None = None
    item: str = ""
    detail: str = ""


@dataclass
class Facts:
    households: dict[int, dict] = field(default_factory=dict)
    persons: list[dict] = field(default_factory=list)
    duplicate_ids: set[str] = field(default_factory=set)
    pairing: bool = False


def id_ok(number: str, today: dt.date) -> bool:
    """A citizen ID number that fupin.core.idnumber.normalise accepts as stored (area code, birth date, check)."""
    return idnumber.quick_birth(number, today) is not None


def _rows(model, columns: tuple[str, ...], where: str, params: tuple = ()) -> Iterator[tuple]:
    """Raw rows of a model's columns: a plain cursor skips the ORM's per-value converters (10× faster here)."""
    table = model._meta.db_table
    fields = [model._meta.get_field(c) for c in columns]
    cols = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    sealed = [(i, f) for i, f in enumerate(fields) if getattr(f, "encrypted", False)]  # opened here, in memory
    with connection.cursor() as cur:
        cur.execute(f"SELECT {cols} FROM {connection.ops.quote_name(table)} WHERE {where}", params)  # noqa: S608 - fixed text
        while True:
            chunk = cur.fetchmany(20000)
            if not chunk:
                return
            if not sealed:
                yield from chunk
                continue
            for row in chunk:
                row = list(row)
                for i, f in sealed:
                    row[i] = f.from_db_value(row[i], None, connection)
                yield tuple(row)


def _json_list(v) -> list:
    if not v:
        return []
    if isinstance(v, str):
        v = json.loads(v)
    return v if isinstance(v, list) else [v]


def _age_of(birth, today: dt.date) -> int | None:
    if not birth:
        return None
    if isinstance(birth, str):
        y, m, d = int(birth[:4]), int(birth[5:7]), int(birth[8:10])
    else:
        y, m, d = birth.year, birth.month, birth.day
    return today.year - y - ((today.month, today.day) < (m, d))


def load_facts(today: dt.date) -> Facts:
    """Every live household and living member as dicts of facts (a few bulk reads)."""
    facts = Facts()
    hh = facts.households
    for row in _rows(Household, HOUSEHOLD_COLUMNS, "dissolved_on IS NULL"):
        d = dict(zip(HOUSEHOLD_COLUMNS, row, strict=True))
        for k in MONEY:
            if isinstance(d[k], Decimal):  # PostgreSQL gives Decimal, SQLite a float
                d[k] = float(d[k])
        d["is_registered_poor"] = bool(d["is_registered_poor"])
        d["other_causes"] = _json_list(d["other_causes"])
        d["income_parts"] = (d["income_wages"] + d["income_business"] + d["income_property"] +
                             d["transfer_family_planning"] + d["transfer_dibao"] + d["transfer_wubao"] +
                             d["transfer_pension"] + d["transfer_eco"] + d["transfer_other"])
        d.update(members=0, students=0, disabled=0, sick=0, dibao_members=0, pairing_cadres=None,
                 has_grid=d["grid_id"] is not None)
        hh[d["id"]] = d
    first_household: dict[str, int] = {}
    duplicates = facts.duplicate_ids
    persons = facts.persons
    for row in _rows(Person, PERSON_COLUMNS, "is_alive = %s AND household_id IS NOT NULL", (True,)):
        h = hh.get(row[1])
        if h is None:
            continue  # a member of a dissolved household
        p = dict(zip(PERSON_COLUMNS, row, strict=True))
        health = _json_list(p["health"])
        disabled = "4" in health or bool(p["disability_card"])
        p["health"] = health
        p["disabled"] = disabled
        p["healthy"] = health == ["1"]
        p["dibao"] = bool(p["dibao"])
        p["age"] = _age_of(p["birth_date"], today)
        number = p["id_number"]
        p["id_ok"] = id_ok(number, today) if number else False
        if number:
            other = first_household.setdefault(number, row[1])
            if other != row[1]:
                duplicates.add(number)
        p["is_poor"] = h["is_registered_poor"]
        h["members"] += 1
        if (p["schooling"] or "") not in NOT_AT_SCHOOL:
            h["students"] += 1
        if disabled:
            h["disabled"] += 1
        if "2" in health or "3" in health:
            h["sick"] += 1
        if p["dibao"]:
            h["dibao_members"] += 1
        persons.append(p)
    if apps.is_installed("fupin.assistance"):
        from fupin.assistance.models import HouseholdPairing

        facts.pairing = True
        counts = Counter(HouseholdPairing.objects.filter(end_date__isnull=True).values_list("household_id",
                                                                                            flat=True))
        for h in hh.values():
            h["pairing_cadres"] = counts.get(h["id"], 0)
    return facts


def _response_rows() -> Iterator[tuple]:
    from fupin.surveys.models import Response

    yield from (Response.objects.values_list("id", "form_version_id", "household_id", "division_id", "area_code",
                                             "data").iterator(chunk_size=5000))


def _required_checks(today: dt.date) -> dict[int, list[tuple[str, str, Callable | None, Callable | None]]]:
    """form_version id -> [(key, label, visible_if, required_if)] of the items that may be required."""
    from fupin.surveys import definitions as defs
    from fupin.surveys.models import FormVersion

    out: dict[int, list] = {}
    for pk, definition in FormVersion.objects.values_list("id", "definition"):
        checks = []
        for it in defs.items(definition):
            if not (it.get("required") or it.get("required_if")) or it.get("type") == "table":
                continue
            vis = evaluator.compile_condition(it["visible_if"], today=today) if it.get("visible_if") else None
            req = evaluator.compile_condition(it["required_if"], today=today) if it.get("required_if") else None
            checks.append((it["key"], it.get("label", it["key"]), vis, None if it.get("required") else req))
        out[pk] = checks
    return out


def _leading_flag(condition: str) -> str | None:
    """The flag a rule starts with (`is_registered_poor and ...`): the rule is evaluated on those rows only."""
    node = parse(condition)
    while node[0] == "and":
        node = node[1]
    return node[1] if node[0] == "field" and node[1] in ("is_registered_poor", "is_poor") else None


def evaluate(rules, today: dt.date, *, progress: Callable[[int, str], None] | None = None,
             errors: dict[int, str] | None = None) -> list[Found]:
    """Every problem the active rules find now. A rule whose condition cannot be evaluated (stored before the language
    refused it at save time) is skipped and named in `errors` (rule pk → Chinese message); the others still run."""
    errors = {} if errors is None else errors
    progress = progress or (lambda p, m="": None)
    progress(5, "读取户籍数据")
    facts = load_facts(today)
    progress(45, "逐条规则检查")
    found: list[Found] = []
    hh = facts.households
    poor_households = [h for h in hh.values() if h["is_registered_poor"]]
    poor_persons = [p for p in facts.persons if p["is_poor"]]
    for rule in rules:
        if rule.requires == "assistance" and not facts.pairing:
            continue
        if rule.builtin == "duplicate_person":
            for p in facts.persons:
                if p["id_number"] in facts.duplicate_ids:
                    h = hh[p["household_id"]]
                    found.append(Found(f"{rule.key}:p{p['id']}", rule.pk, h["area_code"], h["id"], p["id"],
                                       village_id=h["village_id"], item=rule.item, detail=p["name"]))
            continue
        if rule.builtin == "required_items":
            found += _required_items(rule, today, hh)
            continue
        if not rule.condition:
            continue
        mine: list[Found] = []
        try:
            if rule.subject == "household":
                test = evaluator.compile_condition(rule.condition, names=HOUSEHOLD_FACTS, today=today)
                for h in (poor_households if _leading_flag(rule.condition) else hh.values()):
                    if test(h):
                        mine.append(Found(f"{rule.key}:h{h['id']}", rule.pk, h["area_code"], h["id"],
                                          village_id=h["village_id"], item=rule.item))
            elif rule.subject == "person":
                test = evaluator.compile_condition(rule.condition, names=PERSON_FACTS, today=today)
                for p in (poor_persons if _leading_flag(rule.condition) else facts.persons):
                    if test(p):
                        h = hh[p["household_id"]]
                        mine.append(Found(f"{rule.key}:p{p['id']}", rule.pk, h["area_code"], h["id"], p["id"],
                                          village_id=h["village_id"], item=rule.item, detail=p["name"]))
        except (ExpressionError, ArithmeticError, RecursionError, TypeError, ValueError) as exc:
            errors[rule.pk] = f"规则「{rule.key}」无法计算,本次跳过:{getattr(exc, 'message', None) or exc}"
            continue
        found += mine
    progress(75, "整理结果")
    return found


def _required_items(rule, today: dt.date, hh: dict[int, dict]) -> list[Found]:
    checks = _required_checks(today)
    villages = {}
    from fupin.geo.models import Division

    for pk, level in Division.objects.filter(level="village").values_list("id", "level"):
        villages[pk] = level
    out = []
    for rid, version_id, household_id, division_id, area_code, data in _response_rows():
        missing = []
        for key, label, vis, req in checks.get(version_id, []):
            if vis is not None and not vis(data):
                continue
            if req is not None and not req(data):
                continue
            if evaluator.is_blank(data.get(key)):
                missing.append((key, label))
        if missing:
            village_id = hh[household_id]["village_id"] if household_id in hh else (
                division_id if division_id in villages else None)
            out.append(Found(f"{rule.key}:r{rid}", rule.pk, area_code, household_id, response_id=rid,
                             village_id=village_id, item=",".join(k for k, _ in missing)[:100],
                             detail="、".join(lab for _, lab in missing)[:300]))
    return out


def by_household(found: list[Found]) -> dict[int, list[Found]]:
    out: dict[int, list[Found]] = defaultdict(list)
    for f in found:
        if f.household_id:
            out[f.household_id].append(f)
    return out
