"""A small county on the map for the map and dashboard tests: boundaries (schematic squares) and poor households
with positions, built with the platform's services."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from fupin.core.testing import make_county_tree, make_household


def box(w: float, s: float, e: float, n: float) -> dict:
    return {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}


def attach_boundaries(features: dict[str, dict], *, synthetic: bool = True) -> None:
    from fupin.geo.services import import_boundaries

    fc = {"type": "FeatureCollection",
          "features": [{"type": "Feature", "properties": {"code": code}, "geometry": geom}
                       for code, geom in features.items()]}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "boundaries.geojson"
        path.write_text(json.dumps(fc), encoding="utf-8")
        import_boundaries(actor="test", path=path, synthetic=synthetic)


def mapped_county() -> dict:
    """make_county_tree() with boundaries and households:

    甲一村 (grid 甲一村第1网格): 甲未脱 (未脱贫, 因病), 甲预脱 (预脱贫, 因学), 甲已脱 (已脱贫 2016, 因病), a non-poor household;
    甲二村: 甲返贫 (返贫, 缺技术) and 甲未定 (未脱贫, no position);  乙一村 (grid 乙一村第1网格): 乙秘密, 乙二户 (未脱贫).
    """
    t = make_county_tree()
    attach_boundaries({
        t["county"].code: box(111.35, 30.38, 111.49, 30.56),
        t["town_a"].code: box(111.37, 30.47, 111.46, 30.55),
        t["town_b"].code: box(111.38, 30.39, 111.47, 30.46),
        t["va1"].code: box(111.385, 30.485, 111.415, 30.515),
        t["va2"].code: box(111.415, 30.495, 111.445, 30.525),
        t["vb1"].code: box(111.415, 30.405, 111.445, 30.435),
        t["ga1"].code: box(111.39, 30.49, 111.41, 30.51),
        t["gb1"].code: box(111.42, 30.41, 111.44, 30.43),
    })
    poor = {"is_registered_poor": True, "attribute": "1"}
    hh = {
        "a_open": make_household(t["va1"], grid=t["ga1"], head="甲未脱", members=3, poor_code="420581100201001",
                                 poverty_status="0", main_cause="1", lng=111.400, lat=30.500, **poor),
        "a_pre": make_household(t["va1"], grid=t["ga1"], head="甲预脱", members=2, poor_code="420581100201002",
                                poverty_status="2", main_cause="3", lng=111.402, lat=30.503, **poor),
        "a_out": make_household(t["va1"], grid=t["ga1"], head="甲已脱", members=4, poor_code="420581100201003",
                                poverty_status="1", main_cause="1", year_exited=2016, lng=111.398, lat=30.497,
                                **poor),
        "a_resident": make_household(t["va1"], grid=t["ga1"], head="甲常住", members=2, lng=111.401, lat=30.499),
        "a2_back": make_household(t["va2"], head="甲返贫", members=2, poor_code="420581100202001",
                                  poverty_status="3", main_cause="7", lng=111.430, lat=30.510,
                                  is_registered_poor=True, attribute="2"),
        "a2_unlocated": make_household(t["va2"], head="甲未定", members=1, poor_code="420581100202002",
                                       poverty_status="0", main_cause="8", **poor),
        "b_secret": make_household(t["vb1"], grid=t["gb1"], head="乙秘密", members=3, poor_code="420581101201001",
                                   poverty_status="0", main_cause="2", lng=111.430, lat=30.420, **poor),
        "b_two": make_household(t["vb1"], grid=t["gb1"], head="乙二户", members=2, poor_code="420581101201002",
                                poverty_status="0", main_cause="2", lng=111.432, lat=30.421, **poor),
    }
    t["hh"] = hh
    return t
