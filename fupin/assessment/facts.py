"""The facts assessment indicators are written over, gathered set-based for one period.

Each fact is read with one statement over its whole table for the period (grouped by household, order or
department), never per subject; the engine (DuckDB, as for the comparison rules) then rolls the household facts up
to every kind of subject in one grouped statement per kind:

- town / village: the households of the division (registered poor, not dissolved) and the work orders in it;
- grid worker: the households of the grids the worker held a post in during the period;
- cadre / pairing unit: the households paired with the cadre (unit) during the period;
- department: the work orders pushed to it in the period.

FACTS lists every name a formula may use, with its meaning (shown on the scheme page and in the docs).
"""

# ruff: noqa: S608 - table names come from model metadata, values are bound parameters
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import pyarrow as pa
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _

from fupin.core.bulk import fetch_arrow

FACTS: dict[str, str] = {
    "households": "建档立卡户数(未注销)",
    "months": "考评期月数(截至今日)",
    "days": "考评期天数(截至今日)",
    "visits": "帮扶日志(走访)条数",
    "days_red": "期内红灯天数合计(按当前红灯起始日计)",
    "measures_due": "期内到期的帮扶措施数",
    "measures_overdue": "期内到期而未按期完成的帮扶措施数",
    "quality_open": "期末未整改的数据质量问题数",
    "findings": "期内新发现的比对疑点数",
    "findings_verified_15d": "15天内核实处理的比对疑点数",
    "orders": "期内推送的工单数",
    "orders_accepted_in_time": "按时签收的工单数",
    "orders_resolved": "已办结的工单数",
    "orders_resolved_in_time": "按时办结的工单数",
    "satisfaction_sum": "工单满意度评分合计(1-5分)",
    "satisfaction_count": "有满意度评价的工单数",
    "checks": "已完成的抽查户数",
    "checks_poor": "抽查的建档立卡户数",
    "checks_misidentified": "抽查发现识别不准的户数",
    "checks_exited": "抽查的已脱贫户数",
    "checks_wrong_exit": "抽查发现错退的户数",
    "checks_other": "抽查的非建档立卡户数",
    "checks_missed": "抽查发现漏评的户数",
    "checks_answered": "回答了是否认可的抽查户数",
    "checks_satisfied": "认可帮扶工作的抽查户数",
}
HOUSEHOLD_FACTS = [f for f in FACTS if f not in ("households", "months", "days") and not f.startswith(
    ("orders", "satisfaction"))]
ORDER_FACTS = ["orders", "orders_accepted_in_time", "orders_resolved", "orders_resolved_in_time",
               "satisfaction_sum", "satisfaction_count"]
_PERIOD = re.compile(r"^(\d{4})(H[12])?$")


@dataclass(frozen=True)
class Period:
    """A period written 2016, 2016H1 or 2016H2: its first and last day and the part of it already lived."""

    code: str
    year: int
    half: str  # "", "H1", "H2"
    start: dt.date
    end: dt.date

    @property
    def end_effective(self) -> dt.date:
        return min(self.end, timezone.localdate())

    @property
    def days(self) -> int:
        return max(0, (self.end_effective - self.start).days + 1)

    @property
    def months(self) -> int:
        end = self.end_effective
        if end < self.start:
            return 0
        return (end.year - self.start.year) * 12 + end.month - self.start.month + 1


def parse_period(text: str) -> Period:
    """Period("2016H1") and so on; ValueError with a translated message for anything else."""
    m = _PERIOD.match((text or "").strip().upper())
    if not m or not 2000 <= int(m.group(1)) <= 2100:
        raise ValueError(_("The assessment period “%(text)s” is not written correctly: write 2016, 2016H1 or 2016H2")
                         % {"text": text})
    year, half = int(m.group(1)), m.group(2) or ""
    start = dt.date(year, 7 if half == "H2" else 1, 1)
    end = dt.date(year, 6, 30) if half == "H1" else dt.date(year, 12, 31)
    return Period(f"{year}{half}", year, half, start, end)


def _t(label: str) -> str:
    from django.apps import apps

    return connection.ops.quote_name(apps.get_model(label)._meta.db_table)


def _bounds(period: Period) -> tuple[dt.datetime, dt.datetime]:
    tz = timezone.get_current_timezone()
    start = dt.datetime.combine(period.start, dt.time.min, tzinfo=tz)
    end = dt.datetime.combine(period.end_effective + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
    return start, end


def _empty(names: dict[str, pa.DataType]) -> pa.Table:
    return pa.table({n: pa.array([], t) for n, t in names.items()})


def load(period: Period) -> dict[str, pa.Table]:
    """The engine's input tables for a period: households with their subjects, and one table per fact source."""
    start, end = period.start, period.end_effective
    t_start, t_end = _bounds(period)
    i64, s, f64 = pa.int64(), pa.string(), pa.float64()
    hh, div, grid = _t("registry.Household"), _t("geo.Division"), _t("geo.Grid")
    tables: dict[str, pa.Table] = {}
    tables["hh"] = fetch_arrow(
        f"""SELECT h.id AS household_id, h.area_code, v.code AS village_code, coalesce(g.code, '') AS grid_code
            FROM {hh} h JOIN {div} v ON v.id = h.village_id LEFT JOIN {grid} g ON g.id = h.grid_id
            WHERE h.is_registered_poor = %s AND (h.dissolved_on IS NULL OR h.dissolved_on > %s)""",
        [True, end], types={"household_id": i64, "area_code": s, "village_code": s, "grid_code": s})
    tables["divisions"] = fetch_arrow(
        f"SELECT code, name, level FROM {div} WHERE level IN ('town', 'village')",
        types={"code": s, "name": s, "level": s})
    post, user = _t("geo.GridPost"), _t("accounts.User")
    tables["posts"] = fetch_arrow(
        f"""SELECT DISTINCT g.code AS grid_code, u.id AS user_id,
                   coalesce(NULLIF(u.display_name, ''), u.username) AS name
            FROM {post} p JOIN {grid} g ON g.id = p.grid_id JOIN {user} u ON u.id = p.user_id
            WHERE p.post = 'grid_worker' AND p.start_date <= %s AND (p.end_date IS NULL OR p.end_date >= %s)""",
        [end, start], types={"grid_code": s, "user_id": i64, "name": s})
    pair, cadre, unit = _t("assistance.HouseholdPairing"), _t("assistance.Cadre"), _t("assistance.Unit")
    tables["pairs"] = fetch_arrow(
        f"""SELECT DISTINCT p.household_id, p.cadre_id, c.name AS cadre_name, p.unit_id, un.name AS unit_name
            FROM {pair} p JOIN {cadre} c ON c.id = p.cadre_id JOIN {unit} un ON un.id = p.unit_id
            WHERE p.start_date <= %s AND (p.end_date IS NULL OR p.end_date >= %s)""",
        [end, start], types={"household_id": i64, "cadre_id": i64, "cadre_name": s, "unit_id": i64,
                             "unit_name": s})
    rec = _t("assistance.AssistanceRecord")
    tables["f_visits"] = fetch_arrow(
        f"""SELECT household_id, count(*) AS visits FROM {rec}
            WHERE occurred_on >= %s AND occurred_on <= %s GROUP BY household_id""",
        [start, end], types={"household_id": i64, "visits": f64})
    light = _t("assistance.HouseholdLight")
    tables["f_red"] = fetch_arrow(
        f"SELECT household_id, CAST(red_since AS TEXT) AS red_since FROM {light} "
        f"WHERE colour = 'red' AND red_since IS NOT NULL AND red_since <= %s",
        [end], types={"household_id": i64, "red_since": s})
    mea = _t("assistance.Measure")
    tables["f_measures"] = fetch_arrow(
        f"""SELECT household_id, count(*) AS measures_due,
                   sum(CASE WHEN done_on IS NULL OR done_on > target_date THEN 1 ELSE 0 END) AS measures_overdue
            FROM {mea} WHERE status <> 'cancelled' AND target_date >= %s AND target_date <= %s
            GROUP BY household_id""",
        [start, end], types={"household_id": i64, "measures_due": f64, "measures_overdue": f64})
    prob = _t("quality.Problem")
    tables["f_quality"] = fetch_arrow(
        f"""SELECT household_id, count(*) AS quality_open FROM {prob}
            WHERE household_id IS NOT NULL AND opened_at < %s AND (status = 'open' OR closed_at >= %s)
            GROUP BY household_id""",
        [t_end, t_end], types={"household_id": i64, "quality_open": f64})
    fin = _t("eligibility.Finding")
    verified = "decided_at IS NOT NULL AND decided_at <= created_at + INTERVAL '15 days'" \
        if connection.vendor == "postgresql" else \
        "decided_at IS NOT NULL AND julianday(decided_at) - julianday(created_at) <= 15"
    tables["f_findings"] = fetch_arrow(
        f"""SELECT household_id, count(*) AS findings,
                   sum(CASE WHEN {verified} THEN 1 ELSE 0 END) AS findings_verified_15d
            FROM {fin} WHERE created_at >= %s AND created_at < %s GROUP BY household_id""",
        [t_start, t_end], types={"household_id": i64, "findings": f64, "findings_verified_15d": f64})
    chk, smp = _t("assessment.FieldCheck"), _t("assessment.CheckSample")
    tables["f_checks"] = fetch_arrow(
        f"""SELECT c.household_id, count(*) AS checks,
                   sum(CASE WHEN c.stratum = 'poor' THEN 1 ELSE 0 END) AS checks_poor,
                   sum(CASE WHEN c.stratum = 'poor' AND c.correctly_identified = %s THEN 1 ELSE 0 END)
                       AS checks_misidentified,
                   sum(CASE WHEN c.stratum = 'exited' THEN 1 ELSE 0 END) AS checks_exited,
                   sum(CASE WHEN c.stratum = 'exited' AND c.wrongly_exited = %s THEN 1 ELSE 0 END)
                       AS checks_wrong_exit,
                   sum(CASE WHEN c.stratum = 'other' THEN 1 ELSE 0 END) AS checks_other,
                   sum(CASE WHEN c.stratum = 'other' AND c.missed_found = %s THEN 1 ELSE 0 END) AS checks_missed,
                   sum(CASE WHEN c.satisfied IS NOT NULL THEN 1 ELSE 0 END) AS checks_answered,
                   sum(CASE WHEN c.satisfied = %s THEN 1 ELSE 0 END) AS checks_satisfied,
                   max(h.area_code) AS area_code, max(v.code) AS village_code
            FROM {chk} c JOIN {smp} sm ON sm.id = c.sample_id JOIN {hh} h ON h.id = c.household_id
                 JOIN {div} v ON v.id = sm.village_id
            WHERE c.status = 'done' AND c.checked_on >= %s AND c.checked_on <= %s GROUP BY c.household_id""",
        [False, True, True, True, start, end],
        types={"household_id": i64, **{k: f64 for k in FACTS if k.startswith("checks")}, "area_code": s,
               "village_code": s})
    wo, dep = _t("dispatch.WorkOrder"), _t("org.Department")
    tables["orders"] = fetch_arrow(
        f"""SELECT o.department_id, d.name AS department_name, coalesce(o.household_id, -1) AS household_id,
                   v.code AS village_code, count(*) AS orders,
                   sum(CASE WHEN o.accepted_at IS NOT NULL AND o.accepted_at <= o.accept_due_at THEN 1 ELSE 0 END)
                       AS orders_accepted_in_time,
                   sum(CASE WHEN o.resolved_at IS NOT NULL THEN 1 ELSE 0 END) AS orders_resolved,
                   sum(CASE WHEN o.resolved_at IS NOT NULL AND o.resolved_at <= o.due_at THEN 1 ELSE 0 END)
                       AS orders_resolved_in_time,
                   sum(coalesce(o.satisfaction, 0)) AS satisfaction_sum,
                   sum(CASE WHEN o.satisfaction IS NOT NULL THEN 1 ELSE 0 END) AS satisfaction_count
            FROM {wo} o JOIN {dep} d ON d.id = o.department_id JOIN {div} v ON v.id = o.village_id
            WHERE o.state <> 'cancelled' AND o.pushed_at >= %s AND o.pushed_at < %s
            GROUP BY o.department_id, d.name, coalesce(o.household_id, -1), v.code""",
        [t_start, t_end], types={"department_id": i64, "department_name": s, "household_id": i64,
                                 "village_code": s, **{k: f64 for k in ORDER_FACTS}})
    return tables


def _zero(cols: list[str], alias: str = "") -> str:
    p = f"{alias}." if alias else ""
    return ", ".join(f'coalesce(sum({p}"{c}"), 0) AS "{c}"' for c in cols)


def setup_sql(period: Period) -> list[str]:
    """Statements that build `subjects_<kind>`: one row per subject with every fact of FACTS as a column."""
    start = period.start.isoformat()
    end = period.end_effective.isoformat()
    hfacts = ", ".join(f'coalesce(x."{c}", 0) AS "{c}"' for c in HOUSEHOLD_FACTS)
    hf = f"""CREATE TABLE hf AS
        WITH x AS (
            SELECT h.household_id, v.visits, r.days_red, m.measures_due, m.measures_overdue, q.quality_open,
                   f.findings, f.findings_verified_15d, c.* EXCLUDE (household_id, area_code, village_code)
            FROM hh h
            LEFT JOIN f_visits v USING (household_id)
            LEFT JOIN (SELECT household_id,
                              CAST(greatest(0, date_diff('day', greatest(CAST(red_since AS DATE), DATE '{start}'),
                                                         DATE '{end}') + 1) AS DOUBLE) AS days_red
                       FROM f_red) r USING (household_id)
            LEFT JOIN f_measures m USING (household_id)
            LEFT JOIN f_quality q USING (household_id)
            LEFT JOIN f_findings f USING (household_id)
            LEFT JOIN f_checks c USING (household_id))
        SELECT h.household_id, h.area_code, h.village_code, h.grid_code, {hfacts}
        FROM hh h JOIN x USING (household_id)"""
    # field checks of households no longer registered poor (exited, other) count for the village of their sample
    checks_cols = [c for c in HOUSEHOLD_FACTS if c.startswith("checks")]
    xcheck = f"""CREATE TABLE xchecks AS SELECT c.household_id, c.village_code, c.area_code,
                     {", ".join(f'c."{k}"' for k in checks_cols)}
                 FROM f_checks c WHERE c.household_id NOT IN (SELECT household_id FROM hh)"""
    consts = f"CAST({period.months} AS DOUBLE) AS months, CAST({period.days} AS DOUBLE) AS days"
    other = [c for c in HOUSEHOLD_FACTS if not c.startswith("checks")]
    zero_other = ", ".join(f'CAST(0 AS DOUBLE) AS "{c}"' for c in other)

    def by_area(kind: str, key: str, level: str) -> str:
        return f"""CREATE TABLE subjects_{kind} AS
            WITH hfx AS (SELECT household_id, {key} AS k, 1.0 AS households, * EXCLUDE (household_id)
                         FROM hf
                         UNION ALL
                         SELECT household_id, {key} AS k, 0.0 AS households, area_code, village_code, '',
                                {zero_other},
                                {", ".join(f'"{k}"' for k in checks_cols)}
                         FROM xchecks),
                 a AS (SELECT k, {_zero(['households', *HOUSEHOLD_FACTS])} FROM hfx GROUP BY k),
                 o AS (SELECT {key} AS k, {_zero(ORDER_FACTS)} FROM orders GROUP BY k)
            SELECT d.code, d.name, d.code AS area_code, {consts},
                   coalesce(a.households, 0) AS households,
                   {", ".join(f'coalesce(a."{c}", 0) AS "{c}"' for c in HOUSEHOLD_FACTS)},
                   {", ".join(f'coalesce(o."{c}", 0) AS "{c}"' for c in ORDER_FACTS)}
            FROM divisions d LEFT JOIN a ON a.k = d.code LEFT JOIN o ON o.k = d.code
            WHERE d.level = '{level}'"""

    town_key = "substr(village_code, 1, 9) || '000'"
    statements = [hf, xcheck, by_area("village", "village_code", "village"), by_area("town", town_key, "town")]

    def by_households(kind: str, source: str, key: str, name: str, area: str, fallback: str = "NULL") -> str:
        return f"""CREATE TABLE subjects_{kind} AS
            WITH m AS (SELECT DISTINCT {key} AS k, {name} AS name, household_id, {fallback} AS fb FROM {source}),
                 n AS (SELECT k, min(name) AS name, min(fb) AS fb FROM m GROUP BY k),
                 a AS (SELECT m.k, count(DISTINCT hf.household_id) AS households,
                              min(hf.area_code) AS lo, max(hf.area_code) AS hi,
                              {_zero(HOUSEHOLD_FACTS, 'hf')}
                       FROM m JOIN hf ON hf.household_id = m.household_id GROUP BY m.k),
                 o AS (SELECT m.k, {_zero(ORDER_FACTS, 'orders')} FROM m JOIN orders USING (household_id)
                       GROUP BY m.k)
            SELECT CAST(n.k AS VARCHAR) AS code, n.name,
                   coalesce(NULLIF({area}, ''), n.fb, '') AS area_code, {consts},
                   CAST(coalesce(a.households, 0) AS DOUBLE) AS households,
                   {", ".join(f'coalesce(a."{c}", 0) AS "{c}"' for c in HOUSEHOLD_FACTS)},
                   {", ".join(f'coalesce(o."{c}", 0) AS "{c}"' for c in ORDER_FACTS)}
            FROM n LEFT JOIN a ON a.k = n.k LEFT JOIN o ON o.k = n.k"""

    common = _common_prefix_sql("a.lo", "a.hi")
    statements.append(by_households("cadre", "pairs", "cadre_id", "cadre_name", common))
    statements.append(by_households("unit", "pairs", "unit_id", "unit_name", common))
    statements.append("""CREATE TABLE gwh AS SELECT p.user_id, p.name, h.household_id, p.grid_code
                          FROM posts p JOIN hh h ON h.grid_code = p.grid_code
                          UNION ALL SELECT p.user_id, p.name, -1, p.grid_code FROM posts p""")
    # a worker without registered households is still scored, and seen in the grid's jurisdiction
    statements.append(by_households("grid_worker", "gwh", "user_id", "name", common, fallback="grid_code"))
    zero_hh = ", ".join(f'CAST(0 AS DOUBLE) AS "{c}"' for c in HOUSEHOLD_FACTS)
    statements.append(f"""CREATE TABLE subjects_department AS
        SELECT CAST(department_id AS VARCHAR) AS code, min(department_name) AS name,
               (SELECT substr(min(code), 1, 6) FROM divisions) AS area_code, {consts},
               CAST(count(DISTINCT CASE WHEN household_id > 0 THEN household_id END) AS DOUBLE) AS households,
               {zero_hh}, {_zero(ORDER_FACTS)}
        FROM orders GROUP BY department_id""")
    return statements


def _common_prefix_sql(lo: str, hi: str) -> str:
    """The area code both ends share, cut back to a level (grid 15, village 12, town 9, county 6)."""
    parts = []
    for n in (15, 12, 9, 6):
        parts.append(f"WHEN substr({lo}, 1, {n}) = substr({hi}, 1, {n}) AND length({lo}) >= {n} "
                     f"THEN substr({lo}, 1, {n})")
    return f"coalesce(CASE {' '.join(parts)} ELSE '' END, '')"
