"""The engines behind linkage and rule evaluation: one interface, a DuckDB implementation.

An engine takes Arrow tables and returns Arrow tables; it never touches Django. `DuckDBEngine` runs in-process
(the county scale: ~400,000 records in seconds). A province would implement the same interface on Spark: the SQL is
plain and Splink has a Spark backend (see docs/exchange.md, "Engines").

Linkage, in order:
1. records whose ID passes its check (or a 15-digit number upgraded to 18) join registry persons on it; a valid ID
   that is not in the registry links to nobody, and two valid different IDs are never the same person;
2. decisions that a reviewer took on the same record content apply (match / non-match);
3. the rest (IDs failing the check, Excel-truncated, masked, missing) go to Splink (Fellegi–Sunter; m and u
   trained on the run's own records, see `_model`) over ID digits (what a masked ID shows), name, pinyin of the
   name, birth date, sex and village; a pair whose probability is above `link_threshold` and clearly ahead of the
   record's second candidate links, a pair above `review_threshold` goes to the review queue.

`LinkSettings(exact_rule=False)` sends every record to Splink, with an "ID equal" level (the benchmark's "Splink
alone").
"""

from __future__ import annotations

import contextlib
import functools
import logging
import math
import re
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Generator
from dataclasses import asdict, dataclass, field

import pyarrow as pa

from fupin.exchange.places import duckdb_places

log = logging.getLogger(__name__)


def _level(cond: str, label: str, *, null: bool = False) -> dict:
    d: dict = {"sql_condition": cond, "label_for_charts": label}
    if null:
        d["is_null_level"] = True
    return d


def _tf(level: dict, column: str) -> dict:
    """Term-frequency adjustment: a common name (张伟) says less than a rare one."""
    return {**level, "tf_adjustment_column": column, "tf_adjustment_weight": 1.0}


# Necessary for a Damerau-Levenshtein distance of at most 1 (characters, as DuckDB counts them): equal lengths with
# at most two positions different (a substitution, an adjacent swap), or lengths one apart (an insertion). Cheap, and
# inside a CASE DuckDB evaluates the distance only on the pairs that pass it: the same levels, a fraction of the cost
# (hamming refuses empty strings: they never reach it).
ONE_EDIT_GUARD = ("CASE WHEN length(id_clean_l) <> length(id_clean_r) THEN abs(length(id_clean_l) - length(id_clean_r)) = 1 "
                  "WHEN length(id_clean_l) = 0 THEN true ELSE hamming(id_clean_l, id_clean_r) <= 2 END")


def default_comparisons() -> list[dict]:
    """The comparison levels (what is compared, not how much it weighs: m and u are trained on each run's records).

    A masked ID (`420581********123X`, `4205811980****123X`) is compared on what it shows: area, birth year when
    shown, the last four (sequence with the sex digit, check character). A masked ID whose visible parts differ from
    a person's ID falls to "不同", which never links.
    """
    masked = "id_masked_l AND id_area6_l = id_area6_r AND id_last4_l = id_last4_r"
    return [
        {"output_column_name": "id", "comparison_description": "证件号码", "comparison_levels": [
            _level("id_clean_l IS NULL OR id_clean_r IS NULL", "null", null=True),
            _level(f"{masked} AND id_birth_year_l = id_birth_year_r", "脱敏号码:地区、出生年、后四位相符"),
            _level(f"{masked} AND id_birth_year_l IS NULL", "脱敏号码:地区、后四位相符"),
            _level("id17_l = id17_r", "前17位相同(校验位错)"),
            # Excel keeps 15 significant digits, truncated (or rounded: the 15th digit may be one more)
            _level("(id_trunc_l AND id15n_l - id15n_r IN (0, 1)) OR (id_trunc_r AND id15n_r - id15n_l IN (0, 1))",
                   "前15位相同(Excel截断)"),
            # one edit or one adjacent swap; the guard before it (true of every such pair: at most two positions
            # differ, or the lengths differ by one) spares DuckDB its slow edit distance on the pairs it rules out
            _level(f"NOT id_masked_l AND {ONE_EDIT_GUARD} AND damerau_levenshtein(id_clean_l, id_clean_r) <= 1",
                   "一位错或相邻对调"),
            _level("NOT id_masked_l AND length(id_clean_l) = 18 AND length(id_clean_r) = 18 "
                   "AND hamming(id_clean_l, id_clean_r) <= 2", "两位不同"),
            _level("id15_l = id15_r", "前15位相同"),
            _level("ELSE", "不同"),
        ]},
        {"output_column_name": "name", "comparison_description": "姓名", "comparison_levels": [
            _level("name_l IS NULL OR name_r IS NULL", "null", null=True),
            _tf(_level("name_l = name_r", "姓名相同"), "name"),
            _tf(_level("name_py_l = name_py_r", "同音(拼音相同)"), "name_py"),
            _level("jaro_winkler_similarity(name_py_l, name_py_r) >= 0.9", "拼音相近"),
            _level("length(name_l) = length(name_r) AND levenshtein(name_l, name_r) = 1", "一字不同"),
            _level("ELSE", "不同"),
        ]},
        {"output_column_name": "birth_date", "comparison_description": "出生日期", "comparison_levels": [
            _level("birth_date_l IS NULL OR birth_date_r IS NULL", "null", null=True),
            _level("birth_date_l = birth_date_r", "相同"),
            _level("year(birth_date_l) = year(birth_date_r) AND month(birth_date_l) = month(birth_date_r)",
                   "同年同月"),
            _level("year(birth_date_l) = year(birth_date_r)", "同年"),
            _level("ELSE", "不同"),
        ]},
        {"output_column_name": "sex", "comparison_description": "性别", "comparison_levels": [
            _level("sex_l IS NULL OR sex_r IS NULL", "null", null=True),
            _level("sex_l = sex_r", "相同"),
            _level("ELSE", "不同"),
        ]},
        {"output_column_name": "village", "comparison_description": "村/镇", "comparison_levels": [
            _level("village_code_l IS NULL OR village_code_r IS NULL", "null", null=True),
            _level("village_code_l = village_code_r", "同村"),
            _level("town_code_l = town_code_r", "同镇"),
            _level("ELSE", "不同"),
        ]},
    ]


def starting_parameters(comparisons: list[dict]) -> dict[str, dict[str, list[float]]]:
    """Where training starts, and the model of last resort (a first run too small to train, nothing stored yet):
    generic values, not fitted to any data — m halves and u grows tenfold level by level; the last level
    ("不同") holds most non-matches. {comparison: {level label: [m, u]}}."""
    out: dict[str, dict[str, list[float]]] = {}
    for c in comparisons:
        labels = [lv["label_for_charts"] for lv in c["comparison_levels"] if not lv.get("is_null_level")]
        n = len(labels)
        total = sum(0.5 ** i for i in range(n - 1))
        params = {label: [0.95 * 0.5 ** i / total, 10.0 ** -(n - 1 - i)] for i, label in enumerate(labels[:-1])}
        params[labels[-1]] = [0.05, 1 - sum(u for _, u in params.values())]
        out[c["output_column_name"]] = params
    return out


def with_parameters(comparisons: list[dict], parameters: dict) -> list[dict]:
    """The comparisons with m/u from `parameters` ({comparison: {label: [m, u]}}), starting values where missing."""
    start = starting_parameters(comparisons)
    out = []
    for c in comparisons:
        name = c["output_column_name"]
        levels = []
        for lv in c["comparison_levels"]:
            lv = dict(lv)
            if not lv.get("is_null_level"):
                m, u = (parameters.get(name) or {}).get(lv["label_for_charts"]) or start[name][lv["label_for_charts"]]
                lv["m_probability"], lv["u_probability"] = float(m), float(u)
            levels.append(lv)
        out.append({**c, "comparison_levels": levels})
    return out


def default_blocking() -> list[str]:
    return ["l.id15 = r.id15", "l.birth_date = r.birth_date", "l.name_py = r.name_py",
            # a masked or mistyped ID: what it shows, with the birth year or a part of the name
            "l.id_area6 = r.id_area6 AND l.id_last4 = r.id_last4 AND l.id_birth_year = r.id_birth_year",
            "l.id_area6 = r.id_area6 AND l.id_last4 = r.id_last4 AND l.surname = r.surname",
            "l.id_area6 = r.id_area6 AND l.id_last4 = r.id_last4 AND l.given = r.given"]


def training_blocking() -> list[str]:
    """Blocked pairs for expectation maximisation: each rule trains the comparisons it does not block on."""
    return ["l.name_py = r.name_py AND l.town_code = r.town_code",
            "l.id_area6 = r.id_area6 AND l.id_last4 = r.id_last4 AND l.surname = r.surname",
            "l.birth_date = r.birth_date AND l.town_code = r.town_code"]



def term_frequency_columns(comparisons: list[dict]) -> list[str]:
    """The columns whose term frequencies the comparisons adjust for, in the comparisons' order."""
    out: list[str] = []
    for c in comparisons:
        for lv in c["comparison_levels"]:
            column = lv.get("tf_adjustment_column")
            if column and column not in out:
                out.append(column)
    return out


def term_frequencies_sql(column: str, tables: list[str]) -> str:
    """Splink's term-frequency table of `column` over `tables` stacked (its `__splink__df_concat`), the same
    statement (`term_frequencies_for_single_column_sql`): each value's rows over the rows where it is not null."""
    stacked = " UNION ALL ".join(f"SELECT {column} FROM {t}" for t in tables)  # noqa: S608 - names of the engine
    return (f"SELECT {column}, CAST(count(*) AS DOUBLE) / (SELECT count({column}) AS total FROM ({stacked})) "  # noqa: S608
            f"AS tf_{column} FROM ({stacked}) WHERE {column} IS NOT NULL GROUP BY {column}")


def persons_blocked_sql(rules: list[str]) -> str:
    """The registry persons (`right_in`) in at least one pair one of `rules` blocks with a record (`left_in`): the
    only persons expectation maximisation compares (its training rules)."""
    # the settings' blocking rules (SQL, as Splink reads them)
    exists = " OR ".join(f"EXISTS (SELECT 1 FROM left_in l WHERE {rule})" for rule in rules)  # noqa: S608
    return f"SELECT * FROM right_in r WHERE {exists or 'false'}"  # noqa: S608


def records_blocked_sql(rules: list[str]) -> str:
    """The records (`left_in`) in at least one pair one of `rules` blocks with a registry person (`right_in`)."""
    exists = " OR ".join(f"EXISTS (SELECT 1 FROM right_in r WHERE {rule})" for rule in rules)  # noqa: S608
    return f"SELECT * FROM left_in l WHERE {exists or 'false'}"  # noqa: S608


def _tf_levels(splink_settings, column: str) -> list[dict]:
    """The comparison levels (as dicts) of `splink_settings` that adjust for the term frequencies of `column`."""
    return [level for cc in splink_settings.core_model_settings.comparisons
            for level in (lv.as_dict() for lv in cc.comparison_levels)
            if level.get("tf_adjustment_column") == column]


# Splink's blocking columns, each `"l"."name" AS "name_l"` (`InputColumn.l_r_names_as_l_r`)
_SIDE_COLUMN = re.compile(r'^"(l|r)"\."(\w+)" AS "(\w+)"$')


def predict_sql(splink_settings, records: str, persons: str, tf_columns: list[str], threshold: float) -> str:
    """SELECT of the scored pairs of `records` × `persons` (tables or subqueries shaped as `left_in` / `right_in`)
    whose match probability is at least `threshold`: record_id, person_id, score, weight and, per comparison, its
    level (gamma_), weight (mw_) and term-frequency adjustment (mw_tf_adj_, 0.0 when it has none).

    Splink's own prediction (its blocking rules, comparison vectors and match weights: `splink_settings`, the
    Settings of the trained model) in one statement, without its text-keyed pairs (Splink writes every blocked pair
    as two text keys, `'fupin_left-__-' || id`, and joins them back to all the records and persons stacked). Each
    blocking rule joins the records to the persons (the pairs an earlier rule blocked left out by Splink's own
    condition, `exclude_pairs_generated_by_all_preceding_rules_sql`: Splink's pairs) and keeps the record's id and
    the person's compared columns, which the join reads from the persons it scans anyway; the pairs are then joined
    to the records (by id: a table the size of the residual); the person's term frequencies are the record's where
    they count (see `equal_only`), else looked up by the person's values. The persons are never joined back by id:
    at 10x that join's table — millions of pairs or of persons, with their columns — outgrew DuckDB's memory and
    spilled (docs/performance.md, hpred2). The comparison vectors, match weights and probabilities are Splink's SQL
    over the same columns, so the same scores to the last bit."""
    from splink.internals.predict import predict_from_comparison_vectors_sqls_using_settings

    sides = []
    for column in splink_settings._columns_to_select_for_blocking:
        found = _SIDE_COLUMN.match(column)
        if not found:
            raise ValueError(f"unexpected blocking column {column!r}")
        sides.append(found.groups())
    tf_of = {f"tf_{c}": c for c in tf_columns}
    # the person's columns the pairs carry: all Splink compares, but its source name (a constant) and its term
    # frequencies (looked up by value once the pairs are made)
    carried = [(column, alias) for side, column, alias in sides
               if side == "r" and column != "source_dataset" and column not in tf_of]
    person_columns = ", ".join(f'r."{column}" AS "{alias}"' for column, alias in carried)
    blocked = [f"""
        SELECT l.unique_id AS unique_id_l, {person_columns}, '{rule.match_key}' AS match_key
        FROM {records} AS l INNER JOIN {persons} AS r ON ({rule.blocking_rule_sql})
        WHERE 1=1 {rule.exclude_pairs_generated_by_all_preceding_rules_sql(None, None)}"""  # noqa: S608
               for rule in splink_settings._blocking_rules_to_generate_predictions]
    joins = " ".join(f'LEFT JOIN tf_{c} ON x."{c}" = tf_{c}."{c}"' for c in tf_columns)
    picked = "".join(f', tf_{c}."tf_{c}"' for c in tf_columns)
    alias_of = {column: alias for side, column, alias in sides if side == "r"}
    # a person's term frequency counts only on a level where its value equals the record's (Splink's adjustment,
    # `greatest(coalesce(tf_l, tf_r), ...)`, is on the level that adjusts): when every adjusting level is such an
    # equality, the person's frequency on the pairs where it counts is the record's, taken from the record's side
    # (no lookup); otherwise it is looked up by the person's value
    equal_only = all(level.get("sql_condition", "").strip() == f"{c}_l = {c}_r"
                     for c in tf_columns for level in _tf_levels(splink_settings, c))
    person_tf = "" if equal_only else " ".join(
        f'LEFT JOIN tf_{c} AS tf_r_{c} ON b."{alias_of[c]}" = tf_r_{c}."{c}"' for c in tf_columns)

    def selected(side: str, column: str, alias: str) -> str:
        if side == "l":
            return f'l."{column}" AS "{alias}"'
        if column == "source_dataset":
            return f"'fupin_right' AS \"{alias}\""
        if column in tf_of:
            return f'l."{column}" AS "{alias}"' if equal_only else f'tf_r_{tf_of[column]}."{column}" AS "{alias}"'
        return f'b."{alias}"'

    columns = ",\n".join(selected(*side) for side in sides)
    ctes = [("__fupin_pairs", " UNION ALL ".join(blocked)),
            ("__fupin_left", f"SELECT 'fupin_left' AS source_dataset, x.*{picked} FROM {records} AS x {joins}"),  # noqa: S608
            ("blocked_with_cols", f"SELECT {columns}, b.match_key FROM __fupin_pairs AS b "  # noqa: S608
                                  f"INNER JOIN __fupin_left AS l ON l.unique_id = b.unique_id_l {person_tf}"),
            ("__splink__df_comparison_vectors",
             "SELECT " + ",\n".join(splink_settings._columns_to_select_for_comparison_vector_values)  # noqa: S608
             + " FROM blocked_with_cols")]
    ctes += [(q["output_table_name"], q["sql"])
             for q in predict_from_comparison_vectors_sqls_using_settings(splink_settings, threshold)]
    parts = []
    for cc in splink_settings.core_model_settings.comparisons:
        name = cc.output_column_name
        parts += [f"gamma_{name}", f"mw_{name}",
                  f"mw_tf_adj_{name}" if cc._has_tf_adjustments else f"0.0 AS mw_tf_adj_{name}"]
    with_sql = ",\n".join(f"{name} AS ({sql})" for name, sql in ctes)
    return (f"WITH {with_sql} SELECT unique_id_l AS record_id, unique_id_r AS person_id, "  # noqa: S608
            f"match_probability AS score, match_weight AS weight, {', '.join(parts)} FROM __splink__df_predict")


# The registry side of the probabilistic stage: one row per person in the columns the comparisons read (the same
# statement in every engine: DuckDB and Spark SQL both read it).
RIGHT_IN_SQL = """
    SELECT person_id AS unique_id, name, name_py, id_any AS id_clean, false AS id_masked,
        CASE WHEN length(id_any) >= 17 THEN substr(id_any, 1, 17) END AS id17,
        CASE WHEN length(id_any) >= 15 THEN substr(id_any, 1, 15) END AS id15,
        TRY_CAST(CASE WHEN length(id_any) >= 15 THEN substr(id_any, 1, 15) END AS BIGINT) AS id15n,
        false AS id_trunc,
        CASE WHEN length(id_any) = 18 THEN substr(id_any, 1, 6) END AS id_area6,
        CASE WHEN length(id_any) = 18 THEN substr(id_any, 7, 4) END AS id_birth_year,
        CASE WHEN length(id_any) = 18 THEN substr(id_any, 15, 4) END AS id_last4,
        substr(name, 1, 1) AS surname, NULLIF(substr(name, 2), '') AS given,
        birth_date, sex, village_code, town_code
    FROM p"""


@dataclass
class LinkSettings:
    """Linkage settings as data (a county may load its own from JSON): decision thresholds, what is compared,
    blocking, and how the model is trained. The m/u values and the prior are not settings: each run trains them
    on its own records (`parameters` carries a stored model for runs too small to train)."""

    version: str = "2026.12"
    link_threshold: float = 0.6
    review_threshold: float = 0.3
    min_margin_weight: float = 5.0  # the best candidate's match weight must beat the second's by this much
    # each department's own share of records about a registry person in its records' prior (`source_priors`)
    prior_by_source: bool = True
    comparisons: list[dict] = field(default_factory=default_comparisons)
    blocking_rules: list[str] = field(default_factory=default_blocking)
    training_rules: list[str] = field(default_factory=training_blocking)
    train: bool = True
    min_train_records: int = 1000  # fewer residual records than this: use the stored model
    u_max_pairs: float = 1e5
    u_chunks: int = 1
    em_max_pairs: float = 2e5
    # share of each side's records Splink's EM probe blocks to estimate a session's pairs (its own default)
    em_probe_share: float = 0.01
    seed: int = 42
    # a stored model ({comparison: {label: [m, u]}, "match_rate": share}), used when the run cannot train
    parameters: dict = field(default_factory=dict)
    exact_rule: bool = True  # False: no exact-ID join first, every record to Splink (benchmarks: "Splink alone")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> LinkSettings:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def effective_comparisons(self) -> list[dict]:
        if self.exact_rule:
            return self.comparisons
        out = [dict(c) for c in self.comparisons]
        for c in out:
            if c["output_column_name"] == "id":
                levels = list(c["comparison_levels"])
                levels.insert(1, _level("id_clean_l = id_clean_r", "证件号码相同"))
                c["comparison_levels"] = levels
        return out

    def splink_settings(self, persons: int = 390_000, parameters: dict | None = None) -> dict:
        parameters = parameters if parameters is not None else self.parameters
        match_rate = float(parameters.get("match_rate") or 0.5)
        return {
            "link_type": "link_only",
            "unique_id_column_name": "unique_id",
            "probability_two_random_records_match": min(0.5, match_rate / max(persons, 1)),
            "comparisons": with_parameters(self.effective_comparisons(), parameters),
            "blocking_rules_to_generate_predictions": (self.blocking_rules if self.exact_rule
                                                       else ["l.id_clean = r.id_clean", *self.blocking_rules]),
            "retain_matching_columns": True,
            "retain_intermediate_calculation_columns": True,
        }


def model_parameters(model: dict) -> dict[str, dict[str, list[float]]]:
    """{comparison: {label: [m, u]}} of a Splink model dictionary (save_model_to_json)."""
    out: dict[str, dict[str, list[float]]] = {}
    for c in model.get("comparisons", []):
        levels = {}
        for lv in c["comparison_levels"]:
            if lv.get("is_null_level"):
                continue
            m, u = lv.get("m_probability"), lv.get("u_probability")
            if m is not None and u is not None:
                levels[lv["label_for_charts"]] = [float(m), float(u)]
        out[c["output_column_name"]] = levels
    return out


@dataclass
class LinkOutput:
    """links: record_id, person_id, method, score; reviews: record_id, person_id, score, weight, second_score."""

    links: pa.Table
    reviews: pa.Table
    stats: dict


def arrow_memory_returned() -> None:
    """Give the memory of Arrow tables no longer referenced back to the system. pyarrow's allocator (mimalloc) keeps
    freed blocks for its own later allocations and returns them only when asked: a table handed to DuckDB and let
    go (the records, the rules' inputs) otherwise stays resident while DuckDB — which allocates on its own — fills
    its memory limit beside it. Cheap (no copy); call it after a large table is let go."""
    pa.default_memory_pool().release_unused()


def _fed(reader: pa.RecordBatchReader) -> Generator[pa.RecordBatch, None, None]:
    """A `Load`ed reader's batches, handed to DuckDB through a reader of their own. The registry persons' reader was
    seen alive past its `Release` in some runs of a suite, with no Python object referring to it (so held outside
    Python, by DuckDB or pyarrow; where was not found): the engine closes this generator at the input's `Release`,
    which lets go of the loaded reader, and of what its batches are read from, whatever still holds the reader
    DuckDB was given."""
    yield from reader


@dataclass(frozen=True)
class Release:
    """A step of `Engine.evaluate`'s setup: the tables `names` are read by no later statement, so the engine lets
    them go. An input is taken out of the `tables` dict it was given (the caller hands that dict over and keeps no
    other reference, so its memory is freed) or, read by a `Load`, dropped, and out of the engine's catalogue; a
    table a statement made is dropped (DuckDB frees its blocks, in memory or spilled). What the statements before
    it made of them stays, in the engine's own tables (DuckDB: buffer-managed, spilled beyond its memory limit)."""

    names: tuple[str, ...]


@dataclass(frozen=True)
class Load:
    """A step of `Engine.evaluate`'s setup: the inputs `read()` returns ({name: Arrow table}) read here, not before
    the setup starts, so that each is in memory only from the step before its first reader to its `Release` (the
    rules' inputs read one after another, not all at once: at 10x 1.1 GB of Arrow). `read` is called once; the
    engine keeps the tables it returns as it keeps those of `tables` (until their `Release`). An input may be a
    `pa.RecordBatchReader` instead of a table when one statement only reads it: DuckDB scans it a batch at a time
    (the registry's persons, of which the rules keep the members in scope)."""

    read: Callable[[], dict[str, pa.Table | pa.RecordBatchReader]]


class Engine(ABC):
    """Linkage and rule evaluation over Arrow tables. Implementations: DuckDBEngine (here), a Spark one (docs)."""

    name = "abstract"
    sql_dialect = "duckdb"

    @abstractmethod
    def link(self, *, records: pa.Table, persons: pa.Table, divisions: pa.Table, decisions: pa.Table,
             settings: LinkSettings) -> LinkOutput:
        """Link department records to registry persons (see the module docstring for the order)."""

    @abstractmethod
    def evaluate(self, *, tables: dict[str, pa.Table], setup: list[str | Release | Load], queries: dict[str, str]
                 ) -> dict[str, pa.Table]:
        """Load `tables` under their names, run the `setup` statements, return each named query's rows. A `Load` in
        `setup` reads more inputs at that point; a `Release` lets the tables it names go (inputs popped from
        `tables`, the engine's own tables dropped)."""


RECORD_COLUMNS = ["record_id", "source_code", "id_clean", "id_number", "id_status", "name", "name_py", "birth_date",
                  "sex", "address", "id_kind", "id_area6", "id_birth_year", "id_last4"]
PERSON_COLUMNS = ["person_id", "name", "name_py", "id_number", "id_valid", "birth_date", "sex", "area_code"]


# An in-memory database is never checkpointed: DuckDB would otherwise, once 16 MB have been written, stop to compress
# every table it holds (0.5-0.7 s of CPU each time at 1x with two threads) — tables that live for one run.
NO_CHECKPOINT = "1000GB"


class DuckDBEngine(Engine):
    name = "duckdb"
    sql_dialect = "duckdb"

    def __init__(self, *, threads: int | None = None, memory_limit: str = "1GB", temp_directory: str | None = None,
                 predict_chunk_records: int = 1_000_000, predict_chunk_persons: int = 4_000_000,
                 rules_memory_limit: str | None = None):
        """memory_limit: DuckDB's own limit (what it holds beyond it spills to `temp_directory`, its default a
        `.tmp` folder beside the database — here in memory, so give one); predict_chunk_records: residual records
        scored per prediction pass (0: one pass), so the blocked pairs held at once stay bounded;
        predict_chunk_persons: registry persons per pass (0: all), so that the persons a pass scans stay
        bounded too (each rule's pairs carry the person's compared columns from its scan, `predict_sql`). Every
        blocking rule of a pass reads its persons again (`predict_sql`): at 10x (3.9 million persons, 12 rules after the
        pair budget) one pass cost 26 CPU s, four passes of a million (each rule filtering the registry for its
        part) 100 (docs/performance.md, hpred); hence one pass up to 4 million."""
        self.threads = threads
        self.memory_limit = memory_limit
        self.temp_directory = temp_directory
        self.predict_chunk_records = predict_chunk_records
        self.predict_chunk_persons = predict_chunk_persons
        # the rules' evaluation (`evaluate`) under a limit of its own: its Python side (the links, the persons'
        # batches, the results) sits beside DuckDB's, where the linkage's engine holds its inputs itself
        self.rules_memory_limit = rules_memory_limit

    def connect(self):
        import duckdb

        config = {"memory_limit": self.memory_limit, "preserve_insertion_order": False,
                  "checkpoint_threshold": NO_CHECKPOINT}
        if self.temp_directory:
            config["temp_directory"] = str(self.temp_directory)
        con = duckdb.connect(config=config)
        if self.threads:
            con.execute(f"SET threads = {int(self.threads)}")
        return con

    # -- rules ---------------------------------------------------------------------------------------------------
    def evaluate(self, *, tables: dict[str, pa.Table], setup: list[str | Release | Load], queries: dict[str, str]
                 ) -> dict[str, pa.Table]:
        con = self.connect()
        if self.rules_memory_limit:
            con.execute("SET memory_limit = ?", [self.rules_memory_limit])
        loaded: dict[str, pa.Table] = {}  # the inputs read by `Load` steps, until their `Release`
        feeds: dict[str, Generator] = {}  # a reader's batches as DuckDB pulls them (`_fed`)
        try:
            for name in tables:
                con.register(name, tables[name])  # scanned in place, not copied
            for statement in setup:
                if isinstance(statement, Load):
                    read = statement.read()
                    for name in read:
                        if isinstance(read[name], pa.RecordBatchReader):
                            feeds[name] = _fed(read[name])
                            con.register(name, pa.RecordBatchReader.from_batches(read[name].schema, feeds[name]))
                        else:
                            con.register(name, read[name])
                    loaded.update(read)
                    del read  # `loaded` holds the only reference: its `Release` frees it
                    continue
                if isinstance(statement, Release):
                    for name in statement.names:
                        if tables.pop(name, None) is not None or loaded.pop(name, None) is not None:
                            con.unregister(name)
                            if name in feeds:
                                feeds.pop(name).close()
                        else:
                            con.execute(f'DROP TABLE IF EXISTS "{name}"')
                    arrow_memory_returned()
                    continue
                con.execute(statement)
            return {name: con.sql(sql).to_arrow_table() for name, sql in queries.items()}
        finally:
            con.close()

    # -- linkage -------------------------------------------------------------------------------------------------
    def link(self, *, records: pa.Table | None, persons: pa.Table | None, divisions: pa.Table, decisions: pa.Table,
             settings: LinkSettings, con=None) -> LinkOutput:
        """con: a connection of this engine (`connect`) that already holds the records and persons as its own
        tables `records_in` and `persons_in` (`records` and `persons` are then None): the engine takes it over,
        reads the records through a view of their table, and closes it (linkage.linkage_compute reads them into it
        a snapshot at a time, and the skew guard works on it)."""
        t0 = time.perf_counter()
        held = con is not None
        con = con if held else self.connect()
        stats: dict = {}
        try:
            if not held:
                con.register("records_in", records)
                con.register("persons_in", persons)
            con.register("divisions_in", divisions)
            con.register("decisions_in", decisions)
            exact = str(bool(settings.exact_rule)).upper()
            records_sql = """
                SELECT record_id, source_code, NULLIF(id_clean, '') AS id_clean, NULLIF(id_number, '') AS id_number,
                    id_status, NULLIF(name, '') AS name, NULLIF(name_py, '') AS name_py,
                    TRY_CAST(birth_date AS DATE) AS birth_date, NULLIF(sex, '') AS sex,
                    NULLIF(address, '') AS address, coalesce(id_kind = 'masked', false) AS id_masked,
                    NULLIF(id_area6, '') AS id_area6, NULLIF(id_birth_year, '') AS id_birth_year,
                    NULLIF(id_last4, '') AS id_last4,
                    -- the key of a reviewer's decision, read only for the records the residual may hold
                    CASE WHEN id_status NOT IN ('valid', 'legacy15') OR NOT """ + exact + """ THEN
                    md5(concat_ws('|', source_code, coalesce(id_clean, ''), coalesce(name, ''),
                        coalesce(CAST(birth_date AS VARCHAR), ''), coalesce(sex, ''), coalesce(address, ''))) END
                        AS record_key
                FROM records_in"""  # noqa: S608 - a boolean of the settings
            persons_sql = """
                SELECT person_id, NULLIF(name, '') AS name, NULLIF(name_py, '') AS name_py,
                    CASE WHEN CAST(id_valid AS BOOLEAN) THEN NULLIF(id_number, '') END AS id_number,
                    NULLIF(id_number, '') AS id_any, TRY_CAST(birth_date AS DATE) AS birth_date, NULLIF(sex, '') AS sex,
                    NULLIF(substr(area_code, 1, 12), '') AS village_code, NULLIF(substr(area_code, 1, 9), '') AS town_code,
                    area_code
                FROM persons_in"""
            # the records as the engine reads them (`r`): held, they are DuckDB's own table already and are read
            # through a view, never copied (at 10x the copy of 4 million records, beside the held records and
            # persons, went past DuckDB's memory limit: the engine's statements other than the prediction's cost
            # 14.6 CPU s with it and 10.1 with the view, docs/performance.md, "The held records read through a
            # view"). The persons (`p`) are copied: every blocking rule's scan reads them again, and through a view
            # the prediction cost more at 1x (1.49 against 1.20 CPU s) for about 2 s saved at 10x.
            # The persons' input is let go once their table is made, and so is an Arrow records' input.
            if held:
                con.execute(f"CREATE VIEW r AS {records_sql}")
            else:
                con.execute(f"CREATE TABLE r AS {records_sql}")
                con.unregister("records_in")
            con.execute(f"CREATE TABLE p AS {persons_sql}")
            if held:
                con.execute("DROP TABLE persons_in")
            else:
                con.unregister("persons_in")
            # the inputs are DuckDB's own now (buffer-managed, spilled beyond the memory limit): the Arrow tables are
            # let go, so that a caller that handed over its only reference (linkage_compute) frees them for the run
            del records, persons
            arrow_memory_returned()
            # 1. exact IDs
            con.execute("""
                CREATE TABLE exact AS SELECT r.record_id, p.person_id,
                    CASE WHEN r.id_status = 'legacy15' THEN 'legacy_id' ELSE 'exact_id' END AS method, 1.0 AS score,
                    p.area_code
                FROM r JOIN p ON r.id_number = p.id_number
                WHERE r.id_status IN ('valid', 'legacy15')""" + ("" if settings.exact_rule else " AND false"))  # noqa: S608
            # the records with a valid ID, and those of them in the registry, per department: the prior (the share
            # of records about a registry person, the run's and each department's) is measured on them; without the
            # exact rule still by the join on the ID
            found = ("record_id IN (SELECT record_id FROM exact)" if settings.exact_rule
                     else "id_number IN (SELECT id_number FROM p)")
            ids_counted(stats, con.execute(f"""
                SELECT source_code, count(*), count(*) FILTER (WHERE {found}) FROM r
                WHERE id_status IN ('valid', 'legacy15') GROUP BY source_code""").fetchall())  # noqa: S608
            # 2. remembered decisions
            con.execute("""
                CREATE TABLE decided AS SELECT r.record_id, d.person_id, d.status
                FROM r JOIN decisions_in d ON d.record_key = r.record_key
                WHERE r.id_status NOT IN ('valid', 'legacy15')""")
            con.execute("""
                CREATE TABLE decided_links AS SELECT DISTINCT d.record_id, d.person_id, 'reviewed' AS method, 1.0 AS score,
                    p.area_code
                FROM decided d JOIN p ON p.person_id = d.person_id WHERE d.status = 'match'""")
            # 3. the residual goes to Splink
            con.execute("""
                CREATE TABLE residual AS SELECT * REPLACE (coalesce(id_number, id_clean) AS id_clean) FROM r
                WHERE (id_status NOT IN ('valid', 'legacy15') OR NOT """ + exact + """)
                  AND record_id NOT IN (SELECT record_id FROM decided_links)
                  AND (name IS NOT NULL OR id_clean IS NOT NULL)""")  # noqa: S608 - a boolean of the settings
            stats["residual"] = con.execute("SELECT count(*) FROM residual").fetchall()[0][0]
            t1 = time.perf_counter()
            stats["seconds_exact"] = round(t1 - t0, 3)
            prob = self._probabilistic(con, settings, stats)
            stats["seconds_probabilistic"] = round(time.perf_counter() - t1, 3)
            con.execute(f"CREATE TABLE prob AS {prob}")
            self._explanations(con, settings, stats)
            # the person's area carried by the joins that found the exact and reviewed links (at 10x this statement,
            # which joined all 2.35 million links to the 3.9 million persons again, cost 2.5-3.2 CPU s), looked up
            # for the probabilistic ones only; only a probabilistic link has an explanation (its record is in the
            # residual, the others' are not)
            links = con.sql("""
                SELECT record_id, person_id, method, score, area_code, explanation FROM (
                    SELECT record_id, person_id, method, score, area_code, NULL::VARCHAR AS explanation FROM exact
                    UNION ALL SELECT record_id, person_id, method, score, area_code, NULL::VARCHAR FROM decided_links
                    UNION ALL SELECT x.record_id, x.person_id, 'probabilistic', x.score, p.area_code, e.explanation
                    FROM prob x JOIN p USING (person_id) LEFT JOIN explained e USING (record_id, person_id)
                    WHERE x.decision = 'link'
                ) ORDER BY record_id""").to_arrow_table()
            reviews = con.sql("""
                SELECT x.record_id, x.person_id, x.score, x.weight, x.second_weight, r.record_key, p.area_code,
                    e.explanation
                FROM prob x JOIN r USING (record_id) JOIN p USING (person_id)
                LEFT JOIN explained e USING (record_id, person_id) WHERE x.decision = 'review'
                ORDER BY x.record_id, x.score DESC""").to_arrow_table()
            stats["probabilistic"] = con.execute("SELECT count(*) FROM prob WHERE decision = 'link'").fetchall()[0][0]
            stats["review_pairs"] = reviews.num_rows
            stats["review_records"] = len(set(reviews.column("record_id").to_pylist()))
            stats["reviewed_links"] = con.execute("SELECT count(*) FROM decided_links").fetchall()[0][0]
            stats["seconds"] = round(time.perf_counter() - t0, 3)
            return LinkOutput(links=links, reviews=reviews, stats=stats)
        finally:
            con.close()

    def _explanations(self, con, settings: LinkSettings, stats: dict) -> None:
        """The table `explained` (record, person, explanation JSON) of every probabilistic link and review pair,
        built in SQL (`explain_sql`: the same JSON as `explain`, without a Python loop over the pairs)."""
        if "model" not in stats:
            con.execute("CREATE TABLE explained (record_id BIGINT, person_id BIGINT, explanation VARCHAR)")
            return
        con.execute(f"""CREATE TABLE explained AS SELECT record_id, person_id,
            {explain_sql(settings.effective_comparisons(), stats.get("prior"))} AS explanation
            FROM prob WHERE decision IN ('link', 'review')""")  # noqa: S608 - labels quoted by explain_sql

    def _probabilistic(self, con, settings: LinkSettings, stats: dict) -> str:
        """Score the residual against all persons with Splink; return SQL of (record, person, decision) rows."""
        empty = ("SELECT NULL::BIGINT AS record_id, NULL::BIGINT AS person_id, NULL::DOUBLE AS score, "
                 "NULL::DOUBLE AS weight, NULL::DOUBLE AS second_weight, NULL::VARCHAR AS decision WHERE false")
        if not stats["residual"]:
            return empty
        # village and town of a residual record: those its address names (fupin/exchange/places.py), found once per
        # distinct address (a department's records share few: 972 addresses for 53,390 records at 1x), not per record
        duckdb_places(con, "SELECT address FROM residual", "SELECT code, name, level, parent_code FROM divisions_in")
        con.execute("""
            CREATE TABLE left_in AS SELECT x.record_id AS unique_id, x.name, x.name_py, x.id_clean, x.id_masked,
                CASE WHEN length(x.id_clean) >= 17 AND NOT x.id_masked THEN substr(x.id_clean, 1, 17) END AS id17,
                CASE WHEN length(x.id_clean) >= 15 AND NOT x.id_masked THEN substr(x.id_clean, 1, 15) END AS id15,
                TRY_CAST(CASE WHEN length(x.id_clean) >= 15 AND NOT x.id_masked THEN substr(x.id_clean, 1, 15) END
                    AS BIGINT) AS id15n,
                x.id_status = 'truncated' AS id_trunc,
                -- what a masked ID shows (blocks and compares only masked IDs: a full ID has its own levels)
                CASE WHEN x.id_masked THEN x.id_area6 END AS id_area6,
                CASE WHEN x.id_masked THEN x.id_birth_year END AS id_birth_year,
                CASE WHEN x.id_masked THEN x.id_last4 END AS id_last4,
                substr(x.name, 1, 1) AS surname, NULLIF(substr(x.name, 2), '') AS given,
                -- only a birth date the record states: the one inside its ID is already weighed by the ID levels
                x.birth_date,
                coalesce(x.sex, CASE WHEN x.id_masked AND regexp_full_match(substr(x.id_last4, 3, 1), '[0-9]')
                    THEN CASE WHEN CAST(substr(x.id_last4, 3, 1) AS INTEGER) % 2 = 1 THEN '1' ELSE '2' END
                    WHEN length(x.id_clean) >= 17 AND x.id_status <> 'truncated'
                    AND regexp_full_match(substr(x.id_clean, 17, 1), '[0-9]')
                    THEN CASE WHEN CAST(substr(x.id_clean, 17, 1) AS INTEGER) % 2 = 1 THEN '1' ELSE '2' END END) AS sex,
                p.village_code, p.town_code
            FROM residual x LEFT JOIN place_of p USING (address)""")
        con.execute("DROP TABLE place_of")
        # a view of `p`, not a copy: at 10x a table of the persons' compared columns was about 0.8 GB beside `p`, over
        # DuckDB's 1 GB, and each blocking rule's scan of it read spilled blocks back (docs/performance.md, hpred2);
        # the view derives the ID's parts of only the columns a statement reads
        con.execute(f"CREATE VIEW right_in AS {RIGHT_IN_SQL}")
        from splink import DuckDBAPI, Linker

        # the term frequencies (of all records and persons, as Splink computes them over its input tables) made
        # once and handed to every linker: expectation maximisation (which carries them without using them) and
        # prediction would otherwise each compute them again over the registry
        tf_columns = term_frequency_columns(settings.effective_comparisons())
        for column in tf_columns:
            con.execute(f"CREATE TABLE tf_{column} AS {term_frequencies_sql(column, ['left_in', 'right_in'])}")

        def with_term_frequencies(linker, api):
            for column in tf_columns:
                linker.table_management.register_term_frequency_lookup(api.register(f"tf_{column}"), column)
            return linker

        db_api = DuckDBAPI(connection=con)
        left = db_api.register("left_in", table_name="fupin_left")
        right = db_api.register("right_in", table_name="fupin_right")
        n_persons = con.execute("SELECT count(*) FROM right_in").fetchall()[0][0]
        em_api = DuckDBAPI(connection=con)

        def em_inputs():
            # expectation maximisation reads only the pairs its rules block: the records and persons in no such
            # pair are left out of its tables (the same pairs, the same sample of them — Splink samples each side
            # by a hash of its source name and id —, so the same m; u is estimated on everyone). Made per session
            # (`em_rule`): each reads the records and persons of its own rule
            con.execute(f"CREATE TABLE left_em AS {records_blocked_sql([])}")
            con.execute(f"CREATE TABLE right_em AS {persons_blocked_sql([])}")
            return (em_api.register("left_em", table_name="fupin_left"),
                    em_api.register("right_em", table_name="fupin_right"))

        by_rule: dict[str, list[int]] = {}
        session: list[str] = []

        def em_dropped(name: str) -> None:
            kind = con.execute("SELECT table_type FROM information_schema.tables WHERE table_name = ?",
                               [name]).fetchall()
            if kind:
                con.execute(f"DROP {'VIEW' if kind[0][0] == 'VIEW' else 'TABLE'} {name}")

        def em_table(name: str, sql: str, *, view: bool = False) -> None:
            # a session's input is a view until Splink has probed its pairs, then a table
            em_dropped(name)
            con.execute(f"CREATE {'VIEW' if view else 'TABLE'} {name} AS {sql}")

        def em_rule(rule: str) -> None:
            # the same table names for every session: the sample of pairs hashes the source names with the ids.
            # Splink first probes the session's pairs on a hash sample of each side (`em_probe_share`), which the
            # records and persons its rule never blocks do not change: it reads all of them, through views (no
            # copy), and the session's inputs are made once it has chosen (`em_sampled`)
            session[:] = [rule]
            em_table("left_em", "SELECT * FROM left_in", view=True)
            em_table("right_em", "SELECT * FROM right_in", view=True)

        def em_sampled(condition) -> None:
            rule = session[0]
            if condition is None:
                # no sample: the session reads the records and persons its own rule blocks (the same pairs)
                em_table("left_em", records_blocked_sql([rule]))
                em_table("right_em", persons_blocked_sql([rule]))
                by_rule[rule] = [con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0]  # noqa: S608
                                 for t in ("left_em", "right_em")]
                stats["training_persons"] = max(n for _, n in by_rule.values())
                stats["training_sides_by_rule"] = {r: {"records": a, "persons": b} for r, (a, b) in by_rule.items()}
                return
            # Splink samples this session's records (each side by a hash of its source name and id) to bound its
            # pairs: the session's inputs are the sampled records, and the sampled persons its rule blocks with
            # one of them (Splink's own condition: the same pairs), so its blocking and comparison vectors read a
            # sample-sized table — made from the records and persons directly, never from all those its rule blocks
            sampled = "SELECT * EXCLUDE (source_dataset) FROM (SELECT '{source}' AS source_dataset, * FROM {table}) {alias}"
            em_table("left_em", sampled.format(source="fupin_left", table="left_in", alias="x")
                     + f" WHERE {condition('x')}")
            blocked = f" AND EXISTS (SELECT 1 FROM left_em l WHERE {rule})"  # noqa: S608 - a rule of the settings
            em_table("right_em", sampled.format(source="fupin_right", table="right_in", alias="r")
                     + f" WHERE {condition('r')}{blocked}")
            stats.setdefault("training_sampled", []).append(
                [con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in ("left_em", "right_em")])  # noqa: S608

        parameters, model = self._model(db_api, left, right, settings, stats, n_persons, em_inputs=em_inputs,
                                        em_linker=lambda linker: with_term_frequencies(linker, em_api),
                                        em_rule=em_rule, em_sampled=em_sampled)
        # what training built (sampled pairs, EM tables) goes; prediction starts from a fresh API (its own cache)
        db_api.delete_tables_created_by_splink_from_db()
        em_api.delete_tables_created_by_splink_from_db()
        em_dropped("right_em")
        em_dropped("left_em")
        db_api = DuckDBAPI(connection=con)
        left = db_api.register("left_in", table_name="fupin_left")
        right = db_api.register("right_in", table_name="fupin_right")
        spec = settings.splink_settings(n_persons, parameters=parameters)
        stats["model"] = model
        stats["prior"] = spec["probability_two_random_records_match"]
        t_pred = time.perf_counter()

        def parts(n: int, per: int) -> int:
            return max(1, math.ceil(n / per)) if per else 1

        record_parts, person_parts = (parts(stats["residual"], self.predict_chunk_records),
                                      parts(n_persons, self.predict_chunk_persons))
        stats["predict_chunks"] = record_parts * person_parts
        stats["predict_parts"] = {"records": record_parts, "persons": person_parts}
        threshold = settings.review_threshold / 10
        # Splink's settings object of the trained model: its SQL of the comparison vectors and match weights
        splink_settings = Linker([left, right], spec, log_level=None, validate_settings=False)._settings_obj
        db_api.delete_tables_created_by_splink_from_db()
        # prediction in passes over parts of the residual and of the registry (each pair is in exactly one pass: its
        # record's part × its person's part), so that what a pass holds stays bounded; the term frequencies are
        # those of all the records and persons, made once above and read by every pass: the same pairs, scores and
        # links as one pass
        for j in range(person_parts):
            if person_parts > 1:  # a table: every blocking rule of the pass reads it
                con.execute("CREATE OR REPLACE TABLE right_part AS SELECT * FROM right_in "  # noqa: S608
                            f"WHERE unique_id % {person_parts} = {j}")
            for i in range(record_parts):
                if record_parts > 1:
                    con.execute("CREATE OR REPLACE TABLE left_part AS SELECT * FROM left_in "  # noqa: S608
                                f"WHERE unique_id % {record_parts} = {i}")
                self._scored(con, predict_sql(splink_settings, "left_part" if record_parts > 1 else "left_in",
                                              "right_part" if person_parts > 1 else "right_in", tf_columns,
                                              threshold), create=i == j == 0)
        con.execute("DROP TABLE IF EXISTS left_part")
        con.execute("DROP TABLE IF EXISTS right_part")
        stats["seconds_predict"] = round(time.perf_counter() - t_pred, 3)
        # a record with an ID that has nothing in common with the person's ID is not that person
        con.execute("DELETE FROM scored WHERE gamma_id = 0")
        con.execute("""DELETE FROM scored WHERE EXISTS (SELECT 1 FROM decided d WHERE d.status = 'non_match'
                       AND d.record_id = scored.record_id AND d.person_id = scored.person_id)""")
        stats["splink_pairs"] = con.execute("SELECT count(*) FROM scored").fetchall()[0][0]
        # the decision, per record once all its candidates are scored (`decision_sql`)
        priors = source_priors(stats, parameters, settings)
        con.execute(f"CREATE TABLE source_prior AS {source_prior_sql(priors)}")
        con.execute(f"CREATE TABLE ranked AS {ranked_sql(settings)}")
        names = [c["output_column_name"] for c in settings.comparisons]
        return decision_sql(settings, names, stats["in_registry"])

    @staticmethod
    def _scored(con, predicted: str, *, create: bool) -> None:
        """(Create or add to) the `scored` table from `predicted` (`predict_sql`): record, person, probability,
        weight and per-field levels/weights."""
        select = f"SELECT * FROM ({predicted})"  # noqa: S608 - the engine's own SQL
        con.execute(f"CREATE TABLE scored AS {select}" if create else f"INSERT INTO scored {select}")

    def _model(self, db_api, left, right, settings: LinkSettings, stats: dict, n_persons: int,
               em_inputs=None, em_linker=None, em_rule=None, em_sampled=None) -> tuple[dict, dict]:
        """Train m and u on this run's residual records (Splink: u by random sampling, m by expectation maximisation
        on blocked pairs); the prior is the share of records with a valid ID that are in the registry. Too few
        records (or a training that fails): the stored model in `settings.parameters`. Returns the parameters and
        the model's description (JSON settings, figures) to keep with the run. `em_inputs`: a function returning the
        (left, right) inputs of expectation maximisation when they are narrower than those of u (the same source
        names: Splink's sample of pairs hashes them with the ids). The engine's hooks into the EM sessions (the
        Spark engine gives none): `em_linker`, given the EM linker before its sessions (the engine hands it the term
        frequencies it made once); `em_rule`, called with each training rule before its session (the engine narrows
        the EM inputs to the records and persons that rule blocks); `em_sampled`, called when Splink samples a
        session's records to bound its pairs (`em_max_pairs`), with a function giving that sample's SQL condition
        on a table alias (the engine then keeps only the sampled records and persons in the EM inputs: the same
        pairs)."""
        from splink import Linker

        exact, valid_unknown = stats.get("exact", 0), stats.get("valid_unknown", 0)
        match_rate = exact / (exact + valid_unknown) if exact + valid_unknown >= 50 else None
        model: dict = {"trained": False, "records": stats["residual"], "persons": n_persons,
                       "match_rate_from_exact_ids": match_rate}
        stored = settings.parameters or {}
        if not settings.train or stats["residual"] < settings.min_train_records:
            model["reason"] = "too_small" if settings.train else "training_off"
            parameters = {**stored, "match_rate": match_rate if match_rate is not None
                          else stored.get("match_rate", 0.5)}
            model["parameters"] = parameters
            return parameters, model
        t0, c0 = time.perf_counter(), time.process_time()
        start = {**stored, "match_rate": match_rate if match_rate is not None else stored.get("match_rate", 0.5)}
        try:
            linker = Linker([left, right], settings.splink_settings(n_persons, parameters=start), log_level=None)
            linker.training.estimate_u_using_random_sampling(max_pairs=settings.u_max_pairs, seed=settings.seed,
                                                             num_chunks=settings.u_chunks)
            model["seconds_u"] = round(time.perf_counter() - t0, 3)
            if em_inputs is not None:  # m by EM from the u just estimated, on the narrower inputs
                linker = Linker(list(em_inputs()), linker.misc.save_model_to_json(), log_level=None,
                                validate_settings=False)
            if em_linker is not None:
                linker = em_linker(linker)
            sessions, iterations = {}, {}
            for rule in settings.training_rules:
                if em_rule is not None:
                    em_rule(rule)
                try:  # a rule that blocks no pair (no masked IDs, no stated birth dates) trains nothing
                    with _em_iterations() as counted, _em_steps_in_numpy(), _em_sample_chosen(em_sampled):
                        linker.training.estimate_parameters_using_expectation_maximisation(
                            rule, estimate_without_term_frequencies=True, max_pairs=settings.em_max_pairs,
                            record_sample_proportion=settings.em_probe_share)
                    sessions[rule] = "trained"
                    iterations[rule] = counted[-1] if counted else None
                except Exception as exc:  # recorded per session on the model
                    sessions[rule] = f"skipped: {str(exc)[:120]}"
            model["em_sessions"] = sessions
            model["em_iterations"] = iterations  # of at most Splink's max_iterations (25) each
            if not any(v == "trained" for v in sessions.values()):
                raise RuntimeError("no EM session had pairs to train on")
            model["seconds_em"] = round(time.perf_counter() - t0 - model["seconds_u"], 3)
            trained = linker.misc.save_model_to_json()
        except Exception as exc:  # a failed training falls back to the stored model, recorded on the run's model
            log.warning("linkage model training failed, using the stored model: %s", exc)
            model.update(reason="training_failed", error=str(exc)[:300], parameters=start)
            return start, model
        parameters = model_parameters(trained)
        for comp, levels in parameters.items():  # a level never seen keeps its stored (or starting) value
            for label, (m, u) in list(levels.items()):
                if not (0 < m <= 1) or not (0 < u <= 1) or m != m or u != u:
                    levels[label] = (start.get(comp) or {}).get(label) or starting_parameters(
                        settings.effective_comparisons())[comp][label]
        parameters["match_rate"] = start["match_rate"]
        model.update(trained=True, parameters=parameters, splink=trained,
                     seconds=round(time.perf_counter() - t0, 3), cpu_seconds=round(time.process_time() - c0, 3))
        stats["seconds_training"] = model["seconds"]
        return parameters, model


@contextlib.contextmanager
def _em_sample_chosen(on_sample):
    """While the block runs, `on_sample` (if any) is told the sample Splink chose for an EM session once it is
    chosen (`resolve_em_sample_threshold`: the records of each side whose hash bucket of source name and id is under
    a threshold), before the session blocks its pairs: it is given a function returning that condition on a table
    alias, Splink's own SQL (`_em_sample_filter_sql`). No sample (the pairs are under `max_pairs`): told None."""
    from splink.internals import em_training_session
    from splink.internals.blocking import combine_unique_id_input_columns
    from splink.internals.em_sampling import _em_sample_filter_sql

    original = em_training_session.resolve_em_sample_threshold
    if on_sample is None:
        yield
        return

    def resolved(*, linker, blocking_rule, **kw):
        threshold, modulus, info = original(linker=linker, blocking_rule=blocking_rule, **kw)
        if threshold is None:
            on_sample(None)
        else:
            column_info = linker._settings_obj.column_info_settings
            columns = combine_unique_id_input_columns(column_info.source_dataset_input_column,
                                                      column_info.unique_id_input_column)
            on_sample(lambda alias: "true" + _em_sample_filter_sql(columns, threshold, modulus, alias,
                                                                   blocking_rule.sql_dialect))
        return threshold, modulus, info

    em_training_session.resolve_em_sample_threshold = resolved
    try:
        yield
    finally:
        em_training_session.resolve_em_sample_threshold = original


@contextlib.contextmanager
def _em_steps_in_numpy():
    """Splink's expectation maximisation with its iterations computed in numpy (`em_on_pattern_counts`) while the
    block runs; everything else of the session (the blocked pairs, their comparison vectors, the counts of each
    agreement pattern, the maximisation step, the convergence test) stays Splink's."""
    from splink.internals import em_training_session

    original = em_training_session.expectation_maximisation
    em_training_session.expectation_maximisation = functools.partial(em_on_pattern_counts, fallback=original)
    try:
        yield
    finally:
        em_training_session.expectation_maximisation = original


def em_on_pattern_counts(*, db_api, training_settings, estimate_without_term_frequencies, core_model_settings,
                         unique_id_input_columns, training_fixed_probabilities, df_comparison_vector_values,
                         fallback):
    """Splink's `expectation_maximisation` (splink/internals/expectation_maximisation.py) without term frequencies,
    its expectation step and new parameters computed in numpy over the agreement patterns' counts (a few hundred
    rows) instead of three DuckDB statements per iteration (each iteration cost about 25 ms of SQL building,
    parsing and bookkeeping at 1x, ~37 iterations a run). The same arithmetic in the same order: each pattern's
    match weight is the prior's plus each comparison's level weight (`_match_weight`, as Splink writes it into
    its SQL), its probability 1 / (1 + 2^-w) (2^w / (1 + 2^w) below zero), each level's m and u counts the sums of
    probability × count and (1 − probability) × count, then shares per comparison (the null level left out) and
    the prior the overall share; Splink's own `maximisation_step` and convergence test take them from there. A
    pattern whose level no comparison level knows, a comparison with no counts, or term frequencies: Splink's own
    function (`fallback`), as before."""
    import numpy as np
    from splink.internals import expectation_maximisation as em
    from splink.internals.misc import prob_to_match_weight
    from splink.internals.pipeline import CTEPipeline

    args = {"db_api": db_api, "training_settings": training_settings,
            "estimate_without_term_frequencies": estimate_without_term_frequencies,
            "core_model_settings": core_model_settings, "unique_id_input_columns": unique_id_input_columns,
            "training_fixed_probabilities": training_fixed_probabilities,
            "df_comparison_vector_values": df_comparison_vector_values}
    if not estimate_without_term_frequencies:
        return fallback(**args)
    comparisons = core_model_settings.comparisons
    pipeline = CTEPipeline([df_comparison_vector_values])
    pipeline.enqueue_sql(em.count_agreement_patterns_sql(comparisons), "__splink__agreement_pattern_counts")
    counts_df = db_api.sql_pipeline_to_splink_dataframe(pipeline)
    counts_table = counts_df.as_pyarrow_table()
    count = np.asarray(counts_table.column("agreement_pattern_count").to_numpy(), dtype=np.float64)
    gammas = [np.asarray(counts_table.column(cc._gamma_column_name).to_numpy(), dtype=np.int64) for cc in comparisons]
    observed = [np.unique(g) for g in gammas]
    total = float(count.sum())
    for cc, values in zip(comparisons, observed, strict=True):
        known = {cl.comparison_vector_value for cl in cc.comparison_levels}
        if not set(values.tolist()) <= known or not set(values.tolist()) - {-1}:
            return fallback(**args)
    history = [core_model_settings.copy()]
    settings = core_model_settings
    i = 0
    for i in range(1, training_settings.max_iterations + 1):
        weight = np.full(count.shape, float(prob_to_match_weight(settings.probability_two_random_records_match)))
        for cc, g in zip(settings.comparisons, gammas, strict=True):
            by_level = {cl.comparison_vector_value: float(cl._match_weight) for cl in cc.comparison_levels}
            weight = weight + np.vectorize(by_level.__getitem__, otypes=[np.float64])(g)
        with np.errstate(over="ignore"):
            prob = np.where(weight >= 0, 1.0 / (1.0 + np.power(2.0, -weight)),
                            np.power(2.0, weight) / (1.0 + np.power(2.0, weight)))
        m_part, u_part = prob * count, (1 - prob) * count
        records = []
        for cc, g, values in zip(settings.comparisons, gammas, observed, strict=True):
            m_counts = {int(v): float(m_part[g == v].sum()) for v in values}
            u_counts = {int(v): float(u_part[g == v].sum()) for v in values}
            m_sum = sum(c for v, c in m_counts.items() if v != -1)
            u_sum = sum(c for v, c in u_counts.items() if v != -1)
            if not m_sum or not u_sum:
                return fallback(**args)
            records += [{"comparison_vector_value": v, "output_column_name": cc.output_column_name,
                         "m_probability": m_counts[v] / m_sum, "u_probability": u_counts[v] / u_sum}
                        for v in m_counts if v != -1]
        records.append({"comparison_vector_value": 0, "output_column_name": "_probability_two_random_records_match",
                        "m_probability": float(m_part.sum()) / total, "u_probability": float(u_part.sum()) / total})
        settings = em.maximisation_step(training_fixed_probabilities=training_fixed_probabilities,
                                        core_model_settings=settings, param_records=records)
        history.append(settings)
        change = em._max_change_in_parameters_comparison_levels(history)
        em.logger.info(f"Iteration {i}: {change['message']}")
        if change["max_abs_change_value"] < training_settings.em_convergence:
            break
    em.logger.info(f"\nEM converged after {i} iterations")
    return history


@contextlib.contextmanager
def _em_iterations():
    """The iterations each expectation-maximisation session ran (Splink says so in an INFO message only)."""
    counted: list[int] = []

    class _Count(logging.Handler):
        def emit(self, record):
            m = re.search(r"EM converged after (\d+) iterations", record.getMessage())
            if m:
                counted.append(int(m.group(1)))

    em_log = logging.getLogger("splink.internals.expectation_maximisation")
    handler, level, propagate = _Count(), em_log.level, em_log.propagate
    em_log.addHandler(handler)
    em_log.setLevel(logging.INFO)
    em_log.propagate = False
    try:
        yield counted
    finally:
        em_log.removeHandler(handler)
        em_log.setLevel(level)
        em_log.propagate = propagate


# The decision, per record (both engines run this SQL). The pairwise probability Splink gives (`score` of `scored`)
# weighs "this person" against "anyone else", and "anyone else" keeps the prior of the record being another registry
# person even when every candidate of the record is known. Under the model's own assumptions — a record is at most
# one registry person, and is one of them with the probability ρ measured on the records with a valid ID (the share
# of them the exact join finds: `ids_counted`) — once all of a record's candidates q are scored,
#     P(record is p) = 2^w_p / (Σ_q 2^w_q + (1 − ρ))
# with w Splink's match weight (its prior ρ/N per person included). The registry persons the blocking never met add
# about ρ × the blocking's miss rate, and the candidates under the prediction threshold (pairwise probability under
# `review_threshold` / 10) each less than review_threshold / 10: both left out. Each department's own ρ (`ρ_s`, when
# it sent at least RATE_MIN_IDS valid IDs: payroll records are rarely about a poor person) replaces the run's in
# the prior of its records: every candidate's odds × ρ_s/ρ (`odds_factor`, log2 of it `prior_shift`), the outside
# share 1 − ρ_s. Computed from the record's largest weight down (`top_weight`), so no power overflows.

RATE_MIN_IDS = 50  # valid IDs a department needs for its own ρ (the run's ρ needs as many: `DuckDBEngine._model`)


def ids_counted(stats: dict, rows: list) -> None:
    """The stats of the exact join from (source_code, records with a valid ID, of which in the registry) rows:
    `exact` and `valid_unknown` (the run's prior, `_model`), `ids_by_source` {source: [valid, in registry]}."""
    by_source = {str(code): [int(n), int(k)] for code, n, k in rows}
    stats["ids_by_source"] = by_source
    stats["exact"] = sum(k for _, k in by_source.values())
    stats["valid_unknown"] = sum(n - k for n, k in by_source.values())


def source_priors(stats: dict, parameters: dict, settings: LinkSettings) -> dict[str, dict]:
    """{source: {in_registry, odds_factor, prior_shift}} of the departments with their own ρ (see above); records of
    the others take the run's ρ (`stats["in_registry"]`: the match rate of the model's prior). Both kept on the
    stats (the run's page and its JSON)."""
    rate = float(parameters.get("match_rate") or 0.5)  # as `LinkSettings.splink_settings` reads it for the prior
    stats["in_registry"] = rate
    out: dict[str, dict] = {}
    shown: dict[str, dict] = {}
    for code, (n, k) in sorted((stats.get("ids_by_source") or {}).items()):
        own = k / n if settings.prior_by_source and n >= RATE_MIN_IDS else None
        shown[code] = {"valid_ids": n, "in_registry": k, "rate": own}
        if own is None:
            continue
        factor = own / rate if rate > 0 else 1.0
        out[code] = {"in_registry": own, "odds_factor": factor,
                     "prior_shift": max(math.log2(factor), -99.0) if factor > 0 else -99.0}
    stats["in_registry_by_source"] = shown
    return out


def source_prior_sql(priors: dict[str, dict]) -> str:
    """SQL (DuckDB and Spark) of the table `source_prior` (source_code, in_registry, odds_factor, prior_shift)."""
    rows = [f"SELECT {_sql_text(code)} AS source_code, {_double(p['in_registry'])} AS in_registry, "
            f"{_double(p['odds_factor'])} AS odds_factor, {_double(p['prior_shift'])} AS prior_shift"
            for code, p in sorted(priors.items())]
    return " UNION ALL ".join(rows) or ("SELECT CAST(NULL AS STRING) AS source_code, CAST(NULL AS DOUBLE) AS "
                                        "in_registry, CAST(NULL AS DOUBLE) AS odds_factor, CAST(NULL AS DOUBLE) AS "
                                        "prior_shift WHERE false")


def ranked_sql(settings: LinkSettings) -> str:
    """Each scored pair with its rank in its record, the second candidate's weight and the record's largest."""
    rt = float(settings.review_threshold)
    return f"""
        SELECT s.*,
            row_number() OVER (PARTITION BY record_id ORDER BY weight DESC, person_id) AS rk,
            lead(weight) OVER (PARTITION BY record_id ORDER BY weight DESC, person_id) AS second_weight,
            max(weight) OVER (PARTITION BY record_id) AS top_weight
        FROM scored s WHERE score >= {rt / 10}"""  # noqa: S608 - a number from the settings


def decision_sql(settings: LinkSettings, names: list[str], rate: float) -> str:
    """SQL (DuckDB and Spark) over `ranked`, `residual` (the record's source) and `source_prior`: per pair the
    record-level probability `score`, the pairwise `pair_score` (with the source's prior), the other candidates'
    share, the share of "outside the registry", and the decision: a link when first in its record, `score` ≥
    link_threshold and ahead of the second by min_margin_weight; else a review when the pairwise or the record-level
    probability is ≥ review_threshold among the record's first three (namesakes stay in review together)."""
    lt, rt, margin = (float(settings.link_threshold), float(settings.review_threshold),
                      float(settings.min_margin_weight))
    fields = [f"{p}_{n}" for n in names for p in ("gamma", "mw", "mw_tf_adj")]
    cols = ", ".join(["record_id", "person_id", "weight", *fields, "second_weight"])
    inner = ", ".join(f"x.{c}" for c in ["record_id", "person_id", "weight", *fields, "second_weight", "rk",
                                           "top_weight"])
    return f"""
        SELECT {cols}, in_registry, prior_shift, pair_score, score, others_share, outside_share,
            CASE WHEN is_link THEN 'link'
                 WHEN NOT record_linked AND (pair_score >= {rt} OR score >= {rt}) AND rk <= 3 THEN 'review'
                 ELSE 'none' END AS decision
        FROM (SELECT *, coalesce(bool_or(is_link) OVER (PARTITION BY record_id), false) AS record_linked
          FROM (SELECT *, rk = 1 AND score >= {lt}
                       AND (second_weight IS NULL OR weight - second_weight >= {margin}) AS is_link
            FROM (SELECT *, odds_factor * mass / (odds_factor * total + outside) AS score,
                         odds_factor * (total - mass) / (odds_factor * total + outside) AS others_share,
                         outside / (odds_factor * total + outside) AS outside_share,
                         odds_factor * mass / (odds_factor * mass + pow(2.0, -top_weight)) AS pair_score
              FROM (SELECT *, sum(mass) OVER (PARTITION BY record_id) AS total,
                           (1.0 - in_registry) * pow(2.0, -top_weight) AS outside
                FROM (SELECT {inner}, pow(2.0, x.weight - x.top_weight) AS mass,
                             coalesce(sp.in_registry, {_double(rate)}) AS in_registry,
                             coalesce(sp.odds_factor, CAST(1.0 AS DOUBLE)) AS odds_factor,
                             coalesce(sp.prior_shift, CAST(0.0 AS DOUBLE)) AS prior_shift
                      FROM ranked x JOIN residual r ON r.record_id = x.record_id
                      LEFT JOIN source_prior sp ON sp.source_code = r.source_code) m) t) l) d) o"""  # noqa: S608


def explain(row: dict, comparisons: list[dict], prior: float | None = None) -> dict:
    """Which fields agreed and how much each weighed: {"fields": [{"field", "level", "weight"}], "weight",
    "probability"}; a weight is log2 of the field's Bayes factor (term-frequency adjustment included). A pair of
    the decision (`decision_sql`) also gives the record level: "pair_probability" (this person against anyone
    else), "others_share" (the record's other candidates), "outside_share" (outside the registry), "in_registry"
    (ρ of the record's department) and "probability" (this record is this person); "weight" and "prior_weight"
    then carry the department's prior."""
    fields = []
    for c in comparisons:
        name = c["output_column_name"]
        labels = [lv["label_for_charts"] for lv in c["comparison_levels"] if not lv.get("is_null_level")]
        gamma = row.get(f"gamma_{name}")
        if gamma is None or gamma < 0:
            label, weight = "缺少", 0.0
        else:
            label = labels[len(labels) - 1 - int(gamma)] if int(gamma) < len(labels) else str(gamma)
            weight = float(row.get(f"mw_{name}") or 0.0) + float(row.get(f"mw_tf_adj_{name}") or 0.0)
            weight = max(weight, -99.0) if weight == weight else 0.0
        fields.append({"field": c.get("comparison_description") or name, "level": label,
                       "weight": round(weight, 2)})
    shift = float(row.get("prior_shift") or 0.0)
    out = {"fields": fields, "weight": round(float(row.get("weight") or 0.0) + shift, 2),
           "probability": round(float(row.get("score") or 0.0), 6)}
    if "pair_score" in row:
        out.update({key: round(float(row.get(column) or 0.0), 6) for key, column in RECORD_LEVEL})
    if prior:  # the weight before any field is compared
        out["prior_weight"] = round(probability_to_weight(prior) + shift, 2)
    return out


RECORD_LEVEL = [("pair_probability", "pair_score"), ("others_share", "others_share"),
                ("outside_share", "outside_share"), ("in_registry", "in_registry")]


def _double(value: float) -> str:
    """A float as an SQL double of exactly its value in DuckDB and Spark (a bare literal is a decimal there)."""
    return f"CAST('{float(value)!r}' AS DOUBLE)"


def _sql_text(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def explain_sql(comparisons: list[dict], prior: float | None = None) -> str:
    """SQL (DuckDB) of `explain`'s JSON over a row of the decision (`decision_sql`: gamma_*, mw_*, mw_tf_adj_*,
    weight, score and the record level): the same fields, levels and rounded weights, computed set-based."""
    fields = []
    for c in comparisons:
        name = c["output_column_name"]
        labels = [lv["label_for_charts"] for lv in c["comparison_levels"] if not lv.get("is_null_level")]
        gamma = f"gamma_{name}"
        whens = " ".join(f"WHEN {gamma} = {len(labels) - 1 - i} THEN {_sql_text(label)}"
                         for i, label in enumerate(labels))
        level = f"CASE WHEN {gamma} IS NULL OR {gamma} < 0 THEN '缺少' {whens} ELSE CAST({gamma} AS VARCHAR) END"
        w = f"(coalesce(mw_{name}, 0.0) + coalesce(mw_tf_adj_{name}, 0.0))"
        weight = (f"CASE WHEN {gamma} IS NULL OR {gamma} < 0 OR isnan({w}) THEN 0.0 "
                  f"ELSE round(greatest({w}, -99.0), 2) END")
        fields.append(f"json_object('field', {_sql_text(c.get('comparison_description') or name)}, "
                      f"'level', {level}, 'weight', {weight})")
    shift = "coalesce(prior_shift, 0.0)"
    parts = [f"'fields', json_array({', '.join(fields)})", f"'weight', round(coalesce(weight, 0.0) + {shift}, 2)",
             "'probability', round(coalesce(score, 0.0), 6)",
             *(f"'{key}', round(coalesce({column}, 0.0), 6)" for key, column in RECORD_LEVEL)]
    if prior:
        parts.append(f"'prior_weight', round({_double(probability_to_weight(prior))} + {shift}, 2)")
    return f"CAST(json_object({', '.join(parts)}) AS VARCHAR)"


def probability_to_weight(p: float) -> float:
    p = min(max(p, 1e-12), 1 - 1e-12)
    return math.log2(p / (1 - p))
