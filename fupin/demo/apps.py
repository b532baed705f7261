from django.utils.translation import gettext_lazy as _

from fupin.core.appconfig import FupinAppConfig


class DemoConfig(FupinAppConfig):
    name = "fupin.demo"
    label = "demo"
    verbose_name = _("Demo county")
    url_prefix = None
