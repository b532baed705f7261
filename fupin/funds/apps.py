from django.utils.translation import gettext_lazy as _

from fupin.accounts.choices import AUDIT_ROLES, LEADER_ROLES, OFFICE_ROLES, VILLAGE_ROLES
from fupin.core.appconfig import FupinAppConfig


class FundsConfig(FupinAppConfig):
    name = "fupin.funds"
    label = "funds"
    verbose_name = _("Funds, projects and micro-credit")
    url_prefix = "funds/"
    nav = [
        (_("Funds and projects"), "/funds/", "view", 34, OFFICE_ROLES | VILLAGE_ROLES | LEADER_ROLES | AUDIT_ROLES),
        (_("Micro-credit"), "/funds/loans/", "view", 35, OFFICE_ROLES | VILLAGE_ROLES),
    ]
