"""Context for every page: navigation entries (declared by each app's AppConfig.nav), the user's jurisdiction and the
area chosen in the division tree.

Templates get `nav` (label, url, active, badge), `area` (the chosen Area or None), `division_code` (its code or ""),
`division_query` ("?division=<code>" or ""), `my_area` (the user's jurisdiction), `role_label`,
`caps` (the user's capabilities: `{% if "manage_geo" in caps %}`), `today` and `now_ts`.
"""

from django.utils import timezone
from django.utils.translation import gettext as _

from fupin.accounts.choices import ALL_CAPABILITIES, ROLE_CAPABILITIES
from fupin.core.appconfig import nav_entries
from fupin.geo.areas import current_area, user_area


def shell(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    area = current_area(request)
    division_query = f"?division={area.code}" if area else ""
    path = request.path
    badges = {"/inbox/": _open_inbox_count(user)}
    nav = [
        {
            "label": label,
            "url": url,
            "href": url + division_query,
            "active": (path == url) if url == "/" else path.startswith(url),
            "badge": badges.get(url, 0),
        }
        for label, url, cap, _order in nav_entries()
        if user.can(cap)
    ]
    return {
        "nav": nav,
        "area": area,
        "division_code": area.code if area else "",
        "division_query": division_query,
        "my_area": user_area(user),
        "today": timezone.localdate(),
        "now_ts": timezone.now(),
        "caps": ALL_CAPABILITIES if user.is_superuser else ROLE_CAPABILITIES.get(user.role, set()),
        "role_label": _("Superuser") if user.is_superuser and not user.role else user.get_role_display(),
    }


def _open_inbox_count(user) -> int:
    from fupin.inbox.models import InboxItem

    return InboxItem.objects.filter(user=user, done_at__isnull=True).count()
