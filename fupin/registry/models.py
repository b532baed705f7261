"""Resident households and persons; the 建档立卡 (registered poor) households are those with is_registered_poor.

One table for all residents keeps the population, the poor and later applicants in one place: a household becomes
建档立卡 through the identification procedure, not by being copied into another table.
"""

from urllib.parse import quote

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from fupin.core.fields import BlindIndexField, EncryptedJSONField, EncryptedTextField
from fupin.core.models import BaseModel
from fupin.core.scoping import ScopedQuerySet

MONEY = {"max_digits": 12, "decimal_places": 2, "default": 0}
AREA = {"max_digits": 10, "decimal_places": 2, "null": True, "blank": True}


class Household(BaseModel):
    """A resident household (户), with the 建档立卡 fields when it is registered poor."""

    scope_field = "area_code"

    hukou_no = models.CharField(_("household register number"), max_length=30, blank=True, db_index=True)
    poor_code = models.CharField(_("poor household number"), max_length=40, null=True, blank=True, unique=True)
    village = models.ForeignKey("geo.Division", verbose_name=_("village"), on_delete=models.PROTECT,
                                related_name="households")
    grid = models.ForeignKey("geo.Grid", verbose_name=_("grid"), null=True, blank=True, on_delete=models.PROTECT,
                             related_name="households")
    area_code = models.CharField(max_length=15, db_index=True)
    group_name = models.CharField(_("group"), max_length=30, blank=True)
    address = models.CharField(_("address"), max_length=200, blank=True)
    head_name = models.CharField(_("head of household"), max_length=50, blank=True, db_index=True)
    phone = EncryptedTextField(_("phone"), max_length=30, blank=True)
    size = models.PositiveSmallIntegerField(_("members"), default=0)

    lng = models.FloatField(_("longitude"), null=True, blank=True)
    lat = models.FloatField(_("latitude"), null=True, blank=True)
    location_source = models.CharField(max_length=20, blank=True)
    located_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    located_at = models.DateTimeField(null=True, blank=True)

    # 建档立卡
    is_registered_poor = models.BooleanField(_("registered poor"), default=False, db_index=True)
    identification_standard = models.CharField(_("identification standard"), max_length=20, blank=True)
    attribute = models.CharField(_("poor household attribute"), max_length=20, blank=True, db_index=True)
    main_cause = models.CharField(_("main poverty cause"), max_length=20, blank=True, db_index=True)
    other_causes = models.JSONField(_("other causes"), default=list, blank=True)
    poverty_status = models.CharField(_("poverty status"), max_length=20, blank=True, db_index=True)
    year_identified = models.PositiveSmallIntegerField(_("year identified"), null=True, blank=True)
    year_exited = models.PositiveSmallIntegerField(_("year of exit"), null=True, blank=True)
    monitoring_category = models.CharField(_("monitoring category"), max_length=20, blank=True)
    monitoring_risks = models.JSONField(_("monitoring risks"), default=list, blank=True)
    leading_industry = models.CharField(_("leading industry"), max_length=100, blank=True)

    # income block (yuan/year)
    income_year = models.PositiveSmallIntegerField(_("income year"), null=True, blank=True)
    income_wages = models.DecimalField(_("wage income"), **MONEY)
    income_business = models.DecimalField(_("business income"), **MONEY)
    cost_business = models.DecimalField(_("business costs"), **MONEY)
    income_property = models.DecimalField(_("property income"), **MONEY)
    transfer_family_planning = models.DecimalField(_("family-planning payments"), **MONEY)
    transfer_dibao = models.DecimalField(_("dibao payments"), **MONEY)
    transfer_wubao = models.DecimalField(_("wubao payments"), **MONEY)
    transfer_pension = models.DecimalField(_("pension"), **MONEY)
    transfer_eco = models.DecimalField(_("ecological compensation"), **MONEY)
    transfer_other = models.DecimalField(_("other transfers"), **MONEY)
    annual_income = models.DecimalField(_("annual income"), **MONEY)
    net_income = models.DecimalField(_("net income"), **MONEY)
    per_capita_net_income = models.DecimalField(_("per-capita net income"), **MONEY)

    # land (mu)
    land_cultivated = models.DecimalField(_("cultivated land"), **AREA)
    land_irrigated = models.DecimalField(_("effectively irrigated"), **AREA)
    land_forest = models.DecimalField(_("forest land"), **AREA)
    land_returned = models.DecimalField(_("returned farmland"), **AREA)
    land_orchard = models.DecimalField(_("orchards"), **AREA)
    land_pasture = models.DecimalField(_("pasture"), **AREA)
    land_water = models.DecimalField(_("water surface"), **AREA)

    # living conditions
    production_power = models.BooleanField(_("production electricity"), null=True, blank=True)
    road_distance_km = models.DecimalField(_("distance to village road (km)"), max_digits=6, decimal_places=2,
                                           null=True, blank=True)
    road_type = models.CharField(_("road type"), max_length=20, blank=True)
    housing_area = models.DecimalField(_("housing area (m²)"), max_digits=8, decimal_places=2, null=True, blank=True)
    housing_structure = models.CharField(_("housing structure"), max_length=20, blank=True)
    dilapidated_grade = models.CharField(_("dilapidated housing grade"), max_length=5, blank=True)
    drinking_difficulty = models.BooleanField(_("drinking water difficulty"), null=True, blank=True)
    drinking_safe = models.BooleanField(_("safe drinking water"), null=True, blank=True)
    water_source = models.CharField(_("water source"), max_length=20, blank=True)
    sanitary_toilet = models.BooleanField(_("sanitary toilet"), null=True, blank=True)
    fuel = models.CharField(_("main fuel"), max_length=20, blank=True)
    in_cooperative = models.BooleanField(_("member of a cooperative"), null=True, blank=True)

    # a household ends by a merge into another, or when its last member dies or leaves
    dissolved_on = models.DateField(_("dissolved on"), null=True, blank=True)
    dissolved_reason = models.CharField(_("reason dissolved"), max_length=20, blank=True)
    merged_into = models.ForeignKey("self", verbose_name=_("merged into"), null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="merged_from")
    split_from = models.ForeignKey("self", verbose_name=_("split from"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="split_into")

    class Meta:
        verbose_name = _("household")
        verbose_name_plural = _("households")
        indexes = [models.Index(fields=["is_registered_poor", "area_code"])]

    def __str__(self) -> str:
        return f"{self.head_name}户" if self.head_name else (self.poor_code or self.hukou_no or f"#{self.pk}")

    def get_absolute_url(self) -> str:
        return f"/households/{quote(self.poor_code, safe='') if self.poor_code else self.uuid}/"

    @property
    def url_key(self) -> str:
        """What /households/<key>/ takes: the 户编号 verbatim, else the uuid (non-poor residents)."""
        return self.poor_code or str(self.uuid)


class Person(BaseModel):
    """A resident: member of at most one household at a time (a move is a recorded transfer)."""

    scope_field = "area_code"

    household = models.ForeignKey(Household, null=True, blank=True, on_delete=models.PROTECT, related_name="members")
    area_code = models.CharField(max_length=15, db_index=True)
    relationship = models.CharField(_("relationship to head"), max_length=20, blank=True)
    name = models.CharField(pgettext_lazy("person", "name"), max_length=50, db_index=True)
    # sealed at rest (fupin/core/fields.py); found by its keyed blind index, and by the keyed indexes of its last 4
    # and last 6 characters (the search box's ID-tail search); docs/personal-information.md
    id_number = EncryptedTextField(_("ID number"), max_length=25, blank=True)
    id_index = BlindIndexField(source="id_number")
    id_tail4_index = BlindIndexField(source="id_number", tail=4)
    id_tail6_index = BlindIndexField(source="id_number", tail=6)
    id_type = models.CharField(_("document type"), max_length=10, default="id_card")
    id_valid = models.BooleanField(_("ID number valid"), default=True)
    sex = models.CharField(_("sex"), max_length=10, blank=True)
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    ethnicity = models.CharField(_("ethnicity"), max_length=20, blank=True)
    political_status = models.CharField(_("political status"), max_length=20, blank=True)
    education = models.CharField(_("education"), max_length=20, blank=True)
    schooling = models.CharField(_("schooling"), max_length=20, blank=True)
    health = EncryptedJSONField(_("health"), default=list, blank=True)
    labour_skill = models.CharField(_("labour skill"), max_length=20, blank=True)
    work_status = models.CharField(_("work status"), max_length=20, blank=True)
    work_months = models.PositiveSmallIntegerField(_("months of work"), null=True, blank=True)
    work_place = models.CharField(_("place of work"), max_length=100, blank=True)
    dibao = models.BooleanField(_("dibao"), default=False)
    rural_medical = models.BooleanField(_("rural medical insurance"), default=False)
    pension_insurance = models.BooleanField(_("resident pension insurance"), default=False)
    serious_illness_insurance = models.BooleanField(_("serious illness insurance"), default=False)
    serving_soldier = models.BooleanField(_("serving soldier"), default=False)
    disability_card = EncryptedTextField(_("disability card number"), max_length=25, blank=True)
    disability_category = models.CharField(_("disability category"), max_length=5, blank=True)
    disability_grade = models.PositiveSmallIntegerField(_("disability grade"), null=True, blank=True)
    phone = EncryptedTextField(_("phone"), max_length=30, blank=True)
    is_alive = models.BooleanField(_("alive"), default=True)
    death_date = models.DateField(_("date of death"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("person")
        verbose_name_plural = _("persons")

    def __str__(self) -> str:
        return self.name


class PovertyLine(models.Model):
    """The poverty line of a year (yuan per person per year, current prices): a dated setting the county enters."""

    year = models.PositiveSmallIntegerField(_("year"), unique=True)
    amount = models.DecimalField(_("yuan per person per year"), max_digits=8, decimal_places=2)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("poverty line")
        ordering = ["year"]

    def __str__(self) -> str:
        return f"{self.year}: {self.amount}"


class MemberChange(BaseModel):
    """One change of a household's membership (birth, death, marriage, move, split, merge): the dynamic-management log."""

    scope_field = "area_code"

    class Kind(models.TextChoices):
        BIRTH = "birth", _("birth")
        DEATH = "death", _("death")
        MARRIAGE_IN = "marriage_in", _("married in")
        MARRIAGE_OUT = "marriage_out", _("married out")
        MOVE = "move", _("moved between households")
        MOVE_OUT = "move_out", _("moved away")
        ADD = "add", _("added")
        SPLIT = "split", _("household split")
        MERGE = "merge", _("households merged")
        HEAD = "head", _("new head of household")

    kind = models.CharField(_("change"), max_length=20, choices=Kind.choices)
    person = models.ForeignKey(Person, verbose_name=_("person"), on_delete=models.PROTECT, related_name="changes")
    from_household = models.ForeignKey(Household, verbose_name=_("from household"), null=True, blank=True,
                                       on_delete=models.PROTECT, related_name="changes_out")
    to_household = models.ForeignKey(Household, verbose_name=_("to household"), null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="changes_in")
    date = models.DateField(_("date"))
    area_code = models.CharField(max_length=15, db_index=True)
    note = models.CharField(_("note"), max_length=300, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    actor_name = models.CharField(max_length=150, blank=True)

    class Meta:
        verbose_name = _("membership change")
        verbose_name_plural = _("membership changes")
        ordering = ["-date", "-id"]

    def __str__(self) -> str:
        return f"{self.date} {self.get_kind_display()} {self.person}"


class VillageProfile(BaseModel):
    """The village form (村级信息表) of one village for one year: the figures the village reports."""

    scope_field = "area_code"

    village = models.ForeignKey("geo.Division", verbose_name=_("village"), on_delete=models.PROTECT,
                                related_name="profiles")
    year = models.PositiveSmallIntegerField(_("year"))
    area_code = models.CharField(max_length=15, db_index=True)
    village_attribute = models.CharField(_("village attribute"), max_length=20, blank=True)
    terrain = models.CharField(_("terrain"), max_length=20, blank=True)
    # land (mu)
    land_cultivated = models.DecimalField(_("cultivated land"), **AREA)
    land_irrigated = models.DecimalField(_("effectively irrigated"), **AREA)
    land_forest = models.DecimalField(_("forest land"), **AREA)
    land_returned = models.DecimalField(_("returned farmland"), **AREA)
    land_orchard = models.DecimalField(_("orchards"), **AREA)
    land_pasture = models.DecimalField(_("pasture"), **AREA)
    land_water = models.DecimalField(_("water surface"), **AREA)
    # households and population
    households_total = models.PositiveIntegerField(_("households"), null=True, blank=True)
    population_total = models.PositiveIntegerField(_("population"), null=True, blank=True)
    rural_population = models.PositiveIntegerField(_("rural population"), null=True, blank=True)
    dibao_households = models.PositiveIntegerField(_("dibao households"), null=True, blank=True)
    dibao_persons = models.PositiveIntegerField(_("dibao persons"), null=True, blank=True)
    wubao_households = models.PositiveIntegerField(_("wubao households"), null=True, blank=True)
    wubao_persons = models.PositiveIntegerField(_("wubao persons"), null=True, blank=True)
    minority_persons = models.PositiveIntegerField(_("ethnic minority persons"), null=True, blank=True)
    disabled_persons = models.PositiveIntegerField(_("disabled persons"), null=True, blank=True)
    labour_persons = models.PositiveIntegerField(_("labour force"), null=True, blank=True)
    migrant_workers = models.PositiveIntegerField(_("migrant workers"), null=True, blank=True)
    # income (yuan)
    per_capita_income = models.DecimalField(_("per-capita net income"), max_digits=12, decimal_places=2, null=True,
                                            blank=True)
    collective_income = models.DecimalField(_("village collective income"), max_digits=12, decimal_places=2,
                                            null=True, blank=True)
    # infrastructure and services
    road_to_town_hardened = models.BooleanField(_("hardened road to the town"), null=True, blank=True)
    road_km_unhardened = models.DecimalField(_("unhardened main roads (km)"), max_digits=8, decimal_places=2,
                                             null=True, blank=True)
    has_bus = models.BooleanField(_("bus service"), null=True, blank=True)
    households_without_safe_water = models.PositiveIntegerField(_("households without safe drinking water"),
                                                                null=True, blank=True)
    households_without_power = models.PositiveIntegerField(_("households without electricity"), null=True,
                                                           blank=True)
    dilapidated_households = models.PositiveIntegerField(_("households in dilapidated housing"), null=True,
                                                         blank=True)
    cooperatives = models.PositiveIntegerField(_("cooperatives"), null=True, blank=True)
    has_clinic = models.BooleanField(_("village clinic"), null=True, blank=True)
    has_culture_room = models.BooleanField(_("culture room"), null=True, blank=True)
    has_broadband = models.BooleanField(_("broadband"), null=True, blank=True)
    info_officers = models.PositiveIntegerField(_("information officers"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("village profile")
        verbose_name_plural = _("village profiles")
        ordering = ["village", "-year"]
        constraints = [models.UniqueConstraint(fields=["village", "year"], name="one_profile_per_village_year")]

    def __str__(self) -> str:
        return f"{self.village} {self.year}"


class ImportProblem(models.Model):
    """A data-quality problem found while importing a roster: the row was imported verbatim and waits for a fix."""

    scope_field = "area_code"

    class Kind(models.TextChoices):
        ID_NUMBER = "id_number", _("ID number")
        CODE = "code", _("unknown code")
        VALUE = "value", _("suspect value")
        DUPLICATE_PERSON = "duplicate_person", _("person in several households")
        SIZE = "size", _("household size")
        NOT_IN_FILE = "not_in_file", _("member not in the file")

    batch = models.ForeignKey("core.Batch", on_delete=models.PROTECT, related_name="registry_problems")
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    row = models.PositiveIntegerField(_("row"), null=True, blank=True)
    column = models.CharField(_("column"), max_length=50, blank=True)
    value = EncryptedTextField(_("value"), max_length=200, blank=True, audit_name=False)  # may be an ID number
    problem = models.CharField(_("problem"), max_length=500)
    poor_code = models.CharField(_("poor household number"), max_length=40, blank=True)
    household = models.ForeignKey(Household, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    person = models.ForeignKey(Person, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    area_code = models.CharField(max_length=15, db_index=True, blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("import problem")
        verbose_name_plural = _("import problems")
        ordering = ["batch", "row", "id"]

    def __str__(self) -> str:
        return f"#{self.row} {self.column}: {self.problem}"


class ChangeRequest(BaseModel):
    """A birth, death or move reported from the field (often a grid worker's phone, offline) that the village team
    or the town approves before it reaches the registry: approving applies it through the registry's services
    (`fupin.registry.change_requests`), rejecting keeps it with the reason. Every step is audited."""

    scope_field = "area_code"

    class Kind(models.TextChoices):
        BIRTH = "birth", _("birth")
        DEATH = "death", _("death")
        MOVE_IN = "move_in", _("moved in")
        MOVE_OUT = "move_out", _("moved out")
        HOUSEHOLD_MOVE = "household_move", _("whole household moved")

    class State(models.TextChoices):
        SUBMITTED = "submitted", pgettext_lazy("change request", "submitted")
        APPROVED = "approved", pgettext_lazy("change request", "approved")
        REJECTED = "rejected", pgettext_lazy("change request", "sent back")

    household = models.ForeignKey(Household, verbose_name=_("household"), on_delete=models.PROTECT,
                                  related_name="change_requests")
    area_code = models.CharField(max_length=15, db_index=True)
    kind = models.CharField(_("change"), max_length=20, choices=Kind.choices)
    payload = EncryptedJSONField(_("details"), default=dict, blank=True, audit_name=False)  # a move-in's ID
    date = models.DateField(_("date of the change"))
    note = models.CharField(_("note"), max_length=300, blank=True)
    evidence = models.FileField(_("evidence photo"), upload_to="registry/change_requests/%Y/%m/", blank=True)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.SUBMITTED,
                             db_index=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("requested by"), null=True,
                                     blank=True, on_delete=models.SET_NULL, related_name="+")
    requested_by_name = models.CharField(max_length=150, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("decided by"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    result = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("change request")
        verbose_name_plural = _("change requests")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.household} {self.get_kind_display()}"
