from django.utils.translation import gettext_lazy as _

from fupin.core.appconfig import FupinAppConfig


class QualityConfig(FupinAppConfig):
    name = "fupin.quality"
    label = "quality"
    verbose_name = _("Data quality")
    url_prefix = "quality/"
    nav = [
        (_("Data quality"), "/quality/", "view", 46),
    ]
