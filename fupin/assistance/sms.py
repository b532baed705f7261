"""Sending text messages for red lights. A county plugs in its SMS gateway by subclassing SmsSender and naming the
class in settings.FUPIN_ASSISTANCE["sms_sender"]; the default only writes the message to the log.
"""

from __future__ import annotations

import logging
from functools import lru_cache

from django.utils.module_loading import import_string

from fupin.assistance import conf

log = logging.getLogger("fupin.assistance.sms")


class SmsSender:
    """The interface: send one message to one phone number. Implementations must not raise for a bad number."""

    def send(self, *, phone: str, text: str) -> bool:
        raise NotImplementedError


class LoggingSmsSender(SmsSender):
    """Writes each message to the log instead of sending it (the default: no gateway is assumed)."""

    def send(self, *, phone: str, text: str) -> bool:
        log.info("SMS to %s: %s", phone, text)
        return True


class MemorySmsSender(SmsSender):
    """Keeps messages in a list; for tests and demonstrations."""

    outbox: list[tuple[str, str]] = []

    def send(self, *, phone: str, text: str) -> bool:
        type(self).outbox.append((phone, text))
        return True


@lru_cache(maxsize=4)
def _sender_for(path: str) -> SmsSender:
    return import_string(path)()


def get_sender() -> SmsSender:
    return _sender_for(conf.get("sms_sender"))


def send_sms(*, phone: str, text: str) -> bool:
    """Send through the configured sender; a failing gateway is logged, never raised into the caller."""
    if not phone:
        return False
    try:
        return bool(get_sender().send(phone=phone, text=text))
    except Exception:
        log.exception("SMS to %s failed", phone)
        return False
