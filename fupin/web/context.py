"""Context for every page: navigation entries (declared by each app's AppConfig.nav) and the division filter."""

from fupin.core.appconfig import nav_entries


def shell(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    path = request.path
    nav = [{"label": label, "url": url, "active": (path == url) if url == "/" else path.startswith(url)}
           for label, url, cap, _order in nav_entries() if user.can(cap)]
    return {"nav": nav, "division_code": request.GET.get("division", "")}
