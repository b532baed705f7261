"""Who am I, and the users of my jurisdiction."""

from django.shortcuts import get_object_or_404
from ninja import Router, Schema

from fupin.accounts.choices import ROLE_CAPABILITIES
from fupin.accounts.models import User

router = Router(tags=["accounts"])


class UserOut(Schema):
    username: str
    display_name: str
    role: str
    division: str | None
    grid: str | None
    department: str | None


class MeOut(UserOut):
    capabilities: list[str]
    may_view_full_id: bool


def _out(u: User) -> dict:
    return {"username": u.username, "display_name": u.display_name, "role": u.role,
            "division": u.division.code if u.division_id else None, "grid": u.grid.code if u.grid_id else None,
            "department": u.department.code if u.department_id else None}


@router.get("/me", response=MeOut)
def me(request):
    u = request.user
    caps = sorted(set().union(*ROLE_CAPABILITIES.values())) if u.is_superuser else sorted(ROLE_CAPABILITIES.get(u.role, set()))
    return {**_out(u), "capabilities": caps, "may_view_full_id": u.may_view_full_id}


@router.get("/users", response=list[UserOut])
def list_users(request):
    qs = User.objects.restrict(request.user).select_related("division", "grid", "department")
    return [_out(u) for u in qs[:1000]]


@router.get("/users/{username}", response=UserOut)
def get_user(request, username: str):
    qs = User.objects.restrict(request.user).select_related("division", "grid", "department")
    return _out(get_object_or_404(qs, username=username))
