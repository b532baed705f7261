from django.utils.translation import gettext_lazy as _

from fupin.accounts.choices import (
    AREA_WORK_ROLES,
    DEPARTMENT_ROLES,
    LEADER_ROLES,
    OFFICE_ROLES,
    VILLAGE_ROLES,
)
from fupin.core.appconfig import FupinAppConfig


class DispatchConfig(FupinAppConfig):
    name = "fupin.dispatch"
    label = "dispatch"
    verbose_name = _("Work orders and public opinion")
    url_prefix = "dispatch/"
    nav = [
        (_("Work orders"), "/dispatch/", "view", 35, OFFICE_ROLES | VILLAGE_ROLES | DEPARTMENT_ROLES | LEADER_ROLES),
        (_("Public opinion"), "/dispatch/minqing/", "view", 33, AREA_WORK_ROLES),
    ]
