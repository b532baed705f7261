"""`fupin stats --json`: each capability registers the keys it adds (`extensions.StatsKeys`, point core.stats)."""

from __future__ import annotations

from fupin.core import extensions


def stats_provider(order: int = 100):
    """Decorator form of `extensions.register(StatsKeys(fn=fn, order=order))`."""

    def deco(fn):
        extensions.register(extensions.StatsKeys(fn=fn, order=order))
        return fn

    return deco


def collect() -> dict:
    out: dict = {}
    for provider in extensions.registered("core.stats"):
        out.update(provider.fn())
    return out
