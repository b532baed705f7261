"""Departments and command units (指挥部, 网格化管理中心/站, 网格化工作室)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from fupin.core.models import BaseModel


class Department(BaseModel):
    """A government department (民政, 公安, 人社 ...); names are configurable per county and era."""

    scope_field = None  # departments are not people's data: every user may list them

    code = models.SlugField(_("code"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=100)
    short_name = models.CharField(_("short name"), max_length=20)
    description = models.CharField(_("description"), max_length=200, blank=True)
    head = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="headed_departments")
    order = models.PositiveSmallIntegerField(default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("department")
        verbose_name_plural = _("departments")
        ordering = ["order", "code"]

    def __str__(self) -> str:
        return self.short_name or self.name

    def get_absolute_url(self) -> str:
        return f"/org/departments/{self.code}/"


class CommandUnit(BaseModel):
    """An organisational unit of the command structure, tied to a division."""

    class Kind(models.TextChoices):
        CITY_HQ = "city_hq", _("City command HQ")
        CITY_CENTRE = "city_centre", _("City grid management centre")
        TOWN_COMMAND = "town_command", _("Town command")
        TOWN_STATION = "town_station", _("Town grid management station")
        VILLAGE_OFFICE = "village_office", _("Village grid office")

    scope_field = "area_code"

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=100)
    division = models.ForeignKey("geo.Division", on_delete=models.PROTECT, related_name="command_units")
    area_code = models.CharField(max_length=15, db_index=True)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    phone = models.CharField(_("phone"), max_length=30, blank=True)

    class Meta:
        verbose_name = _("command unit")
        ordering = ["area_code", "kind"]

    def __str__(self) -> str:
        return self.name
