"""Context for every page: navigation entries (declared by each app's AppConfig.nav, shown to the roles each entry
names), the user's jurisdiction and the area chosen in the division tree.

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
    """Once per request: a page that renders its parts with `request` (the household page's panels, each a
    `render_to_string(..., request=request)`) runs the context processors once per part."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    memo = getattr(request, "_fupin_shell", None)
    if memo is not None and memo[0] is user:
        return memo[1]
    context = _shell(request, user)
    request._fupin_shell = (user, context)
    return context


def _shell(request, user) -> dict:
    area = current_area(request)
    division_query = f"?division={area.code}" if area else ""
    path = request.path
    badges = {"/inbox/": _open_inbox_count(user)}
    nav = [
        {"label": e[0], "url": e[1], "href": e[1] + division_query, "badge": badges.get(e[1], 0), "active": False}
        for e in nav_entries()
        if menu_shows(user, e)
    ]
    # the entry whose path is the longest prefix of this page is the current one ("/dispatch/minqing/" over
    # "/dispatch/")
    here = [n for n in nav if (path == n["url"] if n["url"] == "/" else path.startswith(n["url"]))]
    if here:
        max(here, key=lambda n: len(n["url"]))["active"] = True
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


def menu_shows(user, entry: tuple) -> bool:
    """Whether a nav entry (label, path, capability, order[, roles]) is in the user's menu: the user holds the
    capability and, when the entry names the roles it is for, one of them (a superuser sees every entry)."""
    if user.is_superuser:
        return True
    roles = entry[4] if len(entry) > 4 else None
    return user.can(entry[2]) and (roles is None or user.role in roles)


def _open_inbox_count(user) -> int:
    from fupin.inbox.models import InboxItem

    return InboxItem.objects.filter(user=user, done_at__isnull=True).count()
