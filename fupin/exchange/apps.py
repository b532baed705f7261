from django.utils.translation import gettext_lazy as _

from fupin.accounts.choices import COUNTY_ROLES
from fupin.core.appconfig import FupinAppConfig


class ExchangeConfig(FupinAppConfig):
    name = "fupin.exchange"
    label = "exchange"
    verbose_name = _("Department data exchange")
    url_prefix = "exchange/"
    nav = [
        (_("Department data"), "/exchange/", "view", 40, COUNTY_ROLES),
    ]
