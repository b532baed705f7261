"""What the pages of every app use: the names of fupin/core/pages.py and fupin/geo/areas.py, kept here for the
branches written before they moved (import them from there: tests/test_layering.py refuses this module below web).

- `current_area(request)`: the division or grid chosen in the division tree (`?division=<code>`, a 12-digit division
  code or a 15-digit grid code), or None. A code outside the user's jurisdiction is ignored, never honoured.
- `filter_area(qs, request, field=None)`: `qs` narrowed to the chosen area, on the model's `scope_field` (or `field`).
  It narrows, it never widens: call it on a queryset that is already `.restrict(request.user)`.
- `user_area(user)`: the user's own jurisdiction as an `Area` (None for a user bound to nothing).
- `paginate(request, qs, per_page=50)`: a Page; templates render `{% include "web/_pagination.html" %}`.
- `capability_required("manage_geo")`: a view decorator that answers 403 unless `request.user.can(capability)`.
- `is_htmx(request)`: the request comes from htmx (answer with a partial).
- `object_history(obj, limit=50)`: the audit events of one object for `core/_history.html`, newest first, with the
  event of the bulk write (import, seeding) that created or last changed it.

Example, a list view of another app::

    qs = filter_area(Household.objects.restrict(request.user), request)
    return render(request, "registry/list.html", {"page_obj": paginate(request, qs)})
"""

from fupin.core.pages import capability_required, is_htmx, object_history, paginate
from fupin.geo.areas import (
           LEVEL_LABELS,
           Area,
           area_for_code,
           current_area,
           filter_area,
           root_divisions,
           user_area,
)

__all__ = ["LEVEL_LABELS", "Area", "area_for_code", "capability_required", "current_area", "filter_area", "is_htmx",
           "object_history", "paginate", "root_divisions", "user_area"]
