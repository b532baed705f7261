from django.utils.translation import gettext_lazy as _

from fupin.accounts.choices import AUDIT_ROLES, LEADER_ROLES, OFFICE_ROLES, VILLAGE_ROLES
from fupin.core.appconfig import FupinAppConfig


class DashboardsConfig(FupinAppConfig):
    name = "fupin.dashboards"
    label = "dashboards"
    verbose_name = _("Dashboards")
    url_prefix = "dashboard/"
    api_prefix = "dashboard"
    nav = [
        (_("Dashboards"), "/dashboard/", "view", 6, OFFICE_ROLES | VILLAGE_ROLES | LEADER_ROLES | AUDIT_ROLES),
    ]
