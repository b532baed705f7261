"""The phone app's sync: each change a phone sends (applied once, by its client uuid), the conflicts kept for a
person, the slice each device last received (the cursor of its change feed), and resumable photo uploads."""

import uuid as uuidlib

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from fupin.core.scoping import ScopedQuerySet
from fupin.mobile.choices import ChangeKind, ChangeStatus, ConflictStatus, Resolution


class SyncChange(models.Model):
    """One change made on a phone, recorded in the same transaction as its effect: a change sent again (or retried
    after a lost answer) finds this row and gets the same answer, so it is applied exactly once."""

    scope_field = "area_code"

    uuid = models.UUIDField(_("client change id"), unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="sync_changes")
    token = models.ForeignKey("accounts.AccessToken", null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="sync_changes")
    kind = models.CharField(_("kind"), max_length=20, choices=ChangeKind.choices)
    household = models.ForeignKey("registry.Household", null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")
    area_code = models.CharField(max_length=15, blank=True, db_index=True)
    base_version = models.PositiveIntegerField(_("version it was made on"), null=True, blank=True)
    payload = models.JSONField(default=dict)
    made_at = models.DateTimeField(_("made on the phone at"), null=True, blank=True)
    received_at = models.DateTimeField(_("received at"), auto_now_add=True)
    status = models.CharField(_("status"), max_length=10, choices=ChangeStatus.choices)
    message = models.CharField(_("message"), max_length=300, blank=True)
    result = models.JSONField(default=dict, blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("synced change")
        verbose_name_plural = _("synced changes")
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.uuid}"


class SyncConflict(models.Model):
    """A field a phone changed on an old version while someone else changed it too: theirs, ours and the base, kept
    for the worker and the village team to resolve side by side."""

    scope_field = "area_code"

    uuid = models.UUIDField(default=uuidlib.uuid4, unique=True, editable=False)
    change = models.ForeignKey(SyncChange, on_delete=models.PROTECT, related_name="conflicts")
    household = models.ForeignKey("registry.Household", verbose_name=_("household"), on_delete=models.PROTECT,
                                  related_name="+")
    area_code = models.CharField(max_length=15, db_index=True)
    field = models.CharField(_("field"), max_length=50)
    base_value = models.JSONField(_("value the phone started from"), null=True, blank=True)
    theirs = models.JSONField(_("value someone else saved"), null=True, blank=True)
    ours = models.JSONField(_("value from the phone"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=ConflictStatus.choices, default=ConflictStatus.OPEN,
                              db_index=True)
    resolution = models.CharField(_("resolution"), max_length=10, choices=Resolution.choices, blank=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    created_at = models.DateTimeField(_("found at"), auto_now_add=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("sync conflict")
        verbose_name_plural = _("sync conflicts")
        ordering = ["status", "-created_at"]

    def __str__(self) -> str:
        return f"{self.household} {self.field}"


class SliceSnapshot(models.Model):
    """What one device received at one sync: a digest per item of its slice. The next sync with this cursor sends
    only the items whose digest changed, and tombstones for the items that left the slice."""

    scope_field = "user__area_code"  # read only by their own user; scoped like that user for staff

    cursor = models.UUIDField(default=uuidlib.uuid4, unique=True, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    token = models.ForeignKey("accounts.AccessToken", null=True, blank=True, on_delete=models.CASCADE,
                              related_name="+")
    digests = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("sync snapshot")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return str(self.cursor)


class Upload(models.Model):
    """A photo sent from a phone in chunks: the phone asks how much arrived and sends the rest."""

    scope_field = "user__area_code"  # read only by their own user; scoped like that user for staff

    uuid = models.UUIDField(unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    total = models.PositiveIntegerField()
    received = models.PositiveIntegerField(default=0)
    content_type = models.CharField(max_length=50, default="image/jpeg")
    path = models.CharField(max_length=300)
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("upload")

    def __str__(self) -> str:
        return str(self.uuid)
