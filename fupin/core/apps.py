from django.utils.translation import gettext_lazy as _

from fupin.core.appconfig import FupinAppConfig

# fupin.accounts.choices.OFFICE_ROLES by value: core sits below accounts (docs/architecture.md)
OFFICE_ROLES = frozenset({"town_staff", "city_office"})


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
