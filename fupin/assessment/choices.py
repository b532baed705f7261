"""Choices of the assessment app; every label in Chinese through gettext."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class SubjectKind(models.TextChoices):
    TOWN = "town", _("town")
    VILLAGE = "village", _("village")
    UNIT = "unit", _("pairing unit")
    CADRE = "cadre", _("cadre")
    GRID_WORKER = "grid_worker", _("grid worker")
    DEPARTMENT = "department", _("department")


class Direction(models.TextChoices):
    HIGHER = "higher", _("higher is better")
    LOWER = "lower", _("lower is better")


class SchemeStatus(models.TextChoices):
    DRAFT = "draft", _("draft")
    RELEASED = "released", _("released")
    RETIRED = "retired", _("retired")


class Grade(models.TextChoices):
    EXCELLENT = "excellent", _("excellent")
    GOOD = "good", _("good")
    PASS = "pass", _("pass")
    FAIL = "fail", _("fail")


GRADE_ORDER = [Grade.EXCELLENT, Grade.GOOD, Grade.PASS, Grade.FAIL]


class Stratum(models.TextChoices):
    """What a sampled household was when the sample was drawn: the rate it counts towards."""

    POOR = "poor", _("registered poor")
    EXITED = "exited", _("exited")
    OTHER = "other", _("not registered")


class CheckStatus(models.TextChoices):
    PENDING = "pending", _("to check")
    DONE = "done", _("checked")


class GapStatus(models.TextChoices):
    OPEN = "open", _("open")
    CLOSED = "closed", _("closed")
    DISMISSED = "dismissed", _("dismissed")


class RuleSubject(models.TextChoices):
    MEMBER = "member", _("member")
    HOUSEHOLD = "household", _("household")


class AlertStatus(models.TextChoices):
    OPEN = "open", _("open")
    CLOSED = "closed", _("closed")


# the signal of an income-survey task: a RiskAlert row asking the village team to survey a household's income before
# a signal can be decided (large medical self-payments, income never surveyed). It is a task, not a risk alert: the
# alert counts, the dashboard figure and the alerts page's default list leave it out.
INCOME_SURVEY = "income_survey"


class MonitoringGroup(models.TextChoices):
    """The three monitored groups of 2020 (codes as in fupin.registry.codes.MONITORING_CATEGORY)."""

    UNSTABLE = "unstable", _("unstable exited household")
    EDGE = "edge", _("edge household at risk")
    SUDDEN = "sudden", _("household in sudden severe difficulty")


class KinshipRole(models.TextChoices):
    VILLAGE_CADRE = "village_cadre", _("village cadre")
    GRID_WORKER = "grid_worker", _("grid worker")
    FIRST_SECRETARY = "first_secretary", _("first secretary")
    TOWN_STAFF = "town_staff", _("town staff")


class Relation(models.TextChoices):
    SAME_HOUSEHOLD = "same_household", _("same registered household")
    SPOUSE = "spouse", _("spouse")
    PARENT = "parent", _("parent")
    CHILD = "child", _("child")
    SIBLING = "sibling", _("sibling")
    SAME_ADDRESS = "same_address", _("same address")
