from django.utils.translation import gettext_lazy as _

from fupin.core.appconfig import FupinAppConfig


class FundsConfig(FupinAppConfig):
    name = "fupin.funds"
    label = "funds"
    verbose_name = _("Funds, projects and micro-credit")
    url_prefix = "funds/"
    nav = [
        (_("Funds and projects"), "/funds/", "view", 34),
        (_("Micro-credit"), "/funds/loans/", "view", 35),
    ]
