"""The task inbox (待办): one item per thing a user must act on, posted by any capability."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from fupin.core.models import BaseModel


class InboxItem(BaseModel):
    """Something for one user to do, with a due date and a link to the object."""

    class Kind(models.TextChoices):
        NOTICE = "notice", _("notice")
        VERIFY = "verify", _("verification")
        WORK_ORDER = "work_order", _("work order")
        WARNING = "warning", _("warning")
        DATA_QUALITY = "data_quality", _("data quality")
        PROCEDURE = "procedure", _("procedure step")

    scope_field = "area_code"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="inbox_items")
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.NOTICE)
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("details"), blank=True)
    url = models.CharField(_("link"), max_length=300, blank=True)
    object_type = models.CharField(max_length=80, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    area_code = models.CharField(max_length=15, blank=True, db_index=True)
    due_date = models.DateField(_("due"), null=True, blank=True)
    dedupe_key = models.CharField(max_length=120, blank=True, db_index=True)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)

    class Meta:
        verbose_name = _("inbox item")
        verbose_name_plural = _("inbox items")
        ordering = ["done_at", "due_date", "-created_at"]
        indexes = [models.Index(fields=["user", "done_at"])]

    def __str__(self) -> str:
        return self.title
