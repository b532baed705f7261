from django.utils.translation import gettext_lazy as _

from fupin.accounts.choices import AREA_WORK_ROLES, AUDIT_ROLES, LEADER_ROLES
from fupin.core.appconfig import FupinAppConfig


class MapsConfig(FupinAppConfig):
    name = "fupin.maps"
    label = "maps"
    verbose_name = _("Battle map")
    url_prefix = "map/"
    api_prefix = "map"
    nav = [
        (_("Battle map"), "/map/", "view", 5, AREA_WORK_ROLES | LEADER_ROLES | AUDIT_ROLES),
    ]
