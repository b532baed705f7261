"""API schemas of the registry. Every field is listed: nothing reaches a client because a model grew a column."""

from __future__ import annotations

import datetime as dt
import uuid as uuidlib
from decimal import Decimal

from ninja import Schema


class ErrorOut(Schema):
    detail: str
    field: str | None = None


class MemberOut(Schema):
    uuid: str
    version: int
    name: str
    relationship: str
    relationship_label: str
    id_number: str  # masked for users who may not see full ID numbers
    id_valid: bool
    sex: str
    birth_date: dt.date | None
    ethnicity: str
    political_status: str
    education: str
    schooling: str
    health: list[str]
    labour_skill: str
    work_status: str
    work_months: int | None
    work_place: str
    dibao: bool
    rural_medical: bool
    pension_insurance: bool
    serious_illness_insurance: bool
    serving_soldier: bool
    disability_card: str  # masked like the ID number it contains
    disability_category: str
    disability_grade: int | None
    phone: str
    is_alive: bool
    death_date: dt.date | None
    household: str | None  # the household's 户编号, else its uuid
    area_code: str


class HouseholdOut(Schema):
    uuid: str
    version: int
    poor_code: str | None
    hukou_no: str
    village: str
    village_name: str
    town_name: str
    grid: str | None
    area_code: str
    group_name: str
    address: str
    head_name: str
    phone: str
    size: int
    is_registered_poor: bool
    identification_standard: str
    attribute: str
    attribute_label: str
    main_cause: str
    main_cause_label: str
    other_causes: list[str]
    poverty_status: str
    poverty_status_label: str
    year_identified: int | None
    year_exited: int | None
    monitoring_category: str
    per_capita_net_income: Decimal
    lng: float | None
    lat: float | None
    dissolved_on: dt.date | None
    url: str


class IncomeOut(Schema):
    income_year: int | None
    income_wages: Decimal
    income_business: Decimal
    cost_business: Decimal
    income_property: Decimal
    transfer_family_planning: Decimal
    transfer_dibao: Decimal
    transfer_wubao: Decimal
    transfer_pension: Decimal
    transfer_eco: Decimal
    transfer_other: Decimal
    annual_income: Decimal
    net_income: Decimal
    per_capita_net_income: Decimal
    poverty_line: Decimal | None
    poverty_line_year: int | None
    above_line: bool | None


class ChangeOut(Schema):
    uuid: str
    kind: str
    date: dt.date
    person: str
    person_name: str
    from_household: str | None
    to_household: str | None
    note: str
    actor: str


class HouseholdDetailOut(HouseholdOut):
    monitoring_risks: list[str]
    leading_industry: str
    income: IncomeOut
    land_cultivated: Decimal | None
    land_irrigated: Decimal | None
    land_forest: Decimal | None
    land_returned: Decimal | None
    land_orchard: Decimal | None
    land_pasture: Decimal | None
    land_water: Decimal | None
    production_power: bool | None
    road_distance_km: Decimal | None
    road_type: str
    housing_area: Decimal | None
    housing_structure: str
    dilapidated_grade: str
    drinking_difficulty: bool | None
    drinking_safe: bool | None
    water_source: str
    sanitary_toilet: bool | None
    fuel: str
    in_cooperative: bool | None
    members: list[MemberOut]
    changes: list[ChangeOut]


class HouseholdPage(Schema):
    count: int
    limit: int
    offset: int
    items: list[HouseholdOut]


class MemberPage(Schema):
    count: int
    limit: int
    offset: int
    items: list[MemberOut]


class MemberIn(Schema):
    uuid: uuidlib.UUID | None = None
    name: str
    relationship: str = ""
    id_number: str = ""
    ethnicity: str = ""
    political_status: str = ""
    education: str = ""
    schooling: str = ""
    health: list[str] = []
    labour_skill: str = ""
    work_status: str = ""
    work_months: int | None = None
    work_place: str = ""
    dibao: bool = False
    rural_medical: bool = False
    pension_insurance: bool = False
    serious_illness_insurance: bool = False
    serving_soldier: bool = False
    phone: str = ""


class HouseholdFields(Schema):
    """The household fields a client may set (create and update)."""

    hukou_no: str | None = None
    group_name: str | None = None
    address: str | None = None
    phone: str | None = None
    identification_standard: str | None = None
    attribute: str | None = None
    main_cause: str | None = None
    other_causes: list[str] | None = None
    leading_industry: str | None = None
    income_year: int | None = None
    income_wages: Decimal | None = None
    income_business: Decimal | None = None
    cost_business: Decimal | None = None
    income_property: Decimal | None = None
    transfer_family_planning: Decimal | None = None
    transfer_dibao: Decimal | None = None
    transfer_wubao: Decimal | None = None
    transfer_pension: Decimal | None = None
    transfer_eco: Decimal | None = None
    transfer_other: Decimal | None = None
    land_cultivated: Decimal | None = None
    land_irrigated: Decimal | None = None
    land_forest: Decimal | None = None
    land_returned: Decimal | None = None
    land_orchard: Decimal | None = None
    land_pasture: Decimal | None = None
    land_water: Decimal | None = None
    production_power: bool | None = None
    road_distance_km: Decimal | None = None
    road_type: str | None = None
    housing_area: Decimal | None = None
    housing_structure: str | None = None
    dilapidated_grade: str | None = None
    drinking_difficulty: bool | None = None
    drinking_safe: bool | None = None
    water_source: str | None = None
    sanitary_toilet: bool | None = None
    fuel: str | None = None
    in_cooperative: bool | None = None
    lng: float | None = None
    lat: float | None = None


class HouseholdIn(HouseholdFields):
    """A new household. `uuid` (generated by the client) makes a retried POST return the first result."""

    uuid: uuidlib.UUID | None = None
    village: str  # 12-digit village code
    grid: str | None = None  # 15-digit grid code
    poor_code: str | None = None
    members: list[MemberIn]


class HouseholdPatch(HouseholdFields):
    """Changed fields only; `expected_version` is the version the client read (409 when it changed since)."""

    expected_version: int
    grid: str | None = None


class PersonPatch(Schema):
    expected_version: int
    name: str | None = None
    id_number: str | None = None
    ethnicity: str | None = None
    political_status: str | None = None
    education: str | None = None
    schooling: str | None = None
    health: list[str] | None = None
    labour_skill: str | None = None
    work_status: str | None = None
    work_months: int | None = None
    work_place: str | None = None
    dibao: bool | None = None
    rural_medical: bool | None = None
    pension_insurance: bool | None = None
    serious_illness_insurance: bool | None = None
    serving_soldier: bool | None = None
    phone: str | None = None


class ChangeIn(Schema):
    """A membership change (see fupin.registry.services): kind is one of birth, marriage_in, add, death,
    marriage_out, move_out, move, head. `member` for new members (its uuid makes the call idempotent), `person` and
    `new_head` are member uuids, `to_household` a 户编号 or uuid."""

    kind: str
    date: dt.date | None = None
    member: MemberIn | None = None
    person: uuidlib.UUID | None = None
    new_head: uuidlib.UUID | None = None
    to_household: str | None = None
    relationship: str = ""
    note: str = ""


class VillageOut(Schema):
    code: str
    name: str
    town_name: str
    is_poor_village: bool
    year: int | None
    registered_households: int
    poor_households_not_out: int
    poor_persons_not_out: int
    residents: int
    rural_population: int
    population_source: str
    incidence: Decimal | None
