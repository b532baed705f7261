"""The skew guard: block sizes of every blocking rule measured before a run, and no block left to run unbounded.

A blocking rule (`l.name_py = r.name_py`) compares every residual record with every registry person that shares its
key. One common key — 王伟 in a province, a birth date shared by thousands — makes one block of left × right pairs
that can take a single machine's memory or stall one Spark task. Before every linkage run (whatever the engine:
this measurement always runs on DuckDB, in the run's database the snapshots' and the registry's Parquet copies
are read into: linkage.linkage_compute), for each rule:

- the comparisons it would make (the sum over its keys of records × persons) and its largest block;
- a key whose block exceeds `max_block` (setting `FUPIN_MAX_BLOCK`, pairs) is **split** by a secondary key — the
  first of `SECONDARY_KEYS` (town, then sex, then both) that brings every such key under the bound: the rule becomes
  two, the ordinary keys as before and the large keys with the secondary key added;
- a large key that no secondary key brings under the bound is **skipped** by this rule (its records can still meet
  their person through the other rules), and said so;
- a rule whose columns the guard cannot derive is run as it is and reported as not measured;
- the **pair budget** bounds the sum, not single blocks: a rule whose comparisons exceed `pair_budget` (setting
  `FUPIN_PAIR_BUDGET`, pairs per record to match) times the records to match — and the floor `budget_floor`
  (`FUPIN_PAIR_BUDGET_FLOOR`, pairs), under which a rule's cost does not matter — is split as a whole by the first
  chain of secondary keys (`BUDGET_KEYS`, in order) that brings it under the budget (else the one that brings it
  lowest): records and persons with the key are compared within it (`l.birth_date = r.birth_date AND l.town_code =
  r.town_code`), records without it by the chain's next key, records with none of them (an address naming no town
  of the county) keep the unsplit rule, and so do registry persons without the key. The blocked pairs per record
  then stop growing with the county (docs/scale.md, "The pair budget"); what the split costs is the people a rule
  no longer meets (a record whose town is not the registry's: the person moved) — other rules may still meet them.

The report (`LinkRun.stats["skew"]`, shown with the run on /exchange/) names every rule, its largest block, what
was done and the keys concerned (their records and persons counts). The measured columns are derived here the way
the engines derive their blocking columns (docs/exchange.md, "Person linkage"); the counts are an upper bound of
what the engine compares (the records a remembered decision links are still counted).
"""

# ruff: noqa: S608 - the SQL interpolates column names of known rules, integers and _lit() literals only
from __future__ import annotations

import hashlib
import re
import time

import pyarrow as pa

from fupin.exchange.engine import NO_CHECKPOINT  # tables that live for one measurement: never compressed
from fupin.exchange.places import duckdb_places

# secondary keys tried, in order, on a rule's large keys (columns both sides of the engine's blocking tables have)
SECONDARY_KEYS: list[tuple[str, ...]] = [("town_code",), ("sex",), ("town_code", "sex")]
# the pair budget's key chains, in order (`_budget_rule`): records with the first key of a chain are compared
# within it, records without it within the next key, and records with none keep the unsplit rule. The birth year
# first, since a person who moved town keeps it (for a rule on the birth date itself it says nothing: skipped), the
# town for records that state no birth date; then the town alone, the sex, the town and the sex.
BUDGET_KEYS: list[tuple[tuple[str, ...], ...]] = [(("birth_year",), ("town_code",)), (("town_code",),), (("sex",),),
                                                  (("town_code", "sex"),)]
KEYS_LISTED = 10  # large keys shown in the report per rule
KEYS_MAX = 2000  # more large keys than this: the whole rule is split (or skipped), not key by key

_EQ = re.compile(r"^\s*l\.([a-z0-9_]+)\s*=\s*r\.([a-z0-9_]+)\s*$")

# the blocking columns, derived as the engines derive them (records: the residual only)
_LEFT = """
    SELECT coalesce(NULLIF(id_number, ''), NULLIF(id_clean, '')) AS id_any, id_kind = 'masked' AS masked,
        NULLIF(name, '') AS name, NULLIF(name_py, '') AS name_py, TRY_CAST(birth_date AS DATE) AS birth_date,
        NULLIF(sex, '') AS sex, NULLIF(address, '') AS address,
        CASE WHEN id_kind = 'masked' THEN NULLIF(id_area6, '') END AS id_area6,
        CASE WHEN id_kind = 'masked' THEN NULLIF(CAST(id_birth_year AS VARCHAR), '') END AS id_birth_year,
        CASE WHEN id_kind = 'masked' THEN NULLIF(id_last4, '') END AS id_last4
    FROM records_in WHERE {residual}"""
_LEFT_KEYS = """
    SELECT name_py, birth_date, sex, id_area6, id_birth_year, id_last4,
        CASE WHEN length(id_any) >= 17 AND NOT coalesce(masked, false) THEN substr(id_any, 1, 17) END AS id17,
        CASE WHEN length(id_any) >= 15 AND NOT coalesce(masked, false) THEN substr(id_any, 1, 15) END AS id15,
        CASE WHEN NOT coalesce(masked, false) THEN id_any END AS id_clean,
        substr(name, 1, 1) AS surname, NULLIF(substr(name, 2), '') AS given,
        p.town_code, year(birth_date) AS birth_year
    FROM left_raw x LEFT JOIN place_of p USING (address)"""
_RIGHT_KEYS = """
    SELECT NULLIF(name_py, '') AS name_py, TRY_CAST(birth_date AS DATE) AS birth_date, NULLIF(sex, '') AS sex,
        CASE WHEN length(id_number) = 18 THEN substr(id_number, 1, 6) END AS id_area6,
        CASE WHEN length(id_number) = 18 THEN substr(id_number, 7, 4) END AS id_birth_year,
        CASE WHEN length(id_number) = 18 THEN substr(id_number, 15, 4) END AS id_last4,
        CASE WHEN length(id_number) >= 17 THEN substr(id_number, 1, 17) END AS id17,
        CASE WHEN length(id_number) >= 15 THEN substr(id_number, 1, 15) END AS id15,
        NULLIF(id_number, '') AS id_clean,
        substr(name, 1, 1) AS surname, NULLIF(substr(name, 2), '') AS given,
        NULLIF(substr(area_code, 1, 9), '') AS town_code
    FROM persons_in"""
KNOWN = {"name_py", "birth_date", "sex", "id_area6", "id_birth_year", "id_last4", "id17", "id15", "id_clean",
         "surname", "given", "town_code"}


def rule_columns(rule: str) -> list[str] | None:
    """The columns of an equi-join blocking rule (`l.a = r.a AND l.b = r.b`); None for anything else."""
    cols = []
    for part in re.split(r"\s+AND\s+", rule.strip(), flags=re.IGNORECASE):
        m = _EQ.match(part)
        if not m or m.group(1) != m.group(2) or m.group(1) not in KNOWN:
            return None
        cols.append(m.group(1))
    return cols or None


def _key(side: str, cols: tuple[str, ...] | list[str]) -> str:
    """The key of a block as one string (DuckDB and Spark SQL alike); `side` "" for unqualified columns. The one
    key expression: the registry's kept block counts (`registry_blocks`) are joined to the records' on it."""
    prefix = f"{side}." if side else ""
    return "concat_ws('|', " + ", ".join(f"CAST({prefix}{c} AS STRING)" for c in cols) + ")"


def _notnull(cols) -> str:
    return " AND ".join(f"{c} IS NOT NULL" for c in cols)


def _lit(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _blocks(cols, where: str = "", *, kept: bool = False, right: str = "rk") -> str:
    """SQL of the blocks of a rule: key, left count, right count, pairs. kept: the registry's counts are read from
    the kept table `rb` (`registry_blocks`), not grouped from `right` (the registry's keys: `rk`, or `rkb`, the
    few columns of a rule over the budget)."""
    notnull, key = _notnull(cols), _key("", cols)
    extra = f" AND {where}" if where else ""
    right = (f"SELECT key AS k, n FROM rb WHERE cols = {_lit(_cols_name(cols))}" if kept and not where else
             f"SELECT {key} AS k, count(*) AS n FROM {right} WHERE {notnull}{extra} GROUP BY 1")
    return f"""
        SELECT l.k AS key, l.n AS records, r.n AS persons, l.n * r.n AS pairs FROM
            (SELECT {key} AS k, count(*) AS n FROM lk WHERE {notnull}{extra} GROUP BY 1) l
        JOIN ({right}) r USING (k)"""


def _cols_name(cols) -> str:
    return ",".join(cols)


def _column_sets(rules: list[str]) -> list[list[str]]:
    """The distinct column sets of the measurable rules, in a fixed order."""
    sets = {_cols_name(c): c for c in (rule_columns(r) for r in rules) if c is not None}
    return [sets[k] for k in sorted(sets)]


def blocks_spec(rules: list[str]) -> str:
    """What the registry's block counts of these rules depend on besides the registry: the column sets and the way
    the registry's blocking columns are derived (`_RIGHT_KEYS`). Part of the kept table's key and metadata."""
    text = _RIGHT_KEYS + "\n" + "\n".join(_cols_name(c) for c in _column_sets(rules))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def registry_blocks(persons: pa.Table | None, rules: list[str], *, con=None, persons_table: str = "",
                    into: str = "") -> pa.Table:
    """The registry's side of every measurable rule's blocks: (cols, key, n) — the persons per blocking key. It
    depends on the registry and the rules only, so it is kept beside the registry's copy
    (registry_copy.blocks) and not grouped again in each run; metadata `spec` is `blocks_spec(rules)`.
    con: a DuckDB connection whose table `persons_table` holds the persons (`persons` is then None); the counts are
    also left there as the table `into`."""
    import duckdb

    own = con is None
    if own:
        con = duckdb.connect(config={"checkpoint_threshold": NO_CHECKPOINT})
        con.register("persons_in", persons)
        persons_table = "persons_in"
    try:
        con.execute("CREATE TABLE rk_counted AS " + _RIGHT_KEYS.replace("FROM persons_in", f'FROM "{persons_table}"'))
        parts = []
        for cols in _column_sets(rules):
            notnull, key = _notnull(cols), _key("", cols)
            parts.append(f"SELECT {_lit(_cols_name(cols))} AS cols, {key} AS key, count(*) AS n FROM rk_counted "
                         f"WHERE {notnull} GROUP BY 2")
        sql = (" UNION ALL ".join(parts) if parts else
               "SELECT CAST(NULL AS VARCHAR) AS cols, CAST(NULL AS VARCHAR) AS key, CAST(0 AS BIGINT) AS n WHERE false")
        sql = f"SELECT CAST(cols AS VARCHAR) AS cols, CAST(key AS VARCHAR) AS key, CAST(n AS BIGINT) AS n FROM ({sql})"
        if into:
            con.execute(f'CREATE TABLE "{into}" AS {sql}')
            table = con.sql(f'SELECT * FROM "{into}"').to_arrow_table()
        else:
            table = con.sql(sql).to_arrow_table()
        n_persons = con.execute(f'SELECT count(*) FROM "{persons_table}"').fetchall()[0][0]
        con.execute("DROP TABLE rk_counted")
    finally:
        if own:
            con.close()
    table = table.cast(pa.schema([("cols", pa.string()), ("key", pa.string()), ("n", pa.int64())]))
    return table.replace_schema_metadata({"spec": blocks_spec(rules), "persons": str(n_persons)})


def blocks_usable(table: pa.Table | None, rules: list[str], persons: int) -> bool:
    """Whether a kept `registry_blocks` table was made for these rules, this derivation and this many persons."""
    meta = (table.schema.metadata or {}) if table is not None else {}
    return (table is not None and meta.get(b"spec", b"").decode() == blocks_spec(rules)
            and meta.get(b"persons", b"").decode() == str(persons))


def guard_records(con, divisions: pa.Table, *, exact_rule: bool = True) -> None:
    """The records' side of the guard: the blocking columns of the records to match (the residual), left in `con`
    as the table `lk`, read from its table `records_in`. The linkage makes it before the persons join the records in
    its database (linkage.linkage_compute): at 10x the persons take DuckDB past its memory limit, and reading the
    records back from its spill folder cost about four times the read alone. `guard(..., records_keyed=True)` then
    reads `lk` and drops it at the end, with its own tables. `con`: the caller's cursor (the divisions are
    registered on it and unregistered)."""
    con.register("divisions_in", divisions)
    try:
        residual = ("id_status NOT IN ('valid', 'legacy15') AND (coalesce(name, '') <> '' OR coalesce(id_clean, '') "
                    "<> '')") if exact_rule else "true"
        con.execute(f"CREATE TABLE left_raw AS {_LEFT.format(residual=residual)}")
        # a record's town as the engines find it: its village's, else the town its address names (places.py)
        duckdb_places(con, "SELECT address FROM left_raw", "SELECT code, name, level, parent_code FROM divisions_in")
        con.execute(f"CREATE TABLE lk AS {_LEFT_KEYS}")
    finally:
        for name in ("place_of", "left_raw"):
            con.execute(f"DROP TABLE IF EXISTS {name}")
        con.unregister("divisions_in")


def guard(*, records: pa.Table | None = None, persons: pa.Table | None = None, divisions: pa.Table, rules: list[str],
          max_block: int, exact_rule: bool = True, kept_blocks: pa.Table | str | None = None, pair_budget: float = 0,
          budget_floor: int = 0, duckdb_config: dict | None = None, con=None,
          records_keyed: bool = False) -> tuple[list[str], dict]:
    """Measure every blocking rule's blocks and bound them; returns the rules to run and the report.
    kept_blocks: the registry's side already counted (`registry_blocks` of these rules and persons, kept with the
    registry's copy); a table made for other rules or another registry is not used (the counts are made here).
    pair_budget: pairs per record to match a rule may compare before it is split as a whole (0: no budget);
    budget_floor: a rule under this many pairs is never split for it. duckdb_config: DuckDB's settings
    (memory limit, spill folder), as the engine's. con: a DuckDB connection that holds the records and persons as
    its own tables `records_in` and `persons_in` (`records`, `persons` then None) — the linkage's, which its engine
    reads next (linkage.linkage_compute) — and `kept_blocks` then the name of its table of the counts (checked
    usable by the caller); the guard's own tables are dropped from it at the end. records_keyed: `con` holds the
    records' side already (`guard_records`, made before the persons were read in)."""
    import duckdb

    t0 = time.perf_counter()
    own = con is None
    # the caller's database through a cursor of its own: its registrations and pending results stay the guard's
    con = duckdb.connect(config={"checkpoint_threshold": NO_CHECKPOINT,
                                 **{k: str(v) for k, v in (duckdb_config or {}).items() if v}}) if own else con.cursor()
    report: dict = {"max_block": int(max_block), "rules": [], "split": 0, "skipped_keys": 0}
    out_rules: list[str] = []
    try:
        if own:
            con.register("records_in", records)
            con.register("persons_in", persons)
        if not records_keyed:
            guard_records(con, divisions, exact_rule=exact_rule)
        n_persons = persons.num_rows if own else con.execute("SELECT count(*) FROM persons_in").fetchall()[0][0]
        kept = isinstance(kept_blocks, str) or blocks_usable(kept_blocks, rules, n_persons)
        if isinstance(kept_blocks, str):
            con.execute(f'CREATE TEMP VIEW rb AS SELECT * FROM "{kept_blocks}"')
        elif kept:  # the registry's keys are derived only if a large block has to be split (`_guard_rule`)
            con.register("rb", kept_blocks)
        else:
            con.execute(f"CREATE TABLE rk AS {_RIGHT_KEYS}")
        report["registry_blocks"] = "kept" if kept else "counted"
        report["records"] = con.execute("SELECT count(*) FROM lk").fetchone()[0]
        report["persons"] = n_persons  # one row of rk per person
        budget = max(int(pair_budget * report["records"]), int(budget_floor)) if pair_budget else 0
        if pair_budget:
            report.update(pair_budget=pair_budget, budget_floor=int(budget_floor), budget=budget, budget_split=0)
        for rule in rules:
            cols = rule_columns(rule)
            if cols is not None:  # the rule's blocks, made once for the budget and the per-key guard (`b`)
                con.execute(f"CREATE OR REPLACE TABLE b AS {_blocks(cols, kept=kept)}")
            entries, new_rules = _budget_rule(con, rule, budget, int(max_block)) if budget else ([], [])
            if not entries:
                entry, new_rules = _guard_rule(con, rule, int(max_block), kept=kept)
                entries = [entry]
            for entry in entries:
                report["rules"].append(entry)
                report["split"] += entry["action"] == "split"
                report["skipped_keys"] += entry.get("skipped_keys", 0)
                if entry["action"] == "budget_split":
                    report["budget_split"] += 1
            out_rules.extend(new_rules)
    finally:
        if not own:  # the database goes on to the engine: what the guard made in it goes
            for name in ("place_of", "left_raw", "lk", "rk", "b"):
                con.execute(f"DROP TABLE IF EXISTS {name}")
        con.close()  # the cursor's own registrations and temporary view with it
    report["seconds"] = round(time.perf_counter() - t0, 3)
    return out_rules, report


def _guard_rule(con, rule: str, max_block: int, *, kept: bool = False, right: str = "rk") -> tuple[dict, list[str]]:
    """The per-key guard of one rule, whose blocks (`_blocks`) the caller made the table `b`."""
    cols = rule_columns(rule)
    if cols is None:
        return {"rule": rule, "action": "not_measured"}, [rule]
    total, largest = con.execute("SELECT coalesce(sum(pairs), 0), coalesce(max(pairs), 0) FROM b").fetchone()
    entry: dict = {"rule": rule, "columns": cols, "pairs": int(total), "largest": int(largest)}
    top = con.execute("SELECT key, records, persons, pairs FROM b ORDER BY pairs DESC, key LIMIT 1").fetchall()
    if top:
        entry["largest_key"] = {"key": top[0][0], "records": top[0][1], "persons": top[0][2], "pairs": top[0][3]}
    if largest <= max_block:
        entry["action"] = "run"
        return entry, [rule]
    big = con.execute(f"SELECT key, records, persons, pairs FROM b WHERE pairs > {max_block} "
                      "ORDER BY pairs DESC, key").fetchall()
    if kept and right == "rk":  # the secondary keys are counted on the registry's keys themselves
        con.execute(f"CREATE TABLE IF NOT EXISTS rk AS {_RIGHT_KEYS}")
    entry["large_keys"] = len(big)
    entry["keys"] = [{"key": k, "records": n, "persons": m, "pairs": p} for k, n, m, p in big[:KEYS_LISTED]]
    whole = len(big) > KEYS_MAX  # too many large keys to list: the rule as a whole gets the secondary key
    in_big = "" if whole else f"{_key('l', cols)} IN ({', '.join(_lit(k) for k, *_ in big)})"
    base = [] if whole else [f"{rule} AND {_key('l', cols)} NOT IN ({', '.join(_lit(k) for k, *_ in big)})"]
    where_big = "" if whole else f"{_key('', cols)} IN ({', '.join(_lit(k) for k, *_ in big)})"
    big_records = int(sum(n for _, n, _, _ in big))
    best = None  # the secondary key that bounds the blocks and keeps the most of their records
    for secondary in SECONDARY_KEYS:
        if set(secondary) & set(cols):
            continue
        after = con.execute(f"SELECT coalesce(max(pairs), 0) FROM "
                            f"({_blocks([*cols, *secondary], where_big, right=right)})").fetchone()[0]
        kept = con.execute(f"SELECT count(*) FROM lk WHERE {' AND '.join(f'{c} IS NOT NULL' for c in cols)} "
                           f"AND {' AND '.join(f'{c} IS NOT NULL' for c in secondary)}"
                           + (f" AND {where_big}" if where_big else "")).fetchone()[0]
        if after <= max_block and kept > 0 and (best is None or kept > best[2]):
            best = (secondary, after, kept)
    if best is not None:
        secondary, after, kept = best
        cond = " AND ".join(f"l.{c} = r.{c}" for c in secondary)
        split = f"{rule} AND {cond}" if whole else f"{rule} AND {in_big} AND {cond}"
        # records of the large keys without the secondary key are not blocked by this rule (said so)
        entry.update(action="split", split_by=list(secondary), largest_after=int(after), whole_rule=whole,
                     records_without_key=max(0, big_records - int(kept)) if not whole else None)
        return entry, [*base, split]
    entry.update(action="skipped", whole_rule=whole, skipped_keys=len(big), skipped_records=big_records)
    return entry, base


def _rule_col(side: str, col: str) -> str:
    """A blocking column in a rule's SQL as the engines read it: the birth year is the year of the birth date."""
    return f"year({side}.birth_date)" if col == "birth_year" else f"{side}.{col}"


def _base_col(col: str) -> str:
    return "birth_date" if col == "birth_year" else col


def _chain_rules(rule: str, chain: list[list[str]]) -> list[str]:
    """The rules that replace `rule` split by a chain of secondary keys: records with the first key are compared
    within it (and with the persons without it), records without it by the next key, ...; records with none of
    the keys keep the unsplit rule."""
    def lack(side, key):
        return " OR ".join(f"{_rule_col(side, c)} IS NULL" for c in key)

    out, before = [], ""
    for key in chain:
        eq = " AND ".join(f"{_rule_col('l', c)} = {_rule_col('r', c)}" for c in key)
        has = " AND ".join(f"{_rule_col('l', c)} IS NOT NULL" for c in key)
        out += [f"{rule}{before} AND {eq}", f"{rule}{before} AND {has} AND ({lack('r', key)})"]
        before += f" AND ({lack('l', key)})"
    return [*out, f"{rule}{before}"]


def _chain_pairs(con, cols: list[str], chain, persons: str) -> tuple[int, int, int]:
    """The pairs a rule on `cols` makes split by `chain` (`_chain_rules`), the records with none of the chain's keys
    and their pairs: (pairs after, records without, pairs without). The records' side is grouped (`lk`, the records
    to match: small); the persons (`persons`, the registry's keys: 3.9 million at 10x) are not grouped but scanned
    once and each looked up in the records' groups — Σ over the blocks of records × persons is Σ over the persons of
    the records in their block — and only the persons whose `cols` some record has go further than the first
    lookup. Every column is not null where it is grouped or joined (an equality never matches a null)."""
    notnull, by = _notnull(cols), ", ".join(cols)
    on_cols = " AND ".join(f"p.{c} = b.{c}" for c in cols)
    before, counts, joins, terms = "true", [], [], []
    for i, k in enumerate(chain):
        has, lack = _notnull(k), " OR ".join(f"{c} IS NULL" for c in k)
        # records with this key (and none of the earlier ones): within the key, and with the persons without it
        # (temporary tables: the cursor's own, gone with it whatever happens)
        con.execute(f"CREATE OR REPLACE TEMP TABLE chain_a{i} AS SELECT {by}, {', '.join(k)}, count(*) AS n "
                    f"FROM lk WHERE {notnull} AND {before} AND {has} GROUP BY ALL")
        joins.append(f"LEFT JOIN chain_a{i} a{i} ON {' AND '.join(f'p.{c} = a{i}.{c}' for c in [*cols, *k])}")
        counts.append(f"count(*) FILTER (WHERE {before} AND {has}) AS b{i}")
        terms += [f"coalesce(a{i}.n, 0)", f"CASE WHEN {' OR '.join(f'p.{c} IS NULL' for c in k)} THEN b.b{i} ELSE 0 END"]
        before += f" AND ({lack})"
    con.execute(f"CREATE OR REPLACE TEMP TABLE chain_b AS SELECT {by}, {', '.join(counts)}, "
                f"count(*) FILTER (WHERE {before}) AS w FROM lk WHERE {notnull} GROUP BY ALL")
    pairs, without = con.execute(f"""
        SELECT coalesce(sum({' + '.join(terms)}), 0), coalesce(sum(b.w), 0)
        FROM ({persons}) p JOIN chain_b b ON {on_cols} {' '.join(joins)}""").fetchone()
    records_without = con.execute("SELECT coalesce(sum(w), 0) FROM chain_b").fetchone()[0]
    for i in range(len(chain)):
        con.execute(f"DROP TABLE chain_a{i}")
    con.execute("DROP TABLE chain_b")
    return int(pairs + without), int(records_without), int(without)


def _budget_rule(con, rule: str, budget: int, max_block: int) -> tuple[list[dict], list[str]]:
    """The pair budget of one rule, whose blocks (`_blocks`) the caller made the table `b`: ([], []) when the rule is within it (or not measurable, or has a block over
    `max_block`: the per-key guard bounds that one first, or no key chain lowers it), else the report entry and the
    rules that replace it (`_chain_rules`). Every block after the split is part of a block before it."""
    cols = rule_columns(rule)
    if cols is None:
        return [], []
    total, largest = con.execute("SELECT coalesce(sum(pairs), 0), coalesce(max(pairs), 0) FROM b").fetchone()
    if total <= budget or largest > max_block:
        return [], []
    # the registry's keys, only the columns this rule and the chains need, derived as they are scanned (once per
    # chain tried; never grouped: `_chain_pairs`)
    needed = sorted((set(cols) | {c for chain in BUDGET_KEYS for key in chain for c in key} | {"birth_date"})
                    - {"birth_year"})
    persons = f"SELECT {', '.join(needed)}, year(birth_date) AS birth_year FROM ({_RIGHT_KEYS}) WHERE {_notnull(cols)}"
    options = []
    for chain in BUDGET_KEYS:
        if {_base_col(c) for k in chain for c in k} & {_base_col(c) for c in cols}:
            continue
        after, records_without, without = _chain_pairs(con, cols, chain, persons)
        options.append({"split_by": [c for k in chain for c in k], "chain": [list(k) for k in chain],
                        "pairs_after": after, "records_without_key": records_without,
                        "pairs_without_key": without})
        if after <= budget:
            break
    meeting = [o for o in options if o["pairs_after"] <= budget]  # the first chain in order that meets the budget
    best = meeting[0] if meeting else min(options, key=lambda o: o["pairs_after"]) if options else None
    if best is None or best["pairs_after"] >= total:  # no key lowers it: the rule runs (and is guarded) as it is
        return [], []
    entry = {"rule": rule, "columns": cols, "pairs": int(total), "largest": int(largest), "action": "budget_split",
             "budget": budget, **best, "over_budget": best["pairs_after"] > budget, "options": options}
    return [entry], _chain_rules(rule, best["chain"])
