from django.utils.translation import gettext_lazy as _

from fupin.accounts.choices import COUNTY_ROLES, Role
from fupin.core.appconfig import FupinAppConfig


class OrgConfig(FupinAppConfig):
    name = "fupin.org"
    label = "org"
    verbose_name = _("Organisations")
    url_prefix = "org/"
    nav = [
        (_("Departments"), "/org/departments/", "view", 70, COUNTY_ROLES | {Role.SYSTEM_ADMIN}),
        (_("Command units"), "/org/units/", "view", 71, COUNTY_ROLES | {Role.SYSTEM_ADMIN}),
    ]
