"""Precomputed figures: what the dashboards, the map's choropleth and the leader's summary read."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from fupin.core.scoping import ScopedQuerySet


class FigureSnapshot(models.Model):
    """One figure of one area (county, town, village or grid) as of the last refresh; derived data, never edited."""

    scope_field = "area_code"

    area_code = models.CharField(max_length=15)
    level = models.CharField(_("level"), max_length=10)
    key = models.CharField(_("figure"), max_length=80)
    value = models.FloatField(_("value"), null=True, blank=True)
    breakdown = models.JSONField(_("breakdown"), default=dict, blank=True)
    computed_at = models.DateTimeField(_("computed at"))

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("figure snapshot")
        verbose_name_plural = _("figure snapshots")
        constraints = [models.UniqueConstraint(fields=["area_code", "key"], name="one_snapshot_per_area_figure")]
        indexes = [models.Index(fields=["key", "level", "area_code"])]

    def __str__(self) -> str:
        return f"{self.area_code} {self.key}={self.value}"


class SnapshotState(models.Model):
    """When the figures were last computed and whether changes since then await the next refresh (a single row)."""

    scope_field = None

    computed_at = models.DateTimeField(_("computed at"), null=True, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    areas = models.PositiveIntegerField(default=0)
    rows = models.PositiveIntegerField(default=0)
    reason = models.CharField(max_length=200, blank=True)
    stale_since = models.DateTimeField(null=True, blank=True)
    scheduled_for = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("figure refresh state")

    def __str__(self) -> str:
        return f"figures computed at {self.computed_at}"
