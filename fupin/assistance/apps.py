from django.utils.translation import gettext_lazy as _

from fupin.accounts.choices import AREA_WORK_ROLES
from fupin.core.appconfig import FupinAppConfig


class AssistanceConfig(FupinAppConfig):
    name = "fupin.assistance"
    label = "assistance"
    verbose_name = _("Assistance and warnings")
    url_prefix = "assistance/"
    nav = [
        (_("Assistance"), "/assistance/", "view", 30, AREA_WORK_ROLES),
    ]
