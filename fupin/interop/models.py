"""Connections to other systems: webhook subscriptions with their outbox (events and deliveries), the SMS message
log, the national system's dynamic-adjustment submissions and suspect-data feedback imports."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from fupin.core.models import BaseModel
from fupin.core.scoping import ScopedQuerySet
from fupin.interop.choices import DeliveryStatus, SmsStatus, SubmissionStatus

USER = settings.AUTH_USER_MODEL


class Subscription(BaseModel):
    """A webhook subscription: another system's URL that hears the chosen event types of one jurisdiction."""

    scope_field = "area_prefix"

    name = models.CharField(_("name"), max_length=100)
    url = models.URLField(_("receiver URL"), max_length=500)
    secret = models.CharField(_("signing secret"), max_length=128)
    event_types = models.JSONField(_("event types"), default=list)
    area_prefix = models.CharField(_("jurisdiction"), max_length=15, db_index=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("webhook subscription")
        verbose_name_plural = _("webhook subscriptions")
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return f"/interop/webhooks/{self.uuid}/"


class Event(models.Model):
    """One change another system may hear about (the outbox), written in the same transaction as the change.

    The primary key orders events; `uuid` is the event id receivers deduplicate on.
    """

    scope_field = "area_code"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    event_type = models.CharField(_("event type"), max_length=60, db_index=True)
    object_type = models.CharField(max_length=60)
    object_id = models.CharField(max_length=64)
    area_code = models.CharField(max_length=15, db_index=True)
    occurred_at = models.DateTimeField(_("time"))
    payload = models.JSONField(default=dict)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("event")
        verbose_name_plural = _("events")
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.event_type} {self.object_type}:{self.object_id}"


class Delivery(models.Model):
    """One event to one subscription: attempted by the background worker until delivered or given up (parked)."""

    scope_field = "area_code"

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    # deliveries of one object to one subscription go out in event order: the key groups them
    ordering_key = models.CharField(max_length=100)
    area_code = models.CharField(max_length=15)
    status = models.CharField(_("status"), max_length=10, choices=DeliveryStatus.choices,
                              default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    first_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(_("last attempt"), null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claim = models.CharField(max_length=32, blank=True)
    leased_until = models.DateTimeField(null=True, blank=True)
    response_status = models.PositiveIntegerField(_("response status"), null=True, blank=True)
    response_body = models.TextField(_("response"), blank=True)
    error = models.CharField(_("error"), max_length=300, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        ordering = ["-event_id"]
        constraints = [models.UniqueConstraint(fields=["subscription", "event"], name="interop_delivery_once")]
        indexes = [models.Index(fields=["status", "event"], name="interop_delivery_due"),
                   models.Index(fields=["subscription", "ordering_key", "event"], name="interop_delivery_order")]

    def __str__(self) -> str:
        return f"{self.subscription_id}→{self.event_id} {self.status}"


class SmsMessage(models.Model):
    """One text message to one phone: queued in the writing transaction, sent by the background worker."""

    scope_field = "area_code"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    phone = models.CharField(_("phone"), max_length=20)
    recipient = models.CharField(_("recipient"), max_length=60, blank=True)
    purpose = models.CharField(_("purpose"), max_length=30)
    params = models.JSONField(default=dict)
    text = models.TextField(_("text"))
    area_code = models.CharField(max_length=15, blank=True, db_index=True)
    dedupe_key = models.CharField(max_length=120, null=True, blank=True, unique=True)
    local_day = models.DateField()
    status = models.CharField(_("status"), max_length=10, choices=SmsStatus.choices, default=SmsStatus.QUEUED,
                              db_index=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claim = models.CharField(max_length=32, blank=True)
    provider_id = models.CharField(_("gateway message id"), max_length=100, blank=True, db_index=True)
    response = models.TextField(_("response"), blank=True)
    error = models.CharField(_("error"), max_length=300, blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("text message")
        verbose_name_plural = _("text messages")
        ordering = ["-id"]
        indexes = [models.Index(fields=["phone", "local_day"], name="interop_sms_daily")]

    def __str__(self) -> str:
        return f"{self.purpose} {self.phone[:3]}****{self.phone[-4:]}"


class Submission(BaseModel):
    """A yearly dynamic adjustment (动态调整) for the national system: the year's changes in one reviewed batch."""

    scope_field = "area_prefix"

    year = models.PositiveIntegerField(_("year"))
    area_prefix = models.CharField(_("jurisdiction"), max_length=15, db_index=True)
    status = models.CharField(_("status"), max_length=10, choices=SubmissionStatus.choices,
                              default=SubmissionStatus.DRAFT)
    snapshot = models.JSONField(default=dict)  # 户编号 → the household's national fields and members
    diff = models.JSONField(default=dict)  # the changes against the last submitted snapshot, by kind
    counts = models.JSONField(default=dict)
    based_on = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    note = models.TextField(_("note"), blank=True)
    created_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    reviewed_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    reviewed_at = models.DateTimeField(null=True, blank=True)
    submitted_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    submitted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("dynamic adjustment")
        verbose_name_plural = _("dynamic adjustments")
        ordering = ["-year", "-id"]

    def __str__(self) -> str:
        return _("%(year)s dynamic adjustment") % {"year": self.year}

    def get_absolute_url(self) -> str:
        return f"/interop/national/adjustments/{self.uuid}/"


class FeedbackImport(BaseModel):
    """One file of the national system's suspect data (疑点数据) received as findings."""

    scope_field = "area_prefix"

    file_name = models.CharField(_("file"), max_length=200)
    sha256 = models.CharField(max_length=64)
    area_prefix = models.CharField(max_length=15, db_index=True)
    rows = models.PositiveIntegerField(_("rows"), default=0)
    opened = models.PositiveIntegerField(_("findings opened"), default=0)
    already = models.PositiveIntegerField(_("already received"), default=0)
    created_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("suspect-data feedback")
        verbose_name_plural = _("suspect-data feedback")
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.file_name
