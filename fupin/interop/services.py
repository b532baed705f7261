"""Writes of the interop app: webhook subscriptions and deliveries, test messages, the national system's feedback
and dynamic-adjustment submissions. Keyword-only, taking `actor`, atomic, audited."""

from __future__ import annotations

import uuid as uuidlib

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fupin.core import audit, idnumber
from fupin.core.errors import ServiceError
from fupin.core.i18n import join_list
from fupin.core.scoping import county_wide, covers, scope_prefix
from fupin.interop import delivery, events, signing
from fupin.interop.choices import DeliveryStatus, SubmissionStatus
from fupin.interop.models import Delivery, Event, FeedbackImport, Submission, Subscription


def _user(actor):
    return actor if getattr(actor, "pk", None) else None


def may_manage(user) -> bool:
    """County staff manage connections: the county-approval capability over the whole county (or a superuser)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if user.is_superuser:
        return True
    return user.can("approve_county") and county_wide(user)


def _check(actor) -> None:
    user = _user(actor)
    if user is not None and not may_manage(user):
        raise ServiceError(_("Only county poverty office staff may manage outside connections"))


def _clean(name: str, url: str, types: list[str], area_prefix: str) -> tuple[str, str, list[str]]:
    name, url = (name or "").strip(), (url or "").strip()
    if not name:
        raise ServiceError(_("Name the subscription"), field="name")
    if not url.startswith(("http://", "https://")) or len(url) > 500:
        raise ServiceError(_("The address must start with http:// or https://"), field="url")
    known = {t.code for t in events.event_types()}
    unknown = [t for t in types if t not in known]
    if unknown:
        raise ServiceError(_("Unknown event types: %(items)s") % {"items": join_list(unknown)}, field="event_types")
    if not types:
        raise ServiceError(_("Choose at least one event"), field="event_types")
    if area_prefix and not area_prefix.isdigit():
        raise ServiceError(_("The jurisdiction must be a division code"), field="area_prefix")
    return name, url, sorted(set(types))


@transaction.atomic
def subscription_create(*, actor, name: str, url: str, event_types: list[str], area_prefix: str,
                        secret: str = "") -> Subscription:
    """A new subscription; its secret is generated unless given (the receiver needs it to verify signatures)."""
    _check(actor)
    user = _user(actor)
    if user is not None and not covers(user, area_prefix):
        raise ServiceError(_("The jurisdiction exceeds yours"), field="area_prefix")
    name, url, types = _clean(name, url, event_types, area_prefix)
    sub = Subscription.objects.create(name=name[:100], url=url, secret=secret or signing.new_secret(),
                                      event_types=types, area_prefix=area_prefix, created_by=user)
    audit.record(actor=actor, action="interop.subscription.create", obj=sub, area_code=area_prefix,
                 after={"name": sub.name, "url": url, "event_types": types, "area_prefix": area_prefix})
    return sub


@transaction.atomic
def subscription_update(*, actor, subscription: Subscription, name: str, url: str, event_types: list[str],
                        is_active: bool) -> Subscription:
    _check(actor)
    sub = Subscription.objects.select_for_update().get(pk=subscription.pk)
    name, url, types = _clean(name, url, event_types, sub.area_prefix)
    before = {"name": sub.name, "url": sub.url, "event_types": sub.event_types, "is_active": sub.is_active}
    sub.name, sub.url, sub.event_types, sub.is_active = name[:100], url, types, is_active
    sub.version += 1
    sub.save()
    audit.record(actor=actor, action="interop.subscription.update", obj=sub, area_code=sub.area_prefix,
                 before=before, after={"name": sub.name, "url": url, "event_types": types, "is_active": is_active})
    return sub


@transaction.atomic
def subscription_rotate_secret(*, actor, subscription: Subscription) -> Subscription:
    _check(actor)
    sub = Subscription.objects.select_for_update().get(pk=subscription.pk)
    sub.secret = signing.new_secret()
    sub.version += 1
    sub.save(update_fields=["secret", "version", "updated_at"])
    audit.record(actor=actor, action="interop.subscription.secret", obj=sub, area_code=sub.area_prefix,
                 note="签名密钥已更换")
    return sub


@transaction.atomic
def delivery_resend(*, actor, delivery_obj: Delivery) -> Delivery:
    """Send a delivery again by hand (a parked one, or a delivered one the receiver lost): same event id, a new
    day of retries."""
    _check(actor)
    d = Delivery.objects.select_for_update().get(pk=delivery_obj.pk)
    if d.status in (DeliveryStatus.PENDING, DeliveryStatus.SENDING):
        raise ServiceError(_("The delivery is waiting to be sent: no need to resend"))
    before = {"status": d.status, "attempts": d.attempts}
    d.status, d.next_attempt_at, d.first_attempt_at = DeliveryStatus.PENDING, timezone.now(), None
    d.claim, d.leased_until = "", None
    d.save(update_fields=["status", "next_attempt_at", "first_attempt_at", "claim", "leased_until"])
    audit.record(actor=actor, action="interop.delivery.resend", object_type="interop.delivery", object_id=str(d.pk),
                 object_repr=f"{d.subscription.name} · {d.event.event_type}", area_code=d.area_code,
                 before=before, after={"status": d.status})
    delivery.schedule()
    return d


@transaction.atomic
def subscription_test(*, actor, subscription: Subscription) -> Delivery:
    """Queue a test event ("ping") to this subscription only; the worker delivers it like any other."""
    _check(actor)
    now = timezone.now()
    eid = str(uuidlib.uuid4())
    event = Event.objects.create(
        uuid=eid, event_type="ping", object_type="interop.subscription", object_id=str(subscription.pk),
        area_code=subscription.area_prefix, occurred_at=now,
        payload={"id": eid, "type": "ping", "occurred_at": now.isoformat(),
                 "object": {"type": "interop.subscription", "id": str(subscription.pk),
                            "uuid": str(subscription.uuid)},
                 "area_code": subscription.area_prefix, "action": "interop.subscription.test", "changed": [],
                 "values": {}})
    d = Delivery.objects.create(subscription=subscription, event=event, ordering_key=f"ping:{eid}",
                                area_code=subscription.area_prefix, next_attempt_at=now)
    audit.record(actor=actor, action="interop.subscription.test", obj=subscription, area_code=subscription.area_prefix)
    delivery.schedule()
    return d


# -- the national system: suspect-data feedback ------------------------------------------------------------------

FEEDBACK_COLUMNS = {
    "poor_code": ["户编号", "贫困户编号", "户编码", "户码"],
    "name": ["姓名", "成员姓名", "人员姓名"],
    "id_number": ["证件号码", "身份证号", "身份证号码", "公民身份号码", "证件号"],
    "kind": ["疑点类型", "疑点类别", "疑点名称", "问题类型", "疑点"],
    "description": ["疑点描述", "疑点说明", "问题描述", "说明", "疑点内容"],
}
NATIONAL_SOURCE = "national"


def feedback_import(*, actor, path, file_name: str = "") -> FeedbackImport:
    """Receive the national system's suspect data: each row (a household, optionally a person; a kind; a
    description) opens a finding in the comparison's verification flow. The whole file is checked first: a row
    naming a household or person that is not found (or lies outside the importer's jurisdiction) refuses the file,
    with the row report, and nothing is written. Rows received before open nothing again."""
    from pathlib import Path

    from fupin.core.errors import ImportRefused, RowProblem
    from fupin.core.services import file_sha256
    from fupin.core.tabular import TableSpec, cell_text, read_table
    from fupin.registry.models import Household

    user = _user(actor)
    prefix = "" if user is None or user.is_superuser else scope_prefix(user)
    if prefix is None or (user is not None and not user.can("import")):
        raise ServiceError(_("You may not import data"))
    _header, rows = read_table(path, TableSpec(columns=FEEDBACK_COLUMNS, required=["poor_code", "kind"]))
    parsed, problems = [], []
    for row_no, r in rows:
        code, kind = cell_text(r.get("poor_code")), cell_text(r.get("kind"))
        name, raw_id = cell_text(r.get("name")), cell_text(r.get("id_number"))
        description = cell_text(r.get("description"))
        if not code:
            problems.append(RowProblem(row_no, "户编号", "", _("The household number is missing")))
            continue
        if not kind:
            problems.append(RowProblem(row_no, "疑点类型", "", _("The flag type is missing")))
            continue
        parsed.append((row_no, code, name, raw_id, kind[:100], description[:2000]))
    codes = {p[1] for p in parsed}
    households = {h.poor_code: h for h in Household.objects.filter(poor_code__in=codes,
                                                                    area_code__startswith=prefix)}
    resolved = []
    for row_no, code, name, raw_id, kind, description in parsed:
        hh = households.get(code)
        if hh is None:
            problems.append(RowProblem(row_no, "户编号", code, _("No household with this number, or it is outside your jurisdiction")))
            continue
        person = None
        if raw_id or name:
            members = list(hh.members.all())
            number = idnumber.clean(raw_id) if raw_id else None
            if raw_id:
                person = next((m for m in members if number and m.id_number == number), None)
            if person is None and name:
                named = [m for m in members if m.name == name]
                person = named[0] if len(named) == 1 else None
            if person is None:
                what = raw_id or name
                problems.append(RowProblem(row_no, "证件号码" if raw_id else "姓名", what,
                                           _("No such person among the members of household %(code)s") % {"code": code}))
                continue
        resolved.append((row_no, hh, person, kind, description, raw_id or name))
    if problems:
        raise ImportRefused(headline=_("Flag data file not imported"), problems=problems)
    sha = file_sha256(path)
    from fupin.eligibility.services import finding_open_external

    with transaction.atomic():
        record = FeedbackImport.objects.create(file_name=(file_name or Path(path).name)[:200], sha256=sha,
                                               area_prefix=prefix or "", rows=len(resolved), created_by=user)
        for row_no, hh, person, kind, description, who in resolved:
            _finding, created = finding_open_external(
                actor=actor, household=hh, person=person, source_code=NATIONAL_SOURCE, rule_code="national_suspect",
                rule_name=f"国家系统疑点:{kind}", description=description or kind,
                evidence={"national": {"kind": kind, "description": description, "file": record.file_name,
                                       "row": row_no}},
                key=f"{hh.poor_code}|{who}|{kind}|{description}")
            if created:
                record.opened += 1
            else:
                record.already += 1
        record.save(update_fields=["opened", "already"])
        audit.record(actor=actor, action="interop.national.feedback", obj=record, area_code=prefix or "",
                     after={"rows": record.rows, "opened": record.opened, "already": record.already, "sha256": sha})
    return record


# -- the national system: the yearly dynamic adjustment ----------------------------------------------------------

def _last_submitted(prefix: str, exclude_pk: int | None = None) -> Submission | None:
    qs = Submission.objects.filter(area_prefix=prefix, status=SubmissionStatus.SUBMITTED)
    if exclude_pk:
        qs = qs.exclude(pk=exclude_pk)
    return qs.order_by("-submitted_at", "-id").first()


@transaction.atomic
def adjustment_prepare(*, actor, year: int, note: str = "") -> Submission:
    """Open (or refresh) the year's draft: the registry's national snapshot now and its diff against the last
    submitted adjustment (the new identifications, exits, returns and member changes since)."""
    from fupin.interop import national

    _check(actor)
    user = _user(actor)
    prefix = "" if user is None or user.is_superuser else (scope_prefix(user) or "")
    if not 2000 <= int(year) <= 2100:
        raise ServiceError(_("Incorrect year"), field="year")
    sub = (Submission.objects.select_for_update().filter(year=year, area_prefix=prefix)
           .exclude(status=SubmissionStatus.SUBMITTED).first())
    if sub is not None and sub.status == SubmissionStatus.REVIEWED:
        raise ServiceError(_("This year's adjustment has been reviewed: submit or return it before making it again"))
    base = _last_submitted(prefix)
    snap = national.snapshot(prefix)
    changes = national.diff(base.snapshot if base else {}, snap, exited=_exited_statuses())
    counts = {k: len(v) for k, v in changes.items()}
    created = sub is None
    if created:
        sub = Submission(year=year, area_prefix=prefix, created_by=user)
    sub.snapshot, sub.diff, sub.counts, sub.based_on = snap, changes, counts, base
    sub.note = note.strip() or sub.note
    sub.version = (sub.version or 0) + (0 if created else 1)
    sub.save()
    audit.record(actor=actor, action="interop.adjustment.prepare", obj=sub, area_code=prefix,
                 after={"year": year, "counts": counts, "based_on": base.pk if base else None})
    return sub


def _exited_statuses() -> tuple[str, ...]:
    from fupin.assistance import conf as assistance_conf

    return assistance_conf.exited_statuses()


@transaction.atomic
def adjustment_review(*, actor, submission: Submission, approve: bool = True, note: str = "") -> Submission:
    """A second person reviews the draft (四眼原则): approve it, or send it back to draft with a note."""
    _check(actor)
    sub = Submission.objects.select_for_update().get(pk=submission.pk)
    user = _user(actor)
    if approve and sub.status != SubmissionStatus.DRAFT:
        raise ServiceError(_("Only a draft can be reviewed"))
    if not approve and sub.status != SubmissionStatus.REVIEWED:
        raise ServiceError(_("Only a reviewed adjustment can be returned"))
    if approve and user is not None and sub.created_by_id == user.pk:
        raise ServiceError(_("Whoever made the adjustment cannot review it: another staff member must"))
    before = sub.status
    if approve:
        sub.status, sub.reviewed_by, sub.reviewed_at = SubmissionStatus.REVIEWED, user, timezone.now()
    else:
        sub.status, sub.reviewed_by, sub.reviewed_at = SubmissionStatus.DRAFT, None, None
    if note.strip():
        sub.note = (sub.note + "\n" + note.strip()).strip()
    sub.version += 1
    sub.save()
    audit.record(actor=actor, action="interop.adjustment.review" if approve else "interop.adjustment.return",
                 obj=sub, area_code=sub.area_prefix, before={"status": before}, after={"status": sub.status},
                 note=note)
    return sub


@transaction.atomic
def adjustment_submit(*, actor, submission: Submission) -> Submission:
    """Mark a reviewed adjustment submitted to the national system: it becomes the baseline of the next diff."""
    _check(actor)
    sub = Submission.objects.select_for_update().get(pk=submission.pk)
    if sub.status != SubmissionStatus.REVIEWED:
        raise ServiceError(_("An adjustment must be reviewed before it is submitted"))
    latest = _last_submitted(sub.area_prefix)
    if latest is not None and sub.based_on_id != latest.pk:
        raise ServiceError(_("Another adjustment was submitted after this one was made: make the draft again, then review and submit it"))
    sub.status, sub.submitted_by, sub.submitted_at = SubmissionStatus.SUBMITTED, _user(actor), timezone.now()
    sub.version += 1
    sub.save()
    audit.record(actor=actor, action="interop.adjustment.submit", obj=sub, area_code=sub.area_prefix,
                 after={"status": sub.status, "counts": sub.counts})
    return sub
