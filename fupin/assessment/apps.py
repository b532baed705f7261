from django.utils.translation import gettext_lazy as _

from fupin.core.appconfig import FupinAppConfig


class AssessmentConfig(FupinAppConfig):
    name = "fupin.assessment"
    label = "assessment"
    verbose_name = _("Assessment and screening")
    url_prefix = "assessment/"
    api_prefix = "assessment"
    nav = [
        (_("Assessment"), "/assessment/", "view", 62),
    ]
