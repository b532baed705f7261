"""Settings of the assistance app, read from `settings.FUPIN_ASSISTANCE` (a dict) with these defaults.

    FUPIN_ASSISTANCE = {
        "lights": {"yellow_from_days": 20, "red_from_days": 31, "finding_days": 15},  # defaults of LightRules
        "exited_statuses": ["1", "4"],   # 脱贫状态 codes that count as exited (不脱贫不脱钩 no longer binds)
        "sms_sender": "fupin.assistance.sms.LoggingSmsSender",
    }

The thresholds themselves live in the LightRules row, which the county edits on the settings page; the dict only
gives the values that row starts with.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings

SHANGHAI = ZoneInfo("Asia/Shanghai")
DEFAULTS: dict[str, Any] = {
    "lights": {},
    "exited_statuses": ["1", "4"],
    "sms_sender": "fupin.assistance.sms.LoggingSmsSender",
}


def get(name: str) -> Any:
    return getattr(settings, "FUPIN_ASSISTANCE", {}).get(name, DEFAULTS[name])


def exited_statuses() -> tuple[str, ...]:
    return tuple(get("exited_statuses"))


def local_today() -> dt.date:
    """Today's calendar date in Asia/Shanghai, whatever the server's zone."""
    return dt.datetime.now(SHANGHAI).date()
