from django.utils.translation import gettext_lazy as _

from fupin.accounts.choices import COUNTY_ROLES
from fupin.core.appconfig import FupinAppConfig


class InteropConfig(FupinAppConfig):
    name = "fupin.interop"
    label = "interop"
    verbose_name = _("Connections to other systems")
    url_prefix = "interop/"
    nav = [
        (_("Connections"), "/interop/", "import", 90, COUNTY_ROLES),
    ]
