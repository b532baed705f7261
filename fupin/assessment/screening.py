"""Policy matching (应享未享): who qualifies for a policy and does not receive it, evaluated set-based in the engine.

One statement reads each input over its whole table: members, households, policy receipts (grouped by household
and policy) and the department records linked to members (grouped by person and source). Each policy rule is then
one SELECT over the member or household facts: `eligible and not covered`. Field names a rule may use are
MEMBER_FACTS (member rules) and HOUSEHOLD_FACTS (both), plus three receipt counts of the household: `received` (the
rule's policy in the last 12 months), `received_ever` (the rule's policy, any date: one-off policies such as 危房改造)
and `received_kind` (any policy of the same kind as the rule's policy in the last 12 months: 雨露计划 and 学生生活补助
are both education aid). Another app adds a household fact with `household_fact(name, type, label)` (the funds app:
`loans`, the household's micro-credit loans), read with one statement like the rest.
"""

# ruff: noqa: S608 - table names come from model metadata; values are parameters or compiled literals
from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pyarrow as pa
from django.conf import settings
from django.db import connection
from django.utils import timezone

from fupin.core import extensions as ext
from fupin.core.bulk import fetch_arrow
from fupin.eligibility.expressions import compile_sql, parse

SOURCES = ("dibao", "student", "medical", "housing_safety")
EXITED = ("4", "已脱贫(不再享受政策)")
DIBAO_LINE_DEFAULT = 3500.0  # not found in the sources: a county setting (FUPIN_DIBAO_LINE)
HOUSEHOLD_FACTS: dict[str, tuple[str, str]] = {
    "household_poor": ("bool", "建档立卡户且仍享受政策"),
    "is_monitored": ("bool", "防返贫监测户"),
    "attribute": ("text", "贫困户属性代码(1一般 2低保 3特困供养 4五保)"),
    "leading_industry": ("text", "主要产业"),
    "lacks_funds": ("bool", "致贫原因含缺资金"),
    "per_capita_income": ("number", "人均纯收入(元)"),
    "dilapidated_grade": ("text", "危房等级"),
    "land_cultivated": ("number", "耕地面积(亩)"),
    "members": ("number", "在世家庭成员人数"),
    "labour_count": ("number", "劳动力人数"),
    "head_age": ("number", "户主年龄"),
    "labour_18_60": ("number", "18至60周岁的劳动力人数"),
    "dibao_members": ("number", "享受低保的成员数(人口库)"),
    "drinking_safe": ("bool", "饮水安全"),
    "dibao_line": ("number", "农村低保标准(元/人·年,县设置)"),
    "received": ("number", "近12个月享受该项政策的记录数"),
    "received_ever": ("number", "历年享受该项政策的记录数"),
    "received_kind": ("number", "近12个月享受同类政策(如各项教育资助)的记录数"),
    **{f"count_{s}": ("number", f"本户成员关联到的{s}部门记录数") for s in SOURCES},
}
MEMBER_FACTS: dict[str, tuple[str, str]] = {
    "age": ("number", "年龄(周岁)"),
    "is_student": ("bool", "在校生(义务教育至高校)"),
    "schooling": ("text", "在校生状况代码"),
    "rural_medical": ("bool", "参加城乡居民医保(新农合)"),
    "dibao": ("bool", "享受低保"),
    "disabled": ("bool", "持残疾人证"),
    **{f"member_{s}": ("number", f"本人关联到的{s}部门记录数") for s in SOURCES},
}
STUDENT_CODES = ("03", "04", "05", "06", "07", "08", "09", "10", "11", "12", "13", "14", "15", "16", "17", "18",
                 "19", "20", "21", "22", "23", "24", "25", "26", "27", "28", "29", "30")
LABOUR = ("1", "2", "普通劳动力", "技能劳动力")
LACKS_FUNDS = "9"  # 致贫原因: 缺资金
# Facts other apps add: the point "assessment.household_fact" (fupin/core/extensions.py), fn() -> (SQL of
# household_id, value; params)
FactProvider = Callable[[], tuple[str, list]]


def household_fact(name: str, kind: str, label: str):
    """Register fn() -> (sql, params) selecting `household_id, value` (a number; absent households read 0): the
    decorator form of `ext.register(ext.HouseholdFact(key=name, kind=kind, label=label, fn=fn))`."""

    def deco(fn: FactProvider) -> FactProvider:
        ext.register(ext.HouseholdFact(key=name, kind=kind, label=label, fn=fn))
        return fn

    return deco


def _added_facts() -> list:
    return sorted(ext.registered("assessment.household_fact"), key=lambda f: f.key)


def household_facts() -> dict[str, tuple[str, str]]:
    return {**HOUSEHOLD_FACTS, **{f.key: (f.kind, f.label) for f in _added_facts()}}


def dibao_line() -> float:
    return float(getattr(settings, "FUPIN_DIBAO_LINE", DIBAO_LINE_DEFAULT))


def _t(label: str) -> str:
    from django.apps import apps

    return connection.ops.quote_name(apps.get_model(label)._meta.db_table)


def _lit(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def names_for(subject: str) -> dict[str, tuple[str, str]]:
    return {**household_facts(), **(MEMBER_FACTS if subject == "member" else {})}


def check_rule(text: str, subject: str) -> None:
    """ExpressionError unless `text` is a condition over this subject's facts."""
    names = names_for(subject)

    def resolve(name):
        if name not in names:
            raise KeyError(name)
        return f'"{name}"', names[name][0]

    compile_sql(text, resolve)


def load(household_ids: list[int] | None = None) -> dict[str, pa.Table]:
    """Input tables: hh (household facts), mem (member facts), rec (receipts), links (department records)."""
    today = timezone.localdate()
    hh, per, link = _t("registry.Household"), _t("registry.Person"), _t("exchange.RecordLink")
    where, params = "", []
    if household_ids is not None:
        where = f" AND h.id IN ({', '.join(str(int(i)) for i in household_ids) or '-1'})"
    i64, s, f64, b = pa.int64(), pa.string(), pa.float64(), pa.bool_()
    tables = {
        "hh_raw": fetch_arrow(
            f"""SELECT h.id AS household_id, h.area_code, coalesce(h.poor_code, '') AS poor_code, h.head_name,
                       h.is_registered_poor, h.poverty_status, h.monitoring_category,
                       CAST(h.per_capita_net_income AS DOUBLE PRECISION) AS per_capita_income, h.dilapidated_grade,
                       CAST(h.land_cultivated AS DOUBLE PRECISION) AS land_cultivated, h.drinking_safe,
                       h.attribute, h.leading_industry, h.main_cause, CAST(h.other_causes AS TEXT) AS other_causes
                FROM {hh} h WHERE h.dissolved_on IS NULL
                  AND (h.is_registered_poor = %s OR h.monitoring_category <> ''){where}""",
            [True, *params],
            types={"household_id": i64, "area_code": s, "poor_code": s, "head_name": s, "is_registered_poor": b,
                   "poverty_status": s, "monitoring_category": s, "per_capita_income": f64,
                   "dilapidated_grade": s, "land_cultivated": f64, "drinking_safe": b, "attribute": s,
                   "leading_industry": s, "main_cause": s, "other_causes": s}),
        "mem_raw": fetch_arrow(
            f"""SELECT p.id AS person_id, p.household_id, p.name, p.relationship,
                       CAST(p.birth_date AS TEXT) AS birth_date, p.schooling, p.labour_skill, p.dibao,
                       p.rural_medical, p.disability_card
                FROM {per} p JOIN {hh} h ON h.id = p.household_id
                WHERE p.is_alive = %s AND h.dissolved_on IS NULL
                  AND (h.is_registered_poor = %s OR h.monitoring_category <> ''){where}""",
            [True, True],
            types={"person_id": i64, "household_id": i64, "name": s, "relationship": s, "birth_date": s,
                   "schooling": s, "labour_skill": s, "dibao": b, "rural_medical": b, "disability_card": s}),
        "rec": fetch_arrow(
            f"""SELECT r.household_id, r.policy_id, p.kind,
                       sum(CASE WHEN r.received_on > %s THEN 1 ELSE 0 END) AS n, count(*) AS n_ever
                FROM {_t('assistance.PolicyReceipt')} r JOIN {_t('assistance.Policy')} p ON p.id = r.policy_id
                GROUP BY r.household_id, r.policy_id, p.kind""",
            [today - dt.timedelta(days=365)],
            types={"household_id": i64, "policy_id": i64, "kind": s, "n": f64, "n_ever": f64}),
        "links": fetch_arrow(
            f"""SELECT person_id, source_code, count(*) AS n FROM {link}
                WHERE source_code IN ({', '.join(_lit(x) for x in SOURCES)}) GROUP BY person_id, source_code""",
            types={"person_id": i64, "source_code": s, "n": f64}),
    }
    for fact in _added_facts():
        sql, params = fact.fn()
        tables[f"fact_{fact.key}"] = fetch_arrow(sql, params, types={"household_id": i64, "value": f64})
    return tables


def setup(today: dt.date) -> list[str]:
    exited = ", ".join(_lit(x) for x in EXITED)
    students = ", ".join(_lit(x) for x in STUDENT_CODES)
    labour = ", ".join(_lit(x) for x in LABOUR)
    member_counts = ", ".join(
        f"coalesce(sum(CASE WHEN source_code = {_lit(src)} THEN n END), 0) AS member_{src}" for src in SOURCES)
    hh_counts = ", ".join(f"CAST(coalesce(a.member_{src}, 0) AS DOUBLE) AS count_{src}" for src in SOURCES)
    provided = [f.key for f in _added_facts()]
    provided_cols = "".join(f", CAST(coalesce(fact_{n}.value, 0) AS DOUBLE) AS \"{n}\"" for n in provided)
    provided_joins = " ".join(
        f"LEFT JOIN (SELECT household_id, sum(value) AS value FROM fact_{n} GROUP BY household_id) fact_{n} "
        f"ON fact_{n}.household_id = h.household_id" for n in provided)
    return [
        f"CREATE TABLE pl AS SELECT person_id, {member_counts} FROM links GROUP BY person_id",
        f"""CREATE TABLE mem AS SELECT m.*,
                CAST(date_diff('year', TRY_CAST(m.birth_date AS DATE), DATE '{today.isoformat()}') AS DOUBLE) AS age,
                coalesce(m.schooling IN ({students}), FALSE) OR coalesce(pl.member_student, 0) > 0 AS is_student,
                coalesce(m.disability_card, '') <> '' AS disabled,
                {", ".join(f"coalesce(pl.member_{src}, 0) AS member_{src}" for src in SOURCES)}
            FROM mem_raw m LEFT JOIN pl USING (person_id)""",
        f"""CREATE TABLE hhf AS SELECT h.*,
                coalesce(h.is_registered_poor, FALSE) AND coalesce(h.poverty_status, '') NOT IN ({exited})
                    AS household_poor,
                coalesce(h.monitoring_category, '') <> '' AS is_monitored,
                coalesce(h.main_cause, '') = {_lit(LACKS_FUNDS)}
                    OR coalesce(strpos(h.other_causes, {_lit('"' + LACKS_FUNDS + '"')}), 0) > 0 AS lacks_funds,
                CAST(coalesce(a.members, 0) AS DOUBLE) AS members,
                CAST(coalesce(a.labour_count, 0) AS DOUBLE) AS labour_count,
                a.head_age, CAST(coalesce(a.labour_18_60, 0) AS DOUBLE) AS labour_18_60,
                CAST(coalesce(a.dibao_members, 0) AS DOUBLE) AS dibao_members,
                {hh_counts},
                {dibao_line()} AS dibao_line{provided_cols}
            FROM hh_raw h LEFT JOIN (
                SELECT household_id, count(*) AS members,
                       sum(CASE WHEN labour_skill IN ({labour}) THEN 1 ELSE 0 END) AS labour_count,
                       sum(CASE WHEN labour_skill IN ({labour}) AND age BETWEEN 18 AND 60 THEN 1 ELSE 0 END)
                           AS labour_18_60,
                       max(CASE WHEN relationship IN ('户主', '01') THEN age END) AS head_age,
                       sum(CASE WHEN dibao THEN 1 ELSE 0 END) AS dibao_members,
                       {", ".join(f"sum(member_{src}) AS member_{src}" for src in SOURCES)}
                FROM mem GROUP BY household_id) a ON a.household_id = h.household_id {provided_joins}""",
        "CREATE TABLE memf AS SELECT m.*, h.* EXCLUDE (household_id) FROM mem m JOIN hhf h USING (household_id)",
    ]


def rule_sql(rule, today: dt.date) -> str:
    """One SELECT of the (household, person) pairs this rule finds owed and not received."""
    subject = rule.subject
    names = names_for(subject)

    def resolve(name):
        if name not in names:
            raise KeyError(name)
        if name == "received":
            return "coalesce(r.n, 0)", "number"
        if name == "received_ever":
            return "coalesce(r.n_ever, 0)", "number"
        if name == "received_kind":
            return "coalesce(rk.n, 0)", "number"
        return f'f."{name}"', names[name][0]

    eligible = compile_sql(parse(rule.eligible), resolve, today=today)
    covered = compile_sql(parse(rule.covered), resolve, today=today)
    source = "memf" if subject == "member" else "hhf"
    person = "f.person_id" if subject == "member" else "CAST(NULL AS BIGINT)"
    policy = int(rule.policy_id) if rule.policy_id else -1
    kind = rule.policy.kind if rule.policy_id else ""
    return (f"SELECT {_lit(rule.code)} AS rule_code, f.household_id, {person} AS person_id "
            f"FROM {source} f LEFT JOIN (SELECT household_id, n, n_ever FROM rec WHERE policy_id = {policy}) r "
            f"ON r.household_id = f.household_id "
            f"LEFT JOIN (SELECT household_id, sum(n) AS n FROM rec WHERE kind = {_lit(kind)} GROUP BY household_id) rk "
            f"ON rk.household_id = f.household_id "
            f"WHERE {eligible} AND NOT {covered}")


def evaluate(rules: list, *, household_ids: list[int] | None = None, engine=None) -> pa.Table:
    """rule_code, household_id, person_id of every gap the active rules find now."""
    from fupin.exchange.linkage import default_engine

    engine = engine or default_engine()
    today = timezone.localdate()
    empty = ("SELECT CAST(NULL AS VARCHAR) AS rule_code, CAST(NULL AS BIGINT) AS household_id, "
             "CAST(NULL AS BIGINT) AS person_id WHERE false")
    sql = " UNION ALL ".join(rule_sql(r, today) for r in rules) or empty
    out = engine.evaluate(tables=load(household_ids), setup=setup(today),
                          queries={"gaps": f"SELECT * FROM ({sql}) ORDER BY rule_code, household_id, person_id"})
    return out["gaps"]
