"""What depends on the passage of time. Capabilities register a step (`extensions.NightlyStep`, point core.nightly);
`fupin nightly` runs them in order."""

from __future__ import annotations

import logging

from fupin.core import extensions

log = logging.getLogger(__name__)


def nightly_step(name: str, *, order: int = 100, on_change: bool = False):
    """Decorator form of `extensions.register(NightlyStep(name=name, fn=fn, order=order, on_change=on_change))`."""

    def deco(fn):
        extensions.register(extensions.NightlyStep(name=name, fn=fn, order=order, on_change=on_change))
        return fn

    return deco


def steps() -> list[str]:
    return [s.name for s in extensions.registered("core.nightly")]


def run_refreshers(*, reason: str = "", nightly: bool = True, only: list[str] | None = None) -> dict:
    results = {}
    for step in extensions.registered("core.nightly"):
        if only and step.name not in only:
            continue
        if not nightly and not step.on_change:
            continue
        results[step.name] = step.fn() or {}
        log.info("nightly step %s: %s", step.name, results[step.name])
    return results
