"""Scores from indicators: pure arithmetic over the facts of `fupin.assessment.facts`, evaluated in the engine.

For one subject and one indicator with value v, target t and weight w (an indicator whose `applies_when` is false
for the subject is left out of its score, and its weight with it):

- attainment a = min(1, v / t) when higher is better (a = 1 when t ≤ 0);
- attainment a = 1 when v ≤ t, else t / v, when lower is better (so t = 0 gives 0 as soon as v > 0);
- score = 100 × Σ(w·a) / Σ(w) over the applicable indicators, rounded to 2 decimals (None when none applies).

A year whose scheme has half-year weights (`{"H1": 30, "H2": 70}`) scores each half on its own and takes the
weighted mean of the halves the subject was scored in. The grade is the best one whose minimum the score reaches,
lowered to `max_grade` by every cap whose condition holds (the condition may name indicators and facts). Ranks are
competition ranks within a kind (1, 2, 2, 4); unscored subjects come last.
"""

# ruff: noqa: S608 - every name is a quoted fact or indicator code; values are compiled expression literals
from __future__ import annotations

import datetime as dt
from collections import defaultdict

from fupin.assessment.choices import GRADE_ORDER, Direction, Grade, SubjectKind
from fupin.assessment.facts import FACTS, Period, load, parse_period, setup_sql
from fupin.eligibility.expressions import ExpressionError, compile_sql


def _resolver(names: dict[str, str]):
    def resolve(name: str) -> tuple[str, str]:
        if name not in names:
            raise KeyError(name)
        return names[name], "number"

    return resolve


FACT_COLUMNS = {f: f'"{f}"' for f in FACTS}


def check_formula(text: str, *, as_bool: bool = False, extra: tuple[str, ...] = ()) -> None:
    """ExpressionError unless `text` is a formula over the facts (and `extra` names)."""
    names = {**FACT_COLUMNS, **{e: f'"i_{e}"' for e in extra}}
    compile_sql(text, _resolver(names), as_bool=as_bool)


def attainment(value: float, target: float, direction: str) -> float:
    if direction == Direction.LOWER:
        if value <= target:
            return 1.0
        return max(0.0, target / value) if value > 0 else 1.0
    if target <= 0:
        return 1.0
    return max(0.0, min(1.0, value / target))


def grade_for(score: float | None, grades: list[dict]) -> str:
    if score is None:
        return Grade.FAIL
    for g in sorted(grades, key=lambda g: -float(g["min"])):
        if score >= float(g["min"]):
            return g["grade"]
    return Grade.FAIL


def _lower(grade: str, cap: str) -> str:
    order = [str(g) for g in GRADE_ORDER]
    return order[max(order.index(grade), order.index(cap))]


def _queries(indicators_by_kind: dict, caps: list[dict], today: dt.date) -> dict[str, str]:
    queries = {}
    for kind, inds in indicators_by_kind.items():
        cols = [f'"{f}"' for f in FACTS]
        for ind in inds:
            value = compile_sql(ind.formula, _resolver(FACT_COLUMNS), as_bool=False, today=today)
            applies = compile_sql(ind.applies_when, _resolver(FACT_COLUMNS), today=today) \
                if ind.applies_when.strip() else "TRUE"
            cols.append(f'CASE WHEN {applies} THEN CAST({value} AS DOUBLE) END AS "i_{ind.code}"')
        names = {**FACT_COLUMNS, **{ind.code: f'"i_{ind.code}"' for ind in inds}}
        cap_cols = []
        for n, cap in enumerate(caps):
            try:
                cap_cols.append(f'{compile_sql(cap["when"], _resolver(names), today=today)} AS "cap_{n}"')
            except ExpressionError:
                cap_cols.append(f'FALSE AS "cap_{n}"')  # names an indicator this kind does not have
        queries[kind] = (f"WITH i AS (SELECT code, name, area_code, {', '.join(cols)} FROM subjects_{kind}) "
                         f"SELECT *{''.join(', ' + c for c in cap_cols)} FROM i ORDER BY code")
    return queries


def evaluate(scheme, period: Period, *, engine=None) -> dict[str, list[dict]]:
    """Every subject's facts, indicator values and score for one period (no half-year weighting here)."""
    from fupin.exchange.linkage import default_engine

    engine = engine or default_engine()
    inds = defaultdict(list)
    for ind in scheme.indicators.all():
        inds[ind.subject_kind].append(ind)
    today = period.end_effective
    queries = _queries(inds, scheme.caps or [], today)
    if not queries:
        return {}
    result = engine.evaluate(tables=load(period), setup=setup_sql(period), queries=queries)
    out: dict[str, list[dict]] = {}
    for kind, table in result.items():
        rows = []
        for r in table.to_pylist():
            indicators, sw, swa = {}, 0.0, 0.0
            for ind in inds[kind]:
                v = r[f"i_{ind.code}"]
                entry = {"name": ind.name, "value": None if v is None else round(v, 4), "target": ind.target,
                         "weight": ind.weight, "attainment": None, "points": None}
                if v is not None:
                    a = attainment(v, ind.target, ind.direction)
                    entry["attainment"] = round(a, 4)
                    entry["points"] = round(100 * a * ind.weight, 4)
                    sw += ind.weight
                    swa += ind.weight * a
                indicators[ind.code] = entry
            score = round(100 * swa / sw, 2) if sw > 0 else None
            caps = [scheme.caps[n] for n in range(len(scheme.caps or [])) if r.get(f"cap_{n}")]
            rows.append({"kind": kind, "code": r["code"], "name": r["name"] or r["code"],
                         "area_code": r["area_code"] or "", "score": score, "indicators": indicators,
                         "facts": {f: r[f] for f in FACTS}, "caps": caps})
        out[kind] = rows
    return out


def _rank(rows: list[dict]) -> None:
    ordered = sorted(rows, key=lambda r: (r["score"] is None, -(r["score"] or 0), r["code"]))
    prev, rank = object(), 0
    for i, r in enumerate(ordered, start=1):
        if r["score"] != prev:
            rank, prev = i, r["score"]
        r["rank"] = rank
        r["rank_of"] = len(rows)


def assess(scheme, period_text: str, *, engine=None) -> dict:
    """{"period": P, "subjects": [...]} for a period under a scheme, scored, graded and ranked."""
    period = parse_period(period_text)
    year_rows = evaluate(scheme, period, engine=engine)
    weights = {k: float(v) for k, v in (scheme.period_weights or {}).items() if k in ("H1", "H2")}
    parts: dict[tuple[str, str], dict[str, float]] = defaultdict(dict)
    if not period.half and weights:
        for half in ("H1", "H2"):
            sub = parse_period(f"{period.year}{half}")
            if sub.days == 0 or not weights.get(half):
                continue
            for kind, rows in evaluate(scheme, sub, engine=engine).items():
                for r in rows:
                    if r["score"] is not None:
                        parts[(kind, r["code"])][sub.code] = r["score"]
    subjects = []
    for kind in SubjectKind.values:
        rows = year_rows.get(kind, [])
        for r in rows:
            got = parts.get((kind, r["code"]))
            if got:
                total = sum(weights[p[-2:]] for p in got)
                r["score"] = round(sum(weights[p[-2:]] * s for p, s in got.items()) / total, 2)
                r["parts"] = got
            else:
                r["parts"] = {}
            grade = grade_for(r["score"], scheme.grades or [])
            for cap in r["caps"]:
                grade = _lower(grade, cap.get("max_grade", Grade.GOOD))
            r["grade"] = grade
        _rank(rows)
        subjects += sorted(rows, key=lambda r: (r["rank"], r["code"]))
    return {"period": period.code, "subjects": subjects}
