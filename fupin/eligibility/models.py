"""Identification rules as versioned data, comparison runs, findings for grid workers to verify, and scores.

A rule set is edited as a draft and released (who, when); the newest released set is the one comparisons run.
Rules are text in the expression language of `fupin.eligibility.expressions`, never executable code.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from fupin.core.fields import EncryptedJSONField, EncryptedTextField
from fupin.core.models import BaseModel
from fupin.core.scoping import ScopedQuerySet


class RuleSet(BaseModel):
    """A version of the county's identification rules (十不准, 五优先, 四看四算)."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("draft")
        RELEASED = "released", _("released")
        RETIRED = "retired", _("retired")

    scope_field = None  # county configuration, not people's data

    name = models.CharField(_("name"), max_length=100)
    number = models.PositiveIntegerField(_("version"), unique=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    description = models.TextField(_("description"), blank=True)
    based_on = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    released_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    released_by_name = models.CharField(max_length=150, blank=True)
    released_at = models.DateTimeField(_("released at"), null=True, blank=True)

    class Meta:
        verbose_name = _("rule set")
        verbose_name_plural = _("rule sets")
        ordering = ["-number"]

    def __str__(self) -> str:
        return f"{self.name} v{self.number}"

    def get_absolute_url(self) -> str:
        return f"/comparison/rules/{self.number}/"


class RuleKind(models.TextChoices):
    EXCLUSION = "exclusion", _("exclusion (十不准)")
    PRIORITY = "priority", _("priority (五优先)")
    SCORING = "scoring", _("scoring (四看四算)")


class Rule(models.Model):
    """One rule: over a department source's linked records, over members, or over the household."""

    rule_set = models.ForeignKey(RuleSet, on_delete=models.CASCADE, related_name="rules")
    code = models.SlugField(_("code"), max_length=40)
    kind = models.CharField(_("kind"), max_length=10, choices=RuleKind.choices)
    name = models.CharField(_("name"), max_length=100)
    description = models.CharField(_("description"), max_length=500, blank=True)
    # a source code (the expression sees that source's record fields, the member's and the household's facts),
    # "member" (member and household facts) or "household" (household facts)
    subject = models.CharField(_("applies to"), max_length=40)
    expression = models.TextField(_("expression"))
    evidence_fields = models.JSONField(_("evidence cited"), default=list, blank=True)
    group = models.CharField(_("group"), max_length=20, blank=True)  # 看房, 看粮 ... for scoring rules
    order = models.PositiveSmallIntegerField(default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("rule")
        verbose_name_plural = _("rules")
        ordering = ["rule_set", "kind", "order", "code"]
        constraints = [models.UniqueConstraint(fields=["rule_set", "code"], name="unique_rule_code_in_set")]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class ComparisonRun(models.Model):
    """One comparison: the rule set it used, what it scanned, counts by rule and by village, timings."""

    rule_set = models.ForeignKey(RuleSet, on_delete=models.PROTECT, related_name="runs")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    actor_name = models.CharField(max_length=150, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    households = models.PositiveIntegerField(default=0)
    stats = models.JSONField(default=dict, blank=True)

    objects = ScopedQuerySet.as_manager()
    scope_field = None

    class Meta:
        verbose_name = _("comparison run")
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.started_at:%Y-%m-%d %H:%M}"


class Finding(BaseModel):
    """A rule hit on a household: a lead for the grid worker to verify (confirm, dismiss with a reason, correct)."""

    class Status(models.TextChoices):
        OPEN = "open", _("to verify")
        CONFIRMED = "confirmed", _("confirmed")
        DISMISSED = "dismissed", _("dismissed")
        CORRECTED = "corrected", _("data corrected")
        CLEARED = "cleared", _("no longer found")

    scope_field = "area_code"

    key = models.CharField(max_length=64, unique=True)
    household = models.ForeignKey("registry.Household", on_delete=models.CASCADE, related_name="findings")
    household_code = models.CharField(_("household number"), max_length=40, blank=True)
    person = models.ForeignKey("registry.Person", null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="findings")
    person_id_number = EncryptedTextField(max_length=18, blank=True)  # sealed at rest (fupin/core/fields.py)
    rule = models.ForeignKey(Rule, null=True, blank=True, on_delete=models.SET_NULL, related_name="findings")
    rule_code = models.CharField(_("rule"), max_length=40, db_index=True)
    rule_name = models.CharField(_("rule"), max_length=100, blank=True)
    source_code = models.CharField(_("source"), max_length=40)
    evidence = EncryptedJSONField(_("evidence"), default=dict, audit_name=False)  # cites the ID as received
    evidence_hash = models.CharField(max_length=64)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN,
                              db_index=True)
    reason = models.TextField(_("reason"), blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    first_run = models.ForeignKey(ComparisonRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    last_run = models.ForeignKey(ComparisonRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    area_code = models.CharField(max_length=15, db_index=True)

    class Meta:
        verbose_name = _("finding")
        verbose_name_plural = _("findings")
        ordering = ["status", "-updated_at", "-id"]
        indexes = [models.Index(fields=["household", "status"])]

    def __str__(self) -> str:
        return f"{self.household_code} {self.rule_name or self.rule_code}"

    def get_absolute_url(self) -> str:
        return f"/comparison/findings/{self.uuid}/"

    @property
    def inbox_key(self) -> str:
        return f"finding:{self.pk}"


class Assessment(models.Model):
    """A household's latest 四看四算 score, its rank in the village and the 五优先 rules it meets."""

    scope_field = "area_code"

    household = models.OneToOneField("registry.Household", on_delete=models.CASCADE, related_name="assessment")
    run = models.ForeignKey(ComparisonRun, on_delete=models.CASCADE, related_name="+")
    score = models.FloatField(_("score"))
    rank = models.PositiveIntegerField(_("rank in the village"))
    rank_of = models.PositiveIntegerField(default=0)
    parts = models.JSONField(default=dict, blank=True)  # rule code → points
    priorities = models.JSONField(default=list, blank=True)  # codes of priority rules met
    area_code = models.CharField(max_length=15, db_index=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("assessment")

    def __str__(self) -> str:
        return f"{self.household_id}: {self.score}"


class ValueMapping(models.Model):
    """How the values of one field of a department source map to the values rules read (A-正常 → 正常).

    Data, versioned with the rule set it serves: a draft's mappings are edited, released with it, and kept when it
    is retired. A value no mapping knows is "not understood" (不能识别): reported, never treated as not matching.
    """

    rule_set = models.ForeignKey(RuleSet, on_delete=models.CASCADE, related_name="value_mappings")
    source_code = models.CharField(_("source"), max_length=40)
    field = models.CharField(_("field"), max_length=100)
    description = models.CharField(_("description"), max_length=200, blank=True)
    values = models.JSONField(_("values"), default=dict)  # value as exported → value rules read ("" = blank)

    class Meta:
        verbose_name = _("value mapping")
        verbose_name_plural = _("value mappings")
        ordering = ["rule_set", "source_code", "field"]
        constraints = [models.UniqueConstraint(fields=["rule_set", "source_code", "field"],
                                               name="unique_value_mapping_field")]

    def __str__(self) -> str:
        return f"v{self.rule_set.number} {self.source_code}.{self.field}"
