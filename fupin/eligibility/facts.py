"""The facts rules are written over, and the SQL program that evaluates a rule set in the engine.

Three layers of facts, each a table in the engine:
- `households`: one row per household in scope (建档立卡 not 已脱贫(不再享受政策), plus applicants), with the facts in
  HOUSEHOLD_FACTS (registry columns, member aggregates, linked department records counted per source);
- `members`: one row per living member, facts in MEMBER_FACTS;
- `rec_<source>`: the linked department records of a source, one column per field of the source (Chinese names).
A rule over a source is evaluated on each (member, linked record) pair; a member rule on each member; a household
rule on each household. Field names resolve in that order: record field, member fact, household fact.
"""

# ruff: noqa: S608 - this module builds SQL: names go through _q (checked, quoted), text through literals
from __future__ import annotations

import datetime as dt
import json
import re

import pyarrow as pa
from django.db import connection
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from fupin.eligibility.expressions import compile_sql, parse

HOUSEHOLD_FACTS: dict[str, tuple[str, str]] = {  # name: (type, description)
    "members": ("number", pgettext_lazy("fact", "living household members")),
    "labour_count": ("number", pgettext_lazy("fact", "labour force (ordinary and skilled)")),
    "weak_labour_count": ("number", pgettext_lazy("fact", "weak or half labour")),
    "student_count": ("number", pgettext_lazy("fact", "students (population register)")),
    "sick_count": ("number", pgettext_lazy("fact", "members with a serious or long-term chronic illness")),
    "disabled_count": ("number", pgettext_lazy("fact", "members with a disability")),
    "elderly_count": ("number", pgettext_lazy("fact", "members aged 60 or over")),
    "children_count": ("number", pgettext_lazy("fact", "members under 16")),
    "per_capita_income": ("number", pgettext_lazy("fact", "net income per person (yuan)")),
    "net_income": ("number", pgettext_lazy("fact", "household net income (yuan)")),
    "poverty_line": ("number", pgettext_lazy("fact", "the year's poverty line (yuan per person a year)")),
    "poverty_status": ("text", pgettext_lazy("fact", "poverty status code")),
    "attribute": ("text", pgettext_lazy("fact", "poor household attribute")),
    "main_cause": ("text", pgettext_lazy("fact", "main cause of poverty")),
    "housing_area": ("number", pgettext_lazy("fact", "housing area (m²)")),
    "housing_structure": ("text", pgettext_lazy("fact", "housing structure")),
    "dilapidated_grade": ("text", pgettext_lazy("fact", "dilapidation grade")),
    "land_cultivated": ("number", pgettext_lazy("fact", "cultivated land (mu)")),
    "land_per_capita": ("number", pgettext_lazy("fact", "cultivated land per person (mu)")),
    "is_applicant": ("bool", pgettext_lazy("fact", "applicant household under identification")),
    "medical_self_pay": ("number", pgettext_lazy("fact", "medical costs paid out of pocket (health bureau data)")),
    "count_housing_safety_d": ("number", pgettext_lazy("fact", "housing bureau records rating the house grade D")),
}
MEMBER_FACTS: dict[str, tuple[str, str]] = {
    "name": ("text", pgettext_lazy("fact", "name")),
    "id_number": ("text", pgettext_lazy("fact", "ID number")),
    "id_valid": ("bool", pgettext_lazy("fact", "ID number valid")),
    "sex": ("text", pgettext_lazy("fact", "sex code (1 male, 2 female)")),
    "age": ("number", pgettext_lazy("fact", "age (full years)")),
    "relationship": ("text", pgettext_lazy("fact", "relationship to the head")),
    "labour_skill": ("text", pgettext_lazy("fact", "labour skill")),
    "schooling": ("text", pgettext_lazy("fact", "schooling")),
    "dibao": ("bool", pgettext_lazy("fact", "on minimum living allowance (population register)")),
    "is_head": ("bool", pgettext_lazy("fact", "is the head")),
    "same_id_households": ("number", pgettext_lazy("fact", "poor households registering the same ID number")),
}
# household facts computed from a department source's linked records (besides the count_<source> facts)
FACT_SOURCES = {"medical_self_pay": "medical", "count_housing_safety_d": "housing_safety"}
# member facts computed across households: a rule reading one needs every household, not only those that changed
CROSS_HOUSEHOLD_FACTS = {"same_id_households"}
LABOUR = ("'1'", "'2'", "'普通劳动力'", "'技能劳动力'")
WEAK = ("'3'", "'弱劳动力或半劳动力'")
_SAFE_NAME = re.compile(r"^[^\"'\\\x00-\x1f]+$")


def source_fact_names(source_codes: list[str]) -> dict[str, tuple[str, str]]:
    return {f"count_{c}": ("number", f"关联到本户成员的{c}记录数") for c in source_codes}


def _q(name: str) -> str:
    if not _SAFE_NAME.match(name):
        raise ValueError(f"unsafe name {name!r}")
    return '"' + name + '"'


class Program:
    """The SQL that evaluates one rule set over the fact tables; built once per comparison."""

    def __init__(self, rules: list, sources: dict[str, list[str]], *, today: dt.date,
                 mapped: dict[str, set[str]] | None = None):
        self.rules = rules
        self.sources = sources  # source code → field names
        # source code → fields whose values go through a value mapping: the record table has the mapped value
        # under the field's name, the value as received in "<field>__raw" and "<field>__nu" (not understood)
        self.mapped = {s: set(f) & set(sources.get(s, [])) for s, f in (mapped or {}).items()}
        self.today = today
        self.household_facts = {**HOUSEHOLD_FACTS, **source_fact_names(list(sources))}
        wanted = {r.subject for r in rules if r.subject in sources} | set(FACT_SOURCES.values())
        self.loaded = sorted(wanted & set(sources))  # sources whose record fields are read

    def resolver(self, subject: str):
        record_fields = self.sources.get(subject, []) if subject not in ("member", "household") else []

        def resolve(name: str) -> tuple[str, str]:
            if name in record_fields:
                return f"rec.{_q(name)}", "text"
            if subject != "household" and name in MEMBER_FACTS:
                return f"m.{_q(name)}", MEMBER_FACTS[name][0]
            if name in self.household_facts:
                return f"h.{_q(name)}", self.household_facts[name][0]
            raise KeyError(name)

        return resolve

    def sources_read(self, rule) -> set[str] | None:
        """The department sources whose linked records a rule's result depends on (its own source, and the sources
        behind the household facts it reads); None when that cannot be told (the expression does not parse)."""
        from fupin.eligibility.expressions import ExpressionError, fields_used

        try:
            used = fields_used(parse(rule.expression))
        except ExpressionError:
            return None
        record = rule.subject not in ("member", "household")
        out = {rule.subject} if record else set()
        own = set(self.sources.get(rule.subject, [])) if record else set()
        for name in used - own:
            if name in FACT_SOURCES:
                out.add(FACT_SOURCES[name])
            elif name.startswith("count_") and name[len("count_"):] in self.sources:
                out.add(name[len("count_"):])
        return out

    def reads_across_households(self, rule) -> bool:
        """Does the rule read a fact computed over other households (so it cannot be evaluated on a few)?"""
        from fupin.eligibility.expressions import ExpressionError, fields_used

        try:
            return bool(fields_used(parse(rule.expression)) & CROSS_HOUSEHOLD_FACTS)
        except ExpressionError:
            return True

    def mapped_reads(self, rule) -> list[str]:
        """The mapped fields of its source that a rule's expression reads."""
        if rule.subject in ("member", "household") or not self.mapped.get(rule.subject):
            return []
        seen: list[str] = []
        inner = self.resolver(rule.subject)

        def record(name: str):
            if name in self.mapped[rule.subject] and name not in seen:
                seen.append(name)
            return inner(name)

        compile_sql(parse(rule.expression), record, today=self.today)
        return seen

    def undecided_sql(self, rule) -> str | None:
        """Pairs a rule cannot decide because a value it reads is not understood (no mapping knows it)."""
        reads = self.mapped_reads(rule)
        if not reads:
            return None
        code = rule.code.replace("'", "")
        table = _q(f"rec_{rule.subject}")
        parts = [f"SELECT m.household_id, m.person_id, rec.record_id, '{code}' AS rule_code, "
                 f"'{f.replace(chr(39), chr(39) * 2)}' AS field, rec.{_q(f + '__raw')} AS value "
                 f"FROM members m JOIN households h USING (household_id) "
                 f"JOIN links l ON l.person_id = m.person_id JOIN {table} rec ON rec.record_id = l.record_id "
                 f"WHERE h.in_scope AND rec.{_q(f + '__nu')}" for f in reads]
        return " UNION ALL ".join(parts)

    def check(self, rule) -> None:
        """Raise ExpressionError when the rule's expression does not compile over its subject's facts."""
        if rule.subject not in ("member", "household") and rule.subject not in self.sources:
            from fupin.eligibility.expressions import ExpressionError

            raise ExpressionError(_("Unknown subject “%(subject)s”") % {"subject": rule.subject})
        compile_sql(parse(rule.expression), self.resolver(rule.subject), today=self.today,
                    as_bool=rule.kind != "scoring")

    def hit_sql(self, rule) -> str:
        cond = compile_sql(parse(rule.expression), self.resolver(rule.subject), today=self.today)
        code = rule.code.replace("'", "")
        if rule.subject == "household":
            return (f"SELECT h.household_id, CAST(NULL AS BIGINT) AS person_id, CAST(NULL AS BIGINT) AS record_id, "
                    f"'{code}' AS rule_code, CAST(NULL AS VARCHAR) AS content "
                    f"FROM households h WHERE h.in_scope AND {cond}")
        if rule.subject == "member":
            return (f"SELECT m.household_id, m.person_id, CAST(NULL AS BIGINT) AS record_id, '{code}' AS rule_code, "
                    f"CAST(NULL AS VARCHAR) AS content "
                    f"FROM members m JOIN households h USING (household_id) WHERE h.in_scope AND {cond}")
        table = _q(f"rec_{rule.subject}")
        # a value no mapping knows leaves the rule undecided for that record (listed apart), never a hit or a miss
        known = "".join(f" AND NOT rec.{_q(f + '__nu')}" for f in self.mapped_reads(rule))
        return (f"SELECT m.household_id, m.person_id, rec.record_id, '{code}' AS rule_code, rec._content AS content "
                f"FROM members m JOIN households h USING (household_id) "
                f"JOIN links l ON l.person_id = m.person_id JOIN {table} rec ON rec.record_id = l.record_id "
                f"WHERE h.in_scope AND {cond}{known}")

    def scores_sql(self, rules: list) -> str:
        """One row per household in scope: its score, the sum of the scoring `rules`' points (a rule that gives
        none counts none), and its parts, {rule code: points} as JSON text in the rules' order. One pass over the
        households: a row per household and rule, grouped again by household for its parts, cost 10-12x as much at
        10x as at 1x (docs/performance.md, "The scores made per household")."""
        if not rules:
            return ("SELECT CAST(NULL AS BIGINT) AS household_id, CAST(NULL AS DOUBLE) AS score, "
                    "CAST(NULL AS VARCHAR) AS parts WHERE false")
        points = ", ".join(
            f"CAST({compile_sql(parse(r.expression), self.resolver('household'), today=self.today, as_bool=False)}"
            f" AS DOUBLE) AS p{i}" for i, r in enumerate(rules))
        score = " + ".join(f"coalesce(p{i}, 0)" for i in range(len(rules)))
        parts = ", ".join(f"'{r.code.replace(chr(39), '')}', p{i}" for i, r in enumerate(rules))
        return (f"SELECT household_id, {score} AS score, CAST(json_object({parts}) AS VARCHAR) AS parts "
                f"FROM (SELECT h.household_id, {points} FROM households h WHERE h.in_scope)")

    def setup(self, poverty_line: float, loads: dict | None = None) -> list:
        """The statements that make the fact tables from the inputs (`_load_tables`). `loads`: {source: the `Load`
        step that reads its records}, placed just before its record table (the others were handed in as
        `raw_<source>`); each source's records are let go right after its record table, so that one source's
        records at a time are in memory."""
        counts = ", ".join(
            f"coalesce(sum(CASE WHEN c.source_code = '{s}' THEN c.n END), 0)::DOUBLE AS {_q('count_' + s)}"
            for s in self.sources) or "0 AS _none"
        stmts = [
            f"""CREATE TABLE members AS SELECT m.person_id, m.household_id, m.name, m.id_number,
                    CAST(m.id_valid AS BOOLEAN) AS id_valid, m.sex,
                    CAST(date_diff('year', TRY_CAST(m.birth_date AS DATE), DATE '{self.today.isoformat()}') AS DOUBLE)
                        AS age,
                    m.relationship, m.labour_skill, m.schooling, CAST(m.dibao AS BOOLEAN) AS dibao,
                    m.relationship = '户主' AS is_head, coalesce(m.health, '') AS health,
                    coalesce(m.disability_card, '') AS disability_card,
                    coalesce(d.n, 1)::DOUBLE AS same_id_households
                FROM mem_in m LEFT JOIN (
                    -- the distinct households counted only for the IDs held more than once (a distinct count per
                    -- ID of every member cost 2.7 times as much on 3.3 million members, the 10x county's:
                    -- docs/performance.md, "The scores made per household")
                    SELECT id_number, count(DISTINCT household_id) AS n FROM mem_in
                    WHERE CAST(id_valid AS BOOLEAN) AND id_number <> '' AND id_number IN (
                        SELECT id_number FROM mem_in WHERE CAST(id_valid AS BOOLEAN) AND id_number <> ''
                        GROUP BY id_number HAVING count(*) > 1)
                    GROUP BY id_number
                ) d ON d.id_number = m.id_number AND CAST(m.id_valid AS BOOLEAN)
                WHERE CAST(m.is_alive AS BOOLEAN)""",
            "CREATE TABLE links AS SELECT record_id, person_id, source_code, method, score FROM links_in",
            """CREATE TABLE agg AS SELECT household_id, count(*)::DOUBLE AS members,
                    count(*) FILTER (WHERE labour_skill IN (""" + ", ".join(LABOUR) + """))::DOUBLE AS labour_count,
                    count(*) FILTER (WHERE labour_skill IN (""" + ", ".join(WEAK) + """))::DOUBLE AS weak_labour_count,
                    count(*) FILTER (WHERE coalesce(schooling, '') NOT IN ('', '01', '学龄前儿童'))::DOUBLE
                        AS student_count,
                    count(*) FILTER (WHERE health SIMILAR TO '.*("2"|"3"|长期慢性病|患有大病).*')::DOUBLE AS sick_count,
                    count(*) FILTER (WHERE health SIMILAR TO '.*("4"|残疾).*' OR disability_card <> '')::DOUBLE
                        AS disabled_count,
                    count(*) FILTER (WHERE age >= 60)::DOUBLE AS elderly_count,
                    count(*) FILTER (WHERE age < 16)::DOUBLE AS children_count
                FROM members GROUP BY household_id""",
            f"""CREATE TABLE dept_counts AS SELECT c.household_id, {counts}
                FROM counts_in c GROUP BY c.household_id""",
            f"""CREATE TABLE households AS SELECT h.household_id, h.household_code, h.area_code,
                    CAST(h.in_scope AS BOOLEAN) AS in_scope, CAST(h.is_applicant AS BOOLEAN) AS is_applicant,
                    coalesce(a.members, 0) AS members, coalesce(a.labour_count, 0) AS labour_count,
                    coalesce(a.weak_labour_count, 0) AS weak_labour_count,
                    coalesce(a.student_count, 0) AS student_count, coalesce(a.sick_count, 0) AS sick_count,
                    coalesce(a.disabled_count, 0) AS disabled_count, coalesce(a.elderly_count, 0) AS elderly_count,
                    coalesce(a.children_count, 0) AS children_count,
                    TRY_CAST(h.per_capita_income AS DOUBLE) AS per_capita_income,
                    TRY_CAST(h.net_income AS DOUBLE) AS net_income, {float(poverty_line)}::DOUBLE AS poverty_line,
                    h.poverty_status, h.attribute, h.main_cause, TRY_CAST(h.housing_area AS DOUBLE) AS housing_area,
                    h.housing_structure, h.dilapidated_grade,
                    TRY_CAST(h.land_cultivated AS DOUBLE) AS land_cultivated,
                    TRY_CAST(h.land_cultivated AS DOUBLE) / NULLIF(a.members, 0) AS land_per_capita,
                    coalesce(ms.pay, 0)::DOUBLE AS medical_self_pay, coalesce(hs.n, 0)::DOUBLE AS count_housing_safety_d,
                    d.* EXCLUDE (household_id)
                FROM hh_in h LEFT JOIN agg a USING (household_id) LEFT JOIN dept_counts d USING (household_id)
                LEFT JOIN medical_pay ms USING (household_id) LEFT JOIN housing_d hs USING (household_id)""",
        ]
        # medical_pay and housing_d come first: they read the record tables
        pre = [
            self._sum_sql("medical_pay", "medical", "sum(TRY_CAST(rec.\"自付\" AS DOUBLE)) AS pay"),
            self._sum_sql("housing_d", "housing_safety",
                          "count(*) FILTER (WHERE contains(coalesce(rec.\"危房等级\", ''), 'D')) AS n"),
        ]
        from fupin.exchange.public import Release

        # the records as received (JSON text) are read by their record table only, the value map by the record
        # tables only: each let go after its last reader (see Release)
        records = []
        for source in self.loaded:
            if source in (loads or {}):
                records.append(loads[source])
            records += [self.record_table_setup(source), Release((f"raw_{source}",))]
        # what the facts were made from (mem_in: the members; links_in: the links), let go
        done = Release(("vmap", "mem_in", "links_in"))
        return [*stmts[:3], *records, done, *pre, *stmts[3:], Release(("hh_in", "agg", "dept_counts", "counts_in",
                                                                         "medical_pay", "housing_d"))]

    def _sum_sql(self, name: str, source: str, agg: str) -> str:
        if source not in self.loaded:
            col = agg.rsplit(" AS ", 1)[1]
            return f"CREATE TABLE {name} AS SELECT CAST(NULL AS BIGINT) AS household_id, 0 AS {col} WHERE false"
        return (f"CREATE TABLE {name} AS SELECT m.household_id, {agg} FROM members m "
                f"JOIN links l ON l.person_id = m.person_id JOIN {_q('rec_' + source)} rec ON rec.record_id = l.record_id "
                f"GROUP BY m.household_id")

    def record_table_setup(self, source: str) -> str:
        fields = self.sources[source]
        mapped = self.mapped.get(source, set())
        # only the records linked to a member in scope (table links): every statement reads a record through its
        # link, so the others' fields would be parsed from JSON for nothing (most of them at a full run, nearly all
        # at an incremental one)
        linked = " WHERE record_id IN (SELECT record_id FROM links)"
        if not mapped:
            cols = ", ".join(f"json_extract_string(data, '$.{_json_key(f)}') AS {_q(f)}" for f in fields)
            # the record's content, independent of how its JSON was written: decides whether evidence changed
            content = "md5(concat_ws('|', " + ", ".join(f"coalesce({_q(f)}, '')" for f in fields) + "))"
            return (f"CREATE TABLE {_q('rec_' + source)} AS SELECT *, {content} AS _content FROM "
                    f"(SELECT record_id, {cols} FROM {_q('raw_' + source)}{linked})")
        # mapped fields: the value as received in <field>__raw, its mapping (table vmap) under the field's name
        raw_names = [f + "__raw" if f in mapped else f for f in fields]
        cols = ", ".join(f"json_extract_string(data, '$.{_json_key(f)}') AS {_q(n)}"
                         for f, n in zip(fields, raw_names, strict=True))
        content = "md5(concat_ws('|', " + ", ".join(f"coalesce(r.{_q(n)}, '')" for n in raw_names) + "))"
        select, joins = ["r.*"], []
        src = source.replace("'", "''")
        for i, f in enumerate(sorted(mapped)):
            alias = f"v{i}"
            fl = f.replace("'", "''")
            joins.append(f"LEFT JOIN vmap {alias} ON {alias}.source = '{src}' AND {alias}.field = '{fl}' "
                         f"AND {alias}.raw = r.{_q(f + '__raw')}")
            select.append(f"CASE WHEN {alias}.known THEN NULLIF({alias}.mapped, '') END AS {_q(f)}")
            select.append(f"coalesce(NOT {alias}.known, false) AS {_q(f + '__nu')}")
        return (f"CREATE TABLE {_q('rec_' + source)} AS SELECT {', '.join(select)}, {content} AS _content "
                f"FROM (SELECT record_id, {cols} FROM {_q('raw_' + source)}{linked}) r {' '.join(joins)}")

    def distinct_sql(self) -> str | None:
        """The distinct values of the mapped fields of the loaded sources (to build the vmap table)."""
        parts = []
        for source in self.loaded:
            for f in sorted(self.mapped.get(source, set())):
                src, fl = source.replace("'", "''"), f.replace("'", "''")
                parts.append(f"SELECT '{src}' AS source, '{fl}' AS field, "
                             f"json_extract_string(data, '$.{_json_key(f)}') AS raw, count(*) AS n "
                             f"FROM {_q('raw_' + source)} GROUP BY 3")
        return " UNION ALL ".join(parts) if parts else None


def _json_key(name: str) -> str:
    return json.dumps(name, ensure_ascii=False).replace("'", "''")


def text_col(sql_col: str) -> str:
    return f"CAST({sql_col} AS TEXT)" if connection.vendor == "postgresql" else sql_col


def as_string_dates(table: pa.Table, column: str) -> pa.Table:
    idx = table.schema.get_field_index(column)
    values = [None if v is None else str(v)[:10] for v in table.column(column).to_pylist()]
    return table.set_column(idx, column, pa.array(values, pa.string()))
