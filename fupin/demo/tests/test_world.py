"""The synthetic geography: every division and grid gets a cell, real points stay inside their own cells."""

import json
from functools import lru_cache

import numpy as np
from shapely.geometry import Point
from shapely.ops import unary_union

from fupin.core.coords import convert_geometry
from fupin.demo.geometry import reading_order
from fupin.demo.seed import DIVISIONS_CSV, OUTLINE_GEOJSON
from fupin.demo.world import DivisionRecord, build_world


@lru_cache(maxsize=2)
def world(seed: int = 2016):
    import csv

    from fupin.core.coords import gcj02_to_wgs84

    records = []
    for row in csv.DictReader(DIVISIONS_CSV.open(encoding="utf-8")):
        lng = lat = None
        if row["lng_gcj02"]:
            lng, lat = gcj02_to_wgs84(float(row["lng_gcj02"]), float(row["lat_gcj02"]))
        records.append(DivisionRecord(row["code"], row["name"], row["level"], row["parent"], lng, lat))
    outline = convert_geometry(json.loads(OUTLINE_GEOJSON.read_text(encoding="utf-8"))["features"][0]["geometry"])
    return build_world(records, outline, seed=seed)


def test_counts_match_the_bulletin():
    w = world()
    assert len(w.towns) == 11
    assert len(w.villages) == 123
    assert len(w.communities) == 30
    assert len(w.grids) == 850
    assert sum(v.poor for v in w.villages) == 26
    assert all(v.grids for v in w.villages)
    assert not any(c.grids for c in w.communities)


def test_cells_cover_the_county_without_overlap():
    w = world()
    outline_area = w.outline.area
    assert abs(sum(t.cell.area for t in w.towns.values()) - outline_area) < 0.01 * outline_area
    for town in w.towns.values():
        units = [u for u in w.locals.values() if u.parent == town.code]
        if units:
            assert abs(unary_union([u.cell for u in units]).area - town.cell.area) < 0.01 * town.cell.area
    for v in w.villages:
        assert all(not g.cell.is_empty for g in v.grids)
        assert abs(sum(g.cell.area for g in v.grids) - v.cell.area) < 0.01 * v.cell.area


def test_each_point_lies_in_its_own_cell():
    w = world()
    for unit in [*w.towns.values(), *w.locals.values()]:
        assert unit.cell.buffer(1e-6).contains(Point(unit.point)), unit.name
    for g in w.grids:
        assert g.cell.buffer(1e-6).contains(Point(g.point)), g.code


def test_grid_codes_are_numbered_from_001_in_reading_order():
    w = world()
    for v in w.villages:
        codes = [g.code for g in v.grids]
        assert codes == [f"{v.code}{n:03d}" for n in range(1, len(codes) + 1)]


def test_reading_order_is_north_to_south_then_west_to_east():
    # a 3 x 3 lattice, jittered, given in a scrambled order
    points = np.array([(x + 0.1 * ((x * 7 + y) % 3), y) for y in (2, 1, 0) for x in (0, 1, 2)])
    scrambled = [4, 8, 0, 6, 2, 5, 7, 1, 3]
    order = reading_order(points[scrambled])
    assert [scrambled[i] for i in order] == list(range(9))


def test_same_seed_same_geography():
    a, b = world(2016), build_world_again(2016)
    assert [g.code for g in a.grids] == [g.code for g in b.grids]
    assert [g.cell.wkt for g in a.grids[:50]] == [g.cell.wkt for g in b.grids[:50]]
    assert [v.code for v in a.villages if v.poor] == [v.code for v in b.villages if v.poor]


def build_world_again(seed):
    world.cache_clear()
    return world(seed)
