from django.utils.translation import gettext_lazy as _

from fupin.accounts.choices import AUDIT_ROLES, LEADER_ROLES, OFFICE_ROLES, VILLAGE_ROLES
from fupin.core.appconfig import FupinAppConfig


class AssessmentConfig(FupinAppConfig):
    name = "fupin.assessment"
    label = "assessment"
    verbose_name = _("Assessment and screening")
    url_prefix = "assessment/"
    api_prefix = "assessment"
    nav = [
        (_("Assessment"), "/assessment/", "view", 62, OFFICE_ROLES | LEADER_ROLES | VILLAGE_ROLES | AUDIT_ROLES),
    ]
