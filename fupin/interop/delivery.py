"""Delivering the outbox: the background worker posts each delivery, signed, at least once, in order per object.

A pass takes the unfinished deliveries in event order; the first unfinished one of each (subscription, object) is
its head and only heads that are due are attempted, so an object's later events wait for its earlier ones. Heads
are claimed (a token and a lease) before posting, so a second worker does not post them too, and a worker killed
mid-post leaves a lease that runs out: the delivery is posted again (at least once; receivers deduplicate on the
event id). A failed attempt is retried with exponential backoff for `webhook_retry_hours`, then parked; a parked
delivery no longer holds back the object's later events and can be resent by hand.
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import logging
import secrets
import socket
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from django.utils import timezone

from fupin.core.tasks import once_after_commit
from fupin.interop import conf, signing
from fupin.interop.choices import UNFINISHED, DeliveryStatus
from fupin.interop.models import Delivery, Subscription

log = logging.getLogger(__name__)
_WINDOW = 5000
_LEASE = dt.timedelta(minutes=2)


def backoff(attempts: int) -> dt.timedelta:
    """Wait before the next attempt after `attempts` failed ones: 30 s, 1 min, 2 min, … up to an hour."""
    base = conf.get("webhook_backoff_seconds")
    return dt.timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), conf.get("webhook_backoff_max_seconds")))


def pass_waiting(task) -> bool:
    """Whether a run of `task` is queued, due and not yet started (the database task backend): it will read
    everything committed before it starts, so queueing another would only repeat it. Called after the commit."""
    from django_tasks_db.backend import DatabaseBackend
    from django_tasks_db.models import DBTaskResult

    if not isinstance(task.get_backend(), DatabaseBackend):
        return False

    return DBTaskResult.objects.ready().filter(task_path=task.module_path).exists()


def pass_queued_by(task, when: dt.datetime) -> bool:
    """Whether a run of `task` is queued, not yet started, to start at or before `when` (the database task backend):
    it will read what falls due by then, so a pass deferred to `when` would only repeat it. Without this check every
    pass deferred one more pass to the next retry's time, and the passes queued by a burst of changes all lived on,
    each running at every retry's time (a load test with an unreachable receiver: 2,809 passes in three minutes)."""
    from django.db.models import Q
    from django_tasks import TaskResultStatus
    from django_tasks_db.backend import DatabaseBackend
    from django_tasks_db.models import DBTaskResult, get_date_max

    if not isinstance(task.get_backend(), DatabaseBackend):
        return False
    return DBTaskResult.objects.filter(task_path=task.module_path, status=TaskResultStatus.READY).filter(
        Q(run_after__lte=when) | Q(run_after=get_date_max())).exists()


def _enqueue_pass() -> None:
    from fupin.interop.tasks import deliver_webhooks

    try:
        if pass_waiting(deliver_webhooks):  # every recorded visit publishes an event: one pass serves a burst
            return
        deliver_webhooks.enqueue()
    except Exception:  # the outbox keeps the rows: the nightly step and the next change deliver them
        log.exception("could not queue the webhook delivery task")


def schedule() -> None:
    """Queue one delivery pass after the current transaction commits (once per transaction)."""
    once_after_commit(_enqueue_pass, robust=True)


@dataclass
class _Job:
    pk: int
    url: str
    secret: str
    body: bytes
    event_uuid: str
    event_type: str
    attempt: int


@dataclass
class _Outcome:
    ok: bool
    status: int | None
    body: str
    error: str


_pool = threading.local()


class _NoDelayHTTP(http.client.HTTPConnection):
    def connect(self):
        super().connect()
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _NoDelayHTTPS(http.client.HTTPSConnection):
    def connect(self):
        super().connect()
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _connection(url: str, timeout: float) -> tuple[http.client.HTTPConnection, str]:
    """A kept-alive connection per thread and receiver (a new TCP and TLS handshake per event would dominate)."""
    parts = urllib.parse.urlsplit(url)
    key = (parts.scheme, parts.netloc)
    conns = getattr(_pool, "conns", None)
    if conns is None:
        conns = _pool.conns = {}
    conn = conns.get(key)
    if conn is None:
        cls = _NoDelayHTTPS if parts.scheme == "https" else _NoDelayHTTP
        conn = conns[key] = cls(parts.netloc, timeout=timeout)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return conn, path


def _drop_connection(url: str) -> None:
    parts = urllib.parse.urlsplit(url)
    conn = getattr(_pool, "conns", {}).pop((parts.scheme, parts.netloc), None)
    if conn is not None:
        conn.close()


def post(job: _Job, timeout: float) -> _Outcome:
    """One signed POST; never raises. A kept-alive connection that the receiver closed is retried once anew."""
    ts = str(int(time.time()))
    headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "fupin-webhooks/1",
               signing.HEADER_EVENT_ID: job.event_uuid, signing.HEADER_EVENT_TYPE: job.event_type,
               signing.HEADER_TIMESTAMP: ts, signing.HEADER_SIGNATURE: signing.sign(job.secret, ts, job.body),
               signing.HEADER_ATTEMPT: str(job.attempt)}
    if not job.url.startswith(("http://", "https://")):
        return _Outcome(False, None, "", "receiver URL is not http(s)")
    for fresh in (False, True):
        try:
            conn, path = _connection(job.url, timeout)
            conn.request("POST", path, body=job.body, headers=headers)
            resp = conn.getresponse()
            text = resp.read().decode("utf-8", "replace")[:2000]
            if resp.will_close:
                _drop_connection(job.url)
            return _Outcome(200 <= resp.status < 300, resp.status, text, "" if resp.status < 300 else
                            f"HTTP {resp.status}")
        except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError,
                http.client.CannotSendRequest) as e:
            _drop_connection(job.url)
            if fresh:
                return _Outcome(False, None, "", f"{type(e).__name__}: {e}"[:300])
        except Exception as e:  # connection refused, timeout, TLS: all are a failed attempt
            _drop_connection(job.url)
            return _Outcome(False, None, "", f"{type(e).__name__}: {e}"[:300])
    return _Outcome(False, None, "", "unreachable")


def _heads(now: dt.datetime, limit: int) -> list[int]:
    rows = (Delivery.objects.filter(status__in=UNFINISHED).order_by("event_id")
            .values_list("pk", "subscription_id", "ordering_key", "status", "next_attempt_at", "leased_until")
            [:_WINDOW])
    seen: set[tuple[int, str]] = set()
    due = []
    for pk, sub, key, status, next_at, leased in rows:
        k = (sub, key)
        if k in seen:
            continue
        seen.add(k)
        if status == DeliveryStatus.SENDING:
            if leased is None or leased < now:
                due.append(pk)  # a worker died mid-post: post again
        elif next_at is None or next_at <= now:
            due.append(pk)
        if len(due) >= limit:
            break
    return due


def _claim(ids: list[int], now: dt.datetime) -> list[Delivery]:
    token = secrets.token_hex(8)
    Delivery.objects.filter(pk__in=ids, status__in=UNFINISHED).exclude(
        status=DeliveryStatus.SENDING, leased_until__gte=now).update(
        status=DeliveryStatus.SENDING, claim=token, leased_until=now + _LEASE)
    return list(Delivery.objects.filter(claim=token, status=DeliveryStatus.SENDING).select_related("event")
                .only(*_FIELDS, "subscription_id", "event__uuid", "event__event_type", "event__payload"))


def _finish(d: Delivery, out: _Outcome, now: dt.datetime) -> None:
    d.attempts += 1
    d.first_attempt_at = d.first_attempt_at or now
    d.last_attempt_at = now
    d.response_status = out.status
    d.response_body = out.body[:2000]
    d.error = out.error[:300]
    d.claim, d.leased_until = "", None
    if out.ok:
        d.status, d.delivered_at, d.next_attempt_at = DeliveryStatus.DELIVERED, now, None
    elif now - d.first_attempt_at >= dt.timedelta(hours=conf.get("webhook_retry_hours")):
        d.status, d.next_attempt_at = DeliveryStatus.PARKED, None
    else:
        d.status, d.next_attempt_at = DeliveryStatus.RETRYING, now + backoff(d.attempts)


_FIELDS = ["attempts", "first_attempt_at", "last_attempt_at", "response_status", "response_body", "error", "claim",
           "leased_until", "status", "delivered_at", "next_attempt_at"]


def _save(done: list[Delivery]) -> None:
    """Write the outcomes: one UPDATE per distinct outcome (a round's deliveries mostly share theirs), which is far
    cheaper than bulk_update's CASE per row."""
    groups: dict[tuple, list[int]] = {}
    for d in done:
        groups.setdefault(tuple(getattr(d, f) for f in _FIELDS), []).append(d.pk)
    for values, ids in groups.items():
        for i in range(0, len(ids), 900):
            Delivery.objects.filter(pk__in=ids[i:i + 900]).update(**dict(zip(_FIELDS, values, strict=True)))


def deliver_pass(*, now: dt.datetime | None = None, max_rounds: int = 1000, poster=post) -> dict:
    """Post every delivery that is due, round after round, until none is; returns counts."""
    counts = {"delivered": 0, "retrying": 0, "parked": 0}
    timeout = conf.get("webhook_timeout")
    threads = max(1, conf.get("webhook_threads"))
    fixed_now = now
    with ThreadPoolExecutor(max_workers=threads) as pool:
        for _ in range(max_rounds):
            at = fixed_now or timezone.now()
            ids = _heads(at, conf.get("webhook_batch"))
            if not ids:
                break
            claimed = _claim(ids, at)
            if not claimed:
                break
            subs = {s.pk: s for s in Subscription.objects.filter(pk__in={d.subscription_id for d in claimed})}
            jobs = [_Job(d.pk, subs[d.subscription_id].url, subs[d.subscription_id].secret,
                         json.dumps(d.event.payload, ensure_ascii=False, sort_keys=True).encode("utf-8"),
                         str(d.event.uuid), d.event.event_type, d.attempts + 1) for d in claimed]
            outcomes = list(pool.map(lambda j: poster(j, timeout), jobs))
            done_at = fixed_now or timezone.now()
            for d, out in zip(claimed, outcomes, strict=True):
                _finish(d, out, done_at)
                counts[d.status] = counts.get(d.status, 0) + 1
            _save(claimed)
    return counts


def due_later() -> dt.datetime | None:
    """When the next retry falls due (to queue a deferred pass)."""
    return (Delivery.objects.filter(status=DeliveryStatus.RETRYING).order_by("next_attempt_at")
            .values_list("next_attempt_at", flat=True).first())


def prune(*, now: dt.datetime | None = None) -> int:
    """Delete events older than `webhook_keep_days` whose deliveries are all finished (delivered or parked)."""
    from fupin.interop.models import Event

    cutoff = (now or timezone.now()) - dt.timedelta(days=conf.get("webhook_keep_days"))
    old = Event.objects.filter(occurred_at__lt=cutoff).exclude(deliveries__status__in=UNFINISHED)
    ids = list(old.values_list("pk", flat=True)[:100000])
    deleted = 0
    for i in range(0, len(ids), 900):
        deleted += Event.objects.filter(pk__in=ids[i:i + 900]).delete()[1].get("interop.Event", 0)
    return deleted
