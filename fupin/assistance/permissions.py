"""Who may do what in the assistance app. Reads are scoped by `selectors.visible_*`; these decide writes."""

from __future__ import annotations


def is_cadre(user) -> bool:
    from fupin.assistance.models import Cadre

    return bool(getattr(user, "pk", None)) and Cadre.objects.filter(user=user, is_active=True).exists()


def can_record(user) -> bool:
    """Enter visits, calls and errands: anyone who edits in an area, and every cadre for the households they carry."""
    return user.is_superuser or user.can("edit") or is_cadre(user)


def can_manage(user) -> bool:
    """Pair households and villages, keep cadres, plans and policies received."""
    return user.is_superuser or (user.can("edit") and user.role != "pairing_cadre")


def can_approve(user) -> bool:
    return user.is_superuser or user.can("approve_town") or user.can("approve_county")


def can_administer(user) -> bool:
    """The county-wide settings: the policy catalogue, units and the light thresholds."""
    return user.is_superuser or user.can("approve_county")


def can_import(user) -> bool:
    return user.is_superuser or user.can("import")
