"""What the interop app registers at start-up: its webhook event types, the change listeners (webhook outbox, text messages for escalated
work orders), the assistance app's SMS sender, stats keys and nightly steps."""

from __future__ import annotations

from fupin.core import extensions as ext
from fupin.core.nightly import nightly_step
from fupin.core.stats import stats_provider
from fupin.interop import events, notify


def _register() -> None:
    from fupin.assistance.sms import use_default_sender

    for event_type in events.BUILT_IN:
        ext.register(event_type)
    ext.register(ext.ChangeListener(fn=events.on_changes, order=10))
    ext.register(ext.ChangeListener(fn=notify.on_changes, order=20))
    use_default_sender("fupin.interop.sms.OutboxSmsSender")


_register()


@stats_provider(order=95)
def _interop_stats() -> dict:
    from fupin.interop.choices import DeliveryStatus, SmsStatus
    from fupin.interop.models import Delivery, SmsMessage, Subscription

    return {
        "webhook_subscriptions": Subscription.objects.filter(is_active=True).count(),
        "webhook_deliveries_failed": Delivery.objects.filter(status__in=[DeliveryStatus.RETRYING,
                                                                           DeliveryStatus.PARKED]).count(),
        "sms_sent": SmsMessage.objects.filter(status__in=[SmsStatus.SENT, SmsStatus.DELIVERED]).count(),
    }


@nightly_step("interop.deliver", order=95)
def _deliver() -> dict:
    """Deliver what a lost worker left in the outbox, send held text messages, prune old delivered events."""
    from fupin.interop import delivery, sms

    return {"webhooks": delivery.deliver_pass(), "pruned": delivery.prune(), "sms": sms.send_pass()}
