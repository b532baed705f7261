"""Who am I, the users of my jurisdiction, and device sign-in (`/api/v1/auth/token`)."""

import datetime

from django.contrib.auth import authenticate
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from ninja import Router, Schema
from ninja.responses import Status

from fupin.accounts import selectors, services
from fupin.accounts.choices import ROLE_CAPABILITIES
from fupin.accounts.models import User
from fupin.core.apierrors import refusal_as
from fupin.core.i18n import stored

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
    return _me(request.user)


@router.get("/users", response=list[UserOut])
def list_users(request):
    qs = User.objects.restrict(request.user).select_related("division", "grid", "department")
    return [_out(u) for u in qs[:1000]]


@router.get("/users/{username}", response=UserOut)
def get_user(request, username: str):
    qs = User.objects.restrict(request.user).select_related("division", "grid", "department")
    return _out(get_object_or_404(qs, username=username))


# /api/v1/auth/: a phone signs in once and gets a device token ----------------------------------------------------

auth_router = Router(tags=["auth"])


class TokenIn(Schema):
    username: str
    password: str
    device_name: str


class TokenOut(Schema):
    token: str
    token_id: str
    device_name: str
    expires_at: datetime.datetime | None
    user: MeOut


class DeviceOut(Schema):
    token_id: str
    name: str
    hint: str
    created_at: datetime.datetime
    expires_at: datetime.datetime | None
    last_used_at: datetime.datetime | None
    revoked_at: datetime.datetime | None
    current: bool


class AuthErrorOut(Schema):
    detail: str


def _me(u: User) -> dict:
    caps = sorted(set().union(*ROLE_CAPABILITIES.values())) if u.is_superuser else \
        sorted(ROLE_CAPABILITIES.get(u.role, set()))
    return {**_out(u), "capabilities": caps, "may_view_full_id": u.may_view_full_id}


@auth_router.post("/token", auth=None, response={201: TokenOut, 400: AuthErrorOut, 401: AuthErrorOut})
def issue_token(request, payload: TokenIn):
    """Sign a phone in: user name, password and a device name give a device token (shown once; send it as
    `Authorization: Bearer <token>`). Wrong passwords count towards the same lockout as the login page."""
    user = authenticate(request, username=payload.username.strip(), password=payload.password)
    if user is None:
        locked = getattr(request, "fupin_locked_until", None)
        if locked is not None:
            return Status(401, {"detail": _("Too many wrong passwords: the account is locked for a while, please try again later")})
        return Status(401, {"detail": _("Wrong user name or password")})
    with refusal_as(400):
        token, secret = services.device_token_issue(actor=user, user=user, device_name=payload.device_name)
    return Status(201, {"token": secret, "token_id": str(token.uuid), "device_name": token.name,
                        "expires_at": token.expires_at, "user": _me(user)})


@auth_router.delete("/token", response={204: None})
def revoke_current_token(request):
    """Sign this phone out: the token it presents is revoked (a session gets 204 and nothing changes)."""
    token = getattr(request, "access_token", None)
    if token is not None:
        services.token_revoke(actor=request.user, token=token, reason=stored(gettext_noop("Signed out on the phone")))
    return Status(204, None)


@auth_router.get("/devices", response=list[DeviceOut])
def my_devices(request):
    """The caller's own phones (device tokens), newest first."""
    current = getattr(getattr(request, "access_token", None), "pk", None)
    return [{"token_id": str(t.uuid), "name": t.name, "hint": t.hint, "created_at": t.created_at,
             "expires_at": t.expires_at, "last_used_at": t.last_used_at, "revoked_at": t.revoked_at,
             "current": t.pk == current}
            for t in selectors.devices_of(request.user)]
