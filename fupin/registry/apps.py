from django.utils.translation import gettext_lazy as _

from fupin.accounts.choices import AREA_WORK_ROLES, AUDIT_ROLES
from fupin.core.appconfig import FupinAppConfig


class RegistryConfig(FupinAppConfig):
    name = "fupin.registry"
    label = "registry"
    verbose_name = _("Household registry")
    url_prefix = "households/"
    api_prefix = "households"
    nav = [
        (_("Households"), "/households/", "view", 20, AREA_WORK_ROLES | AUDIT_ROLES),
    ]
