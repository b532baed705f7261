"""Demo data of the interop app: two webhook subscriptions (the rural grid platform 四务通 and the county's data
centre, receiving at the local test port) and a text-message log of the red-light warnings sent today.

`seed_interop(rng=..., scale=..., batch=...)` runs after the assistance app has computed the lights; it writes rows
directly (a few dozen, stamped with the batch) rather than through services: the caller records the batch's one
audit event.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from fupin.interop import signing
from fupin.interop.choices import SmsStatus
from fupin.interop.models import SmsMessage, Subscription
from fupin.interop.sms import SHANGHAI, normalise_phone

RECEIVER = "http://127.0.0.1:8019/"


def seed_interop(*, rng, scale: float, batch) -> dict:
    from fupin.assistance.models import HouseholdLight
    from fupin.assistance.tracking import warning_parts, warning_text
    from fupin.geo.models import Division

    county = Division.objects.filter(level="county").order_by("code").first()
    prefix = county.code[:6] if county else ""
    subs = [
        Subscription.objects.create(
            name="四务通农村网格平台", url=RECEIVER + "siwutong", secret=signing.new_secret(), area_prefix=prefix,
            event_types=["household.created", "household.changed", "household.exited", "visit.recorded",
                         "minqing.filed", "minqing.answered", "work_order.state_changed"], batch=batch),
        Subscription.objects.create(
            name="县大数据中心", url=RECEIVER + "data-centre", secret=signing.new_secret(), area_prefix=prefix,
            event_types=["light.changed", "finding.opened", "finding.closed"], batch=batch),
    ]
    now = timezone.now()
    day = now.astimezone(SHANGHAI).date()
    lights = list(HouseholdLight.objects.filter(colour="red", cadre__isnull=False)
                  .exclude(cadre__phone="").select_related("household__village", "cadre", "unit")
                  .order_by("household_id")[:max(5, int(60 * scale))])
    messages, seen = [], set()
    for i, lt in enumerate(lights):
        phone = normalise_phone(lt.cadre.phone)
        if phone is None or phone in seen:
            continue
        seen.add(phone)
        parts = warning_parts(lt)
        sent = now - dt.timedelta(minutes=rng.randint(5, 600))
        delivered = rng.random() < 0.8
        messages.append(SmsMessage(
            phone=phone, recipient=lt.cadre.name, purpose="red_light", area_code=lt.area_code, local_day=day,
            params={k: parts[k] for k in ("cadre", "household", "problems")}, text=warning_text(lt)[2],
            status=SmsStatus.DELIVERED if delivered else SmsStatus.SENT, attempts=1, provider_id=f"demo-{i + 1}",
            response="logged", sent_at=sent, delivered_at=sent + dt.timedelta(seconds=20) if delivered else None,
            dedupe_key=f"assistance.red.{lt.household_id}.{day:%Y%m%d}.{phone}"))
    SmsMessage.objects.bulk_create(messages)
    return {"subscriptions": len(subs), "sms": len(messages)}
