"""Choices of the assistance app. Labels are English msgids; the Chinese is in the app's locale."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Colour(models.TextChoices):
    GREEN = "green", _("green")
    YELLOW = "yellow", _("yellow")
    RED = "red", _("red")


COLOUR_RANK = {Colour.GREEN: 0, Colour.YELLOW: 1, Colour.RED: 2}
COLOUR_HEX = {Colour.GREEN: "#2e8b57", Colour.YELLOW: "#e0a800", Colour.RED: "#d7301f"}


class UnitKind(models.TextChoices):
    DEPARTMENT = "department", _("government department")
    PUBLIC = "public", _("public institution")
    ENTERPRISE = "enterprise", _("enterprise")
    TOWN = "town", _("town or village body")
    OTHER = "other", _("other unit")


class AreaPairingKind(models.TextChoices):
    """Who is linked to a village or a town (对口帮扶)."""

    UNIT_VILLAGE = "unit_village", _("unit linked to a village")
    LEADER_VILLAGE = "leader_village", _("city leader linked to a village")
    ENTERPRISE_VILLAGE = "enterprise_village", _("enterprise linked to a village")
    WORK_TEAM = "work_team", _("village work team")
    FIRST_SECRETARY = "first_secretary", _("first secretary")
    COMMITTEE_TOWN = "committee_town", _("standing committee member linked to a town")


# Which kinds attach to a town rather than to a village.
TOWN_KINDS = {AreaPairingKind.COMMITTEE_TOWN}
# Which kinds name a unit (the rest name a person, the cadre).
UNIT_KINDS = {AreaPairingKind.UNIT_VILLAGE, AreaPairingKind.ENTERPRISE_VILLAGE, AreaPairingKind.WORK_TEAM}
PERSON_KINDS = {AreaPairingKind.LEADER_VILLAGE, AreaPairingKind.FIRST_SECRETARY, AreaPairingKind.COMMITTEE_TOWN,
                AreaPairingKind.WORK_TEAM}


class MeasureKind(models.TextChoices):
    INDUSTRY = "industry", _("industry support")
    EMPLOYMENT = "employment", _("employment and training")
    EDUCATION = "education", _("education aid")
    MEDICAL = "medical", _("medical aid and insurance")
    HOUSING = "housing", _("housing renovation")
    RELOCATION = "relocation", _("relocation")
    SOCIAL_SECURITY = "social_security", _("social security (dibao, tekun)")
    CREDIT = "credit", _("micro-credit")
    OTHER = "other", _("other")


class MeasureStatus(models.TextChoices):
    PLANNED = "planned", _("planned")
    IN_PROGRESS = "in_progress", _("in progress")
    DONE = "done", _("done")
    CANCELLED = "cancelled", _("cancelled")


OPEN_MEASURE_STATUSES = (MeasureStatus.PLANNED, MeasureStatus.IN_PROGRESS)


class RecordKind(models.TextChoices):
    VISIT = "visit", _("home visit")
    CALL = "call", _("phone call")
    MEETING = "meeting", _("meeting or other contact")


class RecordSource(models.TextChoices):
    WEB = "web", _("web")
    APP = "app", _("phone app")
    IMPORT = "import", _("import")
    DEMO = "demo", _("demo data")


class ErrandStatus(models.TextChoices):
    OPEN = "open", _("in hand")
    DONE = "done", _("done")
    FAILED = "failed", _("could not be done")


class BenefitForm(models.TextChoices):
    CASH = "cash", _("cash")
    IN_KIND = "in_kind", _("in kind")
    SERVICE = "service", _("service")
    INSURANCE = "insurance", _("insurance")
    LOAN = "loan", _("loan or interest subsidy")


class AttachmentKind(models.TextChoices):
    PHOTO = "photo", _("photo")
    FILE = "file", _("file")
