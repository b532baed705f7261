"""Context for every page: navigation entries and the division filter."""

from django.utils.translation import gettext_lazy as _

# One entry per capability; later capabilities append theirs (label, url name prefix, path, capability needed).
NAV = [
    (_("Home"), "/", "view"),
    (_("Inbox"), "/inbox/", "view"),
    (_("Households"), "/households/", "view"),
    (_("Grid network"), "/geo/", "view"),
    (_("Departments"), "/org/departments/", "view"),
    (_("Command units"), "/org/units/", "view"),
    (_("Users and roles"), "/accounts/users/", "view"),
    (_("Background jobs"), "/jobs/", "view"),
]


def shell(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    path = request.path
    nav = [{"label": label, "url": url, "active": (path == url) if url == "/" else path.startswith(url)}
           for label, url, cap in NAV if user.can(cap)]
    return {"nav": nav, "division_code": request.GET.get("division", "")}
