from django.utils.translation import gettext_lazy as _

from fupin.accounts.choices import OFFICE_ROLES
from fupin.core.appconfig import FupinAppConfig


class CoreConfig(FupinAppConfig):
    name = "fupin.core"
    label = "core"
    verbose_name = _("Core")
    url_prefix = "jobs/"
    api_prefix = "jobs"
    nav = [
        (_("Background jobs"), "/jobs/", "view", 90, OFFICE_ROLES),
        (_("Audit trail"), "/audit/", "read_audit", 95),
        (_("Export approvals"), "/exports/", "approve_exports", 93),
    ]
