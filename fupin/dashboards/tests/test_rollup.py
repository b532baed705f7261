"""The roll-up of leaf rows up the division tree, and derived figures: pure functions."""

from fupin.dashboards.figures import Derived, Figure, Row
from fupin.dashboards.rollup import ancestor_codes, derive, rollup

AREAS = {"420581000000": "county", "420581100000": "town", "420581100201": "village",
         "420581100201001": "grid", "420581101000": "town", "420581101201": "village"}


def test_ancestor_codes_of_a_grid_go_up_to_the_province():
    assert ancestor_codes("420581100201001") == ["420000000000", "420500000000", "420581000000", "420581100000",
                                                 "420581100201", "420581100201001"]
    assert ancestor_codes("420581100000")[-1] == "420581100000"


def test_rows_add_up_to_every_existing_area_above_them():
    rows = [Row("420581100201001", "poor", 2, dim="0"), Row("420581100201", "poor", 1, dim="1"),
            Row("420581101201", "poor", 5, dim="0"), Row("420581101201", "poor", 0, dim="9")]
    t = rollup(rows, AREAS)
    assert t[("420581000000", "poor")].value == 8
    assert t[("420581000000", "poor")].breakdown == {"0": 7, "1": 1}
    assert t[("420581100000", "poor")].value == 3
    assert t[("420581100201", "poor")].value == 3
    assert t[("420581100201001", "poor")].value == 2
    assert ("420000000000", "poor") not in t  # not an area here
    assert ("420581101201", "poor") in t and t[("420581101201", "poor")].breakdown == {"0": 5}


def test_derived_figures_are_computed_per_area_and_skip_missing_bases():
    rows = [Row("420581100201", "cur", 3), Row("420581100201", "pop", 100), Row("420581101201", "cur", 2)]
    t = rollup(rows, AREAS)
    ratio = Derived(Figure("ratio", "ratio"), lambda get: get("cur") * 100 / get("pop") if get("pop") else None)
    derive(t, AREAS, [ratio])
    assert t[("420581100201", "ratio")].value == 3
    assert t[("420581000000", "ratio")].value == 5 * 100 / 100
    assert ("420581101201", "ratio") not in t
