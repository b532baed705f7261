"""Writes of the dashboards: recomputing the figure snapshot, and marking it stale after changes.

The snapshot is derived data (a cache of figures that can be rebuilt at any time from the registry), so a refresh
is not audited as a change of anyone's data; `SnapshotState` says when and how it was last computed.
"""

from __future__ import annotations

import datetime as dt
import logging
import time

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from fupin.dashboards import figures as registry
from fupin.dashboards.figures import Context
from fupin.dashboards.models import FigureSnapshot, SnapshotState
from fupin.dashboards.rollup import derive, rollup

log = logging.getLogger(__name__)


def _areas() -> dict[str, str]:
    from fupin.geo.models import Division, Grid

    areas = dict(Division.objects.values_list("code", "level"))
    areas.update((code, "grid") for code in Grid.objects.values_list("code", flat=True))
    return areas


def _state() -> SnapshotState:
    state = SnapshotState.objects.select_for_update().order_by("pk").first()
    return state or SnapshotState.objects.create()


def refresh_snapshots(*, actor=None, reason: str = "") -> dict:
    """Recompute every figure of every area from the registry and the registered providers, atomically.

    Returns a summary ({"areas", "rows", "ms"}). Readers see either the old or the new snapshot, never a mix.
    """
    started = time.monotonic()
    now = timezone.now()
    ctx = Context(today=timezone.localdate(), areas=_areas())
    rows = []
    for provider in registry.providers():
        rows.extend(provider.compute(ctx))
    totals = rollup(rows, ctx.areas)
    derive(totals, ctx.areas, registry.derived_figures())
    objs = [FigureSnapshot(area_code=area, level=ctx.areas.get(area, ""), key=key,
                           value=round(acc.value, 6), breakdown=acc.breakdown, computed_at=now)
            for (area, key), acc in totals.items()]
    with transaction.atomic():
        state = _state()
        FigureSnapshot.objects.all().delete()
        FigureSnapshot.objects.bulk_create(objs, batch_size=2000)
        state.computed_at = now
        state.duration_ms = int((time.monotonic() - started) * 1000)
        state.areas = len(ctx.areas)
        state.rows = len(objs)
        state.reason = (reason or (f"by {actor}" if actor else ""))[:200]
        state.error = ""
        if state.stale_since is not None and state.stale_since <= now:
            state.stale_since = None
        # this run serves whatever was scheduled; changes that came in while it ran get a run of their own
        state.scheduled_for = None
        if state.stale_since is not None:
            _schedule(state, reason="changes during a refresh")
        state.save()
    log.info("figures refreshed: %s areas, %s rows, %s ms", state.areas, state.rows, state.duration_ms)
    return {"areas": state.areas, "rows": state.rows, "ms": state.duration_ms}


def debounce_seconds() -> int:
    return int(getattr(settings, "FUPIN_SNAPSHOT_DEBOUNCE_SECONDS", 60))


def can_defer() -> bool:
    """Whether the task backend can run a task later (the database backend can; the immediate one cannot)."""
    from django_tasks import default_task_backend

    return bool(getattr(default_task_backend, "supports_defer", False))


def enqueue_refresh(*, run_after: dt.datetime, reason: str) -> None:
    from fupin.dashboards.tasks import refresh_figures

    refresh_figures.using(run_after=run_after).enqueue(reason=reason[:100])


def mark_stale(*, reason: str = "") -> SnapshotState:
    """Note that figures changed and schedule one refresh a little later (changes in a burst share it).

    With a task backend that cannot defer work (tests, the immediate backend) nothing is queued: the nightly run or
    a manual refresh picks the change up, and the page says the figures predate it.

    In a burst of changes (every recorded visit marks the figures stale) the state is already stale with a refresh
    pending: then nothing is written, so writers do not queue one after another on the state's row lock.
    """
    state = SnapshotState.objects.order_by("pk").first()
    if state is not None and state.stale_since is not None and _pending(state):
        return state
    with transaction.atomic():
        state = _state()
        if state.stale_since is None:
            state.stale_since = timezone.now()
        _schedule(state, reason=reason)
        state.save(update_fields=["stale_since", "scheduled_for"])
    return state


def _pending(state: SnapshotState) -> bool:
    """Whether no refresh is to be queued for `state`: the backend cannot defer, or one is queued and not yet run
    (one queued longer ago than the debounce and 15 minutes is taken for lost)."""
    lost_after = dt.timedelta(seconds=debounce_seconds() + 900)
    return not can_defer() or (state.scheduled_for is not None and state.scheduled_for > timezone.now() - lost_after)


def _schedule(state: SnapshotState, *, reason: str) -> None:
    """Queue one deferred refresh unless one is pending (queued and not yet run; a lost one is replaced after a
    while). Call inside the transaction that saves `state`."""
    if _pending(state):
        return
    now = timezone.now()
    # never computed yet (a new or freshly seeded database): as soon as a worker runs, no debounce
    delay = debounce_seconds() if state.computed_at is not None else 0
    run_after = state.scheduled_for = now + dt.timedelta(seconds=delay)
    transaction.on_commit(lambda: enqueue_refresh(run_after=run_after, reason=reason))
