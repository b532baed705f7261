"""Signing webhook deliveries: HMAC-SHA256 over "<timestamp>.<body>" with the subscription's secret.

A receiver checks it like this (Python)::

    expected = "sha256=" + hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    ok = hmac.compare_digest(expected, signature) and abs(time.time() - int(timestamp)) <= 300
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

HEADER_EVENT_ID = "X-Fupin-Event-Id"
HEADER_EVENT_TYPE = "X-Fupin-Event-Type"
HEADER_TIMESTAMP = "X-Fupin-Timestamp"
HEADER_SIGNATURE = "X-Fupin-Signature"
HEADER_ATTEMPT = "X-Fupin-Delivery-Attempt"
TOLERANCE_SECONDS = 300


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str, *, now: float | None = None,
           tolerance: int = TOLERANCE_SECONDS) -> bool:
    """What a receiver does: the signature matches and the timestamp is recent (against replay)."""
    try:
        age = abs((now if now is not None else time.time()) - int(timestamp))
    except (TypeError, ValueError):
        return False
    return age <= tolerance and hmac.compare_digest(sign(secret, timestamp, body), signature or "")
