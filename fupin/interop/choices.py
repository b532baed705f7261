"""Choices of the interop app (labels in Chinese through gettext)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("waiting")
    SENDING = "sending", _("sending")
    RETRYING = "retrying", _("failed, will retry")
    DELIVERED = "delivered", _("delivered")
    PARKED = "parked", _("given up")


UNFINISHED = (DeliveryStatus.PENDING, DeliveryStatus.SENDING, DeliveryStatus.RETRYING)


class SmsStatus(models.TextChoices):
    QUEUED = "queued", _("queued")
    HELD = "held", _("held for quiet hours")
    SENDING = "sending", _("sending")
    RETRYING = "retrying", _("failed, will retry")
    SENT = "sent", _("accepted by the gateway")
    DELIVERED = "delivered", _("delivered to the phone")
    FAILED = "failed", _("failed")
    LIMITED = "limited", _("not sent: daily limit reached")


SMS_WAITING = (SmsStatus.QUEUED, SmsStatus.HELD, SmsStatus.SENDING, SmsStatus.RETRYING)


class SubmissionStatus(models.TextChoices):
    DRAFT = "draft", _("draft")
    REVIEWED = "reviewed", _("reviewed")
    SUBMITTED = "submitted", _("submitted")
