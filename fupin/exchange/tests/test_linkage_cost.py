"""Cuts of the DuckDB linkage engine's cost that must leave every level, score and link as it was (hlink, issues 13
and 19): the edit-distance level evaluated only on the pairs its guard lets through, and an engine connection that
never stops to checkpoint (compress) its in-memory tables."""

import random

import duckdb

from fupin.exchange import engine
from fupin.exchange.engine import DuckDBEngine, LinkSettings
from fupin.exchange.tests.test_write_and_training_cuts import small_county  # noqa: F401 - the fixture

DIGITS = "0123456789X"


def _edited(rng: random.Random, s: str) -> str:
    """`s` after a random edit: none, a substitution, an adjacent swap, an insertion, a deletion, two or three
    substitutions, or a CJK character somewhere (test data of its own, not derived from the guard)."""
    kind = rng.randrange(8)
    i = rng.randrange(len(s))
    if kind == 0:
        return s
    if kind == 1:
        return s[:i] + rng.choice(DIGITS) + s[i + 1:]
    if kind == 2 and i < len(s) - 1:
        return s[:i] + s[i + 1] + s[i] + s[i + 2:]
    if kind == 3:
        return s[:i] + rng.choice(DIGITS) + s[i:]
    if kind == 4:
        return s[:i] + s[i + 1:]
    if kind == 5:
        for _ in range(rng.randrange(2, 4)):
            j = rng.randrange(len(s))
            s = s[:j] + rng.choice(DIGITS) + s[j + 1:]
        return s
    if kind == 6:
        return s[:i] + rng.choice("张王李赵") + s[i + 1:]
    return "".join(rng.choice(DIGITS) for _ in range(rng.choice((15, 17, 18, 19))))


def test_the_edit_distance_guard_changes_no_level():
    """The guarded level is true of exactly the pairs the plain edit distance makes true (equal and unequal
    lengths, swaps, insertions, CJK characters, unrelated IDs)."""
    rng = random.Random(7)
    rows = []
    for _ in range(20_000):
        a = "".join(rng.choice(DIGITS) for _ in range(rng.choice((18, 18, 18, 15, 17, 5, 1))))
        rows.append((a, _edited(rng, a)))
    rows += [("", ""), ("", "1"), ("1", ""), ("张三", "章三"), ("ab", "ba"), ("abc", "acb")]
    con = duckdb.connect()
    con.execute("CREATE TABLE p (id_clean_l VARCHAR, id_clean_r VARCHAR)")
    con.executemany("INSERT INTO p VALUES (?, ?)", rows)
    plain, guarded = con.execute(f"""
        SELECT count(*) FILTER (WHERE CASE WHEN damerau_levenshtein(id_clean_l, id_clean_r) <= 1 THEN 1 ELSE 0 END
                                      = 1),
               count(*) FILTER (WHERE CASE WHEN {engine.ONE_EDIT_GUARD} AND damerau_levenshtein(id_clean_l,
                                      id_clean_r) <= 1 THEN 1 ELSE 0 END = 1)
        FROM p""").fetchone()
    differing = con.execute(f"""
        SELECT count(*) FROM p WHERE (damerau_levenshtein(id_clean_l, id_clean_r) <= 1)
            IS DISTINCT FROM (CASE WHEN {engine.ONE_EDIT_GUARD} AND damerau_levenshtein(id_clean_l, id_clean_r) <= 1
                                   THEN true ELSE false END)""").fetchone()[0]
    assert plain == guarded and differing == 0
    assert 1000 < plain < len(rows) - 1000  # both outcomes well represented
    # the level as written in the comparisons uses the guard
    (id_comparison,) = [c for c in engine.default_comparisons() if c["output_column_name"] == "id"]
    (level,) = [lv for lv in id_comparison["comparison_levels"] if lv["label_for_charts"] == "一位错或相邻对调"]
    assert engine.ONE_EDIT_GUARD in level["sql_condition"]


def test_the_engine_connection_does_not_checkpoint():
    con = DuckDBEngine(threads=2).connect()
    try:
        threshold = con.execute("SELECT current_setting('checkpoint_threshold')").fetchone()[0]
    finally:
        con.close()
    assert threshold.replace(" ", "") in ("931.3GiB", "1000.0GB", "1000GB")  # as DuckDB spells NO_CHECKPOINT


def test_links_the_same_with_the_guard_as_without(small_county):  # noqa: F811
    """On a small county the engine gives the same links, scores, reviews and learned parameters whether the edit
    distance level is guarded or not."""
    from fupin.exchange.linkage import linkage_compute

    small = {"min_train_records": 100, "u_max_pairs": 5e4, "em_max_pairs": 1e5}  # small data, quick
    guarded = linkage_compute(force=True, settings=LinkSettings(**small))
    plain_comparisons = engine.default_comparisons()
    for c in plain_comparisons:
        for lv in c["comparison_levels"]:
            lv["sql_condition"] = lv["sql_condition"].replace(f"{engine.ONE_EDIT_GUARD} AND ", "")
    plain = linkage_compute(force=True, settings=LinkSettings(comparisons=plain_comparisons, **small))
    assert plain.model["trained"] and guarded.model["trained"]
    key = ["record_id", "person_id"]
    assert (plain.links.select([*key, "method", "score", "explanation"]).sort_by([(k, "ascending") for k in key])
            .equals(guarded.links.select([*key, "method", "score", "explanation"])
                    .sort_by([(k, "ascending") for k in key])))
    assert plain.reviews.select([*key, "score"]).equals(guarded.reviews.select([*key, "score"]))
    assert plain.model["parameters"] == guarded.model["parameters"]
