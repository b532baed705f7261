"""`fupin stats --json`: each capability registers the keys it adds."""

from __future__ import annotations

from collections.abc import Callable

_PROVIDERS: list[tuple[int, Callable[[], dict]]] = []


def stats_provider(order: int = 100):
    """Register fn() -> dict of figures (integers or objects of integers) for `fupin stats`."""

    def deco(fn):
        _PROVIDERS.append((order, fn))
        _PROVIDERS.sort(key=lambda p: p[0])
        return fn

    return deco


def collect() -> dict:
    out: dict = {}
    for _, fn in _PROVIDERS:
        out.update(fn())
    return out
