"""Work orders pushed to departments, routing rules, pinned households, joint plans and 民情 reports.

A work order carries the `area_code` of its household (grid or village) and the `department` that holds it, so
`WorkOrder.objects.restrict(user)` gives area users the orders of their jurisdiction and department handlers the
orders of their department (see fupin.core.scoping).
"""

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from fupin.core.fields import BlindIndexField, EncryptedTextField
from fupin.core.models import BaseModel
from fupin.core.scoping import ScopedQuerySet
from fupin.dispatch.choices import (
    WITH_DEPARTMENT,
    AnswerWay,
    Category,
    Channel,
    EventKind,
    Origin,
    PlanStatus,
    ReportStatus,
    State,
    Urgency,
)


class WorkOrderType(BaseModel):
    """A kind of need (medical aid, schooling, housing ...) with its deadlines: data the county edits."""

    scope_field = None  # reference data

    code = models.SlugField(_("code"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=50)
    accept_days = models.PositiveSmallIntegerField(_("days to accept"), default=2)
    resolve_days = models.PositiveSmallIntegerField(_("days to resolve"), default=15)
    escalate_days = models.PositiveSmallIntegerField(
        _("days overdue before the level above is told"), default=5)
    order = models.PositiveSmallIntegerField(default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("work order type")
        verbose_name_plural = _("work order types")
        ordering = ["order", "code"]

    def __str__(self) -> str:
        return self.name


class RoutingRule(BaseModel):
    """One routing rule: orders matching every filled criterion go to `department`; the lowest priority wins.

    A rule with no criteria is the default. Rules are data: changed through services, each change audited with the
    rule's state before and after, and every work order records the rule that routed it.
    """

    scope_field = None  # reference data

    priority = models.PositiveIntegerField(_("priority (lower first)"), default=100)
    name = models.CharField(_("name"), max_length=100)
    order_type = models.ForeignKey(WorkOrderType, verbose_name=_("work order type"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="rules")
    cause = models.CharField(_("poverty cause"), max_length=20, blank=True)
    measure_kind = models.CharField(_("measure kind"), max_length=30, blank=True)
    category = models.CharField(_("public-opinion category"), max_length=30, blank=True)
    area_prefix = models.CharField(_("area code prefix"), max_length=15, blank=True)
    department = models.ForeignKey("org.Department", verbose_name=_("department"), on_delete=models.PROTECT,
                                   related_name="routing_rules")
    is_active = models.BooleanField(_("active"), default=True)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("routing rule")
        verbose_name_plural = _("routing rules")
        ordering = ["priority", "id"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_default(self) -> bool:
        return not (self.order_type_id or self.cause or self.measure_kind or self.category or self.area_prefix)


class WorkOrder(BaseModel):
    """A household's need pushed to a department (工单): its state, deadlines, handler and outcome."""

    scope_field = "area_code"
    department_field = "department"

    number = models.CharField(_("number"), max_length=30, unique=True, null=True, blank=True)
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("details"), blank=True)
    order_type = models.ForeignKey(WorkOrderType, verbose_name=_("type"), on_delete=models.PROTECT,
                                   related_name="orders")
    urgency = models.CharField(_("urgency"), max_length=10, choices=Urgency.choices, default=Urgency.NORMAL)
    household = models.ForeignKey("registry.Household", verbose_name=_("household"), null=True, blank=True,
                                  on_delete=models.PROTECT, related_name="work_orders")
    village = models.ForeignKey("geo.Division", verbose_name=_("village"), on_delete=models.PROTECT,
                                related_name="+")
    area_code = models.CharField(max_length=15, db_index=True)
    place = models.CharField(_("place"), max_length=200, blank=True)

    origin = models.CharField(_("origin"), max_length=20, choices=Origin.choices, default=Origin.MANUAL)
    source_type = models.CharField(_("source type"), max_length=80, blank=True)
    source_id = models.CharField(_("source id"), max_length=64, blank=True)
    source_repr = models.CharField(_("source"), max_length=200, blank=True)

    department = models.ForeignKey("org.Department", verbose_name=_("department"), on_delete=models.PROTECT,
                                   related_name="work_orders")
    routing_rule = models.ForeignKey(RoutingRule, verbose_name=_("routing rule"), null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="orders")
    routing_note = models.CharField(_("routing"), max_length=200, blank=True)
    sender = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("sender"), null=True, blank=True,
                               on_delete=models.PROTECT, related_name="sent_work_orders")
    handler = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("handler"), null=True, blank=True,
                                on_delete=models.PROTECT, related_name="handled_work_orders")

    state = models.CharField(_("state"), max_length=12, choices=State.choices, default=State.PUSHED, db_index=True)
    pushed_at = models.DateTimeField(_("pushed at"))
    accept_due_at = models.DateTimeField(_("accept by"))
    due_at = models.DateTimeField(_("resolve by"))
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    returned_at = models.DateTimeField(_("returned at"), null=True, blank=True)
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    # measured from the push to the department that accepted / resolved it, for the departments' figures
    accept_seconds = models.PositiveIntegerField(_("seconds to accept"), null=True, blank=True)
    resolve_seconds = models.PositiveIntegerField(_("seconds to resolve"), null=True, blank=True)

    resolution = models.TextField(_("resolution"), blank=True)
    return_reason = models.CharField(_("reason returned"), max_length=300, blank=True)
    satisfaction = models.PositiveSmallIntegerField(_("satisfaction (1-5)"), null=True, blank=True)
    confirm_note = models.CharField(_("confirmation note"), max_length=300, blank=True)
    escalation_level = models.PositiveSmallIntegerField(_("escalation level"), default=0)
    escalated_at = models.DateTimeField(_("escalated at"), null=True, blank=True)
    was_overdue = models.BooleanField(_("was overdue"), default=False)

    class Meta:
        verbose_name = _("work order")
        verbose_name_plural = _("work orders")
        ordering = ["-pushed_at", "-id"]
        indexes = [
            models.Index(fields=["department", "state"]),
            models.Index(fields=["state", "due_at"]),
            models.Index(fields=["source_type", "source_id"]),
        ]

    def __str__(self) -> str:
        return f"{self.number or '#' + str(self.pk)} {self.title}"

    def get_absolute_url(self) -> str:
        return f"/dispatch/orders/{self.uuid}/"

    @property
    def household_label(self) -> str:
        """The household as shown in lists: from the list's annotations when present (no household row loaded)."""
        if hasattr(self, "household_head"):
            return f"{self.household_head}户" if self.household_head else (self.household_code or "")
        return str(self.household) if self.household_id else ""

    @property
    def household_key(self) -> str:
        """What /households/<key>/ takes (户编号, else uuid), from the list's annotations when present."""
        if hasattr(self, "household_code"):
            return self.household_code or (str(self.household_uuid) if self.household_uuid else "")
        return (self.household.poor_code or str(self.household.uuid)) if self.household_id else ""

    @property
    def with_department(self) -> bool:
        return self.state in WITH_DEPARTMENT

    def overdue_at(self, now) -> bool:
        """Past the deadline that applies now: accepting while pushed, resolving while with the department."""
        if self.state == State.PUSHED and now > self.accept_due_at:
            return True
        return self.state in WITH_DEPARTMENT and now > self.due_at


class WorkOrderEvent(models.Model):
    """One step on a work order's path (push, accept, return, comment, escalation ...). Append-only."""

    scope_field = "order__area_code"
    department_field = "order__department"

    order = models.ForeignKey(WorkOrder, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(_("time"), db_index=True)
    kind = models.CharField(_("event"), max_length=12, choices=EventKind.choices)
    from_state = models.CharField(max_length=12, choices=State.choices, blank=True)
    to_state = models.CharField(max_length=12, choices=State.choices, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="+")
    actor_name = models.CharField(_("by"), max_length=150, blank=True)
    department = models.ForeignKey("org.Department", null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    note = models.TextField(_("note"), blank=True)
    data = models.JSONField(default=dict, blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("work order event")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.get_kind_display()}"


class WorkOrderAttachment(models.Model):
    """A file added to a work order (evidence, a photo, a reply letter)."""

    scope_field = "order__area_code"
    department_field = "order__department"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    order = models.ForeignKey(WorkOrder, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(_("file"), upload_to="dispatch/%Y/%m/")
    name = models.CharField(_("name"), max_length=200)
    size = models.PositiveIntegerField(default=0)
    note = models.CharField(_("note"), max_length=200, blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    uploaded_at = models.DateTimeField(_("uploaded at"))

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("work order attachment")
        ordering = ["uploaded_at", "id"]

    def __str__(self) -> str:
        return self.name


class HouseholdPin(BaseModel):
    """A household in special difficulty pinned to the top (置顶): who, why, until when and why unpinned."""

    scope_field = "area_code"

    household = models.ForeignKey("registry.Household", verbose_name=_("household"), on_delete=models.PROTECT,
                                  related_name="pins")
    area_code = models.CharField(max_length=15, db_index=True)
    reason = models.CharField(_("reason"), max_length=300)
    pinned_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("pinned by"), null=True, blank=True,
                                  on_delete=models.PROTECT, related_name="+")
    pinned_at = models.DateTimeField(_("pinned at"))
    unpinned_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("unpinned by"), null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")
    unpinned_at = models.DateTimeField(_("unpinned at"), null=True, blank=True)
    unpin_reason = models.CharField(_("reason unpinned"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("pinned household")
        verbose_name_plural = _("pinned households")
        ordering = ["-pinned_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["household"], condition=models.Q(unpinned_at__isnull=True),
                                    name="one_open_pin_per_household"),
        ]

    def __str__(self) -> str:
        return f"{self.household} 置顶"

    @property
    def is_active(self) -> bool:
        return self.unpinned_at is None


class JointPlan(BaseModel):
    """A joint assistance plan (协同帮扶方案) for a pinned household: items across departments."""

    scope_field = "area_code"

    household = models.ForeignKey("registry.Household", verbose_name=_("household"), on_delete=models.PROTECT,
                                  related_name="joint_plans")
    pin = models.ForeignKey(HouseholdPin, verbose_name=_("pin"), null=True, blank=True, on_delete=models.SET_NULL,
                            related_name="plans")
    area_code = models.CharField(max_length=15, db_index=True)
    title = models.CharField(_("title"), max_length=200)
    note = models.TextField(_("note"), blank=True)
    status = models.CharField(_("status"), max_length=10, choices=PlanStatus.choices, default=PlanStatus.OPEN)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("joint assistance plan")
        verbose_name_plural = _("joint assistance plans")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return f"/dispatch/plans/{self.uuid}/"


class JointPlanItem(BaseModel):
    """One item of a joint plan: project, responsible unit and person, deadline, evidence; carried by a work order."""

    scope_field = "area_code"

    plan = models.ForeignKey(JointPlan, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveSmallIntegerField(default=0)
    project = models.CharField(_("project"), max_length=200)
    department = models.ForeignKey("org.Department", verbose_name=_("responsible unit"), on_delete=models.PROTECT,
                                   related_name="+")
    responsible_person = models.CharField(_("responsible person"), max_length=50, blank=True)
    deadline = models.DateField(_("deadline"))
    evidence = models.TextField(_("evidence"), blank=True)
    area_code = models.CharField(max_length=15, db_index=True)
    work_order = models.OneToOneField(WorkOrder, null=True, blank=True, on_delete=models.PROTECT,
                                      related_name="plan_item")

    class Meta:
        verbose_name = _("joint plan item")
        ordering = ["plan", "position", "id"]

    def __str__(self) -> str:
        return self.project


class MinqingReport(BaseModel):
    """A 民情 report: what a household or worker reported, its classification, and the answer given back."""

    scope_field = "area_code"

    number = models.CharField(_("number"), max_length=30, unique=True, null=True, blank=True)
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    category = models.CharField(_("category"), max_length=20, choices=Category.choices)
    urgency = models.CharField(_("urgency"), max_length=10, choices=Urgency.choices, default=Urgency.NORMAL)
    village = models.ForeignKey("geo.Division", verbose_name=_("village"), on_delete=models.PROTECT,
                                related_name="+")
    area_code = models.CharField(max_length=15, db_index=True)
    household = models.ForeignKey("registry.Household", verbose_name=_("household"), null=True, blank=True,
                                  on_delete=models.PROTECT, related_name="minqing_reports")
    place = models.CharField(_("place"), max_length=200, blank=True)
    reporter_name = models.CharField(_("reported by"), max_length=50, blank=True)
    reporter_phone = EncryptedTextField(_("phone"), max_length=30, blank=True)
    reporter_phone_index = BlindIndexField(source="reporter_phone")  # the caller's earlier reports: blind_q
    content = models.TextField(_("content"))
    reported_at = models.DateTimeField(_("reported at"), db_index=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    analysis = models.TextField(_("analysis"), blank=True)
    status = models.CharField(_("status"), max_length=10, choices=ReportStatus.choices, default=ReportStatus.OPEN)
    answer = models.TextField(_("answer"), blank=True)
    answer_way = models.CharField(_("answered by way of"), max_length=10, choices=AnswerWay.choices, blank=True)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    answered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")

    class Meta:
        verbose_name = _("public-opinion report")
        verbose_name_plural = _("public-opinion reports")
        ordering = ["-reported_at", "-id"]
        indexes = [models.Index(fields=["category", "reported_at"])]

    def __str__(self) -> str:
        return f"{self.number or '#' + str(self.pk)} {self.get_category_display()}"

    def get_absolute_url(self) -> str:
        return f"/dispatch/minqing/{self.uuid}/"
