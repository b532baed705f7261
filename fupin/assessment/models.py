"""Assessment schemes and scores, field checks (抽查), policy gaps (应享未享), kinship flags (优亲厚友) and
return-to-poverty risk alerts (防返贫监测).

Indicators, policy rules and threshold caps are text in the expression language of
`fupin.eligibility.expressions`, never executable code. Schemes are versioned like rule sets: a draft is edited,
released (who, when) and then frozen; the newest released scheme is the one `fupin assess` computes.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from fupin.assessment.choices import (
    AlertStatus,
    CheckStatus,
    Direction,
    GapStatus,
    Grade,
    KinshipRole,
    Relation,
    RuleSubject,
    SchemeStatus,
    Stratum,
    SubjectKind,
)
from fupin.core.fields import EncryptedTextField
from fupin.core.i18n import shown
from fupin.core.models import BaseModel
from fupin.core.scoping import ScopedQuerySet

USER = settings.AUTH_USER_MODEL


class Scheme(BaseModel):
    """A version of the county's assessment scheme (考评方案): indicators, period weights, grades and caps."""

    scope_field = None  # county configuration, not people's data

    name = models.CharField(_("name"), max_length=100)
    number = models.PositiveIntegerField(_("version"), unique=True)
    status = models.CharField(_("status"), max_length=10, choices=SchemeStatus.choices, default=SchemeStatus.DRAFT)
    description = models.TextField(_("description"), blank=True)
    # {"H1": 30, "H2": 70}: a year's score is the weighted mean of its halves' scores; {} scores the year directly.
    period_weights = models.JSONField(_("weights of the half-years"), default=dict, blank=True)
    # [{"grade": "excellent", "min": 90}, ...] from the best grade down; below the last minimum is "fail".
    grades = models.JSONField(_("grade thresholds"), default=list, blank=True)
    # [{"when": "accuracy < 98", "max_grade": "good", "label": "..."}]: an expression over indicators and facts.
    caps = models.JSONField(_("grade caps"), default=list, blank=True)
    based_on = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    released_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    released_by_name = models.CharField(max_length=150, blank=True)
    released_at = models.DateTimeField(_("released at"), null=True, blank=True)

    class Meta:
        verbose_name = _("assessment scheme")
        verbose_name_plural = _("assessment schemes")
        ordering = ["-number"]

    def __str__(self) -> str:
        return f"{self.name} v{self.number}"


class Indicator(models.Model):
    """One indicator of a scheme: a formula over facts for one kind of subject, with direction, target, weight."""

    scheme = models.ForeignKey(Scheme, on_delete=models.CASCADE, related_name="indicators")
    code = models.SlugField(_("code"), max_length=40)
    name = models.CharField(_("name"), max_length=100)
    subject_kind = models.CharField(_("subject"), max_length=20, choices=SubjectKind.choices)
    formula = models.TextField(_("formula"))
    applies_when = models.TextField(_("applies when"), blank=True)
    direction = models.CharField(_("direction"), max_length=10, choices=Direction.choices, default=Direction.HIGHER)
    target = models.FloatField(_("target"))
    weight = models.FloatField(_("weight"))
    unit = models.CharField(_("unit"), max_length=20, blank=True)
    drill = models.CharField(_("records behind it"), max_length=30, blank=True)
    description = models.CharField(_("description"), max_length=300, blank=True)
    order = models.PositiveSmallIntegerField(default=100)

    class Meta:
        verbose_name = _("indicator")
        verbose_name_plural = _("indicators")
        ordering = ["subject_kind", "order", "code"]
        constraints = [models.UniqueConstraint(fields=["scheme", "subject_kind", "code"],
                                               name="assessment_one_indicator_code_per_kind")]

    def __str__(self) -> str:
        return f"{self.name}({self.get_subject_kind_display()})"


class ScoreRun(models.Model):
    """One computation of a period's scores under a released scheme; the newest per period is current."""

    scope_field = None

    scheme = models.ForeignKey(Scheme, on_delete=models.PROTECT, related_name="runs")
    period = models.CharField(_("period"), max_length=10, db_index=True)
    computed_at = models.DateTimeField(_("computed at"), auto_now_add=True)
    actor = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    actor_name = models.CharField(max_length=150, blank=True)
    is_current = models.BooleanField(default=True)
    stats = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("assessment run")
        verbose_name_plural = _("assessment runs")
        ordering = ["-computed_at", "-id"]

    def __str__(self) -> str:
        return f"{self.period} #{self.pk}"


class Score(models.Model):
    """A subject's score, rank, grade and indicator values in one run."""

    run = models.ForeignKey(ScoreRun, on_delete=models.CASCADE, related_name="scores")
    period = models.CharField(_("period"), max_length=10)
    kind = models.CharField(_("subject"), max_length=20, choices=SubjectKind.choices)
    code = models.CharField(_("code"), max_length=40)
    name = models.CharField(_("name"), max_length=100)
    area_code = models.CharField(max_length=15, db_index=True)
    score = models.FloatField(_("score"))
    rank = models.PositiveIntegerField(_("rank"))
    rank_of = models.PositiveIntegerField()
    grade = models.CharField(_("grade"), max_length=10, choices=Grade.choices)
    indicators = models.JSONField(default=dict)
    parts = models.JSONField(default=dict, blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("score")
        verbose_name_plural = _("scores")
        ordering = ["kind", "rank", "code"]
        indexes = [models.Index(fields=["run", "kind", "rank"]), models.Index(fields=["kind", "code", "period"])]

    def __str__(self) -> str:
        return f"{self.name} {self.score}"


class CheckSample(BaseModel):
    """A reproducible sample of a village's households for field checks (抽查): by share or count, with a seed."""

    village = models.ForeignKey("geo.Division", verbose_name=_("village"), on_delete=models.PROTECT, related_name="+")
    area_code = models.CharField(max_length=15, db_index=True)
    year = models.PositiveSmallIntegerField(_("year"))
    share = models.FloatField(_("share of households"), null=True, blank=True)
    count = models.PositiveIntegerField(_("households per group"), null=True, blank=True)
    seed = models.PositiveIntegerField(_("seed"))
    drawn_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("field-check sample")
        verbose_name_plural = _("field-check samples")
        ordering = ["-year", "area_code", "-id"]

    def __str__(self) -> str:
        return f"{self.village} {self.year}"


class FieldCheck(BaseModel):
    """One sampled household's field check: identified correctly, wrongly exited, missed, satisfied."""

    sample = models.ForeignKey(CheckSample, on_delete=models.CASCADE, related_name="checks")
    household = models.ForeignKey("registry.Household", verbose_name=_("household"), on_delete=models.PROTECT,
                                  related_name="+")
    area_code = models.CharField(max_length=15, db_index=True)
    stratum = models.CharField(_("group"), max_length=10, choices=Stratum.choices)
    status = models.CharField(_("status"), max_length=10, choices=CheckStatus.choices, default=CheckStatus.PENDING)
    correctly_identified = models.BooleanField(_("correctly identified"), null=True, blank=True)
    wrongly_exited = models.BooleanField(_("wrongly exited"), null=True, blank=True)
    missed_found = models.BooleanField(_("missed household found"), null=True, blank=True)
    satisfied = models.BooleanField(_("satisfied"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)
    checked_on = models.DateField(_("checked on"), null=True, blank=True)
    checked_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("field check")
        verbose_name_plural = _("field checks")
        ordering = ["sample", "stratum", "id"]
        constraints = [models.UniqueConstraint(fields=["sample", "household"], name="assessment_one_check_per_sample")]

    def __str__(self) -> str:
        return f"{self.household} {self.get_status_display()}"


class PolicyRule(BaseModel):
    """A policy with its eligibility rule (应享): who qualifies, and what shows they receive it."""

    scope_field = None

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    guarantee = models.CharField(_("guarantee"), max_length=20, blank=True)  # food, clothing, school, medical ...
    subject = models.CharField(_("applies to"), max_length=10, choices=RuleSubject.choices)
    eligible = models.TextField(_("who qualifies"))
    covered = models.TextField(_("what shows it is received"))
    policy = models.ForeignKey("assistance.Policy", verbose_name=_("policy received"), null=True, blank=True,
                               on_delete=models.SET_NULL, related_name="+")
    department = models.ForeignKey("org.Department", verbose_name=_("responsible department"), null=True,
                                   blank=True, on_delete=models.SET_NULL, related_name="+")
    is_active = models.BooleanField(_("active"), default=True)
    # versioned: every change of the texts is a new revision (PolicyRuleRevision keeps each); `origin` says whose
    # text it is: "pack:N" (the starting pack's version N, upgraded with the pack) or "county" (edited, left alone)
    revision = models.PositiveIntegerField(_("revision"), default=1)
    origin = models.CharField(_("origin"), max_length=20, blank=True)

    class Meta:
        verbose_name = _("policy rule")
        verbose_name_plural = _("policy rules")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class PolicyRuleRevision(models.Model):
    """One revision of a policy rule's texts: what the rule said from when, and who changed it."""

    rule = models.ForeignKey(PolicyRule, on_delete=models.CASCADE, related_name="revisions")
    revision = models.PositiveIntegerField(_("revision"))
    name = models.CharField(_("name"), max_length=100)
    eligible = models.TextField(_("who qualifies"))
    covered = models.TextField(_("what shows it is received"))
    origin = models.CharField(_("origin"), max_length=20, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)
    saved_by_name = models.CharField(max_length=150, blank=True)
    saved_at = models.DateTimeField(_("saved at"), auto_now_add=True)

    class Meta:
        verbose_name = _("policy rule revision")
        verbose_name_plural = _("policy rule revisions")
        ordering = ["rule", "-revision"]
        constraints = [models.UniqueConstraint(fields=["rule", "revision"], name="assessment_one_rule_revision")]

    def __str__(self) -> str:
        return f"{self.rule_id} r{self.revision}"


class PolicyGap(BaseModel):
    """A household or member who qualifies for a policy and does not receive it (应享未享), with evidence."""

    key = models.CharField(max_length=80, unique=True)
    rule = models.ForeignKey(PolicyRule, on_delete=models.PROTECT, related_name="gaps")
    rule_revision = models.PositiveIntegerField(_("rule revision"), default=1)
    household = models.ForeignKey("registry.Household", verbose_name=_("household"), on_delete=models.PROTECT,
                                  related_name="+")
    person = models.ForeignKey("registry.Person", verbose_name=_("member"), null=True, blank=True,
                               on_delete=models.PROTECT, related_name="+")
    area_code = models.CharField(max_length=15, db_index=True)
    status = models.CharField(_("status"), max_length=10, choices=GapStatus.choices, default=GapStatus.OPEN,
                              db_index=True)
    evidence = models.JSONField(_("evidence"), default=dict)
    opened_on = models.DateField(_("found on"))
    closed_on = models.DateField(_("closed on"), null=True, blank=True)
    close_reason = models.CharField(_("reason closed"), max_length=200, blank=True)
    work_order = models.ForeignKey("dispatch.WorkOrder", verbose_name=_("work order"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("policy gap")
        verbose_name_plural = _("policy gaps")
        ordering = ["area_code", "household", "rule__code", "id"]

    def __str__(self) -> str:
        return f"{self.rule}: {self.household}"


class StaffIdentity(BaseModel):
    """The ID number of a staff member (village cadre, grid worker, first secretary, town staff) for kinship checks."""

    user = models.OneToOneField(USER, verbose_name=_("user"), on_delete=models.CASCADE, related_name="+")
    role = models.CharField(_("role"), max_length=20, choices=KinshipRole.choices)
    name = models.CharField(_("name"), max_length=50)
    id_number = EncryptedTextField(_("ID number"), max_length=18)  # sealed; the scan compares in memory
    area_code = models.CharField(max_length=15, db_index=True)

    class Meta:
        verbose_name = _("staff identity")
        verbose_name_plural = _("staff identities")

    def __str__(self) -> str:
        return self.name


class KinshipFlag(BaseModel):
    """A household related to a staff member (优亲厚友 check): a reason for a second look, never an exclusion."""

    key = models.CharField(max_length=80, unique=True)
    household = models.ForeignKey("registry.Household", verbose_name=_("household"), on_delete=models.PROTECT,
                                  related_name="+")
    person = models.ForeignKey("registry.Person", verbose_name=_("member"), null=True, blank=True,
                               on_delete=models.PROTECT, related_name="+")
    staff = models.ForeignKey(StaffIdentity, verbose_name=_("staff member"), on_delete=models.CASCADE,
                              related_name="flags")
    relation = models.CharField(_("relation"), max_length=20, choices=Relation.choices)
    source = models.CharField(_("source"), max_length=200)
    year = models.PositiveSmallIntegerField(_("year"))
    area_code = models.CharField(max_length=15, db_index=True)
    reviewed = models.BooleanField(_("reviewed"), default=False)
    review_note = models.CharField(_("review note"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("kinship flag")
        verbose_name_plural = _("kinship flags")
        ordering = ["area_code", "household", "id"]

    def __str__(self) -> str:
        return f"{self.household} ~ {self.staff}"


class IncomeThreshold(models.Model):
    """The dated yearly income threshold of return-to-poverty monitoring (yuan per person per year)."""

    scope_field = None

    year = models.PositiveSmallIntegerField(_("year"), unique=True)
    amount = models.DecimalField(_("yuan per person per year"), max_digits=8, decimal_places=2)
    valid_from = models.DateField(_("valid from"))
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("monitoring income threshold")
        verbose_name_plural = _("monitoring income thresholds")
        ordering = ["-year"]

    def __str__(self) -> str:
        return f"{self.year}: {self.amount}"


class IncomeYear(BaseModel):
    """A household's per-capita net income of one year (the registry keeps only the current year): the history the
    income-drop signal of return-to-poverty monitoring compares."""

    household = models.ForeignKey("registry.Household", verbose_name=_("household"), on_delete=models.PROTECT,
                                  related_name="+")
    year = models.PositiveSmallIntegerField(_("year"))
    per_capita_net_income = models.DecimalField(_("per-capita net income"), max_digits=12, decimal_places=2)
    net_income = models.DecimalField(_("net income"), max_digits=14, decimal_places=2, null=True, blank=True)
    size = models.PositiveSmallIntegerField(_("members"), null=True, blank=True)
    source = models.CharField(_("source"), max_length=20)  # registry (nightly copy), manual, demo
    area_code = models.CharField(max_length=15, db_index=True)

    class Meta:
        verbose_name = _("yearly income")
        verbose_name_plural = _("yearly incomes")
        ordering = ["household", "-year"]
        constraints = [models.UniqueConstraint(fields=["household", "year"], name="assessment_one_income_per_year")]

    def __str__(self) -> str:
        return f"{self.household_id} {self.year}: {self.per_capita_net_income}"


class RiskAlert(BaseModel):
    """A return-to-poverty risk signal on a household, for the village team to check (防返贫监测预警)."""

    key = models.CharField(max_length=100, unique=True)
    household = models.ForeignKey("registry.Household", verbose_name=_("household"), on_delete=models.PROTECT,
                                  related_name="+")
    area_code = models.CharField(max_length=15, db_index=True)
    signal = models.CharField(_("signal"), max_length=30)
    detail = models.CharField(_("detail"), max_length=300)
    evidence = models.JSONField(default=dict, blank=True)
    raised_on = models.DateField(_("raised on"))
    status = models.CharField(_("status"), max_length=10, choices=AlertStatus.choices, default=AlertStatus.OPEN,
                              db_index=True)
    closed_on = models.DateField(_("closed on"), null=True, blank=True)
    close_note = models.CharField(_("outcome"), max_length=300, blank=True)
    reported_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("risk alert")
        verbose_name_plural = _("risk alerts")
        ordering = ["-raised_on", "-id"]

    def __str__(self) -> str:
        return f"{self.household}: {shown(self.detail)}"
