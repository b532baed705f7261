"""民情 (public opinion): reports, their classification, answers, and the work orders they lead to."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fupin.core import audit, scoping
from fupin.core.errors import ServiceError
from fupin.dispatch.choices import (
    AnswerWay,
    Category,
    Channel,
    ReportStatus,
    Urgency,
)
from fupin.dispatch.models import (
    MinqingReport,
    WorkOrder,
)
from fupin.dispatch.services.base import _actor_user, _now, _place, _text
from fupin.dispatch.services.orders import work_order_from_need

# 民情 (public opinion) -------------------------------------------------------------------------------------------


@transaction.atomic
def minqing_report_create(*, actor, channel: str, category: str, content: str, household=None, village=None,
                          grid=None, urgency: str = Urgency.NORMAL, place: str = "", reporter_name: str = "",
                          reporter_phone: str = "", reported_at: dt.datetime | None = None,
                          now: dt.datetime | None = None) -> MinqingReport:
    """Record what a household, a grid worker, a village team or a hotline caller reported."""
    at = _now(now)
    content = _text(content)
    if not content:
        raise ServiceError(_("Write what was reported"))
    if channel not in Channel.values:
        raise ServiceError(_("Invalid channel"))
    if category not in Category.values:
        raise ServiceError(_("Invalid public-opinion category"))
    if urgency not in Urgency.values:
        raise ServiceError(_("Invalid urgency"))
    village, area_code = _place(household=household, grid=grid, village=village, what="民情")
    user = _actor_user(actor)
    scoping.require(user, area_code, None, message=_("The place is outside your jurisdiction"))
    if channel == Channel.HOTLINE and not (_text(reporter_name) or _text(reporter_phone)):
        raise ServiceError(_("For a hotline call, give the caller's name or phone"))
    reported_at = reported_at or at
    if reported_at > at + dt.timedelta(minutes=5):
        raise ServiceError(_("The time reported cannot be later than now"))
    report = MinqingReport.objects.create(
        channel=channel, category=category, urgency=urgency, village=village, area_code=area_code,
        household=household, place=_text(place)[:200] or village.name, reporter_name=_text(reporter_name)[:50],
        reporter_phone=_text(reporter_phone)[:30], content=content, reported_at=reported_at,
        recorded_by=user)
    report.number = f"MQ{timezone.localtime(reported_at):%Y%m%d}{report.pk:05d}"
    report.save(update_fields=["number"])
    audit.record(actor=actor, action="dispatch.minqingreport.create", obj=report, after=audit.snapshot(report))
    return report


def _check_report_scope(actor, report: MinqingReport) -> None:
    scoping.require(_actor_user(actor), report.area_code, "edit", message=_("This public-opinion report is outside your jurisdiction"))


@transaction.atomic
def minqing_classify(*, actor, report: MinqingReport, category: str, urgency: str | None = None,
                     analysis: str = "") -> MinqingReport:
    """Sort a report at the analysis meeting: its category, urgency and the meeting's analysis."""
    _check_report_scope(actor, report)
    if category not in Category.values:
        raise ServiceError(_("Invalid public-opinion category"))
    if urgency is not None and urgency not in Urgency.values:
        raise ServiceError(_("Invalid urgency"))
    before = audit.snapshot(report)
    report.category = category
    if urgency:
        report.urgency = urgency
    if _text(analysis):
        report.analysis = _text(analysis)
    report.version += 1
    report.save()
    audit.record(actor=actor, action="dispatch.minqingreport.classify", obj=report, before=before,
                 after=audit.snapshot(report))
    return report


@transaction.atomic
def minqing_answer(*, actor, report: MinqingReport, answer: str, way: str, now: dt.datetime | None = None
                   ) -> MinqingReport:
    """Record the answer given back to the household (every report gets one)."""
    _check_report_scope(actor, report)
    answer = _text(answer)
    if not answer:
        raise ServiceError(_("Write the reply"))
    if way not in AnswerWay.values:
        raise ServiceError(_("Choose how the reply was given"))
    before = audit.snapshot(report)
    report.answer = answer
    report.answer_way = way
    report.answered_at = _now(now)
    report.answered_by = _actor_user(actor)
    report.status = ReportStatus.ANSWERED
    report.version += 1
    report.save()
    audit.record(actor=actor, action="dispatch.minqingreport.answer", obj=report, before=before,
                 after=audit.snapshot(report))
    return report


@transaction.atomic
def minqing_spawn_order(*, actor, report: MinqingReport, department=None, order_type=None, title: str = "",
                        now: dt.datetime | None = None) -> WorkOrder:
    """Turn a report into a work order (routed by its category and the household's cause)."""
    _check_report_scope(actor, report)
    order = work_order_from_need(actor=actor, source=report, department=department, order_type=order_type,
                                 title=title, now=now)
    if report.status == ReportStatus.OPEN:
        report.status = ReportStatus.IN_HAND
        report.version += 1
        report.save(update_fields=["status", "version", "updated_at"])
    return order
