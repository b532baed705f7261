from django.utils.translation import gettext_lazy as _

from fupin.core.appconfig import FupinAppConfig


class PrivacyConfig(FupinAppConfig):
    """Personal-information protection (PIPL): a person's data report for the office answering a citizen's request,
    and the retention periods with their nightly purge."""

    name = "fupin.privacy"
    label = "privacy"
    verbose_name = _("Personal information")
    url_prefix = "privacy/"
    api_prefix = None
    nav = [
        (_("Personal information"), "/privacy/", "privacy_requests", 92),
    ]
