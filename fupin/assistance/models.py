"""Pairing (结对帮扶, 对口帮扶), plans (一村一策、一户一法), policies received, assistance records, errands and the
tracking lights (跟踪警示).

Pairings are history: a row has a start and, once it is over, an end with the reason, who ended it and who approved
it. The open row (end_date empty) is the current one; 不脱贫不脱钩 is enforced by the services, which end an open row
before exit only by reassigning it to someone else.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from fupin.assistance.choices import (
    AreaPairingKind,
    AttachmentKind,
    BenefitForm,
    Colour,
    ErrandStatus,
    MeasureKind,
    MeasureStatus,
    RecordKind,
    RecordSource,
    UnitKind,
)
from fupin.core.models import BaseModel
from fupin.core.scoping import ScopedQuerySet

USER = settings.AUTH_USER_MODEL


class Unit(BaseModel):
    """A work unit that sends cadres (帮扶单位): a department, a public institution, an enterprise."""

    scope_field = None  # units are reference data, listed county-wide

    name = models.CharField(_("name"), max_length=100, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=UnitKind.choices, default=UnitKind.DEPARTMENT)
    department = models.ForeignKey("org.Department", verbose_name=_("department"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="assistance_units")
    contact_user = models.ForeignKey(USER, verbose_name=_("responsible user"), null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="assistance_units")
    phone = models.CharField(_("phone"), max_length=30, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("work unit")
        verbose_name_plural = _("work units")
        ordering = ["kind", "name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return f"/assistance/units/{self.pk}/"


class Cadre(BaseModel):
    """A person with assistance duties (帮扶责任人): a pairing cadre, a leader, a first secretary, a team member.

    Most cadres never log in, so the user account is optional.
    """

    scope_field = None  # officials, listed county-wide; the households they carry are scoped

    name = models.CharField(pgettext_lazy("person", "name"), max_length=50, db_index=True)
    phone = models.CharField(_("phone"), max_length=30, blank=True)
    unit = models.ForeignKey(Unit, verbose_name=_("work unit"), on_delete=models.PROTECT, related_name="cadres")
    post = models.CharField(_("post"), max_length=50, blank=True)
    user = models.OneToOneField(USER, verbose_name=_("user account"), null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="cadre")
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("cadre")
        verbose_name_plural = _("cadres")
        ordering = ["unit", "name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return f"/assistance/cadres/{self.pk}/"


class PairingTerms(models.Model):
    """三定一包: the person (the row's cadre), the duty, the post, the exit commitment; and how the pairing ended."""

    duty = models.CharField(_("duty"), max_length=200, blank=True)
    post = models.CharField(_("post"), max_length=100, blank=True)
    exit_commitment = models.CharField(_("exit commitment"), max_length=200, blank=True)
    exit_target_year = models.PositiveSmallIntegerField(_("target exit year"), null=True, blank=True)
    start_date = models.DateField(_("from"))
    end_date = models.DateField(_("until"), null=True, blank=True)
    end_reason = models.CharField(_("reason ended"), max_length=300, blank=True)
    ended_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    approved_by = models.ForeignKey(USER, verbose_name=_("approved by"), null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")

    class Meta:
        abstract = True

    @property
    def is_open(self) -> bool:
        return self.end_date is None


class HouseholdPairing(BaseModel, PairingTerms):
    """One cadre answerable for one household (结对帮扶) from start to end; the open row is the current one."""

    scope_field = "area_code"

    household = models.ForeignKey("registry.Household", verbose_name=_("household"), on_delete=models.PROTECT,
                                  related_name="pairings")
    cadre = models.ForeignKey(Cadre, verbose_name=_("cadre"), on_delete=models.PROTECT, related_name="pairings")
    unit = models.ForeignKey(Unit, verbose_name=_("work unit"), on_delete=models.PROTECT, related_name="pairings")
    area_code = models.CharField(max_length=15, db_index=True)
    successor = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("household pairing")
        verbose_name_plural = _("household pairings")
        ordering = ["household", "-start_date", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["household"], condition=models.Q(end_date__isnull=True),
                                    name="one_open_pairing_per_household"),
        ]
        indexes = [models.Index(fields=["cadre", "end_date"])]

    def __str__(self) -> str:
        return f"{self.cadre} ↔ {self.household}"


class WorkTeam(BaseModel):
    """A village work team (驻村工作队): its leader, its members and the unit that sent it."""

    scope_field = "area_code"

    name = models.CharField(_("name"), max_length=100)
    village = models.ForeignKey("geo.Division", verbose_name=_("village"), on_delete=models.PROTECT,
                                related_name="work_teams")
    area_code = models.CharField(max_length=15, db_index=True)
    unit = models.ForeignKey(Unit, verbose_name=_("dispatching unit"), on_delete=models.PROTECT,
                             related_name="work_teams")
    leader = models.ForeignKey(Cadre, verbose_name=_("team leader"), null=True, blank=True, on_delete=models.PROTECT,
                               related_name="led_teams")
    members = models.ManyToManyField(Cadre, verbose_name=_("members"), blank=True, related_name="work_teams")
    formed_on = models.DateField(_("formed on"))
    dissolved_on = models.DateField(_("dissolved on"), null=True, blank=True)

    class Meta:
        verbose_name = _("village work team")
        verbose_name_plural = _("village work teams")
        ordering = ["area_code", "-formed_on"]

    def __str__(self) -> str:
        return self.name


class AreaPairing(BaseModel, PairingTerms):
    """A unit, city leader, enterprise, work team or first secretary linked to a village, or a standing committee
    member linked to a town (对口帮扶); the open row per kind and division is the current one."""

    scope_field = "area_code"

    kind = models.CharField(_("kind"), max_length=20, choices=AreaPairingKind.choices)
    division = models.ForeignKey("geo.Division", verbose_name=_("village or town"), on_delete=models.PROTECT,
                                 related_name="area_pairings")
    area_code = models.CharField(max_length=15, db_index=True)
    cadre = models.ForeignKey(Cadre, verbose_name=_("person"), null=True, blank=True, on_delete=models.PROTECT,
                              related_name="area_pairings")
    unit = models.ForeignKey(Unit, verbose_name=_("unit"), null=True, blank=True, on_delete=models.PROTECT,
                             related_name="area_pairings")
    team = models.ForeignKey(WorkTeam, verbose_name=_("work team"), null=True, blank=True, on_delete=models.PROTECT,
                             related_name="pairings")
    successor = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("village or town pairing")
        verbose_name_plural = _("village and town pairings")
        ordering = ["area_code", "kind", "-start_date"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "division"], condition=models.Q(end_date__isnull=True),
                                    name="one_open_area_pairing_per_kind"),
        ]

    def __str__(self) -> str:
        who = self.team or self.cadre or self.unit
        return f"{self.get_kind_display()}: {who} ↔ {self.division}"


class VillagePlan(BaseModel):
    """一村一策: a village's plan for one year (projects, leading industries, infrastructure, targets)."""

    scope_field = "area_code"

    village = models.ForeignKey("geo.Division", verbose_name=_("village"), on_delete=models.PROTECT,
                                related_name="assistance_plans")
    area_code = models.CharField(max_length=15, db_index=True)
    year = models.PositiveSmallIntegerField(_("year"))
    projects = models.TextField(_("projects"), blank=True)
    leading_industries = models.TextField(_("leading industries"), blank=True)
    infrastructure = models.TextField(_("infrastructure"), blank=True)
    targets = models.TextField(_("targets"), blank=True)
    exit_target_year = models.PositiveSmallIntegerField(_("target exit year"), null=True, blank=True)

    class Meta:
        verbose_name = _("village plan")
        verbose_name_plural = _("village plans")
        ordering = ["area_code", "-year"]
        constraints = [models.UniqueConstraint(fields=["village", "year"], name="one_village_plan_per_year")]

    def __str__(self) -> str:
        return f"{self.village} {self.year}"


class HouseholdPlan(BaseModel):
    """一户一法: a household's plan for one year; its measures follow the household's poverty causes."""

    scope_field = "area_code"

    household = models.ForeignKey("registry.Household", verbose_name=_("household"), on_delete=models.PROTECT,
                                  related_name="assistance_plans")
    area_code = models.CharField(max_length=15, db_index=True)
    year = models.PositiveSmallIntegerField(_("year"))
    goal = models.TextField(_("goal"), blank=True)
    exit_target_year = models.PositiveSmallIntegerField(_("target exit year"), null=True, blank=True)
    confirmed_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("household plan")
        verbose_name_plural = _("household plans")
        ordering = ["household", "-year"]
        constraints = [models.UniqueConstraint(fields=["household", "year"], name="one_household_plan_per_year")]

    def __str__(self) -> str:
        return f"{self.household} {self.year}"


class Measure(BaseModel):
    """One measure of a household plan, with its responsible person, target date, status and evidence."""

    scope_field = "area_code"

    plan = models.ForeignKey(HouseholdPlan, on_delete=models.PROTECT, related_name="measures")
    household = models.ForeignKey("registry.Household", on_delete=models.PROTECT, related_name="assistance_measures")
    area_code = models.CharField(max_length=15, db_index=True)
    kind = models.CharField(_("kind"), max_length=20, choices=MeasureKind.choices)
    title = models.CharField(_("measure"), max_length=200)
    detail = models.TextField(_("details"), blank=True)
    responsible = models.ForeignKey(Cadre, verbose_name=_("responsible person"), null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="measures")
    responsible_name = models.CharField(_("responsible person"), max_length=100, blank=True)
    target_date = models.DateField(_("target date"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=MeasureStatus.choices, default=MeasureStatus.PLANNED)
    done_on = models.DateField(_("done on"), null=True, blank=True)
    evidence = models.TextField(_("evidence"), blank=True)
    evidence_file = models.FileField(_("evidence file"), upload_to="assistance/evidence/%Y/%m/", blank=True)
    suggested = models.BooleanField(_("suggested"), default=False)
    reason = models.CharField(_("why suggested"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("measure")
        verbose_name_plural = _("measures")
        ordering = ["plan", "target_date", "id"]
        indexes = [models.Index(fields=["status", "target_date"])]

    def __str__(self) -> str:
        return self.title


class Policy(BaseModel):
    """A policy households may receive (享受政策): its department, kind and amount or benefit."""

    scope_field = None  # the catalogue is reference data

    name = models.CharField(_("name"), max_length=100, unique=True)
    department = models.ForeignKey("org.Department", verbose_name=_("department"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="assistance_policies")
    kind = models.CharField(_("kind"), max_length=20, choices=MeasureKind.choices)
    form = models.CharField(_("form of benefit"), max_length=20, choices=BenefitForm.choices, default=BenefitForm.CASH)
    amount = models.DecimalField(_("standard amount (yuan)"), max_digits=10, decimal_places=2, null=True, blank=True)
    amount_unit = models.CharField(_("per"), max_length=20, blank=True)
    benefit = models.CharField(_("benefit"), max_length=300, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("policy")
        verbose_name_plural = _("policies")
        ordering = ["kind", "name"]

    def __str__(self) -> str:
        return self.name


class PolicyReceipt(BaseModel):
    """That a household received a policy: when and how much."""

    scope_field = "area_code"

    household = models.ForeignKey("registry.Household", verbose_name=_("household"), on_delete=models.PROTECT,
                                  related_name="policy_receipts")
    policy = models.ForeignKey(Policy, verbose_name=_("policy"), on_delete=models.PROTECT, related_name="receipts")
    area_code = models.CharField(max_length=15, db_index=True)
    received_on = models.DateField(_("received on"))
    amount = models.DecimalField(_("amount (yuan)"), max_digits=12, decimal_places=2, null=True, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)
    recorded_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("policy received")
        verbose_name_plural = _("policies received")
        ordering = ["household", "-received_on"]
        indexes = [models.Index(fields=["household", "policy"])]

    def __str__(self) -> str:
        return f"{self.household} {self.policy} {self.received_on}"


class AssistanceRecord(BaseModel):
    """帮扶日志: one visit or call to a household: who, when, what was done, the needs raised, where."""

    scope_field = "area_code"

    household = models.ForeignKey("registry.Household", verbose_name=_("household"), on_delete=models.PROTECT,
                                  related_name="assistance_records")
    area_code = models.CharField(max_length=15, db_index=True)
    cadre = models.ForeignKey(Cadre, verbose_name=_("cadre"), null=True, blank=True, on_delete=models.PROTECT,
                              related_name="records")
    recorded_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("kind"), max_length=10, choices=RecordKind.choices, default=RecordKind.VISIT)
    occurred_on = models.DateField(_("date"))
    content = models.TextField(_("what was done"))
    needs = models.TextField(_("needs raised"), blank=True)
    lng = models.FloatField(_("longitude"), null=True, blank=True)
    lat = models.FloatField(_("latitude"), null=True, blank=True)
    gps_accuracy = models.FloatField(_("GPS accuracy (m)"), null=True, blank=True)
    source = models.CharField(max_length=10, choices=RecordSource.choices, default=RecordSource.WEB)

    class Meta:
        verbose_name = _("assistance record")
        verbose_name_plural = _("assistance records")
        ordering = ["-occurred_on", "-id"]
        indexes = [models.Index(fields=["household", "occurred_on"])]

    def __str__(self) -> str:
        return f"{self.household} {self.occurred_on} {self.get_kind_display()}"


class RecordAttachment(BaseModel):
    """A photo or file attached to an assistance record (佐证资料)."""

    scope_field = "area_code"

    record = models.ForeignKey(AssistanceRecord, on_delete=models.CASCADE, related_name="attachments")
    area_code = models.CharField(max_length=15, db_index=True)
    kind = models.CharField(max_length=10, choices=AttachmentKind.choices, default=AttachmentKind.PHOTO)
    file = models.FileField(_("file"), upload_to="assistance/records/%Y/%m/")
    caption = models.CharField(_("caption"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("attachment")
        ordering = ["record", "id"]

    def __str__(self) -> str:
        return self.caption or self.file.name


class Errand(BaseModel):
    """代办: an errand a grid worker runs for a household: what, for whom, at which office, with what result."""

    scope_field = "area_code"

    household = models.ForeignKey("registry.Household", verbose_name=_("household"), on_delete=models.PROTECT,
                                  related_name="errands")
    area_code = models.CharField(max_length=15, db_index=True)
    person = models.ForeignKey("registry.Person", verbose_name=_("for whom"), null=True, blank=True,
                               on_delete=models.PROTECT, related_name="errands")
    for_name = models.CharField(_("for whom"), max_length=50, blank=True)
    matter = models.CharField(_("what"), max_length=200)
    office = models.CharField(_("office"), max_length=100, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=ErrandStatus.choices, default=ErrandStatus.OPEN)
    result = models.TextField(_("result"), blank=True)
    handled_by = models.ForeignKey(USER, verbose_name=_("handled by"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    opened_on = models.DateField(_("taken on"))
    closed_on = models.DateField(_("closed on"), null=True, blank=True)

    class Meta:
        verbose_name = _("errand")
        verbose_name_plural = _("errands")
        ordering = ["-opened_on", "-id"]
        indexes = [models.Index(fields=["status", "opened_on"])]

    def __str__(self) -> str:
        return self.matter


class LightRules(models.Model):
    """The thresholds of the tracking lights (one row, created with the defaults of FUPIN_ASSISTANCE_LIGHTS)."""

    yellow_from_days = models.PositiveSmallIntegerField(_("yellow from day"), default=20)
    red_from_days = models.PositiveSmallIntegerField(_("red from day"), default=31)
    no_cadre_colour = models.CharField(_("colour when no cadre"), max_length=10, choices=Colour.choices,
                                       default=Colour.RED)
    overdue_measure_colour = models.CharField(_("colour when a measure is overdue"), max_length=10,
                                              choices=Colour.choices, default=Colour.YELLOW)
    finding_days = models.PositiveSmallIntegerField(_("days a comparison finding may stay unverified"), default=15)
    finding_colour = models.CharField(_("colour when a finding is left unverified"), max_length=10,
                                      choices=Colour.choices, default=Colour.YELLOW)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("light thresholds")

    def __str__(self) -> str:
        return f"{self.yellow_from_days}/{self.red_from_days}"


class HouseholdLight(models.Model):
    """The current tracking light of one household (跟踪警示), kept up to date by writes and the nightly step."""

    scope_field = "area_code"

    household = models.OneToOneField("registry.Household", primary_key=True, on_delete=models.CASCADE,
                                     related_name="assistance_light")
    colour = models.CharField(_("light"), max_length=10, choices=Colour.choices)
    days = models.PositiveIntegerField(_("days without assistance"), null=True, blank=True)
    since = models.DateField(_("counting from"), null=True, blank=True)
    last_record_on = models.DateField(_("last assistance record"), null=True, blank=True)
    reasons = models.JSONField(default=list, blank=True)
    area_code = models.CharField(max_length=15, db_index=True)
    # roll-ups group by these; they are read with area_code prefixes, so need no index of their own
    village_code = models.CharField(max_length=12)
    town_code = models.CharField(max_length=12)
    # indexed together with the colour (Meta.indexes), not alone
    cadre = models.ForeignKey(Cadre, null=True, blank=True, on_delete=models.SET_NULL, related_name="lights",
                              db_index=False)
    unit = models.ForeignKey(Unit, null=True, blank=True, on_delete=models.SET_NULL, related_name="lights",
                             db_index=False)
    red_since = models.DateField(null=True, blank=True)
    alerted = models.BooleanField(default=False)
    fingerprint = models.CharField(max_length=32, blank=True)  # digest of the stored values: unchanged → no write
    computed_at = models.DateTimeField()

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("household light")
        verbose_name_plural = _("household lights")
        indexes = [
            models.Index(fields=["colour"]),
            models.Index(fields=["cadre", "colour"]),
            models.Index(fields=["unit", "colour"]),
        ]

    def __str__(self) -> str:
        return f"{self.household_id}: {self.colour}"
