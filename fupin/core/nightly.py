"""What depends on the passage of time. Capabilities register a step; `fupin nightly` runs them in order."""

from __future__ import annotations

import logging
from collections.abc import Callable

log = logging.getLogger(__name__)

_STEPS: list[tuple[int, str, Callable[..., dict | None], bool]] = []


def nightly_step(name: str, *, order: int = 100, on_change: bool = False):
    """Register fn(**kw) as a nightly step; on_change=True also runs it after relevant writes."""

    def deco(fn):
        _STEPS.append((order, name, fn, on_change))
        _STEPS.sort(key=lambda s: s[0])
        return fn

    return deco


def steps() -> list[str]:
    return [name for _, name, _, _ in _STEPS]


def run_refreshers(*, reason: str = "", nightly: bool = True, only: list[str] | None = None) -> dict:
    results = {}
    for _, name, fn, on_change in _STEPS:
        if only and name not in only:
            continue
        if not nightly and not on_change:
            continue
        results[name] = fn() or {}
        log.info("nightly step %s: %s", name, results[name])
    return results
