from django.utils.translation import gettext_lazy as _

from fupin.core.appconfig import FupinAppConfig


class WebConfig(FupinAppConfig):
    name = "fupin.web"
    label = "web"
    verbose_name = _("Web shell")
    url_prefix = ""
    nav = [
        (_("Home"), "/", "view", 0),
    ]
