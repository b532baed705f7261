"""Data minimisation: each kind of record is kept for a set period, then purged by the nightly step with an audit event.

`FUPIN_RETENTION_DAYS` (settings; a dict, each value a number of days, 0 = keep):
- `replaced_snapshots`: department snapshots that a newer import replaced, with their rows and links (default 730);
- `raw_files`: the original files of imports kept under FUPIN_DATA_DIR/raw (default 1095);
- `ended_sessions`: the list of ended browser sessions (default 180).
Findings keep their own evidence (a copy of the record's fields), so purging a snapshot never empties a finding.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from fupin.core import audit

DEFAULTS = {"replaced_snapshots": 730, "raw_files": 1095, "ended_sessions": 180}


def periods() -> dict[str, int]:
    return {**DEFAULTS, **getattr(settings, "FUPIN_RETENTION_DAYS", {})}


def purge(*, now: dt.datetime | None = None, actor="system") -> dict:
    from fupin.accounts.models import UserSession
    from fupin.core.models import Batch
    from fupin.exchange.models import Snapshot, StagedRecord

    now = now or timezone.now()
    days = periods()
    out = {"replaced_snapshots": 0, "department_records": 0, "raw_files": 0, "ended_sessions": 0}
    if days["replaced_snapshots"]:
        cutoff = now - dt.timedelta(days=days["replaced_snapshots"])
        for snap in Snapshot.objects.filter(is_current=False, replaced_at__lt=cutoff, row_count__gt=0):
            with transaction.atomic():
                deleted, _ = StagedRecord.objects.filter(snapshot=snap).delete()
                Snapshot.objects.filter(pk=snap.pk).update(row_count=0, problems=[])
                audit.record(actor=actor, action="privacy.retention.snapshot_purged", obj=snap, area_code="",
                             note=f"替换后超过{days['replaced_snapshots']}天;删除{deleted}行(含关联)")
            out["replaced_snapshots"] += 1
            out["department_records"] += deleted
    if days["raw_files"]:
        cutoff = now - dt.timedelta(days=days["raw_files"])
        for batch in Batch.objects.filter(started_at__lt=cutoff).exclude(raw_path=""):
            path = Path(batch.raw_path)
            still_used = Batch.objects.filter(raw_path=batch.raw_path, started_at__gte=cutoff).exists()
            with transaction.atomic():
                if path.exists() and not still_used:
                    path.unlink()
                    out["raw_files"] += 1
                Batch.objects.filter(pk=batch.pk).update(raw_path="")
                Snapshot.objects.filter(raw_path=batch.raw_path, created_at__lt=cutoff).update(raw_path="")
                audit.record(actor=actor, action="privacy.retention.raw_file_purged", object_type="core.batch",
                             object_id=str(batch.pk), object_repr=batch.source_name[:200],
                             note=f"超过{days['raw_files']}天")
    if days["ended_sessions"]:
        cutoff = now - dt.timedelta(days=days["ended_sessions"])
        n, _ = UserSession.objects.filter(ended_at__lt=cutoff).delete()
        if n:
            audit.record(actor=actor, action="privacy.retention.sessions_purged", object_type="accounts.usersession",
                         note=f"{n}条已结束的会话记录")
        out["ended_sessions"] = n
    return out
