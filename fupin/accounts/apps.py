from django.utils.translation import gettext_lazy as _

from fupin.accounts.choices import ADMIN_ROLES, COUNTY_ROLES
from fupin.core.appconfig import FupinAppConfig


class AccountsConfig(FupinAppConfig):
    name = "fupin.accounts"
    label = "accounts"
    verbose_name = _("Users and roles")
    url_prefix = ""
    nav = [
        (_("Users and roles"), "/accounts/users/", "view", 80, COUNTY_ROLES | ADMIN_ROLES),
        (_("Account security"), "/account/sessions/", "view", 99),
        (_("Devices and API keys"), "/accounts/tokens/", "manage_users", 81),
    ]
