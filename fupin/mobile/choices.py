from django.db import models
from django.utils.translation import gettext_lazy as _


class ChangeKind(models.TextChoices):
    """What a phone may do offline; each is applied by the owning capability's service."""

    VISIT = "visit", _("visit or call")
    ERRAND = "errand", _("errand")
    MINQING = "minqing", _("public-opinion report")
    FINDING = "finding", _("comparison finding checked")
    MEASURE_DONE = "measure_done", _("measure done")
    HOUSEHOLD = "household", _("household details changed")
    CHANGE_REQUEST = "change_request", _("birth, death or move reported")


class ChangeStatus(models.TextChoices):
    APPLIED = "applied", _("applied")
    MERGED = "merged", _("applied in part, the rest is a conflict")
    CONFLICT = "conflict", _("conflict")
    REFUSED = "refused", _("refused")


class ConflictStatus(models.TextChoices):
    OPEN = "open", _("open")
    RESOLVED = "resolved", _("resolved")


class Resolution(models.TextChoices):
    OURS = "ours", _("the phone's value")
    THEIRS = "theirs", _("the value already on the server")
