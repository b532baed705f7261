"""The engine's prediction statement (`engine.predict_sql`: each rule's pairs carry the person's compared columns,
the records joined by id, the person's term frequencies the record's where they count) scores exactly the pairs Splink's own
`predict` scores, with the same probabilities, weights and levels, on the run's own tables."""

import pytest
from splink import DuckDBAPI, Linker

from fupin.exchange import engine
from fupin.exchange.engine import LinkSettings
from fupin.exchange.linkage import linkage_compute
from fupin.exchange.tests.test_write_and_training_cuts import small_county  # noqa: F401 - the fixture

COMPARED = ("id", "name", "birth_date", "sex", "village")


def _fuzzy_adjusted():
    """The default comparisons with the pinyin's term frequencies adjusting its fuzzy level too (not an equality)."""
    comparisons = engine.default_comparisons()
    name = next(c for c in comparisons if c["output_column_name"] == "name")
    level = next(lv for lv in name["comparison_levels"] if lv["label_for_charts"] == "拼音相近")
    level.update(tf_adjustment_column="name_py", tf_adjustment_weight=1.0)
    return comparisons


@pytest.mark.parametrize("comparisons, records_only", [(None, True), ("fuzzy", False)])
def test_prediction_scores_the_pairs_splink_scores(small_county, monkeypatch, comparisons, records_only):  # noqa: F811
    settings = LinkSettings(min_train_records=100, u_max_pairs=5e4, em_max_pairs=1e5,
                            **({"comparisons": _fuzzy_adjusted()} if comparisons else {}))
    seen: dict = {}
    spec = engine.LinkSettings.splink_settings

    def kept_spec(self, *a, **kw):
        seen["spec"] = spec(self, *a, **kw)  # the last one made: the trained model's, for prediction
        return seen["spec"]

    predict_sql = engine.predict_sql

    def kept_sql(splink_settings, records, persons, tf_columns, threshold):
        seen["threshold"] = threshold
        seen["sql"] = predict_sql(splink_settings, records, persons, tf_columns, threshold)
        return seen["sql"]

    scored = engine.DuckDBEngine._scored

    def compared(con, predicted, *, create):
        scored(con, predicted, create=create)
        columns = ", ".join(f"gamma_{c}" for c in COMPARED)
        ours = con.execute(f"SELECT record_id, person_id, score, weight, {columns} FROM scored").fetchall()
        api = DuckDBAPI(connection=con)
        linker = Linker([api.register("left_in", table_name="fupin_left"),
                         api.register("right_in", table_name="fupin_right")], seen["spec"], log_level=None,
                        validate_settings=False)
        theirs = linker.inference.predict(threshold_match_probability=seen["threshold"]).physical_name
        seen["ours"] = sorted(ours)
        seen["theirs"] = sorted(con.execute(f"SELECT unique_id_l, unique_id_r, match_probability, match_weight, "
                                            f"{columns} FROM {theirs}").fetchall())
        api.delete_tables_created_by_splink_from_db()

    monkeypatch.setattr(engine.LinkSettings, "splink_settings", kept_spec)
    monkeypatch.setattr(engine, "predict_sql", kept_sql)
    monkeypatch.setattr(engine.DuckDBEngine, "_scored", staticmethod(compared))
    plan = linkage_compute(force=True, settings=settings)
    assert plan.model["trained"]
    # the person's frequencies taken from the record's side only when every adjusting level is an equality
    assert ('l."tf_name_py" AS "tf_name_py_r"' in seen["sql"]) is records_only
    assert ("LEFT JOIN tf_name_py AS tf_r_name_py" in seen["sql"]) is not records_only
    assert len(seen["ours"]) >= 50
    assert len({row[4:] for row in seen["ours"]}) >= 5  # pairs of several kinds: levels differing
    assert seen["ours"] == seen["theirs"]  # the same pairs, scores equal to the last bit
