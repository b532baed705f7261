"""Per-process memory of read results that depend only on tables which change rarely (divisions and grids, the
dashboards' figure snapshot), keyed by what the result depends on, so that a repeated read costs one or two small
queries instead of building the answer again.

A key always holds the reader's scope (`scope_key`: superuser, jurisdiction prefix, department), the language and
the *stamps* of the tables the answer is built from (`stamp`: row count and latest `updated_at`, which every save,
insert and delete moves). A stamp does not see a write that bypasses `save()` (a bare `QuerySet.update()`); the
entries also expire after `FUPIN_READ_CACHE_SECONDS` (default 60 s), which bounds what such a write or a change of
reference data a result also shows (a code label, a department's name) can leave stale.

Values are kept as they are (not copied): callers must not change what they get back. Tests clear the memory before
each test (conftest.py), as the database is rolled back between them.

    boundaries = readcache.cached("maps.boundaries", (scope_key(user), level, prefix, stamp(Division, Grid)),
                                  lambda: _build(user, level, prefix))
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import translation

from fupin.core.scoping import scope_prefix

MAX_ENTRIES = 512
_lock = threading.Lock()
_entries: OrderedDict[tuple, tuple[float, Any]] = OrderedDict()


def seconds() -> float:
    return float(getattr(settings, "FUPIN_READ_CACHE_SECONDS", 60))


def scope_key(user) -> tuple:
    """What `restrict(user)` depends on: two users with the same key see the same rows."""
    return (bool(getattr(user, "is_superuser", False)), scope_prefix(user), getattr(user, "department_id", None))


def stamp(*models) -> tuple:
    """(row count, latest updated_at) of each model's table, in one query: moves with every save, insert and
    delete."""
    if not models:
        return ()
    qn = connection.ops.quote_name
    parts = []
    for model in models:
        table = qn(model._meta.db_table)
        # table names come from the models, never from input
        parts.append(f"(SELECT COUNT(*) FROM {table}), (SELECT MAX({qn('updated_at')}) FROM {table})")  # noqa: S608
    with connection.cursor() as cur:
        cur.execute("SELECT " + ", ".join(parts))
        row = cur.fetchone()
    return tuple((m._meta.label_lower, row[2 * i], str(row[2 * i + 1])) for i, m in enumerate(models))


def cached(name: str, parts: tuple, compute: Callable[[], Any]) -> Any:
    """compute() once per (name, parts, language) until it expires; with FUPIN_READ_CACHE_SECONDS=0, every time."""
    ttl = seconds()
    if ttl <= 0:
        return compute()
    key = (name, translation.get_language(), *parts)
    now = time.monotonic()
    with _lock:
        hit = _entries.get(key)
        if hit is not None and hit[0] > now:
            _entries.move_to_end(key)
            return hit[1]
    value = compute()
    with _lock:
        _entries[key] = (now + ttl, value)
        _entries.move_to_end(key)
        while len(_entries) > MAX_ENTRIES:
            _entries.popitem(last=False)
    return value


def clear() -> None:
    with _lock:
        _entries.clear()
