"""Reads of the interop app, always restricted to the reader's jurisdiction."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from fupin.interop.choices import DeliveryStatus, SmsStatus
from fupin.interop.models import Delivery, FeedbackImport, SmsMessage, Submission, Subscription


def subscriptions_for(user) -> QuerySet:
    return Subscription.objects.restrict(user).annotate(
        failing=Count("deliveries", filter=Q(deliveries__status__in=[DeliveryStatus.RETRYING,
                                                                     DeliveryStatus.PARKED])),
        waiting=Count("deliveries", filter=Q(deliveries__status__in=[DeliveryStatus.PENDING,
                                                                     DeliveryStatus.SENDING])))


def deliveries_for(user, subscription: Subscription, status: str = "") -> QuerySet:
    qs = Delivery.objects.restrict(user).filter(subscription=subscription).select_related("event")
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-event_id")


def sms_for(user, status: str = "") -> QuerySet:
    qs = SmsMessage.objects.restrict(user)
    if status in SmsStatus.values:
        qs = qs.filter(status=status)
    return qs.order_by("-id")


def submissions_for(user) -> QuerySet:
    return Submission.objects.restrict(user).select_related("created_by", "reviewed_by", "submitted_by")


def feedback_for(user) -> QuerySet:
    return FeedbackImport.objects.restrict(user).select_related("created_by")
