"""The filters of the findings list, declared once for the page and the API (fupin/core/filters.py)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from fupin.core.filters import Filter, FilterSet
from fupin.eligibility.models import Finding

# applied by `selectors.findings_for_user`, which takes each value as the keyword of the same name
FINDING_FILTERS = FilterSet(
    Filter("status", _("Status"), choices=Finding.Status.choices),
    Filter("rule", _("Rule"), kind="text"),
)
