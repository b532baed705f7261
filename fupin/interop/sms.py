"""Text messages through the county's SMS gateway: queued in the writing transaction, sent by the worker.

`queue_sms` writes one `SmsMessage` (the log) and schedules a send pass after the commit. A message beyond the
phone's daily limit is logged as not sent; one queued in quiet hours waits for the morning. The pass sends what is
due through the gateway named in settings (`FUPIN_INTEROP["sms"]["gateway"]`): "log" writes the message to the log
(no gateway assumed), "http" speaks a configurable HTTP API (URL, credentials, template id, parameters; see
docs/interop.md for the request shapes of the common providers). A failed attempt is retried with a doubling wait
up to `max_attempts`, then marked failed; the gateway's delivery report (`sms_receipt`) marks a message delivered.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import re
import secrets
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from fupin.core.tasks import once_after_commit
from fupin.interop import conf
from fupin.interop.choices import SMS_WAITING, SmsStatus
from fupin.interop.models import SmsMessage

log = logging.getLogger("fupin.interop.sms")
SHANGHAI = ZoneInfo("Asia/Shanghai")
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_LEASE = dt.timedelta(minutes=2)


def normalise_phone(raw: str) -> str | None:
    """A mainland mobile number as 11 digits (spaces, dashes, +86/0086 removed); None if it is not one."""
    text = re.sub(r"[\s\-()()]", "", str(raw or "")).translate(str.maketrans("０１２３４５６７８９", "0123456789"))
    for prefix in ("+86", "0086", "86"):
        if text.startswith(prefix) and len(text) == len(prefix) + 11:
            text = text[len(prefix):]
    return text if _MOBILE.match(text) else None


def mask_phone(phone: str) -> str:
    return f"{phone[:3]}****{phone[-4:]}" if len(phone) >= 7 else "****"


def _parse_hm(text: str) -> dt.time:
    h, m = text.split(":")
    return dt.time(int(h), int(m))


def quiet_until(at: dt.datetime) -> dt.datetime | None:
    """If `at` falls in the quiet hours, the moment they end (aware); else None."""
    hours = conf.sms().get("quiet_hours") or []
    if len(hours) != 2:
        return None
    start, end = _parse_hm(hours[0]), _parse_hm(hours[1])
    local = at.astimezone(SHANGHAI)
    t = local.time()
    inside = (start <= t or t < end) if start > end else (start <= t < end)
    if not inside:
        return None
    day = local.date() if t < end else local.date() + dt.timedelta(days=1)
    return dt.datetime.combine(day, end, tzinfo=SHANGHAI)


def _enqueue_pass() -> None:
    from fupin.interop.delivery import pass_waiting
    from fupin.interop.tasks import send_text_messages

    try:
        if pass_waiting(send_text_messages):
            return
        send_text_messages.enqueue()
    except Exception:
        log.exception("could not queue the SMS task")


def _schedule() -> None:
    once_after_commit(_enqueue_pass, robust=True)


def render_text(purpose: str, params: dict) -> str:
    if purpose == "test":
        return str(params.get("text", ""))
    return "".join(str(v) for v in params.values())


@transaction.atomic
def queue_sms(*, phone: str, purpose: str, params: dict, text: str = "", area_code: str = "", recipient: str = "",
              dedupe_key: str | None = None, now: dt.datetime | None = None) -> SmsMessage | None:
    """Log one message for the gateway; returns None for a number that is not a mobile number (logged) or a
    message already queued under the same dedupe key."""
    number = normalise_phone(phone)
    if number is None:
        log.warning("SMS not queued: %r is not a mobile number (%s)", phone, purpose)
        return None
    at = now or timezone.now()
    day = at.astimezone(SHANGHAI).date()
    if dedupe_key and SmsMessage.objects.filter(dedupe_key=dedupe_key).exists():
        return None
    limit = int(conf.sms().get("daily_limit") or 0)
    sent_today = SmsMessage.objects.filter(phone=number, local_day=day).exclude(status=SmsStatus.LIMITED).count()
    held = quiet_until(at)
    if limit and sent_today >= limit:
        status, next_at = SmsStatus.LIMITED, None
    elif held is not None:
        status, next_at = SmsStatus.HELD, held
    else:
        status, next_at = SmsStatus.QUEUED, at
    try:
        with transaction.atomic():
            msg = SmsMessage.objects.create(
                phone=number, recipient=recipient[:60], purpose=purpose[:30], params=params,
                text=(text or render_text(purpose, params))[:500], area_code=area_code[:15], dedupe_key=dedupe_key,
                local_day=day, status=status, next_attempt_at=next_at)
    except IntegrityError:  # the same dedupe key queued concurrently
        return None
    if status != SmsStatus.LIMITED:
        _schedule()
    return msg


# -- gateways -----------------------------------------------------------------------------------------------------

@dataclass
class Result:
    ok: bool
    provider_id: str = ""
    response: str = ""
    error: str = ""
    retry: bool = True  # False: the gateway refused the message itself (bad number, template): do not retry


class LogGateway:
    """No gateway: each message goes to the log and counts as sent."""

    def send(self, msg: SmsMessage, cfg: dict) -> Result:
        log.info("SMS to %s: %s", mask_phone(msg.phone), msg.text)
        return Result(True, provider_id=f"log-{msg.pk}", response="logged")


def _fill(value, values: dict):
    if isinstance(value, str):
        m = re.fullmatch(r"\{(\w+)\}", value)
        if m and m.group(1) in values:
            return values[m.group(1)]
        return re.sub(r"\{(\w+)\}", lambda x: str(values.get(x.group(1), x.group(0))), value)
    if isinstance(value, dict):
        return {k: _fill(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, values) for v in value]
    return value


def _field(data, path: str):
    for part in path.split("."):
        if isinstance(data, list):
            data = data[int(part)] if part.isdigit() and int(part) < len(data) else None
        elif isinstance(data, dict):
            data = data.get(part)
        else:
            return None
    return data


class HttpGateway:
    """A configurable HTTP API: the body is the configured template filled with the message's values."""

    def request(self, msg: SmsMessage, cfg: dict) -> urllib.request.Request:
        template = cfg["templates"].get(msg.purpose, {})
        order = template.get("params") or list(msg.params)
        values = {**{k: str(v) for k, v in msg.params.items()}, "phone": msg.phone, "text": msg.text,
                  "template_id": template.get("id", ""), "sign_name": cfg.get("sign_name", ""),
                  "message_id": str(msg.uuid),
                  "params_json": json.dumps({k: str(msg.params.get(k, "")) for k in order}, ensure_ascii=False),
                  "params_list": json.dumps([str(msg.params.get(k, "")) for k in order], ensure_ascii=False)}
        body = _fill(cfg["body"], values)
        headers = {k: str(_fill(v, values)) for k, v in (cfg.get("headers") or {}).items()}
        if cfg.get("format") == "form":
            data = urllib.parse.urlencode({k: v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)
                                           for k, v in body.items()}).encode()
            headers.setdefault("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
        else:
            data = json.dumps(body, ensure_ascii=False).encode("utf-8")
            headers.setdefault("Content-Type", "application/json; charset=utf-8")
        if cfg.get("basic_auth"):
            user, password = cfg["basic_auth"]
            headers["Authorization"] = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        return urllib.request.Request(cfg["url"], data=data, headers=headers, method=cfg.get("method", "POST"))  # noqa: S310

    def send(self, msg: SmsMessage, cfg: dict) -> Result:
        if not str(cfg.get("url", "")).startswith(("http://", "https://")):
            return Result(False, error="SMS gateway URL is not configured", retry=False)
        try:
            with urllib.request.urlopen(self.request(msg, cfg), timeout=cfg.get("timeout", 10)) as resp:  # noqa: S310
                text = resp.read(4000).decode("utf-8", "replace")
                status = resp.status
        except urllib.error.HTTPError as e:
            text = e.read(2000).decode("utf-8", "replace")
            return Result(False, response=text, error=f"HTTP {e.code}", retry=e.code >= 500 or e.code == 429)
        except Exception as e:
            return Result(False, error=f"{type(e).__name__}: {e}"[:300])
        try:
            answer = json.loads(text) if text else {}
        except ValueError:
            answer = {}
        if not 200 <= status < 300:
            return Result(False, response=text, error=f"HTTP {status}")
        field = cfg.get("success_field")
        if field and str(_field(answer, field)) != str(cfg.get("success_value")):
            return Result(False, response=text, error=f"gateway refused: {_field(answer, field)}"[:300], retry=False)
        pid = _field(answer, cfg["message_id_field"]) if cfg.get("message_id_field") else ""
        return Result(True, provider_id=str(pid or ""), response=text[:2000])


GATEWAYS = {"log": LogGateway, "http": HttpGateway}


def gateway(cfg: dict):
    return GATEWAYS.get(cfg.get("gateway", "log"), LogGateway)()


# -- sending ------------------------------------------------------------------------------------------------------

def send_pass(*, now: dt.datetime | None = None, limit: int = 500) -> dict:
    """Send every message that is due (none in quiet hours); returns counts by outcome."""
    cfg = conf.sms()
    gw = gateway(cfg)
    counts: dict[str, int] = {}
    at = now or timezone.now()
    if quiet_until(at) is not None:
        return counts
    while True:
        due = list(SmsMessage.objects.filter(
            Q(status__in=[SmsStatus.QUEUED, SmsStatus.HELD, SmsStatus.RETRYING], next_attempt_at__lte=at)
            | Q(status=SmsStatus.SENDING, next_attempt_at__lt=at - _LEASE))
            .order_by("id").values_list("pk", flat=True)[:limit])
        if not due:
            break
        token = secrets.token_hex(8)
        # claimed with a token (a second worker's rows are not ours); next_attempt_at is when the claim started, so a
        # worker killed mid-send leaves a claim that expires after _LEASE
        SmsMessage.objects.filter(pk__in=due).update(status=SmsStatus.SENDING, next_attempt_at=at, claim=token)
        for msg in SmsMessage.objects.filter(pk__in=due, status=SmsStatus.SENDING, claim=token).order_by("id"):
            res = gw.send(msg, cfg)
            msg.attempts += 1
            msg.response, msg.error = res.response[:2000], res.error[:300]
            if res.ok:
                msg.status, msg.provider_id, msg.sent_at, msg.next_attempt_at = SmsStatus.SENT, res.provider_id, \
                    timezone.now(), None
            elif not res.retry or msg.attempts >= int(cfg.get("max_attempts", 5)):
                msg.status, msg.next_attempt_at = SmsStatus.FAILED, None
            else:
                wait = int(cfg.get("retry_seconds", 60)) * 2 ** (msg.attempts - 1)
                msg.status, msg.next_attempt_at = SmsStatus.RETRYING, at + dt.timedelta(seconds=wait)
            msg.claim = ""
            msg.save(update_fields=["attempts", "response", "error", "status", "provider_id", "sent_at",
                                    "next_attempt_at", "claim"])
            counts[msg.status] = counts.get(msg.status, 0) + 1
        if now is not None:  # a fixed clock (tests): one round
            break
    return counts


def due_later() -> dt.datetime | None:
    return (SmsMessage.objects.filter(status__in=SMS_WAITING).exclude(status=SmsStatus.SENDING)
            .order_by("next_attempt_at").values_list("next_attempt_at", flat=True).first())


@transaction.atomic
def sms_receipt(*, provider_id: str, delivered: bool, detail: str = "") -> int:
    """The gateway's delivery report: the message reached the phone (or finally failed). Returns rows updated."""
    if not provider_id:
        return 0
    qs = SmsMessage.objects.filter(provider_id=provider_id, status__in=[SmsStatus.SENT, SmsStatus.DELIVERED])
    if delivered:
        return qs.update(status=SmsStatus.DELIVERED, delivered_at=timezone.now())
    return qs.update(status=SmsStatus.FAILED, error=f"delivery report: {detail}"[:300])


class OutboxSmsSender:
    """The assistance app's SmsSender through this gateway: every message is logged and sent by the worker."""

    def send(self, *, phone: str, text: str, purpose: str = "notice", params: dict | None = None,
             area_code: str = "", recipient: str = "", dedupe_key: str | None = None) -> bool:
        return queue_sms(phone=phone, purpose=purpose, params=params or {"text": text}, text=text,
                         area_code=area_code, recipient=recipient, dedupe_key=dedupe_key) is not None
