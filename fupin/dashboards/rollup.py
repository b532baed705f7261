"""Summing leaf rows up the division tree, and derived figures per area: pure functions, no database."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from fupin.dashboards.figures import Derived, Row


class Acc:
    """The running total of one figure in one area, with its breakdown."""

    __slots__ = ("breakdown", "value")

    def __init__(self) -> None:
        self.value: float = 0
        self.breakdown: dict[str, float] = {}


def ancestor_codes(code: str) -> list[str]:
    """The code itself and every code above it by the code structure (province, city, county, town, village)."""
    out: list[str] = []
    for candidate in (code[:2] + "0" * 10, code[:4] + "0" * 8, code[:6] + "0" * 6, code[:9] + "000", code[:12],
                      code):
        if candidate not in out:
            out.append(candidate)
    return out


def rollup(rows: Iterable[Row], areas: dict[str, str]) -> dict[tuple[str, str], Acc]:
    """Add each leaf row to its own area and every area above it that exists (`areas`: code -> level)."""
    totals: dict[tuple[str, str], Acc] = {}
    targets_of: dict[str, list[str]] = {}
    for row in rows:
        if not row.code or not row.value:
            continue
        targets = targets_of.get(row.code)
        if targets is None:
            targets = targets_of[row.code] = [c for c in ancestor_codes(row.code) if c in areas]
        for area in targets:
            acc = totals.get((area, row.key))
            if acc is None:
                acc = totals[(area, row.key)] = Acc()
            acc.value += row.value
            if row.dim is not None:
                dim = str(row.dim)
                acc.breakdown[dim] = acc.breakdown.get(dim, 0) + row.value
    return totals


def derive(totals: dict[tuple[str, str], Acc], areas: dict[str, str], derived: list[Derived]) -> None:
    """Compute each derived figure for every area from its summed figures, in place."""
    for area in areas:
        def get(key: str, dim: str | None = None, _area: str = area) -> float | None:
            acc = totals.get((_area, key))
            if acc is None:
                return None
            return acc.value if dim is None else acc.breakdown.get(str(dim))

        for d in derived:
            value = _safe(d.fn, get)
            if value is not None:
                acc = totals[(area, d.figure.key)] = Acc()
                acc.value = value


def _safe(fn: Callable, get: Callable) -> float | None:
    try:
        return fn(get)
    except ZeroDivisionError:
        return None
