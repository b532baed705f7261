"""Each probabilistic link's explanation is computed in SQL (`explain_sql`): the same JSON as `explain` row by row."""

import json
import random

import duckdb
import pyarrow as pa

from fupin.exchange.engine import LinkSettings, explain, explain_sql


def test_explain_sql_gives_explain_s_json_for_every_kind_of_row():
    rng = random.Random(7)
    for settings in (LinkSettings(), LinkSettings(exact_rule=False)):
        comparisons = settings.effective_comparisons()
        names = [c["output_column_name"] for c in comparisons]
        rows = []
        for i in range(500):
            row = {"record_id": i, "person_id": i, "score": rng.random(), "weight": rng.uniform(-20, 30),
                   # the record level of the decision, a department's prior among them (-99: its ρ is 0)
                   "pair_score": rng.random(), "others_share": rng.random(), "outside_share": rng.random(),
                   "in_registry": rng.random(), "prior_shift": rng.choice([0.0, rng.uniform(-3, 1), -99.0])}
            for n in names:  # every level, an unknown one, a null level (-1) and missing values
                row[f"gamma_{n}"] = rng.choice([-1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 12, None])
                row[f"mw_{n}"] = rng.choice([rng.uniform(-200, 20), float("nan"), None])
                row[f"mw_tf_adj_{n}"] = rng.choice([0.0, rng.uniform(-3, 3), None])
            rows.append(row)
        con = duckdb.connect()
        con.register("prob", pa.Table.from_pylist(rows))
        for prior in (None, 2.5e-6):
            got = con.execute(f"SELECT {explain_sql(comparisons, prior)} FROM prob ORDER BY record_id").fetchall()
            assert [json.loads(g) for (g,) in got] == [
                json.loads(json.dumps(explain(r, comparisons, prior), ensure_ascii=False)) for r in rows]
        # positive controls: the levels are named (not only numbers), Chinese text kept as it is; the record level
        # and a department's prior are there
        assert all("pair_probability" in json.loads(g) and "outside_share" in json.loads(g) for (g,) in got)
        assert any(json.loads(g)["prior_weight"] < -99 for (g,) in got)
        assert any(f["level"] == "姓名相同" for (g,) in got for f in json.loads(g)["fields"])
