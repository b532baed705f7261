from django.utils.translation import gettext_lazy as _

from fupin.accounts.choices import OFFICE_ROLES, VILLAGE_ROLES, Role
from fupin.core.appconfig import FupinAppConfig


class QualityConfig(FupinAppConfig):
    name = "fupin.quality"
    label = "quality"
    verbose_name = _("Data quality")
    url_prefix = "quality/"
    nav = [
        (_("Data quality"), "/quality/", "view", 46, OFFICE_ROLES | VILLAGE_ROLES | {Role.INFO_OFFICER}),
    ]
