from django.utils.translation import gettext_lazy as _

from fupin.accounts.choices import COUNTY_ROLES, FIELD_ROLES, VILLAGE_ROLES
from fupin.core.appconfig import FupinAppConfig


class MobileConfig(FupinAppConfig):
    name = "fupin.mobile"
    label = "mobile"
    verbose_name = _("Field app")
    url_prefix = "app/"
    api_prefix = "mobile"
    nav = [
        (_("Sync conflicts"), "/app/conflicts/", "edit", 36, FIELD_ROLES | VILLAGE_ROLES | COUNTY_ROLES),
    ]
