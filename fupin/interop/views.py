"""Pages of the interop app: webhook subscriptions and their delivery logs (county staff), the text-message log,
and the national system (export in its layout, suspect-data feedback, the yearly dynamic adjustment)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Sum
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from fupin.core import exportlog
from fupin.core.errors import ImportRefused, ServiceError
from fupin.core.i18n import join_list
from fupin.core.pages import paginate, run_service
from fupin.core.uploads import discard, save_upload
from fupin.geo.areas import current_area, filter_area
from fupin.interop import events, national, selectors, services
from fupin.interop.choices import DeliveryStatus, SmsStatus, SubmissionStatus
from fupin.interop.models import Delivery, Subscription
from fupin.interop.sms import mask_phone
from fupin.registry.models import Household

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DIFF_KINDS = [("identified", gettext_lazy("New identifications")), ("exited", gettext_lazy("Exits")),
              ("returned", gettext_lazy("Returns to poverty")), ("removed", gettext_lazy("Households removed")),
              ("member_added", gettext_lazy("Members added")), ("member_removed", gettext_lazy("Members removed")),
              ("member_changed", gettext_lazy("Members changed")), ("changed", gettext_lazy("Other changes"))]


def _require(ok: bool) -> None:
    if not ok:
        raise PermissionDenied


def _may_use(user) -> bool:
    return user.can("import") or services.may_manage(user)


class SubscriptionForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100)
    url = forms.CharField(label=gettext_lazy("Receiver URL"), max_length=500)
    event_types = forms.MultipleChoiceField(label=gettext_lazy("Events"), widget=forms.CheckboxSelectMultiple,
                                            choices=())
    is_active = forms.BooleanField(label=gettext_lazy("Active"), required=False, initial=True)

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.fields["event_types"].choices = events.event_type_choices()


def index(request):
    user = request.user
    _require(_may_use(user))
    subs = selectors.subscriptions_for(user) if services.may_manage(user) else None
    sms = selectors.sms_for(user)
    today = timezone.localdate()
    return render(request, "interop/index.html", {
        "may_manage": services.may_manage(user), "subscriptions": subs,
        "sms_today": sms.filter(created_at__date=today).count(),
        "sms_failed": sms.filter(status=SmsStatus.FAILED).count(),
        "failing": sum(s.failing for s in subs) if subs is not None else 0})


# Webhooks --------------------------------------------------------------------------------------------------------

def webhooks(request):
    user = request.user
    _require(services.may_manage(user))
    form = SubscriptionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        area = current_area(request)
        sub = run_service(request, lambda: services.subscription_create(
            actor=user, name=form.cleaned_data["name"], url=form.cleaned_data["url"],
            event_types=form.cleaned_data["event_types"],
            area_prefix=area.prefix if area else (user.jurisdiction_prefix or "")),
            _("Subscription created. Give the receiver its signing secret."))
        if sub is not None:
            return redirect(sub.get_absolute_url())
    return render(request, "interop/webhooks.html", {
        "subscriptions": selectors.subscriptions_for(user).order_by("name", "id"), "form": form})


def _subscription(request, uuid) -> Subscription:
    sub = selectors.subscriptions_for(request.user).filter(uuid=uuid).first()
    if sub is None:
        raise Http404
    return sub


def webhook_detail(request, uuid):
    user = request.user
    _require(services.may_manage(user))
    sub = _subscription(request, uuid)
    form = SubscriptionForm(request.POST or None, initial={
        "name": sub.name, "url": sub.url, "event_types": sub.event_types, "is_active": sub.is_active})
    if request.method == "POST" and form.is_valid():
        if run_service(request, lambda: services.subscription_update(
                actor=user, subscription=sub, name=form.cleaned_data["name"], url=form.cleaned_data["url"],
                event_types=form.cleaned_data["event_types"], is_active=form.cleaned_data["is_active"]),
                _("Saved.")) is not None:
            return redirect(sub.get_absolute_url())
    status = request.GET.get("status", "")
    status = status if status in DeliveryStatus.values else ""
    page = paginate(request, selectors.deliveries_for(user, sub, status), per_page=50)
    for d in page:
        d.type_label = _("test event") if d.event.event_type == "ping" else events.label_of(d.event.event_type)
    return render(request, "interop/webhook_detail.html", {
        "sub": sub, "form": form, "page_obj": page, "status": status, "statuses": DeliveryStatus.choices,
        "show_secret": request.GET.get("secret") == "1"})


@require_POST
def webhook_action(request, uuid):
    user = request.user
    _require(services.may_manage(user))
    sub = _subscription(request, uuid)
    action = request.POST.get("action")
    if action == "test":
        run_service(request, lambda: services.subscription_test(actor=user, subscription=sub),
                    _("A test event was queued; it appears in the log below."))
    elif action == "rotate":
        if run_service(request, lambda: services.subscription_rotate_secret(actor=user, subscription=sub),
                       _("A new signing secret was made: give it to the receiver.")) is not None:
            return redirect(sub.get_absolute_url() + "?secret=1")
    else:
        raise Http404
    return redirect(sub.get_absolute_url())


@require_POST
def delivery_resend(request, pk):
    user = request.user
    _require(services.may_manage(user))
    d = Delivery.objects.restrict(user).filter(pk=pk).select_related("subscription", "event").first()
    if d is None:
        raise Http404
    run_service(request, lambda: services.delivery_resend(actor=user, delivery_obj=d),
                _("The delivery will be sent again."))
    return redirect(d.subscription.get_absolute_url())


# Text messages ---------------------------------------------------------------------------------------------------

def sms_log(request):
    user = request.user
    _require(_may_use(user))
    status = request.GET.get("status", "")
    page = paginate(request, filter_area(selectors.sms_for(user, status), request), per_page=50)
    for m in page:
        m.masked = mask_phone(m.phone)
    return render(request, "interop/sms.html", {"page_obj": page, "status": status, "statuses": SmsStatus.choices,
                                                "may_manage": services.may_manage(user)})


# The national system ---------------------------------------------------------------------------------------------

def national_home(request):
    user = request.user
    _require(_may_use(user))
    problems = None
    if request.method == "POST":
        _require(user.can("import"))
        upload = request.FILES.get("file")
        if upload is None:
            messages.error(request, _("Choose a file to import."))
        else:
            tmp = None
            try:
                tmp = save_upload(upload)  # the one guarded way in: size, type by content, a random name
                record = services.feedback_import(actor=user, path=tmp, file_name=upload.name)
                messages.success(request, _("%(opened)d findings opened, %(already)d received before.") % {
                    "opened": record.opened, "already": record.already})
                return redirect("interop:national")
            except ImportRefused as exc:
                problems = exc
            except ServiceError as exc:
                messages.error(request, exc.message)
            finally:
                discard(tmp)
    return render(request, "interop/national.html", {
        "feedback": selectors.feedback_for(user)[:20], "submissions": selectors.submissions_for(user)[:20],
        "problems": problems, "may_manage": services.may_manage(user), "may_import": user.can("import"),
        "year": timezone.localdate().year, "statuses": [("0", "未脱贫"), ("1", "已脱贫(享受政策)"),
                                                        ("4", "已脱贫(不再享受政策)"), ("3", "返贫"), ("2", "预脱贫")]})


def national_export(request):
    """The chosen households (area, statuses, or a list of 户编号) in the national layout, streamed."""
    user = request.user
    _require(_may_use(user))
    qs = filter_area(Household.objects.restrict(user).filter(pk__in=national.registered("").values("pk")), request)
    statuses = [s for s in request.GET.getlist("status") if s]
    if statuses:
        qs = qs.filter(poverty_status__in=statuses)
    codes = [c for c in request.GET.get("codes", "").replace(",", " ").replace(",", " ").split() if c]
    if codes:
        qs = qs.filter(poor_code__in=codes)
        found = set(qs.values_list("poor_code", flat=True))
        missing = [c for c in codes if c not in found]
        if missing:  # never a silently shorter file: say which numbers were not found
            messages.error(request, _("These household numbers were not found in your jurisdiction: %(codes)s")
                           % {"codes": join_list(missing[:50])})
            return redirect("interop:national")
    # the national layout is read back by the national system: recorded, limited and approved, not watermarked
    refused = exportlog.guard(request, kind="interop.national", title="国办系统格式导出",
                              people=qs.aggregate(n=Sum("size"))["n"] or 0)
    if refused is not None:
        return refused
    response = StreamingHttpResponse(national.export_chunks(user, qs), content_type=XLSX)
    name = f"national_{timezone.localdate():%Y%m%d}.xlsx"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@require_POST
def adjustment_prepare(request):
    user = request.user
    _require(services.may_manage(user))
    try:
        year = int(request.POST.get("year", ""))
        sub = run_service(request, lambda: services.adjustment_prepare(actor=user, year=year,
                                                                       note=request.POST.get("note", "")), None)
    except ValueError:
        messages.error(request, _("The year is not valid"))
    else:
        if sub is not None:
            return redirect(sub.get_absolute_url())
    return redirect("interop:national")


def _submission(request, uuid):
    sub = selectors.submissions_for(request.user).filter(uuid=uuid).first()
    if sub is None:
        raise Http404
    return sub


def adjustment_detail(request, uuid):
    user = request.user
    _require(_may_use(user))
    sub = _submission(request, uuid)
    if request.method == "POST":
        _require(services.may_manage(user))
        action = request.POST.get("action")
        if action == "review":
            run_service(request, lambda: services.adjustment_review(actor=user, submission=sub,
                                                                    note=request.POST.get("note", "")), None)
        elif action == "return":
            run_service(request, lambda: services.adjustment_review(actor=user, submission=sub, approve=False,
                                                                    note=request.POST.get("note", "")), None)
        elif action == "submit":
            run_service(request, lambda: services.adjustment_submit(actor=user, submission=sub), None)
        else:
            raise Http404
        return redirect(sub.get_absolute_url())
    kinds = [(key, label, sub.diff.get(key, [])[:200], len(sub.diff.get(key, []))) for key, label in DIFF_KINDS]
    return render(request, "interop/adjustment.html", {
        "sub": sub, "kinds": kinds, "may_manage": services.may_manage(user),
        "is_draft": sub.status == SubmissionStatus.DRAFT, "is_reviewed": sub.status == SubmissionStatus.REVIEWED})


def adjustment_changes(request, uuid):
    """The adjustment's changes as a workbook (one row per change) to go with the national upload."""
    from fupin.registry.xlsxstream import xlsx_chunks

    user = request.user
    _require(_may_use(user))
    sub = _submission(request, uuid)
    labels = dict(DIFF_KINDS)

    def rows():
        for key, _label in DIFF_KINDS:
            for item in sub.diff.get(key, []):
                who = item.get("name") or item.get("head") or ""
                detail = "、".join(item.get("fields", [])) or (f"{item.get('from', '')}→{item.get('to', '')}"
                                                               if "to" in item else "")
                yield [str(labels[key]), item["poor_code"], who, detail]

    refused = exportlog.guard(request, kind="interop.adjustment", title="动态调整明细",
                              people=sum(len(sub.diff.get(key, [])) for key, _label in DIFF_KINDS))
    if refused is not None:
        return refused
    mark = exportlog.watermark(user)
    response = StreamingHttpResponse(xlsx_chunks(rows(), header=["调整类型", "户编号", "姓名", "说明"],
                                                 title=f"{sub.year}年动态调整明细({mark})", sheet_name="调整明细"),
                                     content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="adjustment_{sub.year}.xlsx"'
    return response
