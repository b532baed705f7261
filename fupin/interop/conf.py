"""Settings of the interop app, read from `settings.FUPIN_INTEROP` (a dict) over these defaults.

    FUPIN_INTEROP = {
        "webhook_retry_hours": 24,        # retried with exponential backoff this long, then parked
        "webhook_backoff_seconds": 30,    # first retry after this, doubling each time ...
        "webhook_backoff_max_seconds": 3600,  # ... up to this
        "webhook_timeout": 10,            # seconds per HTTP attempt
        "webhook_threads": 8,             # parallel requests (deliveries of different objects)
        "webhook_keep_days": 30,          # delivered events are pruned after this many days (nightly)
        "sms": {...},                     # the SMS gateway: see docs/interop.md and SMS_DEFAULTS below
    }
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    "webhook_retry_hours": 24,
    "webhook_backoff_seconds": 30,
    "webhook_backoff_max_seconds": 3600,
    "webhook_timeout": 10,
    "webhook_threads": 8,
    "webhook_batch": 1000,
    "webhook_keep_days": 30,
}

# The SMS gateway. "gateway": "log" keeps every message in the log only (no gateway assumed); "http" speaks the
# configured HTTP API. Body values are templates: {phone}, {text}, {template_id}, {params_json}, {params_list} (a
# JSON list in the template's parameter order), {sign_name}, {message_id}, and any {param} of the message.
SMS_DEFAULTS: dict[str, Any] = {
    "gateway": "log",
    "url": "",
    "method": "POST",
    "format": "json",  # json | form
    "headers": {},
    "basic_auth": None,  # ["user", "password"]
    "sign_name": "",
    "body": {"phone": "{phone}", "template_id": "{template_id}", "params": "{params_json}", "text": "{text}",
             "sign_name": "{sign_name}", "message_id": "{message_id}"},
    # what the gateway answers on success: a field of its JSON answer and the value meaning "accepted"
    "success_field": "",
    "success_value": "",
    "message_id_field": "",
    # template id and parameter order per purpose (the gateway approves templates in advance)
    "templates": {
        "red_light": {"id": "", "params": ["cadre", "household", "problems"]},
        "work_order_overdue": {"id": "", "params": ["order", "title", "deadline"]},
        "work_order_escalated": {"id": "", "params": ["order", "title", "level"]},
        "test": {"id": "", "params": ["text"]},
    },
    "daily_limit": 5,  # messages per phone number per day (Asia/Shanghai); more are logged as not sent
    "quiet_hours": ["22:00", "07:30"],  # none sent in between: they wait for the morning ([] to turn off)
    "max_attempts": 5,
    "retry_seconds": 60,  # doubling each attempt
    "timeout": 10,
    "receipt_token": "",  # the gateway's delivery-status callback must carry ?token=<this>
}


def get(name: str) -> Any:
    return getattr(settings, "FUPIN_INTEROP", {}).get(name, DEFAULTS[name])


def sms() -> dict[str, Any]:
    configured = getattr(settings, "FUPIN_INTEROP", {}).get("sms", {})
    out = {**SMS_DEFAULTS, **configured}
    out["templates"] = {**SMS_DEFAULTS["templates"], **configured.get("templates", {})}
    return out
