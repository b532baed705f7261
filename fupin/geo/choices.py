from django.db import models
from django.utils.translation import gettext_lazy as _


class Level(models.TextChoices):
    PROVINCE = "province", _("province")
    CITY = "city", _("prefecture")
    COUNTY = "county", _("county")
    TOWN = "town", _("town")
    VILLAGE = "village", _("village")
    COMMUNITY = "community", _("community")


LEVEL_DEPTH = {"province": 0, "city": 1, "county": 2, "town": 3, "village": 4, "community": 4}
PARENT_LEVELS = {"city": {"province"}, "county": {"city", "province"}, "town": {"county"},
                 "village": {"town"}, "community": {"town"}}


class UrbanRural(models.TextChoices):
    CORE = "111", _("111 main urban area")
    FRINGE = "112", _("112 urban-rural fringe")
    TOWN_CENTRE = "121", _("121 town centre")
    TOWN_FRINGE = "122", _("122 town-village fringe")
    SPECIAL = "123", _("123 special area")
    TOWNSHIP_CENTRE = "210", _("210 township centre")
    VILLAGE = "220", _("220 village")


class Post(models.TextChoices):
    GRID_WORKER = "grid_worker", _("Grid worker")
    INFO_OFFICER = "info_officer", _("Information officer")


class TerminalStatus(models.TextChoices):
    IN_USE = "in_use", _("in use")
    SPARE = "spare", _("spare")
    REPAIR = "repair", _("under repair")
    RETIRED = "retired", _("retired")
