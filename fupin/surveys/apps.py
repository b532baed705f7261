from django.utils.translation import gettext_lazy as _

from fupin.accounts.choices import OFFICE_ROLES, VILLAGE_ROLES, Role
from fupin.core.appconfig import FupinAppConfig


class SurveysConfig(FupinAppConfig):
    name = "fupin.surveys"
    label = "surveys"
    verbose_name = _("Collection forms")
    url_prefix = "forms/"
    nav = [
        (_("Collection forms"), "/forms/", "view", 45, OFFICE_ROLES | VILLAGE_ROLES | {Role.INFO_OFFICER}),
    ]
