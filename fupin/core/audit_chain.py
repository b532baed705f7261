"""The audit trail as a hash chain: sealing, verification, archiving.

Every audit event is inserted by `fupin.core.audit.record` inside its service's transaction. Once that transaction
commits, the event is *sealed*: it gets the next position (`seq`) and `hash = SHA-256(prev_hash + canonical(event))`,
where `prev_hash` is the hash of the event sealed just before it. Sealing in commit order (not insert order) means no
transaction waits on another's audit row, and a row that commits late still joins the chain. A changed field, a removed
row or a re-ordered row breaks the recomputed chain, which `fupin audit verify` reports with the first bad position.

Events older than the retention period (`FUPIN_AUDIT_RETENTION_DAYS`, at least 180) are moved by `fupin audit archive`
(and the nightly step) into gzip'd JSON-lines files with a SHA-256 checksum; the `AuditArchive` row keeps the last hash
so that verification continues across the cut, and `verify --archives` re-checks every archive file.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError, connection, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fupin.core.models import AuditArchive, AuditEvent

log = logging.getLogger(__name__)

GENESIS = "0" * 64
MIN_RETENTION_DAYS = 180
_CHAIN_LOCK_KEY = 7_104_202_016  # PostgreSQL advisory lock: one sealer at a time
_HASHED_FIELDS = ("at", "actor_id", "actor_name", "action", "object_type", "object_id", "object_repr", "area_code",
                  "before", "after", "note", "batch_id")


def _plain():
    """A queryset that may write the chain columns (the model's own queryset refuses every update and delete)."""
    return models.QuerySet(AuditEvent)


def canonical(values: dict) -> bytes:
    """The bytes an event's hash covers: its content fields in a fixed order, JSON with sorted keys."""
    data = {}
    for name in _HASHED_FIELDS:
        value = values.get(name)
        if isinstance(value, dt.datetime):
            value = value.astimezone(dt.UTC).isoformat(timespec="microseconds")
        data[name] = value
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str).encode()


def event_hash(prev_hash: str, values: dict) -> str:
    return hashlib.sha256(prev_hash.encode() + canonical(values)).hexdigest()


def retention_days() -> int:
    return int(getattr(settings, "FUPIN_AUDIT_RETENTION_DAYS", 365))


def archive_dir() -> Path:
    return Path(settings.DATA_DIR) / "audit-archive"


def _lock() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK_KEY])
    # SQLite: the surrounding transaction is IMMEDIATE (settings), so it already holds the database's write lock.


def _head() -> tuple[int, str]:
    """The last sealed position and its hash (from the database, else from the newest archive, else genesis)."""
    last = _plain().filter(seq__isnull=False).order_by("-seq").values_list("seq", "hash").first()
    if last:
        return last[0], last[1]
    archive = AuditArchive.objects.order_by("-last_seq").first()
    if archive:
        return archive.last_seq, archive.last_hash
    return 0, GENESIS


def seal_pending(limit: int = 50_000) -> int:
    """Seal committed, unsealed events in id order; returns how many were sealed."""
    with transaction.atomic():
        _lock()
        seq, prev = _head()
        rows = list(_plain().filter(seq__isnull=True).order_by("id").values("id", *_HASHED_FIELDS)[:limit])
        if not rows:
            return 0
        updates = []
        for row in rows:
            seq += 1
            digest = event_hash(prev, row)
            updates.append(AuditEvent(id=row["id"], seq=seq, prev_hash=prev, hash=digest))
            prev = digest
        _plain().bulk_update(updates, ["seq", "prev_hash", "hash"], batch_size=1000)
    return len(updates)


def _seal_after_commit() -> None:
    try:
        seal_pending()
    except DatabaseError as exc:
        # The change itself has committed; its event stays unsealed and the next seal (any later commit, the nightly
        # step, `fupin audit verify`) takes it. Verification lists events left unsealed, so nothing is hidden.
        log.warning("audit events left unsealed for the next seal: %s", exc)


def schedule_seal() -> None:
    """Called by `record`: seal once after the current transaction commits (at once in autocommit)."""
    from fupin.core.tasks import once_after_commit

    once_after_commit(_seal_after_commit)


@dataclass
class Verification:
    checked: int = 0
    unsealed: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(*, seal_first: bool = True, archives: bool = False, chunk: int = 20_000) -> Verification:
    """Recompute the chain over the database (and, with archives=True, every archive file)."""
    if seal_first:
        seal_pending()
    result = Verification()
    prev_seq, prev_hash = 0, GENESIS
    if archives:
        for archive in AuditArchive.objects.order_by("first_seq"):
            prev_seq, prev_hash = _verify_archive(archive, prev_seq, prev_hash, result)
    else:
        # the newest archive whose end lies before the first event still in the database anchors the chain
        first = _plain().filter(seq__isnull=False).order_by("seq").values_list("seq", flat=True).first()
        anchor = AuditArchive.objects.filter(last_seq__lt=first).order_by("-last_seq").first() if first else None
        if anchor:
            prev_seq, prev_hash = anchor.last_seq, anchor.last_hash
    last_id_seq = prev_seq
    while True:
        rows = list(_plain().filter(seq__gt=last_id_seq).order_by("seq")
                    .values("id", "seq", "prev_hash", "hash", *_HASHED_FIELDS)[:chunk])
        if not rows:
            break
        for row in rows:
            _check(row, prev_seq, prev_hash, result, where=f"#{row['id']}")
            prev_seq, prev_hash = row["seq"], row["hash"]
        last_id_seq = rows[-1]["seq"]
    result.unsealed = _plain().filter(seq__isnull=True).count()
    if result.unsealed and seal_first:
        result.problems.append(f"{result.unsealed}条审计记录未能加入哈希链")
    return result


def _check(row: dict, prev_seq: int, prev_hash: str, result: Verification, *, where: str) -> None:
    result.checked += 1
    result.first_seq = row["seq"] if result.first_seq is None else result.first_seq
    result.last_seq = row["seq"]
    if row["seq"] != prev_seq + 1:
        result.problems.append(f"序号{prev_seq + 1}至{row['seq'] - 1}的审计记录缺失(在{where}之前)")
    if row["prev_hash"] != prev_hash:
        result.problems.append(f"序号{row['seq']}({where})的前一哈希与链不符:记录被删除、插入或改动")
    if event_hash(row["prev_hash"], row) != row["hash"]:
        result.problems.append(f"序号{row['seq']}({where})的内容与其哈希不符:记录被改动")


def _verify_archive(archive: AuditArchive, prev_seq: int, prev_hash: str, result: Verification) -> tuple[int, str]:
    path = Path(archive.path)
    if not path.exists():
        result.problems.append(f"归档文件不存在:{path.name}")
        return archive.last_seq, archive.last_hash
    if hashlib.sha256(path.read_bytes()).hexdigest() != archive.sha256:
        result.problems.append(f"归档文件校验和不符:{path.name}")
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            row["at"] = dt.datetime.fromisoformat(row["at"])
            _check(row, prev_seq, prev_hash, result, where=path.name)
            prev_seq, prev_hash = row["seq"], row["hash"]
    if (prev_seq, prev_hash) != (archive.last_seq, archive.last_hash):
        result.problems.append(f"归档文件{path.name}的末条记录与登记不符")
    return prev_seq, prev_hash


def archive_expired(*, now: dt.datetime | None = None, days: int | None = None) -> dict:
    """Move sealed events older than the retention period to a checksummed archive file, then out of the database."""
    days = retention_days() if days is None else days
    if days < MIN_RETENTION_DAYS:
        raise ValueError(_("Audit records are kept for at least %(min)s days (the setting is %(days)s days)")
                         % {"min": MIN_RETENTION_DAYS, "days": days})
    cutoff = (now or timezone.now()) - dt.timedelta(days=days)
    seal_pending()
    with transaction.atomic():
        _lock()
        rows = list(_plain().filter(seq__isnull=False, at__lt=cutoff).order_by("seq")
                    .values("id", "seq", "prev_hash", "hash", *_HASHED_FIELDS))
        if not rows:
            return {"archived": 0}
        # only a run that starts right after the previous archive (or the chain's start) may leave the database
        start_seq, _last_hash = (AuditArchive.objects.order_by("-last_seq").values_list("last_seq", "last_hash").first()
                        or (0, GENESIS))
        run = []
        for row in rows:
            if row["seq"] != start_seq + len(run) + 1:
                break
            run.append(row)
        if not run:
            return {"archived": 0}
        directory = archive_dir()
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"audit-{run[0]['seq']:012d}-{run[-1]['seq']:012d}.jsonl.gz"
        with gzip.open(path, "wt", encoding="utf-8") as fh:
            for row in run:
                out = dict(row)
                out.pop("id")
                out["at"] = row["at"].astimezone(dt.UTC).isoformat(timespec="microseconds")
                fh.write(json.dumps(out, ensure_ascii=False, sort_keys=True, default=str) + "\n")
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        Path(f"{path}.sha256").write_text(f"{digest}  {path.name}\n", encoding="utf-8")
        AuditArchive.objects.create(first_seq=run[0]["seq"], last_seq=run[-1]["seq"], last_hash=run[-1]["hash"],
                                    first_at=run[0]["at"], last_at=run[-1]["at"], count=len(run), path=str(path),
                                    sha256=digest)
        ids = [r["id"] for r in run]
        for i in range(0, len(ids), 5000):
            _plain().filter(id__in=ids[i:i + 5000])._raw_delete(connection.alias)
    return {"archived": len(run), "file": path.name}
