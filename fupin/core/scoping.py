"""One jurisdiction-scoping mechanism for every read of people's data.

Division codes are hierarchical by prefix (GB/T 2260 + 3-digit town + 3-digit village + 3-digit grid), so a user's
jurisdiction is a code prefix and every scoped row carries the code of the smallest unit it belongs to (`area_code`:
its grid, else its village). `Model.objects.restrict(user)` filters by that prefix; a superuser sees everything and a
user with no jurisdiction sees nothing.

A model says where its code lives with `scope_field` (default "area_code"); a model that departments may read says
which field names the department with `department_field`.
"""

from __future__ import annotations

from django.db import models

PREFIX_LENGTH = {"province": 2, "city": 4, "county": 6, "town": 9, "village": 12, "community": 12, "grid": 15}


def scope_prefix(user) -> str | None:
    """The code prefix of the user's jurisdiction; "" means everything, None means nothing."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    if user.is_superuser:
        return ""
    return getattr(user, "jurisdiction_prefix", None)


class ScopedQuerySet(models.QuerySet):
    def restrict(self, user, action: str = "view") -> ScopedQuerySet:
        """Rows of this model that `user` may see (action is reserved for finer permissions)."""
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
