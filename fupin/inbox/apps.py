from django.utils.translation import gettext_lazy as _

from fupin.accounts.choices import AREA_WORK_ROLES, DEPARTMENT_ROLES, LEADER_ROLES
from fupin.core.appconfig import FupinAppConfig


class InboxConfig(FupinAppConfig):
    name = "fupin.inbox"
    label = "inbox"
    verbose_name = _("Inbox")
    url_prefix = "inbox/"
    nav = [
        (_("Inbox"), "/inbox/", "view", 10, AREA_WORK_ROLES | LEADER_ROLES | DEPARTMENT_ROLES),
    ]
