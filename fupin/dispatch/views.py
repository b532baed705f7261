"""Pages of the dispatch app: department inbox, sender's outbox, the order's page with its path, pins, joint plans,
民情 reports and their analysis, figures and the routing rules. Thin: they read through selectors (always
`restrict(request.user)`) and write through services."""

from __future__ import annotations

import datetime as dt
import uuid as uuidlib
from urllib.parse import quote

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from fupin.core import exportlog
from fupin.core.audit import history_for
from fupin.core.errors import ServiceError
from fupin.core.i18n import join_list
from fupin.core.pages import file_response, paginate, run_service
from fupin.dispatch import exports, selectors, services
from fupin.dispatch.choices import (
    STATE_TONES,
    UNRESOLVED_STATES,
    URGENCY_TONES,
    WITH_DEPARTMENT,
    Category,
    Channel,
    ReportStatus,
    State,
    Urgency,
)
from fupin.dispatch.filters import INBOX_FILTERS, ORDER_FILTERS, REPORT_FILTERS
from fupin.dispatch.forms import (
    ActForm,
    AnswerForm,
    ClassifyForm,
    EvidenceForm,
    OrderForm,
    PinForm,
    PlanForm,
    PlanItemForm,
    ReportForm,
    RuleForm,
    TypeForm,
    UnpinForm,
)
from fupin.dispatch.models import (
    HouseholdPin,
    JointPlanItem,
    MinqingReport,
    RoutingRule,
    WorkOrder,
    WorkOrderAttachment,
    WorkOrderType,
)
from fupin.geo.areas import current_area, filter_area

ACTION_LABELS = {
    "accept": gettext_lazy("Accept"), "start": gettext_lazy("Start work"), "resolve": gettext_lazy("Resolve"),
    "return": gettext_lazy("Return to sender"), "reroute": gettext_lazy("Send to another department"),
    "reassign": gettext_lazy("Hand to another handler"), "reopen": gettext_lazy("Not solved: reopen"),
    "confirm": gettext_lazy("Confirm"), "close": gettext_lazy("Close"), "cancel": gettext_lazy("Withdraw the order"),
}


def _order_pushed(order) -> str:
    return _("Order %(number)s pushed to %(department)s.") % {"number": order.number, "department": order.department}


def _is_supervisor(user) -> bool:
    return user.is_superuser or (not user.department_id and user.can("approve_county"))


def _may_manage_rules(user) -> bool:
    return user.is_superuser or user.can("approve_county")


def household_for_key(user, key: str):
    """A household the user may see, by its 户编号 or uuid; 404 otherwise."""
    from fupin.registry.models import Household

    q = Q(poor_code=key)
    try:
        q |= Q(uuid=uuidlib.UUID(key))
    except ValueError:
        pass
    hh = Household.objects.restrict(user).filter(q).select_related("village", "grid").first()
    if hh is None:
        raise Http404
    return hh


def _household_key(hh) -> str:
    return quote(hh.poor_code or str(hh.uuid), safe="")


def _order_or_404(request, uuid) -> WorkOrder:
    return get_object_or_404(selectors.orders_for(request.user), uuid=uuid)


def _order_filters(request, filters=ORDER_FILTERS):
    """The list's filters (fupin/dispatch/filters.py, shared with the API); a refused value is said on the page."""
    found = filters.read(request.GET, request.user)
    found.tell(request)
    return found


def _list_context(request, qs, filters, **extra) -> dict:
    page = paginate(request, qs, per_page=50)
    now = timezone.now()
    for o in page:
        o.is_overdue = o.overdue_at(now)
    from fupin.org.models import Department

    return {"page_obj": page, "filters": filters.values, "states": State.choices,
            "types": WorkOrderType.objects.filter(is_active=True), "urgencies": Urgency.choices,
            "departments": Department.objects.filter(is_active=True), "state_tones": STATE_TONES,
            "urgency_tones": URGENCY_TONES, **extra}


# Overview, inbox, outbox, all orders -----------------------------------------------------------------------------


@require_GET
def index(request):
    user = request.user
    if user.department_id and not user.is_superuser:
        return redirect("dispatch:inbox")
    orders = filter_area(WorkOrder.objects.restrict(user), request)
    reports = filter_area(MinqingReport.objects.restrict(user), request)
    figures = selectors.order_figures(orders)
    counts = selectors.state_counts(orders)
    return render(request, "dispatch/index.html", {
        "figures": figures,
        "states": [(code, label, counts[code]) for code, label in State.choices],
        "departments": selectors.department_figures(orders)[:13],
        "pinned": filter_area(HouseholdPin.objects.restrict(user), request).filter(unpinned_at__isnull=True).count(),
        "plans_open": filter_area(selectors.plans_for(user), request).filter(status="open").count(),
        "reports_total": reports.count(),
        "reports_waiting": reports.exclude(status=ReportStatus.ANSWERED).count(),
        "to_confirm": orders.filter(state=State.RESOLVED).count(),
        "returned": orders.filter(state=State.RETURNED).count(),
        "state_tones": STATE_TONES,
    })


@require_GET
def inbox(request):
    """The department inbox: the orders the user's department holds, to accept (in bulk) and work through."""
    user = request.user
    department = user.department
    if department is None:
        code = request.GET.get("department", "")
        if not (code and _is_supervisor(user)):
            return redirect("dispatch:orders")
        from fupin.org.models import Department

        department = get_object_or_404(Department, code=code)
    found = _order_filters(request, INBOX_FILTERS)
    filters = dict(found.values)
    state = filters.pop("state") or "todo"
    filters.pop("department")
    qs = selectors.order_list(user, department=department.code, **filters)
    if state == "todo":
        qs = qs.filter(state__in=WITH_DEPARTMENT)
    elif state != "all":
        qs = qs.filter(state=state)
    qs = selectors.todo_first(qs) if state == "todo" else qs
    qs = filter_area(qs, request)
    counts = selectors.state_counts(WorkOrder.objects.restrict(user).filter(department=department))
    return render(request, "dispatch/inbox.html", _list_context(
        request, qs, found, department=department, state=state, counts=counts,
        may_accept=user.department_id == department.pk))


@require_POST
def inbox_accept(request):
    """Bulk accept the ticked orders."""
    ids = request.POST.getlist("order")[:500]
    uuids = []
    for value in ids:
        try:
            uuids.append(uuidlib.UUID(value))
        except ValueError:
            continue
    orders = list(selectors.orders_for(request.user).filter(uuid__in=uuids))
    if not orders:
        messages.warning(request, _("Tick the orders to accept first."))
        return redirect("dispatch:inbox")
    result = services.work_orders_accept(actor=request.user, orders=orders)
    if result["accepted"]:
        messages.success(request, _("%(n)d orders accepted.") % {"n": len(result["accepted"])})
    for line in result["refused"]:
        messages.error(request, line)
    return redirect(request.POST.get("next") or "dispatch:inbox")


@require_GET
def outbox(request):
    """The sender's outbox: orders I pushed, and resolved orders of my area waiting for confirmation."""
    user = request.user
    found = _order_filters(request)
    mine = request.GET.get("mine", "1") != "0"
    qs = selectors.order_list(user, sender=user if mine else None, **found.values)
    qs = filter_area(qs, request)
    to_confirm = (filter_area(selectors.orders_for(user), request)
                  .filter(state__in=[State.RESOLVED, State.RETURNED]).order_by("resolved_at", "returned_at")[:50])
    to_confirm = [o for o in to_confirm if services.is_sender_side(user, o)]
    return render(request, "dispatch/outbox.html", _list_context(request, qs, found, mine=mine, to_confirm=to_confirm))


@require_GET
def orders(request):
    found = _order_filters(request)
    qs = filter_area(selectors.order_list(request.user, **found.values), request)
    return render(request, "dispatch/orders.html", _list_context(request, qs, found))


# One order ---------------------------------------------------------------------------------------------------------


def _source_object(source: str):
    """The need behind ?source=app.model:pk, or None."""
    from django.apps import apps

    label, _sep, pk = source.partition(":")
    try:
        model = apps.get_model(label)
    except (LookupError, ValueError):
        return None
    return model, pk


def _restricted_source(user, source: str):
    found = _source_object(source) if source else None
    if not found:
        return None
    model, pk = found
    manager = model._default_manager
    if not hasattr(manager, "restrict"):
        return None
    try:
        return manager.restrict(user).filter(pk=pk).first()
    except (ValueError, TypeError):
        return None


def order_new(request):
    """Push a need by hand, for a household (?household=<户编号>) or from a need (?source=app.model:pk)."""
    user = request.user
    if user.department_id or not user.can("edit"):
        raise PermissionDenied
    source = _restricted_source(user, request.GET.get("source", ""))
    household = None
    key = request.GET.get("household", "")
    if key:
        household = household_for_key(user, key)
    facts = services.need_facts(source) if source is not None else {}
    if source is not None and household is None:
        household = facts.get("household")
    village = None
    vcode = request.GET.get("village", "")
    if household is None and vcode:
        from fupin.geo.models import Division

        village = get_object_or_404(Division.objects.restrict(user), code=vcode, level__in=["village", "community"])
    initial = {"title": facts.get("title", ""), "description": facts.get("description", ""),
               "urgency": facts.get("urgency", Urgency.NORMAL)}
    if household is not None or village is not None:
        guessed = _guess_type(facts, household)
        initial["order_type"] = guessed
    form = OrderForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid() and (household is not None or village is not None):
        d = form.cleaned_data
        if source is not None:
            order = run_service(request, lambda: services.work_order_from_need(
                actor=user, source=source, department=d["department"], order_type=d["order_type"],
                title=d["title"], description=d["description"], urgency=d["urgency"]), _order_pushed)
        else:
            order = run_service(request, lambda: services.work_order_create(
                actor=user, household=household, village=village, title=d["title"],
                description=d["description"], order_type=d["order_type"], department=d["department"],
                urgency=d["urgency"], place=d["place"]), _order_pushed)
        if order is not None:
            return redirect(order.get_absolute_url())
    preview = None
    if household is not None and form["order_type"].value():
        preview = _preview(household, form["order_type"].value())
    return render(request, "dispatch/order_new.html", {
        "form": form, "household": household, "village": village, "source": source,
        "pinned": bool(household and selectors.active_pin(household)), "preview": preview,
    })


def _guess_type(facts: dict, household) -> str:
    from fupin.dispatch.routing import suggest_type

    return suggest_type(facts, getattr(household, "main_cause", "") or "")


def _preview(household, type_code: str) -> dict | None:
    from fupin.dispatch import routing

    facts = routing.Facts(order_type=type_code, cause=household.main_cause or "", area_code=household.area_code)
    try:
        department, rule = services.route_need(facts)
    except ServiceError as exc:
        return {"error": exc.message}
    return {"department": department, "rule": rule}


@require_GET
def route_preview(request):
    """htmx: which department the rules would choose for this household and type."""
    household = household_for_key(request.user, request.GET.get("household", ""))
    preview = _preview(household, request.GET.get("order_type", ""))
    return render(request, "dispatch/_route_preview.html", {"preview": preview})


@require_GET
def order_detail(request, uuid):
    user = request.user
    order = _order_or_404(request, uuid)
    actions = services.allowed_actions(user, order)
    handlers = []
    if "reassign" in actions:
        handlers = [u for u in services.department_handlers(order.department) if u.pk != order.handler_id]
    from fupin.org.models import Department

    departments = Department.objects.filter(is_active=True).exclude(pk=order.department_id)
    plan_item = JointPlanItem.objects.filter(work_order=order).select_related("plan").first()
    return render(request, "dispatch/order_detail.html", {
        "order": order, "timeline": selectors.order_timeline(order), "actions": actions,
        "action_labels": ACTION_LABELS, "handlers": handlers, "departments": departments,
        "attachments": order.attachments.select_related("uploaded_by"), "overdue": order.overdue_at(timezone.now()),
        "pinned": bool(order.household_id and selectors.active_pin(order.household)),
        "plan_item": plan_item, "state_tones": STATE_TONES, "urgency_tones": URGENCY_TONES,
        "household_url": _household_page(user, order.household),
        "source_url": _source_url(user, order), "events": history_for(order)[:50],
    })


def _household_page(user, household) -> str:
    if household is None:
        return ""
    from fupin.registry.models import Household

    if not Household.objects.restrict(user).filter(pk=household.pk).exists():
        return ""
    return f"/dispatch/households/{_household_key(household)}/"


def _source_url(user, order: WorkOrder) -> str:
    if not order.source_type:
        return ""
    if order.source_type == "dispatch.minqingreport":
        report = MinqingReport.objects.restrict(user).filter(pk=order.source_id).first()
        return report.get_absolute_url() if report else ""
    if order.source_type == "dispatch.jointplan":
        plan = selectors.plans_for(user).filter(pk=order.source_id).first()
        return plan.get_absolute_url() if plan else ""
    source = _restricted_source(user, f"{order.source_type}:{order.source_id}")
    return source.get_absolute_url() if source is not None and hasattr(source, "get_absolute_url") else ""


@require_POST
def order_act(request, uuid):
    order = _order_or_404(request, uuid)
    form = ActForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("The form was incomplete."))
        return redirect(order.get_absolute_url())
    d = form.cleaned_data
    department = handler = None
    if d["department"]:
        from fupin.org.models import Department

        department = Department.objects.filter(code=d["department"], is_active=True).first()
    if d["handler"]:
        handler = services.department_handlers(order.department)
        handler = next((u for u in handler if u.pk == d["handler"]), None)
        if handler is None:
            messages.error(request, _("The new handler must be an active member of this department"))
            return redirect(order.get_absolute_url())
    run_service(request, lambda: services.work_order_act(
        actor=request.user, order=order, action=d["action"], note=d["note"], department=department, handler=handler,
        satisfaction=d["satisfaction"]), _("Done: %(action)s.") % {"action": ACTION_LABELS.get(d["action"], d["action"])})
    # after a reroute or a return the department may no longer see the order
    if selectors.orders_for(request.user).filter(pk=order.pk).exists():
        return redirect(order.get_absolute_url())
    return redirect("dispatch:inbox")


@require_POST
def order_comment(request, uuid):
    order = _order_or_404(request, uuid)
    run_service(request, lambda: services.work_order_comment(actor=request.user, order=order,
                                                             text=request.POST.get("text", "")), None)
    return redirect(order.get_absolute_url() + "#timeline")


@require_POST
def order_attach(request, uuid):
    order = _order_or_404(request, uuid)
    run_service(request, lambda: services.work_order_attach(actor=request.user, order=order,
                                                            upload=request.FILES.get("file"),
                                                            note=request.POST.get("note", "")), None)
    return redirect(order.get_absolute_url() + "#attachments")


@require_GET
def attachment_download(request, uuid):
    att = get_object_or_404(WorkOrderAttachment.objects.restrict(request.user), uuid=uuid)
    try:
        handle = att.file.open("rb")
    except (FileNotFoundError, ValueError) as exc:
        raise Http404 from exc
    return FileResponse(handle, as_attachment=True, filename=att.name)


# Households, pins, joint plans ------------------------------------------------------------------------------------


@require_GET
def household(request, key):
    """A household's whole dispatch path: pins, joint plans, every work order with its timeline, 民情 reports."""
    hh = household_for_key(request.user, key)
    path = selectors.household_path(request.user, hh)
    for plan in path["plans"]:
        plan.progress = selectors.plan_progress(plan)
    return render(request, "dispatch/household.html", {
        "household": hh, "pin": next((p for p in path["pins"] if p.is_active), None), **path,
        "state_tones": STATE_TONES, "may_edit": request.user.can("edit") and not request.user.department_id,
        "household_key": _household_key(hh),
    })


@require_GET
def pins(request):
    user = request.user
    show = request.GET.get("show", "active")
    qs = filter_area(selectors.pins_for(user, active=None if show == "all" else show != "history"), request)
    page = paginate(request, qs.order_by("-pinned_at", "-id"), per_page=50)
    open_orders = selectors.orders_for(user).filter(
        household_id__in=[p.household_id for p in page], state__in=UNRESOLVED_STATES)
    counts: dict[int, int] = {}
    for hid in open_orders.values_list("household_id", flat=True):
        counts[hid] = counts.get(hid, 0) + 1
    for p in page:
        p.open_orders = counts.get(p.household_id, 0)
        p.key = _household_key(p.household)
    return render(request, "dispatch/pins.html", {"page_obj": page, "show": show, "form": PinForm(),
                                                  "may_edit": user.can("edit") and not user.department_id})


@require_POST
def pin_new(request):
    form = PinForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Pinning needs a household number and a reason"))
        return redirect("dispatch:pins")
    hh = household_for_key(request.user, form.cleaned_data["household"].strip())
    run_service(request, lambda: services.household_pin(actor=request.user, household=hh,
                                                        reason=form.cleaned_data["reason"]),
                _("%(household)s is pinned.") % {"household": hh})
    return redirect(request.POST.get("next") or "dispatch:pins")


@require_POST
def pin_unpin(request, uuid):
    pin = get_object_or_404(HouseholdPin.objects.restrict(request.user), uuid=uuid)
    form = UnpinForm(request.POST)
    run_service(request, lambda: services.household_unpin(
        actor=request.user, pin=pin, reason=form.data.get("reason", "") if form.is_bound else ""),
        lambda _result: _("%(household)s is no longer pinned.") % {"household": pin.household})
    return redirect(request.POST.get("next") or "dispatch:pins")


@require_GET
def plans(request):
    qs = filter_area(selectors.plans_for(request.user), request).prefetch_related("items__work_order")
    status = request.GET.get("status", "")
    if status:
        qs = qs.filter(status=status)
    page = paginate(request, selectors.pinned_first(qs.order_by("status", "-created_at"),
                                                    household_field="household_id"), per_page=30)
    for plan in page:
        plan.progress = selectors.plan_progress(plan)
    return render(request, "dispatch/plans.html", {"page_obj": page, "status": status})


def plan_new(request):
    user = request.user
    if user.department_id or not user.can("edit"):
        raise PermissionDenied
    hh = household_for_key(user, request.GET.get("household", ""))
    form = PlanForm(request.POST or None, initial={"title": f"{hh}协同帮扶方案"})
    rows = 5
    item_forms = [PlanItemForm(request.POST or None, prefix=f"i{i}") for i in range(rows)]
    if request.method == "POST" and form.is_valid():
        items = []
        problems = []
        for i, f in enumerate(item_forms, start=1):
            if not f.data.get(f"{f.prefix}-project", "").strip():
                continue
            if f.is_valid():
                items.append(f.cleaned_data)
            else:
                problems.append(f"第{i}项:" + ";".join(str(e) for errs in f.errors.values() for e in errs))
        if problems:
            messages.error(request, "\n".join(problems))
        else:
            plan = run_service(request, lambda: services.joint_plan_create(
                actor=user, household=hh, title=form.cleaned_data["title"], note=form.cleaned_data["note"],
                items=items), lambda _plan: _("Joint plan made: %(n)d items pushed to the departments.") % {
                    "n": len(items)})
            if plan is not None:
                return redirect(plan.get_absolute_url())
    return render(request, "dispatch/plan_new.html", {"household": hh, "form": form, "item_forms": item_forms,
                                                      "pinned": selectors.active_pin(hh)})


@require_GET
def plan_detail(request, uuid):
    plan = get_object_or_404(selectors.plans_for(request.user), uuid=uuid)
    items = list(plan.items.select_related("department", "work_order", "work_order__department"))
    now = timezone.now()
    for item in items:
        item.overdue = item.work_order.overdue_at(now) if item.work_order else False
        item.may_evidence = (request.user.is_superuser or request.user.department_id == item.department_id
                             or (request.user.can("edit") and not request.user.department_id))
    return render(request, "dispatch/plan_detail.html", {
        "plan": plan, "items": items, "progress": selectors.plan_progress(plan), "item_form": PlanItemForm(),
        "state_tones": STATE_TONES, "household_url": _household_page(request.user, plan.household),
        "may_edit": request.user.can("edit") and not request.user.department_id and plan.status == "open",
        "events": history_for(plan)[:30],
    })


@require_POST
def plan_add_item(request, uuid):
    plan = get_object_or_404(selectors.plans_for(request.user), uuid=uuid)
    form = PlanItemForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Please fill in the assistance item, the responsible unit and the deadline"))
    else:
        run_service(request, lambda: services.joint_plan_add_item(actor=request.user, plan=plan,
                                                                  item=form.cleaned_data), None)
    return redirect(plan.get_absolute_url())


@require_POST
def plan_item_evidence(request, uuid):
    item = get_object_or_404(JointPlanItem.objects.select_related("plan"), uuid=uuid)
    if not selectors.plans_for(request.user).filter(pk=item.plan_id).exists():
        raise Http404
    form = EvidenceForm(request.POST)
    run_service(request, lambda: services.joint_plan_item_evidence(actor=request.user, item=item,
                                                                   evidence=form.data.get("evidence", "")), None)
    return redirect(item.plan.get_absolute_url())


# 民情 --------------------------------------------------------------------------------------------------------------


def _date(value) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _reports(request):
    """The 民情 list's filters (fupin/dispatch/filters.py, shared with the API) but the dates, which the list and
    the analysis read differently; a refused value is said on the page."""
    f = REPORT_FILTERS.read(request.GET, request.user)
    f.tell(request)
    qs = f.apply(filter_area(selectors.reports_for(request.user), request), skip=("start", "end"))
    return qs, f.values


@require_GET
def minqing(request):
    qs, f = _reports(request)
    if f["start"]:
        qs = qs.filter(reported_at__date__gte=f["start"])
    if f["end"]:
        qs = qs.filter(reported_at__date__lte=f["end"])
    page = paginate(request, selectors.pinned_first(qs.order_by("-reported_at", "-id"),
                                                    household_field="household_id"), per_page=50)
    return render(request, "dispatch/minqing.html", {
        "page_obj": page, "filters": f, "categories": Category.choices, "statuses": ReportStatus.choices,
        "channels": Channel.choices, "urgency_tones": URGENCY_TONES,
        "may_edit": request.user.can("edit") and not request.user.department_id})


def minqing_new(request):
    user = request.user
    if user.department_id or not user.can("edit"):
        raise PermissionDenied
    initial = {}
    if request.GET.get("household"):
        initial["household"] = request.GET["household"]
    form = ReportForm(request.POST or None, initial=initial, user=user)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        hh = village = None
        try:
            if d["household"].strip():
                hh = household_for_key(user, d["household"].strip())
            elif d["village"].strip():
                from fupin.geo.models import Division

                village = Division.objects.restrict(user).filter(code=d["village"].strip()).first()
            elif user.grid_id:
                village = user.grid.village
            elif user.division_id and user.division.level in ("village", "community"):
                village = user.division
            report = run_service(request, lambda: services.minqing_report_create(
                actor=user, channel=d["channel"], category=d["category"], urgency=d["urgency"], household=hh,
                village=village, grid=user.grid if (hh is None and village is not None and user.grid_id) else None,
                place=d["place"], reporter_name=d["reporter_name"], reporter_phone=d["reporter_phone"],
                content=d["content"]), lambda r: _("Report %(number)s recorded.") % {"number": r.number})
        except Http404:
            messages.error(request, _("No household with this number (or it is outside your area)"))
        else:
            if report is not None:
                return redirect(report.get_absolute_url())
    return render(request, "dispatch/minqing_new.html", {"form": form})


@require_GET
def minqing_detail(request, uuid):
    report = get_object_or_404(selectors.reports_for(request.user), uuid=uuid)
    spawned = list(selectors.orders_for(request.user).filter(source_type="dispatch.minqingreport",
                                                              source_id=str(report.pk)))
    may_edit = request.user.can("edit") and not request.user.department_id
    from fupin.org.models import Department

    return render(request, "dispatch/minqing_detail.html", {
        "report": report, "orders": spawned, "may_edit": may_edit, "state_tones": STATE_TONES,
        "answer_form": AnswerForm(initial={"answer": report.answer, "way": report.answer_way or "visit"}),
        "classify_form": ClassifyForm(initial={"category": report.category, "urgency": report.urgency,
                                               "analysis": report.analysis}),
        "types": WorkOrderType.objects.filter(is_active=True), "departments": Department.objects.filter(is_active=True),
        "household_url": _household_page(request.user, report.household), "events": history_for(report)[:30],
    })


def _report_for_post(request, uuid) -> MinqingReport:
    return get_object_or_404(selectors.reports_for(request.user), uuid=uuid)


@require_POST
def minqing_answer(request, uuid):
    report = _report_for_post(request, uuid)
    run_service(request, lambda: services.minqing_answer(actor=request.user, report=report,
                                                         answer=request.POST.get("answer", ""),
                                                         way=request.POST.get("way", "")),
                _("The answer is recorded."))
    return redirect(report.get_absolute_url())


@require_POST
def minqing_classify(request, uuid):
    report = _report_for_post(request, uuid)
    run_service(request, lambda: services.minqing_classify(
        actor=request.user, report=report, category=request.POST.get("category", ""),
        urgency=request.POST.get("urgency") or None, analysis=request.POST.get("analysis", "")), None)
    return redirect(report.get_absolute_url())


@require_POST
def minqing_spawn(request, uuid):
    report = _report_for_post(request, uuid)
    from fupin.org.models import Department

    department = Department.objects.filter(code=request.POST.get("department", ""), is_active=True).first()
    order_type = WorkOrderType.objects.filter(code=request.POST.get("order_type", ""), is_active=True).first()
    order = run_service(request, lambda: services.minqing_spawn_order(
        actor=request.user, report=report, department=department, order_type=order_type,
        title=request.POST.get("title", "")), _order_pushed)
    if order is None:
        return redirect(report.get_absolute_url())
    return redirect(order.get_absolute_url())


def _analysis(request) -> dict:
    qs, f = _reports(request)
    today = timezone.localdate()
    start = f["start"] or today.replace(day=1) - dt.timedelta(days=90)
    start = start.replace(day=1) if not f["start"] else start
    end = f["end"] or today
    from fupin.geo.models import Division

    area = current_area(request)
    names = dict(Division.objects.restrict(request.user).filter(level__in=["town", "village", "community"])
                 .values_list("code", "name"))
    data = selectors.minqing_analysis(qs, start=start, end=end, area_names=names)
    period_qs = qs.filter(reported_at__date__gte=start, reported_at__date__lte=end)
    waiting = list(period_qs.exclude(status=ReportStatus.ANSWERED).order_by("-urgency", "reported_at")[:100])
    urgent = list(period_qs.exclude(urgency=Urgency.NORMAL).order_by("-reported_at")[:50])
    return {"data": data, "start": start, "end": end, "filters": f, "area": area, "waiting": waiting,
            "urgent": urgent, "categories": Category.choices, "generated_at": timezone.localtime(),
            "scope_name": area.name if area else (request.user.division.name if request.user.division_id else "")}


@require_GET
def minqing_analysis(request):
    ctx = _analysis(request)
    ctx["query"] = request.GET.urlencode()
    ctx["has_pdf"] = exports.pdf_available()
    return render(request, "dispatch/minqing_analysis.html", ctx)


@require_GET
def minqing_analysis_print(request):
    return render(request, "dispatch/minqing_print.html", _analysis(request))


@require_GET
@exportlog.accountable("dispatch.minqing_analysis", "民情分析")
def minqing_analysis_xlsx(request):
    ctx = _analysis(request)
    return file_response(exports.analysis_xlsx(ctx), f"民情分析_{ctx['start']:%Y%m%d}-{ctx['end']:%Y%m%d}.xlsx")


@require_GET
@exportlog.accountable("dispatch.minqing_analysis", "民情分析")
def minqing_analysis_pdf(request):
    if not exports.pdf_available():
        raise Http404
    ctx = _analysis(request)
    return file_response(exports.analysis_pdf(ctx), f"民情分析_{ctx['start']:%Y%m%d}-{ctx['end']:%Y%m%d}.pdf")


# Figures and rules ------------------------------------------------------------------------------------------------


@require_GET
def figures(request):
    orders = filter_area(WorkOrder.objects.restrict(request.user), request)
    since = _date(request.GET.get("since"))
    if since:
        orders = orders.filter(pushed_at__date__gte=since)
    return render(request, "dispatch/figures.html", {
        "figures": selectors.order_figures(orders), "departments": selectors.department_figures(orders),
        "monthly": selectors.monthly_solved(orders), "since": since,
    })


@require_GET
def rules(request):
    return render(request, "dispatch/rules.html", {
        "rules": RoutingRule.objects.select_related("department", "order_type"),
        "types": WorkOrderType.objects.all(), "may_manage": _may_manage_rules(request.user),
        "events": _rule_history(),
    })


def _rule_history():
    from fupin.core.models import AuditEvent

    return (AuditEvent.objects.filter(Q(object_type="dispatch.routingrule") | Q(object_type="dispatch.workordertype"))
            .select_related("actor")[:30])


def rule_edit(request, pk=None):
    if not _may_manage_rules(request.user):
        raise PermissionDenied
    rule = get_object_or_404(RoutingRule, pk=pk) if pk else None
    form = RuleForm(request.POST or None, instance=rule)
    if request.method == "POST" and form.is_valid():
        d = {k: form.cleaned_data[k] for k in services.RULE_FIELDS}
        if rule is None:
            saved = run_service(request, lambda: services.routing_rule_create(actor=request.user, **d),
                                _("The routing rule is saved."))
        else:
            saved = run_service(request, lambda: services.routing_rule_update(actor=request.user, rule=rule, **d),
                                _("The routing rule is saved."))
        if saved is not None:
            return redirect("dispatch:rules")
    return render(request, "dispatch/rule_edit.html", {"form": form, "rule": rule,
                                                       "events": history_for(rule)[:20] if rule else []})


def type_edit(request, code):
    if not _may_manage_rules(request.user):
        raise PermissionDenied
    order_type = get_object_or_404(WorkOrderType, code=code)
    form = TypeForm(request.POST or None, instance=WorkOrderType.objects.get(pk=order_type.pk))
    if request.method == "POST" and form.is_valid():
        if run_service(request, lambda: services.order_type_update(
                actor=request.user, order_type=order_type, **{k: form.cleaned_data[k] for k in TypeForm.Meta.fields}),
                _("The work order type is saved.")) is not None:
            return redirect("dispatch:rules")
    return render(request, "dispatch/type_edit.html", {"form": form, "order_type": order_type,
                                                       "events": history_for(order_type)[:20]})


@require_POST
def setup_defaults(request):
    if not _may_manage_rules(request.user):
        raise PermissionDenied
    result = services.dispatch_setup_defaults(actor=request.user)
    messages.success(request, _("Loaded %(types)d types and %(rules)d rules.") % result)
    if result["skipped"]:
        messages.warning(request, _("These rules' departments do not exist, not loaded: %(rules)s") % {
            "rules": join_list(result["skipped"])})
    return redirect("dispatch:rules")
