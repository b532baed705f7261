"""Choices of the procedures app: kinds of procedure, their status, step decisions and attachment kinds."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Kind(models.TextChoices):
    IDENTIFICATION = "identification", _("Identification")
    EXIT = "exit", _("Exit from poverty")
    RETURN_TO_POVERTY = "return_to_poverty", _("Return to poverty")
    MONITORING_ENTRY = "monitoring_entry", _("Monitoring entry")
    MONITORING_EXIT = "monitoring_exit", _("Monitoring exit")
    VILLAGE_EXIT = "village_exit", _("Village exit")


class Status(models.TextChoices):
    OPEN = "open", _("in progress")
    COMPLETED = "completed", _("completed")
    REJECTED = "rejected", _("rejected")


class Decision(models.TextChoices):
    APPROVE = "approve", _("approve")
    REJECT = "reject", _("reject")
    RETURN = "return", _("return for rework")


class AttachmentKind(models.TextChoices):
    MINUTES = "minutes", _("minutes")
    PHOTO = "photo", _("photo")
    THUMBPRINT = "thumbprint", _("thumbprint photo")
    SIGNATURE = "signature", _("signature")
    DOCUMENT = "document", _("document")


class CheckLevel(models.TextChoices):
    TOWN = "town", _("town spot-check")
    COUNTY = "county", _("county spot-check")
