"""The demo county's geography, built from the real division list and county outline (no database here).

Real points are kept; what is missing is placed and flagged synthetic:
- towns: Voronoi cells of the known points (town seats and the villages whose real point is known, each labelled with
  its town) clipped to the county outline and merged per town, so that every real point lies in its own town; a
  town without a point of its own gets the centre of its villages' known points, else a point far from the others;
- communities: clustered round the town seat, each a small urban cell (its Voronoi cell within a disk);
- villages: spread over the rest of the town (farthest-point sampling and Lloyd relaxation), Voronoi cells;
- grids: a fixed number per village, seeded on the village's settlements (村民小组) so that grids hold similar
  numbers of households, Voronoi cells within the village, numbered west→east, north→south.

Geography depends on the seed only, never on the scale: people are drawn afterwards from the settlement model.
"""

from __future__ import annotations

import hashlib
import math
import random
from dataclasses import dataclass, field

import numpy as np
import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from shapely.ops import unary_union

from fupin.demo.geometry import (
    Plane,
    disk,
    inner_point,
    kmeans_seeds,
    polygonal,
    reading_order,
    relax,
    sample_in,
    spread_points,
    voronoi_cells,
)

COMMUNITY_SHARE = 0.25  # share of residents living in urban communities
COMMUNITY_RADIUS_KM = 0.9


def np_rng(seed: int, *parts: object) -> np.random.Generator:
    """A numpy generator for one named stream of a seed (stable across runs and platforms)."""
    digest = hashlib.sha256("/".join(str(p) for p in (seed, *parts)).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def py_rng(seed: int, *parts: object) -> random.Random:
    return random.Random("/".join(str(p) for p in (seed, *parts)))


@dataclass
class DivisionRecord:
    """What the world builder needs of a division: as imported, with WGS-84 point if known."""

    code: str
    name: str
    level: str
    parent: str
    lng: float | None = None
    lat: float | None = None


@dataclass
class GridPlan:
    code: str
    number: int
    cell: BaseGeometry
    point: tuple[float, float]


@dataclass
class Unit:
    """A town, village or community with its synthetic cell (plane coordinates)."""

    code: str
    name: str
    level: str
    parent: str
    point: tuple[float, float] | None = None
    point_synthetic: bool = False
    cell: BaseGeometry | None = None
    weight: float = 1.0  # share of the county's residents
    poor: bool = False
    group_centres: np.ndarray | None = None
    group_weights: np.ndarray | None = None
    group_sigma: float = 0.3
    grids: list[GridPlan] = field(default_factory=list)


@dataclass
class World:
    plane: Plane
    county: DivisionRecord
    outline: BaseGeometry  # plane coordinates
    towns: dict[str, Unit]
    locals: dict[str, Unit]  # villages and communities by code

    @property
    def villages(self) -> list[Unit]:
        return [u for u in self.locals.values() if u.level == "village"]

    @property
    def communities(self) -> list[Unit]:
        return [u for u in self.locals.values() if u.level == "community"]

    @property
    def grids(self) -> list[GridPlan]:
        return [g for v in self.villages for g in v.grids]


def _largest_remainder(total: int, weights: list[float], minimum: int = 0) -> list[int]:
    n = len(weights)
    base = [minimum] * n
    rest = total - minimum * n
    if rest < 0:
        raise ValueError("too few units to give each the minimum")
    s = sum(weights) or 1.0
    quotas = [rest * w / s for w in weights]
    floors = [int(q) for q in quotas]
    left = rest - sum(floors)
    order = sorted(range(n), key=lambda i: (-(quotas[i] - floors[i]), i))
    for i in order[:left]:
        floors[i] += 1
    return [b + f for b, f in zip(base, floors, strict=True)]


def build_world(records: list[DivisionRecord], outline_wgs84: dict, *, seed: int, grids_total: int = 850,
                poor_villages: int = 26) -> World:
    county = next(r for r in records if r.level == "county")
    lng0 = county.lng if county.lng is not None else shape(outline_wgs84).centroid.x
    lat0 = county.lat if county.lat is not None else shape(outline_wgs84).centroid.y
    plane = Plane(lng0, lat0)
    outline = polygonal(plane.to_plane(shape(outline_wgs84)).buffer(0))
    shapely.prepare(outline)

    towns = {r.code: Unit(r.code, r.name, r.level, r.parent) for r in records if r.level == "town"}
    locals_ = {r.code: Unit(r.code, r.name, r.level, r.parent) for r in records
               if r.level in ("village", "community") and r.parent in towns}
    for r in records:
        unit = towns.get(r.code) or locals_.get(r.code)
        if unit is not None and r.lng is not None:
            xy = plane.xy(r.lng, r.lat)
            if outline.contains(shapely.Point(xy)):
                unit.point = xy
    _place_towns(towns, locals_, outline, seed)
    for town in towns.values():
        _split_town(town, [u for u in locals_.values() if u.parent == town.code], seed)
    _weights_and_poverty(county, plane, towns, locals_, seed, poor_villages)
    _grids(list(u for u in locals_.values() if u.level == "village"), grids_total, seed)
    return World(plane=plane, county=county, outline=outline, towns=towns, locals=locals_)


def _place_towns(towns: dict[str, Unit], locals_: dict[str, Unit], outline: BaseGeometry, seed: int) -> None:
    for town in towns.values():
        if town.point is None:
            known = [u.point for u in locals_.values() if u.parent == town.code and u.point is not None]
            if known:
                centre = np.mean(np.array(known), axis=0)
                town.point = (float(centre[0]), float(centre[1]))
                town.point_synthetic = True
    missing = sorted(c for c, t in towns.items() if t.point is None)
    if missing:
        fixed = np.array([t.point for t in towns.values() if t.point is not None]
                         + [u.point for u in locals_.values() if u.point is not None])
        placed = spread_points(outline, len(missing), np_rng(seed, "towns"), fixed=fixed if len(fixed) else None)
        for code, xy in zip(missing, placed, strict=True):
            towns[code].point = (float(xy[0]), float(xy[1]))
            towns[code].point_synthetic = True
    # labelled Voronoi: every known point votes for its town
    labelled: list[tuple[tuple[float, float], str]] = []
    for code in sorted(towns):
        labelled.append((towns[code].point, code))
    for code in sorted(locals_):
        u = locals_[code]
        if u.point is not None and all(math.dist(u.point, p) > 0.01 for p, _ in labelled):
            labelled.append((u.point, u.parent))
    cells = voronoi_cells(np.array([p for p, _ in labelled]), outline)
    for code, town in towns.items():
        town.cell = polygonal(unary_union([c for c, (_, t) in zip(cells, labelled, strict=True) if t == code]))


def _split_town(town: Unit, units: list[Unit], seed: int) -> None:
    region = town.cell
    rng = np_rng(seed, "town", town.code)
    units = sorted(units, key=lambda u: u.code)
    communities = [u for u in units if u.level == "community"]
    villages = [u for u in units if u.level == "village"]
    if not units:
        return
    # communities cluster round the seat
    known = np.array([u.point for u in units if u.point is not None]) if any(u.point for u in units) else None
    todo = [u for u in communities if u.point is None]
    if todo:
        core = polygonal(disk(*town.point, 0.6 + 0.35 * math.sqrt(len(communities))).intersection(region))
        if core.is_empty or core.area < 0.05:
            core = region
        placed = spread_points(core, len(todo), rng, fixed=known)
        for u, xy in zip(todo, placed, strict=True):
            u.point, u.point_synthetic = (float(xy[0]), float(xy[1])), True
    todo = [u for u in villages if u.point is None]
    if todo:
        fixed_pts = [u.point for u in units if u.point is not None]
        if communities:
            fixed_pts.append(town.point)
        placed = spread_points(region, len(todo), rng, fixed=np.array(fixed_pts) if fixed_pts else None)
        for u, xy in zip(todo, placed, strict=True):
            u.point, u.point_synthetic = (float(xy[0]), float(xy[1])), True
    # cells: communities are small urban cells; villages share the rest of the town
    all_cells = voronoi_cells(np.array([u.point for u in units]), region)
    if not villages:
        for u, c in zip(units, all_cells, strict=True):
            u.cell = c
        return
    taken = []
    for u, c in zip(units, all_cells, strict=True):
        if u.level == "community":
            u.cell = polygonal(c.intersection(disk(*u.point, COMMUNITY_RADIUS_KM)))
            taken.append(u.cell)
    rural = polygonal(region.difference(unary_union(taken))) if taken else region
    pts = np.array([v.point for v in villages])
    pts = relax(pts, rural, [v.point_synthetic for v in villages], iterations=2)
    for v, xy in zip(villages, pts, strict=True):
        v.point = (float(xy[0]), float(xy[1]))
    for v, c in zip(villages, voronoi_cells(pts, rural), strict=True):
        v.cell = c
        if v.point_synthetic and not c.is_empty:
            v.point = inner_point(c)


def _weights_and_poverty(county: DivisionRecord, plane: Plane, towns: dict[str, Unit], locals_: dict[str, Unit],
                         seed: int, poor_villages: int) -> None:
    rng = py_rng(seed, "weights")
    villages = sorted((u for u in locals_.values() if u.level == "village"), key=lambda u: u.code)
    communities = sorted((u for u in locals_.values() if u.level == "community"), key=lambda u: u.code)
    raw_v = [math.exp(rng.gauss(0, 0.35)) for _ in villages]
    raw_c = [math.exp(rng.gauss(0, 0.30)) for _ in communities]
    share_c = COMMUNITY_SHARE if communities and villages else (1.0 if communities else 0.0)
    for u, w in zip(villages, raw_v, strict=True):
        u.weight = (1 - share_c) * w / sum(raw_v)
    for u, w in zip(communities, raw_c, strict=True):
        u.weight = share_c * w / sum(raw_c)
    # poor villages lie away from the county seat (hill country), drawn with weight growing with the distance
    centre = plane.xy(county.lng, county.lat) if county.lng is not None else (0.0, 0.0)
    pool = list(villages)
    weights = [math.dist(v.point, centre) ** 1.5 + 1.0 for v in pool]
    for _ in range(min(poor_villages, len(pool))):
        i = rng.choices(range(len(pool)), weights=weights)[0]
        pool[i].poor = True
        pool.pop(i)
        weights.pop(i)


def _grids(villages: list[Unit], grids_total: int, seed: int) -> None:
    villages = sorted(villages, key=lambda u: u.code)
    if not villages:
        return
    minimum = min(3, grids_total // len(villages))
    counts = _largest_remainder(grids_total, [v.weight for v in villages], minimum=minimum)
    for v, k in zip(villages, counts, strict=True):
        rng = np_rng(seed, "village", v.code)
        cell = v.cell
        # settlements (村民小组): spread over the village, of uneven size
        groups = int(min(14, max(4, round(k * 1.4))))
        centres = relax(spread_points(cell, groups, rng), cell, [True] * groups, iterations=1)
        v.group_centres = centres
        v.group_weights = rng.dirichlet(np.full(groups, 3.0))
        v.group_sigma = 0.45 * math.sqrt(cell.area / groups)
        # grid seeds: k-means over a settlement sample, so grids hold similar numbers of households
        sample = settlement_points(v, 80 * k, rng)
        seeds = kmeans_seeds(sample, spread_points(cell, k, rng))
        seeds = _distinct(seeds, cell, rng)
        cells = voronoi_cells(seeds, cell)
        points = [inner_point(c) if not c.is_empty else tuple(seeds[i]) for i, c in enumerate(cells)]
        order = reading_order(np.array(points))
        v.grids = [GridPlan(code=f"{v.code}{n:03d}", number=n, cell=cells[i], point=points[i])
                   for n, i in enumerate(order, start=1)]


def _distinct(points: np.ndarray, region: BaseGeometry, rng: np.random.Generator) -> np.ndarray:
    """Replace coinciding seeds (k-means can merge two) by fresh points, so every grid gets a cell."""
    pts = np.array(points)
    for i in range(len(pts)):
        if any(np.hypot(*(pts[i] - pts[j])) < 1e-3 for j in range(i)):
            pts[i] = spread_points(region, 1, rng, fixed=np.delete(pts, i, axis=0))[0]
    return pts


def settlement_points(village: Unit, n: int, rng: np.random.Generator) -> np.ndarray:
    """n household sites in a village: round its settlements, inside its cell (uniform in a community)."""
    cell = village.cell
    if n <= 0:
        return np.empty((0, 2))
    if village.group_centres is None:
        return sample_in(cell, n, rng)
    shapely.prepare(cell)
    out = np.empty((0, 2))
    while len(out) < n:
        m = (n - len(out)) * 2 + 8
        g = rng.choice(len(village.group_centres), size=m, p=village.group_weights)
        pts = village.group_centres[g] + rng.normal(0.0, village.group_sigma, size=(m, 2))
        pts = pts[shapely.contains_xy(cell, pts[:, 0], pts[:, 1])]
        out = np.concatenate([out, pts])
    return out[:n]


def settlement_groups(village: Unit, pts: np.ndarray) -> np.ndarray:
    """The settlement (group) index nearest to each site: 0 → 1组."""
    if village.group_centres is None or not len(pts):
        return np.zeros(len(pts), dtype=int)
    d = ((pts[:, None, :] - village.group_centres[None, :, :]) ** 2).sum(axis=2)
    return d.argmin(axis=1)


def grid_of(village: Unit, pts: np.ndarray) -> np.ndarray:
    """Index into village.grids of the grid containing each site (the nearest grid for a site on an edge)."""
    result = np.full(len(pts), -1, dtype=int)
    if not village.grids or not len(pts):
        return result
    for k, g in enumerate(village.grids):
        free = result < 0
        if not free.any():
            break
        inside = shapely.contains_xy(g.cell, pts[free, 0], pts[free, 1])
        idx = np.flatnonzero(free)[inside]
        result[idx] = k
    left = np.flatnonzero(result < 0)
    if len(left):
        geoms = shapely.points(pts[left])
        dists = np.array([shapely.distance(g.cell, geoms) for g in village.grids])
        result[left] = dists.argmin(axis=0)
    return result
