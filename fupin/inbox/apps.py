from django.utils.translation import gettext_lazy as _

from fupin.core.appconfig import FupinAppConfig


class InboxConfig(FupinAppConfig):
    name = "fupin.inbox"
    label = "inbox"
    verbose_name = _("Inbox")
    url_prefix = "inbox/"
    nav = [
        (_("Inbox"), "/inbox/", "view", 10),
    ]
