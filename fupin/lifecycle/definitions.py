"""The procedures as data: each kind's steps in order, who records each step, and the rules a step carries.

A step's rules are named here and enforced in `fupin.lifecycle.services`:
- `notice`: the step opens a public notice; the next step cannot be dated before the notice has run its days
  (the number of days is a county setting, see `SETTINGS`);
- `spot_check`: before this step is approved, the batch needs spot-check visits at that level for at least the
  configured share of its households;
- `checks`: what the step's record must contain (see `CHECKS` below).

Roles come from `fupin.accounts.choices.Role`. Superusers have no role and record no step: a step names the person
who answers for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from fupin.accounts.choices import Role
from fupin.lifecycle.choices import Kind

# Step names are translated in the "procedure step" context: the same English words are used elsewhere otherwise.
VILLAGE = frozenset({Role.VILLAGE_TEAM, Role.FIRST_SECRETARY, Role.GRID_WORKER, Role.INFO_OFFICER})
WORK_TEAM = frozenset({Role.VILLAGE_TEAM, Role.FIRST_SECRETARY})
TOWN = frozenset({Role.TOWN_STAFF})
COUNTY = frozenset({Role.CITY_OFFICE})
ENTRY = frozenset({Role.INFO_OFFICER, Role.TOWN_STAFF, Role.CITY_OFFICE})

# What a step's record must hold when approved (enforced by services._check_<name>).
CHECKS = {
    "assessment": _("the household's scores, when a scoring capability is installed"),
    "findings": _("the department comparison findings, or an explicit 'no comparison data'"),
    "income_and_guarantees": _("per-capita net income above the line and each of the two assurances and three "
                               "guarantees confirmed"),
    "consent": _("the household's signature or thumbprint photo"),
    "monitoring_category": _("the monitoring category and risk types"),
    "risks_eliminated": _("the risks confirmed eliminated"),
    "village_conditions": _("incidence under the threshold and each village condition confirmed"),
}

# 两不愁三保障: the five guarantees confirmed one by one at the exit verification.
GUARANTEES = [
    ("food", _("Enough food")),
    ("clothing", _("Enough clothing")),
    ("education", _("Compulsory education guaranteed")),
    ("medical", _("Basic medical care guaranteed")),
    ("housing", _("Safe housing guaranteed")),
]

# Conditions of a village exit besides the incidence (domain.md §4: collective income and infrastructure).
VILLAGE_CONDITIONS = [
    ("collective_income", _("Village collective income meets the standard")),
    ("roads", _("Hardened road to the village")),
    ("water", _("Safe drinking water")),
    ("power", _("Electricity for living and production")),
    ("clinic", _("Village clinic")),
    ("culture", _("Village culture room")),
    ("broadband", _("Broadband network")),
]


@dataclass(frozen=True)
class StepDef:
    """One step of a procedure."""

    code: str
    label: str
    roles: frozenset
    notice: str | None = None  # setting key holding the minimum number of notice days
    spot_check: str | None = None  # "town" or "county"
    checks: tuple[str, ...] = ()
    hint: str = ""


@dataclass(frozen=True)
class ProcedureDef:
    """One kind of procedure: its steps in order and what it applies to."""

    kind: str
    label: str
    subject: str  # "household" or "village"
    steps: tuple[StepDef, ...]
    batched: bool = True
    spot_check_levels: tuple[str, ...] = field(default_factory=tuple)

    def step(self, code: str) -> StepDef:
        for s in self.steps:
            if s.code == code:
                return s
        raise KeyError(code)

    def index(self, code: str) -> int:
        return [s.code for s in self.steps].index(code)

    @property
    def first(self) -> StepDef:
        return self.steps[0]

    @property
    def last(self) -> StepDef:
        return self.steps[-1]


PROCEDURES: dict[str, ProcedureDef] = {
    Kind.IDENTIFICATION: ProcedureDef(
        kind=Kind.IDENTIFICATION, label=_("Identification"), subject="household",
        spot_check_levels=("town", "county"),
        steps=(
            StepDef("apply", pgettext_lazy("procedure step", "Application"), VILLAGE, hint=_("The household's written application.")),
            StepDef("visit", pgettext_lazy("procedure step", "Household visit"), VILLAGE, checks=("assessment",),
                    hint=_("Visit the household; record what was seen (housing, grain, labour, students).")),
            StepDef("village_review", pgettext_lazy("procedure step", "Villager representatives' review"), VILLAGE,
                    hint=_("Attach the minutes of the meeting.")),
            StepDef("first_notice", pgettext_lazy("procedure step", "First public notice"), VILLAGE, notice="identification_first_notice_days"),
            StepDef("town_review", pgettext_lazy("procedure step", "Town review"), TOWN, spot_check="town"),
            StepDef("dept_comparison", pgettext_lazy("procedure step", "Department data comparison"), TOWN | COUNTY, checks=("findings",)),
            StepDef("second_notice", pgettext_lazy("procedure step", "Second public notice"), VILLAGE | TOWN,
                    notice="identification_second_notice_days"),
            StepDef("county_approval", pgettext_lazy("procedure step", "County approval"), COUNTY, spot_check="county"),
            StepDef("announcement", pgettext_lazy("procedure step", "Announcement"), TOWN | COUNTY),
            StepDef("register", pgettext_lazy("procedure step", "Registration as poor household"), ENTRY,
                    hint=_("The household becomes a registered poor household.")),
        ),
    ),
    Kind.EXIT: ProcedureDef(
        kind=Kind.EXIT, label=_("Exit from poverty"), subject="household",
        steps=(
            StepDef("committee_review", pgettext_lazy("procedure step", "Village committees' review"), WORK_TEAM,
                    hint=_("Attach the minutes of the two committees' meeting.")),
            StepDef("team_verification", pgettext_lazy("procedure step", "Work team verification"), WORK_TEAM, checks=("income_and_guarantees",)),
            StepDef("household_consent", pgettext_lazy("procedure step", "Household consent"), VILLAGE, checks=("consent",),
                    hint=_("The household signs or puts its thumbprint on the exit form: attach its photo.")),
            StepDef("notice", pgettext_lazy("procedure step", "Public notice in the village"), VILLAGE, notice="exit_notice_days"),
            StepDef("announcement", pgettext_lazy("procedure step", "Announcement"), TOWN | COUNTY),
            StepDef("exit", pgettext_lazy("procedure step", "Exit and deregistration"), TOWN | COUNTY),
        ),
    ),
    Kind.RETURN_TO_POVERTY: ProcedureDef(
        kind=Kind.RETURN_TO_POVERTY, label=_("Return to poverty"), subject="household",
        steps=(
            StepDef("apply", pgettext_lazy("procedure step", "Application"), VILLAGE),
            StepDef("visit", pgettext_lazy("procedure step", "Household visit"), VILLAGE, checks=("assessment",)),
            StepDef("village_review", pgettext_lazy("procedure step", "Villager representatives' review"), VILLAGE),
            StepDef("notice", pgettext_lazy("procedure step", "Public notice"), VILLAGE, notice="return_notice_days"),
            StepDef("town_review", pgettext_lazy("procedure step", "Town review"), TOWN),
            StepDef("county_approval", pgettext_lazy("procedure step", "County approval"), COUNTY),
            StepDef("record", pgettext_lazy("procedure step", "Recorded as returned to poverty"), ENTRY),
        ),
    ),
    Kind.MONITORING_ENTRY: ProcedureDef(
        kind=Kind.MONITORING_ENTRY, label=_("Monitoring entry"), subject="household",
        steps=(
            StepDef("risk_warning", pgettext_lazy("procedure step", "Risk warning"), VILLAGE, checks=("monitoring_category",)),
            StepDef("visit", pgettext_lazy("procedure step", "Household check"), VILLAGE, checks=("assessment",)),
            StepDef("commitment", pgettext_lazy("procedure step", "Commitment and authorisation"), VILLAGE, checks=("consent",),
                    hint=_("The household's signed commitment and authorisation to check its information.")),
            StepDef("info_comparison", pgettext_lazy("procedure step", "Information comparison"), TOWN | COUNTY, checks=("findings",)),
            StepDef("village_review", pgettext_lazy("procedure step", "Democratic review"), VILLAGE),
            StepDef("notice", pgettext_lazy("procedure step", "Public notice"), VILLAGE, notice="monitoring_notice_days"),
            StepDef("town_review", pgettext_lazy("procedure step", "Town review"), TOWN),
            StepDef("county_approval", pgettext_lazy("procedure step", "County decision"), COUNTY),
            StepDef("record", pgettext_lazy("procedure step", "Entered as monitored household"), ENTRY),
        ),
    ),
    Kind.MONITORING_EXIT: ProcedureDef(
        kind=Kind.MONITORING_EXIT, label=_("Monitoring exit"), subject="household",
        steps=(
            StepDef("visit", pgettext_lazy("procedure step", "Household check"), VILLAGE, checks=("risks_eliminated",)),
            StepDef("village_review", pgettext_lazy("procedure step", "Democratic review"), VILLAGE),
            StepDef("notice", pgettext_lazy("procedure step", "Public notice"), VILLAGE, notice="monitoring_notice_days"),
            StepDef("town_review", pgettext_lazy("procedure step", "Town review"), TOWN),
            StepDef("county_approval", pgettext_lazy("procedure step", "County decision"), COUNTY),
            StepDef("record", pgettext_lazy("procedure step", "Risk marked eliminated"), ENTRY),
        ),
    ),
    Kind.VILLAGE_EXIT: ProcedureDef(
        kind=Kind.VILLAGE_EXIT, label=_("Village exit"), subject="village", batched=False,
        steps=(
            StepDef("village_application", pgettext_lazy("procedure step", "Village application"), WORK_TEAM),
            StepDef("town_review", pgettext_lazy("procedure step", "Town review"), TOWN, checks=("village_conditions",)),
            StepDef("notice", pgettext_lazy("procedure step", "Public notice"), VILLAGE | TOWN, notice="village_exit_notice_days"),
            StepDef("county_verification", pgettext_lazy("procedure step", "County verification"), COUNTY, checks=("village_conditions",)),
            StepDef("announcement", pgettext_lazy("procedure step", "Announcement"), COUNTY),
            StepDef("delist", pgettext_lazy("procedure step", "Delisting"), COUNTY),
        ),
    ),
}

SPOT_CHECK_STEP = {"town": "spot_check_town", "county": "spot_check_county"}
SPOT_CHECK_LABEL = {"town": _("Town spot-check visit"), "county": _("County spot-check visit")}


@dataclass(frozen=True)
class SettingDef:
    """A county setting of the procedures, with its default and its bounds."""

    key: str
    label: str
    default: Decimal
    minimum: Decimal
    maximum: Decimal
    integer: bool = True


SETTINGS: dict[str, SettingDef] = {s.key: s for s in (
    SettingDef("identification_first_notice_days", _("First notice of identification (days, at least)"),
               Decimal(5), Decimal(1), Decimal(60)),
    SettingDef("identification_second_notice_days", _("Second notice of identification (days, at least)"),
               Decimal(5), Decimal(1), Decimal(60)),
    SettingDef("exit_notice_days", _("Notice of exit (days, at least)"), Decimal(7), Decimal(1), Decimal(60)),
    SettingDef("return_notice_days", _("Notice of return to poverty (days, at least)"), Decimal(5), Decimal(1),
               Decimal(60)),
    SettingDef("monitoring_notice_days", _("Notice of monitoring entry and exit (days, at least)"), Decimal(5),
               Decimal(1), Decimal(60)),
    SettingDef("village_exit_notice_days", _("Notice of village exit (days, at least)"), Decimal(7), Decimal(1),
               Decimal(60)),
    SettingDef("town_spot_check_ratio", _("Town spot-check share of a batch"), Decimal("0.20"), Decimal("0.01"),
               Decimal(1), integer=False),
    SettingDef("county_spot_check_ratio", _("County spot-check share of a batch"), Decimal("0.10"),
               Decimal("0.01"), Decimal(1), integer=False),
    SettingDef("village_exit_incidence_threshold", _("Village exit: poverty incidence below"), Decimal("0.02"),
               Decimal("0.001"), Decimal("0.5"), integer=False),
)}


def procedure_def(kind: str) -> ProcedureDef:
    try:
        return PROCEDURES[kind]
    except KeyError:
        from fupin.core.errors import ServiceError

        raise ServiceError(_("Unknown procedure type: %(kind)s") % {"kind": kind}) from None
