"""Sending text messages for red lights. A county plugs in its SMS gateway by subclassing SmsSender and naming the
class in settings.FUPIN_ASSISTANCE["sms_sender"]. Without that setting the sender an installed gateway app offers
(`use_default_sender`: the interop app's logged, queued gateway adapter) is used, else the log-only sender.
"""

from __future__ import annotations

import logging
from functools import lru_cache

from django.utils.module_loading import import_string

from fupin.assistance import conf

log = logging.getLogger("fupin.assistance.sms")


class SmsSender:
    """The interface: send one message to one phone number. Implementations must not raise for a bad number.

    Keywords beyond phone and text (purpose, params for the gateway's template, area_code, recipient, dedupe_key)
    are passed to senders that take them."""

    def send(self, *, phone: str, text: str, **extra) -> bool:
        raise NotImplementedError


class LoggingSmsSender(SmsSender):
    """Writes each message to the log instead of sending it (the default: no gateway is assumed)."""

    def send(self, *, phone: str, text: str, **extra) -> bool:
        log.info("SMS to %s: %s", phone, text)
        return True


class MemorySmsSender(SmsSender):
    """Keeps messages in a list; for tests and demonstrations."""

    outbox: list[tuple[str, str]] = []

    def send(self, *, phone: str, text: str, **extra) -> bool:
        type(self).outbox.append((phone, text))
        return True


@lru_cache(maxsize=4)
def _sender_for(path: str) -> SmsSender:
    return import_string(path)()


_default_path: str | None = None


def use_default_sender(path: str) -> None:
    """Offer a sender for counties that name none in settings (called by a gateway app's hooks)."""
    global _default_path
    _default_path = path


def get_sender() -> SmsSender:
    from django.conf import settings

    configured = getattr(settings, "FUPIN_ASSISTANCE", {}).get("sms_sender")
    return _sender_for(configured or _default_path or conf.get("sms_sender"))


def send_sms(*, phone: str, text: str, **extra) -> bool:
    """Send through the configured sender; a failing gateway is logged, never raised into the caller."""
    if not phone:
        return False
    try:
        return bool(get_sender().send(phone=phone, text=text, **extra))
    except Exception:
        log.exception("SMS to %s failed", phone)
        return False
