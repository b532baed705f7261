"""Data quality: the rules (data, audited), the runs, and the problems each run found (open until fixed)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from fupin.core.scoping import ScopedQuerySet


class Subject(models.TextChoices):
    HOUSEHOLD = "household", _("household")
    PERSON = "person", _("person")
    RESPONSE = "response", _("form response")


class Rule(models.Model):
    """One check: an expression over a subject's facts (a problem where it holds), or a built-in set check."""

    class Builtin(models.TextChoices):
        NONE = "", _("expression")
        REQUIRED_ITEMS = "required_items", _("required items of form responses")
        DUPLICATE_PERSON = "duplicate_person", _("one ID number in several households")

    scope_field = None  # rules are reference data

    key = models.SlugField(_("key"), max_length=50, unique=True)
    label = models.CharField(_("name"), max_length=100)
    description = models.CharField(_("description"), max_length=300, blank=True)
    subject = models.CharField(_("subject"), max_length=20, choices=Subject.choices)
    condition = models.TextField(_("condition (a problem where it holds)"), blank=True)
    builtin = models.CharField(_("built-in check"), max_length=30, choices=Builtin.choices, blank=True, default="")
    item = models.CharField(_("item"), max_length=50, blank=True)
    requires = models.CharField(_("requires app"), max_length=30, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    order = models.PositiveSmallIntegerField(default=100)
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("data-quality rule")
        verbose_name_plural = _("data-quality rules")
        ordering = ["order", "key"]

    def __str__(self) -> str:
        return self.label


class Run(models.Model):
    """One run of the checks over the whole registry and all responses."""

    class Status(models.TextChoices):
        RUNNING = "running", _("running")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    started_at = models.DateTimeField(_("started"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.RUNNING)
    trigger = models.CharField(_("trigger"), max_length=20, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    counts = models.JSONField(_("problems by rule"), default=dict, blank=True)
    opened = models.PositiveIntegerField(_("new problems"), default=0)
    closed = models.PositiveIntegerField(_("fixed problems"), default=0)
    open_total = models.PositiveIntegerField(_("open problems"), default=0)
    seconds = models.FloatField(_("seconds"), default=0)

    class Meta:
        verbose_name = _("data-quality run")
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"{self.started_at:%Y-%m-%d %H:%M} ({self.open_total})"


class Problem(models.Model):
    """A problem one rule found on one household, person or response; closed by the run that no longer finds it."""

    class Status(models.TextChoices):
        OPEN = "open", _("open")
        CLOSED = "closed", _("fixed")

    scope_field = "area_code"

    rule = models.ForeignKey(Rule, verbose_name=_("rule"), on_delete=models.PROTECT, related_name="problems")
    key = models.CharField(max_length=120, db_index=True)
    household = models.ForeignKey("registry.Household", verbose_name=_("household"), null=True, blank=True,
                                  on_delete=models.PROTECT, related_name="+")
    person = models.ForeignKey("registry.Person", verbose_name=_("person"), null=True, blank=True,
                               on_delete=models.PROTECT, related_name="+")
    response = models.ForeignKey("surveys.Response", verbose_name=_("form response"), null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="+")
    village = models.ForeignKey("geo.Division", verbose_name=_("village"), null=True, blank=True,
                                on_delete=models.PROTECT, related_name="+")
    area_code = models.CharField(max_length=15, db_index=True)
    item = models.CharField(_("item"), max_length=100, blank=True)
    detail = models.CharField(_("detail"), max_length=300, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN,
                              db_index=True)
    first_run = models.ForeignKey(Run, on_delete=models.PROTECT, related_name="+")
    last_run = models.ForeignKey(Run, on_delete=models.PROTECT, related_name="+")
    opened_at = models.DateTimeField(_("found"), auto_now_add=True)
    closed_at = models.DateTimeField(_("fixed at"), null=True, blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("data-quality problem")
        verbose_name_plural = _("data-quality problems")
        ordering = ["area_code", "household", "rule__order", "id"]
        constraints = [models.UniqueConstraint(fields=["key"], condition=models.Q(status="open"),
                                               name="quality_one_open_problem_per_key")]
        indexes = [models.Index(fields=["status", "area_code"])]

    def __str__(self) -> str:
        return f"{self.rule}: {self.detail}"
