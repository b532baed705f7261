"""Collection forms as data: a form, its versions (a definition of sections and items), and the responses.

A published version never changes; a new one is made by copying. Each response points to the version it was filled
under, so last year's answers stay readable under last year's questions.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from fupin.core.models import BaseModel


class Level(models.TextChoices):
    HOUSEHOLD = "household", _("household")
    VILLAGE = "village", _("village")
    CITY = "city", _("city / county")


class PeriodKind(models.TextChoices):
    YEAR = "year", _("year")
    DATE = "date", _("date")


class Form(models.Model):
    """A collection form (户级、村级、市级信息采集表); its questions live in its versions."""

    scope_field = None  # definitions are reference data: any signed-in user may read them

    key = models.SlugField(_("key"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=100)
    level = models.CharField(_("level"), max_length=20, choices=Level.choices)
    period_kind = models.CharField(_("period"), max_length=10, choices=PeriodKind.choices, default=PeriodKind.YEAR)
    description = models.TextField(_("description"), blank=True)
    order = models.PositiveSmallIntegerField(default=100)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("collection form")
        verbose_name_plural = _("collection forms")
        ordering = ["order", "key"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return f"/forms/{self.key}/"


class FormVersion(models.Model):
    """One version of a form's definition (sections, items, conditions, validations); frozen once published."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("draft")
        PUBLISHED = "published", _("published")

    scope_field = None

    form = models.ForeignKey(Form, verbose_name=_("form"), on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    definition = models.JSONField(_("definition"), default=dict)
    note = models.CharField(_("what changed"), max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")

    class Meta:
        verbose_name = _("form version")
        verbose_name_plural = _("form versions")
        ordering = ["form", "-number"]
        constraints = [models.UniqueConstraint(fields=["form", "number"], name="surveys_unique_version_number")]

    def __str__(self) -> str:
        return f"{self.form} v{self.number}"

    def get_absolute_url(self) -> str:
        return f"/forms/{self.form.key}/v{self.number}/"

    @property
    def is_published(self) -> bool:
        return self.status == self.Status.PUBLISHED


class Response(BaseModel):
    """The answers of one subject (a household, a village, the city) for one period, under one form version."""

    scope_field = "area_code"

    form = models.ForeignKey(Form, verbose_name=_("form"), on_delete=models.PROTECT, related_name="responses")
    form_version = models.ForeignKey(FormVersion, verbose_name=_("form version"), on_delete=models.PROTECT,
                                     related_name="responses")
    household = models.ForeignKey("registry.Household", verbose_name=_("household"), null=True, blank=True,
                                  on_delete=models.PROTECT, related_name="form_responses")
    division = models.ForeignKey("geo.Division", verbose_name=_("division"), on_delete=models.PROTECT,
                                 related_name="form_responses")
    area_code = models.CharField(max_length=15, db_index=True)
    period = models.CharField(_("period"), max_length=10)
    year = models.PositiveSmallIntegerField(_("year"), db_index=True)
    data = models.JSONField(_("answers"), default=dict)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)

    class Meta:
        verbose_name = _("form response")
        verbose_name_plural = _("form responses")
        ordering = ["-year", "-period", "id"]
        constraints = [
            models.UniqueConstraint(fields=["form", "household", "period"], condition=models.Q(household__isnull=False),
                                    name="surveys_one_response_per_household_period"),
            models.UniqueConstraint(fields=["form", "division", "period"], condition=models.Q(household__isnull=True),
                                    name="surveys_one_response_per_division_period"),
        ]
        indexes = [models.Index(fields=["form", "year"])]

    def __str__(self) -> str:
        return f"{self.form} {self.subject_label} {self.period}"

    def get_absolute_url(self) -> str:
        return f"/forms/responses/{self.uuid}/"

    @property
    def subject_label(self) -> str:
        return str(self.household) if self.household_id else str(self.division)
