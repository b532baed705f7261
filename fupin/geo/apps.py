from django.utils.translation import gettext_lazy as _

from fupin.accounts.choices import AREA_WORK_ROLES, Role
from fupin.core.appconfig import FupinAppConfig


class GeoConfig(FupinAppConfig):
    name = "fupin.geo"
    label = "geo"
    verbose_name = _("Grid network")
    url_prefix = "geo/"
    nav = [
        (_("Grid network"), "/geo/", "view", 60, AREA_WORK_ROLES - {Role.PAIRING_CADRE} | {Role.SYSTEM_ADMIN}),
    ]
