from django.utils.translation import gettext_lazy as _

from fupin.accounts.choices import AUDIT_ROLES, OFFICE_ROLES, VILLAGE_ROLES
from fupin.core.appconfig import FupinAppConfig


class EligibilityConfig(FupinAppConfig):
    name = "fupin.eligibility"
    label = "eligibility"
    verbose_name = _("Identification comparison")
    url_prefix = "comparison/"
    nav = [
        (_("Comparison findings"), "/comparison/", "view", 41, OFFICE_ROLES | VILLAGE_ROLES | AUDIT_ROLES),
    ]
