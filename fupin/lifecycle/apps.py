from django.utils.translation import gettext_lazy as _

from fupin.accounts.choices import AUDIT_ROLES, OFFICE_ROLES, VILLAGE_ROLES
from fupin.core.appconfig import FupinAppConfig


class LifecycleConfig(FupinAppConfig):
    name = "fupin.lifecycle"
    label = "lifecycle"
    verbose_name = _("Identification and exit procedures")
    url_prefix = "procedures/"
    nav = [
        (_("Procedures"), "/procedures/", "view", 25, OFFICE_ROLES | VILLAGE_ROLES | AUDIT_ROLES),
    ]
