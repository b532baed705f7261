"""One jurisdiction-scoping mechanism for every read of people's data.

Division codes are hierarchical by prefix (GB/T 2260 + 3-digit town + 3-digit village + 3-digit grid), so a user's
jurisdiction is a code prefix and every scoped row carries the code of the smallest unit it belongs to (`area_code`:
its grid, else its village). `Model.objects.restrict(user)` filters by that prefix; a superuser sees everything and a
user with no jurisdiction sees nothing.

A model says where its code lives with `scope_field` (default "area_code"); a model that departments may read says
which field names the department with `department_field`.

Writes ask one question, `require(user, area_code, action)`: is the place inside the user's jurisdiction, and does
the user's role allow the action there? Every service asks it before writing people's data; `covers` is the same
test of the place alone, for what a page offers.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext as _

PREFIX_LENGTH = {"province": 2, "city": 4, "county": 6, "town": 9, "village": 12, "community": 12, "grid": 15}


def scope_prefix(user) -> str | None:
    """The code prefix of the user's jurisdiction; "" means everything, None means nothing."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    if user.is_superuser:
        return ""
    return getattr(user, "jurisdiction_prefix", None)


def covers(user, area_code: str) -> bool:
    """The place `area_code` lies inside the user's jurisdiction (a superuser's covers everything)."""
    prefix = scope_prefix(user)
    return prefix is not None and (area_code or "").startswith(prefix)


def county_wide(user) -> bool:
    """The user's jurisdiction is a whole county or more (a superuser's is everything): the county office's view of
    what has no area of its own (department files, outside connections, department-only staff)."""
    prefix = scope_prefix(user)
    return prefix is not None and len(prefix) <= PREFIX_LENGTH["county"]


def overlaps(user, area_code: str) -> bool:
    """The place lies inside the user's jurisdiction, or the jurisdiction inside it (a grid worker opens the page of
    the village their grid lies in, and sees their grid's part of it)."""
    prefix = scope_prefix(user)
    code = area_code or ""
    return prefix is not None and bool(code) and (code.startswith(prefix) or prefix.startswith(code))


def narrowed(user, within: str | None) -> str | None:
    """The code prefix a page looks at: the user's jurisdiction, narrowed to the place `within` (a 12-digit county,
    town or village code, or a prefix) when that lies inside it; None when the user sees nothing."""
    base = scope_prefix(user)
    if base is None:
        return None
    within = (within or "").strip()
    if len(within) == 12 and within.endswith("000000"):
        within = within[:6]
    elif len(within) == 12 and within.endswith("000"):
        within = within[:9]
    if within.isdigit() and within.startswith(base):
        return within
    return base


def require(user, area_code: str, action: str | None = "edit", *, message: str = "",
            role_message: str = "") -> None:
    """Refuse (ServiceError, a translated message) a write at `area_code` outside the user's jurisdiction, or one the user's role
    may not do (`action` is a capability such as "edit" or "approve_town"; None asks only for the place).

    `user` None or a text such as "system" is the platform itself (the demo, nightly steps), which writes anywhere;
    a user who is not signed in writes nowhere.
    """
    from fupin.core.errors import ServiceError

    if user is None or isinstance(user, str):
        return
    if not covers(user, area_code):
        raise ServiceError(message or _("This is outside your jurisdiction"))
    if action is not None and not user.is_superuser and not user.can(action):
        raise ServiceError(role_message or message or _("Your role cannot handle this"))


class ScopedQuerySet(models.QuerySet):
    def restrict(self, user) -> ScopedQuerySet:
        """Rows of this model that `user` may see: inside the jurisdiction, or of the user's department."""
        model = self.model
        if user is not None and getattr(user, "is_superuser", False):
            return self
        if getattr(model, "scope_field", "area_code") is None and not getattr(model, "department_field", None):
            # reference data (departments, code lists): any signed-in user may read it
            return self if getattr(user, "is_authenticated", False) else self.none()
        prefix = scope_prefix(user)
        department_field = getattr(model, "department_field", None)
        q = models.Q(pk__in=[])
        matched = False
        if prefix is not None:
            field = getattr(model, "scope_field", "area_code")
            if field:
                q |= models.Q(**{f"{field}__startswith": prefix}) if prefix else ~models.Q(pk=None)
                matched = True
        if department_field and getattr(user, "department_id", None):
            q |= models.Q(**{department_field: user.department_id})
            matched = True
        if not matched:
            return self.none()
        return self.filter(q)
