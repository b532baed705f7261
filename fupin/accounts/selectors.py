"""Reads of user accounts, always through `User.objects.restrict(viewer)`."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet

from fupin.accounts.choices import ALL_CAPABILITIES, ROLE_CAPABILITIES, Role
from fupin.core.scoping import county_wide

# The order capabilities are shown in the roles matrix.
CAPABILITY_ORDER = ["view", "view_full_id", "edit", "collect", "village_review", "approve_town", "approve_county",
                    "import", "manage_geo", "manage_users", "department_work"]


def visible_users(viewer) -> QuerySet:
    """Users the viewer may see: `User.objects.restrict(viewer)`, and for county-level viewers also the department
    staff who are bound to a department only (they work for the whole county and carry no area code)."""
    User = get_user_model()
    qs = User.objects.restrict(viewer)
    if county_wide(viewer):
        qs = qs | User.objects.filter(area_code="", department__isnull=False)
    return qs


def user_list(*, viewer, role: str = "", q: str = "") -> QuerySet:
    qs = visible_users(viewer).select_related("division", "grid", "department", "command_unit")
    if role:
        qs = qs.filter(role=role)
    if q:
        qs = qs.filter(Q(username__icontains=q) | Q(display_name__icontains=q) | Q(phone__icontains=q))
    return qs.order_by("area_code", "role", "username")


def user_get(*, viewer, username: str):
    """The user with this name if the viewer may see them, else None."""
    return (visible_users(viewer).select_related("division", "grid", "department", "command_unit")
            .filter(username=username).first())


def roles_matrix() -> tuple[list[str], list[dict]]:
    """(capabilities, rows): one row per role with a yes/no per capability."""
    caps = [c for c in CAPABILITY_ORDER if c in ALL_CAPABILITIES] + sorted(ALL_CAPABILITIES - set(CAPABILITY_ORDER))
    rows = [{"role": role, "label": role.label, "caps": [c in ROLE_CAPABILITIES.get(role, set()) for c in caps]}
            for role in Role]
    return caps, rows


def devices_of(user) -> QuerySet:
    """A user's own phones (device tokens), newest first."""
    from fupin.accounts.models import AccessToken

    return AccessToken.objects.filter(user=user, kind="device").order_by("-created_at")


def token_list(*, viewer, kind: str = "", live_only: bool = False) -> QuerySet:
    """Device tokens and API keys of the viewer's jurisdiction (county staff's page)."""
    from django.db.models import Q
    from django.utils import timezone

    from fupin.accounts.models import AccessToken

    qs = AccessToken.objects.restrict(viewer).select_related("user", "created_by", "revoked_by")
    if kind:
        qs = qs.filter(kind=kind)
    if live_only:
        qs = qs.filter(revoked_at__isnull=True).filter(Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now()))
    return qs.order_by("kind", "-created_at")


def tokens_active_count() -> dict:
    """Live (not revoked, not expired) device tokens and API keys, for `fupin stats`."""
    from django.db.models import Count, Q
    from django.utils import timezone

    from fupin.accounts.models import AccessToken

    live = AccessToken.objects.filter(revoked_at__isnull=True).filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now()))
    counts = dict(live.values_list("kind").annotate(n=Count("id")))
    return {"devices_active": counts.get("device", 0), "api_keys_active": counts.get("api_key", 0)}


def token_for_revoke(*, viewer, token_id):
    """A token the viewer may revoke: their own phone, or any token of their jurisdiction for user managers."""
    from fupin.accounts.models import AccessToken

    own = AccessToken.objects.filter(uuid=token_id, user=viewer, kind="device").first()
    if own is not None:
        return own
    if viewer.can("manage_users"):
        return AccessToken.objects.restrict(viewer).filter(uuid=token_id).first()
    return None
