"""Synthetic boundaries for the demo county: Voronoi cells clipped to the real county outline.

Everything here works in a local plane in kilometres (an equirectangular projection around the county), so that
distances and radii mean the same in every direction; `Plane` converts to and from WGS-84 longitude/latitude.
The functions are pure: the same points and the same numpy generator give the same cells.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import shapely
from shapely.geometry import MultiPoint, MultiPolygon, Point, Polygon
from shapely.geometry.base import BaseGeometry


class Plane:
    """An equirectangular projection around (lng0, lat0): x, y in km east and north of it."""

    def __init__(self, lng0: float, lat0: float):
        self.lng0, self.lat0 = lng0, lat0
        self.kx = 111.320 * math.cos(math.radians(lat0))
        self.ky = 110.574

    def xy(self, lng: float, lat: float) -> tuple[float, float]:
        return (lng - self.lng0) * self.kx, (lat - self.lat0) * self.ky

    def lnglat(self, x: float, y: float) -> tuple[float, float]:
        return round(self.lng0 + x / self.kx, 6), round(self.lat0 + y / self.ky, 6)

    def lnglat_arrays(self, xs: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return np.round(self.lng0 + xs / self.kx, 6), np.round(self.lat0 + ys / self.ky, 6)

    def to_plane(self, geom: BaseGeometry) -> BaseGeometry:
        return shapely.transform(geom, lambda c: np.column_stack(((c[:, 0] - self.lng0) * self.kx,
                                                                  (c[:, 1] - self.lat0) * self.ky)))

    def to_geojson(self, geom: BaseGeometry) -> dict:
        """A GeoJSON geometry dict in WGS-84 (6 decimals, about 0.1 m)."""
        back = shapely.transform(geom, lambda c: np.column_stack((np.round(self.lng0 + c[:, 0] / self.kx, 6),
                                                                   np.round(self.lat0 + c[:, 1] / self.ky, 6))))
        return _lists(shapely.geometry.mapping(back))


def _lists(obj):
    if isinstance(obj, dict):
        return {k: _lists(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_lists(v) for v in obj]
    return obj


SLIVER_KM2 = 0.001


def polygonal(geom: BaseGeometry) -> Polygon | MultiPolygon:
    """The polygonal part of a clipping result, without the lines, points and slivers that clipping leaves."""
    if isinstance(geom, Polygon):
        return geom
    parts = [g for g in shapely.get_parts(geom) if isinstance(g, Polygon) and not g.is_empty]
    if len(parts) > 1:
        parts = [g for g in parts if g.area >= SLIVER_KM2] or [max(parts, key=lambda g: g.area)]
    if not parts:
        return Polygon()
    return parts[0] if len(parts) == 1 else MultiPolygon(parts)


def sample_in(region: BaseGeometry, n: int, rng: np.random.Generator) -> np.ndarray:
    """n points drawn uniformly inside `region`, as an (n, 2) array."""
    if n <= 0:
        return np.empty((0, 2))
    shapely.prepare(region)
    minx, miny, maxx, maxy = region.bounds
    ratio = max(region.area / max((maxx - minx) * (maxy - miny), 1e-12), 0.01)
    out: list[np.ndarray] = []
    have = 0
    while have < n:
        m = int((n - have) / ratio * 1.2) + 16
        xs = rng.uniform(minx, maxx, m)
        ys = rng.uniform(miny, maxy, m)
        keep = shapely.contains_xy(region, xs, ys)
        pts = np.column_stack((xs[keep], ys[keep]))
        out.append(pts)
        have += len(pts)
    return np.concatenate(out)[:n]


def spread_points(region: BaseGeometry, n: int, rng: np.random.Generator, *,
                  fixed: np.ndarray | None = None, candidates: int | None = None) -> np.ndarray:
    """n new points inside `region`, each as far as possible from the others, from `fixed` and from the edge.

    Greedy farthest-point sampling over random candidates; the edge counts double, so that points settle where a
    centroidal layout would put them rather than on the border.
    """
    if n <= 0:
        return np.empty((0, 2))
    cand = sample_in(region, candidates or max(300, 60 * n), rng)
    edge = shapely.distance(region.boundary, shapely.points(cand)) * 2.0
    score = edge.copy()
    if fixed is not None and len(fixed):
        d = np.sqrt(((cand[:, None, :] - np.asarray(fixed)[None, :, :]) ** 2).sum(axis=2)).min(axis=1)
        score = np.minimum(score, d)
    chosen = []
    for _ in range(n):
        i = int(np.argmax(score))
        chosen.append(cand[i])
        score = np.minimum(score, np.sqrt(((cand - cand[i]) ** 2).sum(axis=1)))
        score[i] = -1.0
    return np.array(chosen)


def voronoi_cells(points: np.ndarray, region: BaseGeometry) -> list[Polygon | MultiPolygon]:
    """The Voronoi cell of each point (in the order given), clipped to `region`; together they cover it."""
    if len(points) == 1:
        return [polygonal(region)]
    diagram = shapely.voronoi_polygons(MultiPoint([tuple(p) for p in points]), extend_to=region, ordered=True)
    return [polygonal(cell.intersection(region)) for cell in diagram.geoms]


def inner_point(cell: BaseGeometry) -> tuple[float, float]:
    """The centroid if it lies inside the cell, else a point that surely does."""
    c = cell.centroid
    if not cell.contains(c):
        c = cell.representative_point()
    return c.x, c.y


def relax(points: np.ndarray, region: BaseGeometry, movable: Sequence[bool], iterations: int = 2) -> np.ndarray:
    """Lloyd relaxation: move the movable points to the centre of their cell, so that cells grow even."""
    pts = np.array(points, dtype=float)
    mov = np.asarray(movable, dtype=bool)
    if not mov.any() or len(pts) < 2:
        return pts
    for _ in range(iterations):
        cells = voronoi_cells(pts, region)
        for i in np.flatnonzero(mov):
            if not cells[i].is_empty:
                pts[i] = inner_point(cells[i])
    return pts


def kmeans_seeds(samples: np.ndarray, seeds: np.ndarray, iterations: int = 6) -> np.ndarray:
    """Move seeds to the means of the samples nearest to them (a few Lloyd steps over a density sample)."""
    seeds = np.array(seeds, dtype=float)
    for _ in range(iterations):
        d = ((samples[:, None, :] - seeds[None, :, :]) ** 2).sum(axis=2)
        nearest = d.argmin(axis=1)
        for k in range(len(seeds)):
            mine = samples[nearest == k]
            if len(mine):
                seeds[k] = mine.mean(axis=0)
    return seeds


def reading_order(points: np.ndarray) -> list[int]:
    """Indices in reading order: rows from north to south, west to east within a row (the grid numbering rule)."""
    n = len(points)
    if n == 0:
        return []
    rows = max(1, round(math.sqrt(n)))
    by_north = sorted(range(n), key=lambda i: (-points[i][1], points[i][0]))
    order: list[int] = []
    start = 0
    for r in range(rows):
        size = n // rows + (1 if r < n % rows else 0)
        row = by_north[start:start + size]
        order.extend(sorted(row, key=lambda i: points[i][0]))
        start += size
    return order


def disk(x: float, y: float, radius: float) -> Polygon:
    return Point(x, y).buffer(radius, quad_segs=12)
