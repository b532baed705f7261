from django.utils.translation import gettext_lazy as _

from fupin.core.appconfig import FupinAppConfig


class DispatchConfig(FupinAppConfig):
    name = "fupin.dispatch"
    label = "dispatch"
    verbose_name = _("Work orders and public opinion")
    url_prefix = "dispatch/"
    nav = [
        (_("Work orders"), "/dispatch/", "view", 35),
    ]
