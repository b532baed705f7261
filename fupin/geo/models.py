"""The grid network: divisions (county → town → village), grids, grid posts and handheld terminals."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from fupin.core.models import BaseModel
from fupin.core.scoping import PREFIX_LENGTH
from fupin.geo.choices import Level, Post, TerminalStatus, UrbanRural


class Division(BaseModel):
    """An administrative division with its 12-digit statistical code (统计用区划代码)."""

    scope_field = "code"

    code = models.CharField(_("code"), max_length=12, unique=True)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    name = models.CharField(_("name"), max_length=100)
    full_name = models.CharField(_("full name"), max_length=200, blank=True)
    level = models.CharField(_("level"), max_length=10, choices=Level.choices)
    urban_rural_class = models.CharField(_("urban-rural class"), max_length=3, choices=UrbanRural.choices, blank=True)
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_to = models.DateField(_("valid to"), null=True, blank=True)
    lng = models.FloatField(_("longitude (WGS-84)"), null=True, blank=True)
    lat = models.FloatField(_("latitude (WGS-84)"), null=True, blank=True)
    point_synthetic = models.BooleanField(default=False)
    boundary = models.JSONField(_("boundary (GeoJSON, WGS-84)"), null=True, blank=True)
    boundary_synthetic = models.BooleanField(_("synthetic boundary"), default=False)
    is_poor_village = models.BooleanField(_("poor village"), default=False)

    class Meta:
        verbose_name = _("division")
        verbose_name_plural = _("divisions")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return f"/geo/{self.code}/"

    @property
    def prefix(self) -> str:
        return self.code[: PREFIX_LENGTH.get(self.level, 12)]

    @property
    def area_code(self) -> str:
        return self.code

    @property
    def town_kind(self) -> str:
        """街道 / 镇 / 乡 / 特殊 from the 3-digit town part (GB/T 10114 ranges)."""
        n = int(self.code[6:9])
        return "街道" if n < 100 else "镇" if n < 200 else "乡" if n < 400 else "特殊区域"


class Grid(BaseModel):
    """A grid (网格) inside a village: village code + 3 digits; one grid worker, one information officer, one terminal."""

    scope_field = "code"

    code = models.CharField(_("grid code"), max_length=15, unique=True)
    village = models.ForeignKey(Division, verbose_name=_("village"), on_delete=models.PROTECT, related_name="grids")
    name = models.CharField(_("name"), max_length=100)
    boundary = models.JSONField(_("boundary (GeoJSON, WGS-84)"), null=True, blank=True)
    boundary_synthetic = models.BooleanField(_("synthetic boundary"), default=False)
    lng = models.FloatField(null=True, blank=True)
    lat = models.FloatField(null=True, blank=True)

    class Meta:
        verbose_name = _("grid")
        verbose_name_plural = _("grids")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return f"/geo/grids/{self.code}/"

    @property
    def area_code(self) -> str:
        return self.code


class GridPost(BaseModel):
    """Who holds a post in a grid, from when to when. The open row (end_date empty) is the current holder."""

    scope_field = "grid__code"

    grid = models.ForeignKey(Grid, on_delete=models.PROTECT, related_name="posts")
    post = models.CharField(_("post"), max_length=20, choices=Post.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="grid_posts")
    start_date = models.DateField(_("from"))
    end_date = models.DateField(_("until"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("grid post")
        ordering = ["grid", "post", "-start_date"]
        constraints = [
            models.UniqueConstraint(fields=["grid", "post"], condition=models.Q(end_date__isnull=True),
                                    name="one_current_holder_per_grid_post"),
        ]

    def __str__(self) -> str:
        return f"{self.grid} {self.get_post_display()} {self.user}"


class Terminal(BaseModel):
    """A handheld terminal (移动手持终端) issued to a grid."""

    scope_field = "grid__code"

    device_id = models.CharField(_("device id"), max_length=64, unique=True)
    grid = models.ForeignKey(Grid, null=True, blank=True, on_delete=models.PROTECT, related_name="terminals")
    status = models.CharField(_("status"), max_length=10, choices=TerminalStatus.choices, default=TerminalStatus.IN_USE)
    holder = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="terminals")
    model_name = models.CharField(_("model"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("terminal")
        ordering = ["device_id"]

    def __str__(self) -> str:
        return self.device_id
