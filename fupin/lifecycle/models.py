"""Procedures that bring a household (or a village) into and out of poverty, step by step, with a trace.

A `Procedure` is one run of one kind (identification, exit ...) for one subject; each recorded step is a
`ProcedureStep` row (append-only: a step returned for rework is recorded again, the earlier record stays), with its
files as `StepAttachment` rows. The steps and their rules are in `fupin.lifecycle.definitions`.
"""

import os
import uuid as uuidlib

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from fupin.core.models import BaseModel
from fupin.lifecycle.choices import AttachmentKind, Decision, Kind, Status


class ProcedureBatch(BaseModel):
    """A 批次: the applicants of one town and year handled together (notice lists, spot-check ratios)."""

    scope_field = "area_code"

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    town = models.ForeignKey("geo.Division", verbose_name=_("town"), on_delete=models.PROTECT,
                             related_name="procedure_batches")
    year = models.PositiveSmallIntegerField(_("year"))
    number = models.PositiveSmallIntegerField(_("number"), default=1)
    name = models.CharField(_("name"), max_length=100)
    area_code = models.CharField(max_length=15, db_index=True)
    closed = models.BooleanField(_("closed to new applicants"), default=False)

    class Meta:
        verbose_name = _("procedure batch")
        verbose_name_plural = _("procedure batches")
        ordering = ["-year", "town__code", "kind", "number"]
        constraints = [models.UniqueConstraint(fields=["kind", "town", "year", "number"],
                                               name="unique_procedure_batch_number")]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return f"/procedures/batches/{self.uuid}/"


class Procedure(BaseModel):
    """One run of a procedure for a household (or, for a village exit, a village)."""

    scope_field = "area_code"

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, db_index=True)
    household = models.ForeignKey("registry.Household", verbose_name=_("household"), null=True, blank=True,
                                  on_delete=models.PROTECT, related_name="procedures")
    village = models.ForeignKey("geo.Division", verbose_name=_("village"), on_delete=models.PROTECT,
                                related_name="procedures")
    batch = models.ForeignKey(ProcedureBatch, verbose_name=_("batch"), null=True, blank=True,
                              on_delete=models.PROTECT, related_name="procedures")
    area_code = models.CharField(max_length=15, db_index=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN,
                              db_index=True)
    current_step = models.CharField(_("current step"), max_length=40, blank=True, db_index=True)
    year = models.PositiveSmallIntegerField(_("year"))
    started_on = models.DateField(_("started on"))
    finished_on = models.DateField(_("finished on"), null=True, blank=True)
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("procedure")
        verbose_name_plural = _("procedures")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["household"], condition=models.Q(status="open"),
                                    name="one_open_procedure_per_household"),
            models.UniqueConstraint(fields=["village", "kind"],
                                    condition=models.Q(status="open", household__isnull=True),
                                    name="one_open_village_procedure"),
        ]
        indexes = [models.Index(fields=["kind", "status", "current_step"])]

    def __str__(self) -> str:
        subject = str(self.household) if self.household_id else str(self.village)
        return f"{subject} {self.get_kind_display()}"

    def get_absolute_url(self) -> str:
        return f"/procedures/{self.uuid}/"

    @property
    def definition(self):
        from fupin.lifecycle.definitions import PROCEDURES

        return PROCEDURES[self.kind]

    @property
    def current_step_def(self):
        return self.definition.step(self.current_step) if self.current_step else None

    @property
    def subject(self):
        return self.household if self.household_id else self.village


class ProcedureStep(BaseModel):
    """One recorded step: who, when, what was decided, notes, data and files. Never changed once written."""

    scope_field = "area_code"

    procedure = models.ForeignKey(Procedure, on_delete=models.PROTECT, related_name="steps")
    seq = models.PositiveSmallIntegerField()
    step = models.CharField(_("step"), max_length=40)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("recorded by"), on_delete=models.PROTECT,
                              related_name="procedure_steps")
    actor_name = models.CharField(pgettext_lazy("person", "name"), max_length=150)
    actor_role = models.CharField(_("role"), max_length=20)
    date = models.DateField(_("date"))
    decision = models.CharField(_("decision"), max_length=10, choices=Decision.choices)
    notes = models.TextField(_("notes"), blank=True)
    data = models.JSONField(default=dict, blank=True)
    area_code = models.CharField(max_length=15, db_index=True)

    class Meta:
        verbose_name = _("procedure step")
        verbose_name_plural = _("procedure steps")
        ordering = ["procedure", "seq"]
        constraints = [models.UniqueConstraint(fields=["procedure", "seq"], name="unique_step_seq")]

    def __str__(self) -> str:
        return f"{self.procedure} {self.step_label} {self.date}"

    @property
    def is_spot_check(self) -> bool:
        return self.step.startswith("spot_check_")

    @property
    def step_label(self) -> str:
        from fupin.lifecycle.definitions import SPOT_CHECK_LABEL, SPOT_CHECK_STEP

        for level, code in SPOT_CHECK_STEP.items():
            if code == self.step:
                return str(SPOT_CHECK_LABEL[level])
        try:
            return str(self.procedure.definition.step(self.step).label)
        except KeyError:
            return self.step


def _attachment_path(instance, filename: str) -> str:
    # The stored name is random: the original name (which may name the household) stays in the database only.
    ext = os.path.splitext(filename)[1].lower()[:10]
    return f"procedures/{timezone.localdate():%Y/%m}/{uuidlib.uuid4().hex}{ext}"


class StepAttachment(BaseModel):
    """A file of a step: minutes, photos, the household's thumbprint or signature."""

    scope_field = "area_code"

    step = models.ForeignKey(ProcedureStep, on_delete=models.PROTECT, related_name="attachments")
    kind = models.CharField(_("kind"), max_length=12, choices=AttachmentKind.choices)
    file = models.FileField(_("file"), upload_to=_attachment_path, max_length=300)
    name = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(max_length=100, blank=True)
    size = models.PositiveIntegerField(default=0)
    area_code = models.CharField(max_length=15, db_index=True)

    class Meta:
        verbose_name = _("step attachment")
        verbose_name_plural = _("step attachments")
        ordering = ["step", "id"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return f"/procedures/attachments/{self.uuid}/"

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")


class ProcedureSetting(models.Model):
    """A county setting of the procedures (notice days, spot-check shares, village exit threshold)."""

    scope_field = None

    key = models.CharField(_("setting"), max_length=60, unique=True)
    value = models.DecimalField(_("value"), max_digits=10, decimal_places=4)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        verbose_name = _("procedure setting")
        verbose_name_plural = _("procedure settings")
        ordering = ["key"]

    def __str__(self) -> str:
        return f"{self.key} = {self.value}"
