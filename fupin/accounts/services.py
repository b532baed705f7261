"""Writes of user accounts. `user_create` and `user_update` keep `User.area_code` equal to the user's jurisdiction
(grid code, else division code), which is what `User.objects.restrict(viewer)` scopes on; both audit the change
(never the password hash). A department handler may be bound to a department only (area_code empty): county-level
viewers see such users (`fupin.accounts.selectors.visible_users`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils.translation import gettext as _

from fupin.accounts.choices import Role
from fupin.core import audit
from fupin.core.errors import ServiceError
from fupin.core.scoping import county_wide, covers

AUDITED_FIELDS = ("username", "display_name", "email", "phone", "role", "division_id", "grid_id", "department_id",
                  "command_unit_id", "unit_name", "area_code", "is_active", "is_superuser")
EDITABLE = {"display_name", "email", "phone", "role", "division", "grid", "department", "command_unit", "unit_name",
            "is_active"}


def area_code_for(*, division=None, grid=None) -> str:
    """The area_code a user bound to this division or grid carries: the grid code, else the division code."""
    if grid is not None:
        return grid.code
    if division is not None:
        return division.code
    return ""


def user_snapshot(user) -> dict:
    return {f: getattr(user, f) for f in AUDITED_FIELDS}


def _is_user(actor) -> bool:
    return isinstance(actor, get_user_model()) and actor.pk is not None


def _check_actor(actor) -> None:
    if _is_user(actor) and not actor.can("manage_users"):
        raise ServiceError(_("You may not manage users"))


def _check_binding(*, actor, role: str, division, grid, department, command_unit) -> Any:
    """Validate the role and jurisdiction; return the division to store (a grid's village when only a grid is given)."""
    if role not in Role.values:
        raise ServiceError(_("Unknown role: %(role)s") % {"role": role}, field="role")
    if grid is not None:
        if division is None:
            division = grid.village
        elif grid.village_id != division.pk:
            raise ServiceError(_("Grid %(grid_code)s does not belong to %(division_name)s") % {"grid_code": grid.code, "division_name": division.name}, field="grid")
    if role == Role.DEPT_HANDLER and department is None:
        raise ServiceError(_("A department handler must have a department"), field="department")
    if division is None and not (role == Role.DEPT_HANDLER and department is not None):
        raise ServiceError(_("Choose the jurisdiction (town, village) or a grid"), field="division")
    if _is_user(actor) and not actor.is_superuser:
        from fupin.geo.models import Division, Grid

        if division is None:
            if not county_wide(actor):
                raise ServiceError(_("Only city users may create a department handler without a division"), field="division")
        elif not Division.objects.restrict(actor).filter(pk=division.pk).exists():
            raise ServiceError(_("%(division_name)s is outside your jurisdiction") % {"division_name": division.name}, field="division")
        if grid is not None and not Grid.objects.restrict(actor).filter(pk=grid.pk).exists():
            raise ServiceError(_("Grid %(grid_code)s is outside your jurisdiction") % {"grid_code": grid.code}, field="grid")
        if command_unit is not None and not covers(actor, command_unit.area_code):
            raise ServiceError(_("%(command_unit_name)s is outside your jurisdiction") % {"command_unit_name": command_unit.name}, field="command_unit")
    return division


def _check_separated_role(actor, old_role: str | None, new_role: str | None) -> None:
    """三员分立: only a security administrator (or a superuser) gives or takes the auditor and administrator roles."""
    from fupin.accounts.choices import SEPARATED_ROLES

    if old_role == new_role or not ({old_role, new_role} & SEPARATED_ROLES):
        return
    if _is_user(actor) and not (actor.is_superuser or actor.can("manage_security")):
        raise ServiceError(_("The auditor, system administrator and security administrator roles are granted or revoked only by a security administrator"), field="role")


PASSWORD_PROBLEMS = {
    "password_too_short": "密码太短,至少需要{min_length}个字符",
    "password_too_common": "密码过于常见,请换一个",
    "password_entirely_numeric": "密码不能全是数字",
    "password_too_similar": "密码与用户名或姓名过于相似",
}


def _check_password(password: str, user=None) -> None:
    """Django's password validators, with their problems told in Chinese (service errors are Chinese)."""
    try:
        validate_password(password or "", user)
    except ValidationError as exc:
        problems = []
        for err in exc.error_list:
            template = PASSWORD_PROBLEMS.get(err.code)
            problems.append(template.format(**(err.params or {})) if template else " ".join(err.messages))
        raise ServiceError(";".join(problems), field="password") from exc


@transaction.atomic
def user_create(*, actor, username: str, password: str, role: str, division=None, grid=None, department=None,
                command_unit=None, display_name: str = "", phone: str = "", email: str = "", unit_name: str = "",
                is_active: bool = True):
    """Create a user bound to a division or grid (and a department for department handlers)."""
    User = get_user_model()
    _check_actor(actor)
    username = (username or "").strip()
    if not username:
        raise ServiceError(_("The user name is required"), field="username")
    if User.objects.filter(username__iexact=username).exists():
        raise ServiceError(_("The user name %(username)s is taken") % {"username": username}, field="username")
    _check_separated_role(actor, None, role)
    division = _check_binding(actor=actor, role=role, division=division, grid=grid, department=department,
                              command_unit=command_unit)
    user = User(username=username, role=role, division=division, grid=grid, department=department,
                command_unit=command_unit, display_name=display_name.strip(), phone=phone.strip(), email=email.strip(),
                unit_name=unit_name.strip(), is_active=is_active, area_code=area_code_for(division=division, grid=grid))
    _check_password(password, user)
    user.set_password(password)
    user.save()
    audit.record(actor=actor, action="accounts.user.create", obj=user, area_code=user.area_code,
                 after=user_snapshot(user))
    return user


@transaction.atomic
def user_update(*, actor, user, password: str | None = None, **changes: Any):
    """Change a user's profile, role or jurisdiction (and optionally the password); area_code follows."""
    _check_actor(actor)
    unknown = set(changes) - EDITABLE
    if unknown:
        raise ServiceError(_("Fields that cannot be changed: %(items)s") % {"items": ', '.join(sorted(unknown))})
    if _is_user(actor) and not actor.is_superuser and user.is_superuser:
        raise ServiceError(_("Only a superuser may change a superuser"))
    if "role" in changes:
        _check_separated_role(actor, user.role, changes["role"])
    before = user_snapshot(user)
    for key, value in changes.items():
        setattr(user, key, value.strip() if isinstance(value, str) else value)
    if not user.is_superuser or user.role:
        user.division = _check_binding(actor=actor, role=user.role, division=user.division, grid=user.grid,
                                       department=user.department, command_unit=user.command_unit)
    user.area_code = area_code_for(division=user.division, grid=user.grid)
    note = ""
    if password:
        _check_password(password, user)
        user.set_password(password)
        note = "密码已重置"
    user.save()
    after = user_snapshot(user)
    if after != before or note:
        audit.record(actor=actor, action="accounts.user.update", obj=user, area_code=user.area_code, before=before,
                     after=after, note=note)
    return user


@transaction.atomic
def user_unlock(*, actor, user):
    """Lift a lockout after repeated failed logins."""
    _check_actor(actor)
    User = get_user_model()
    if not user.locked_until and not user.failed_logins:
        return user
    User.objects.filter(pk=user.pk).update(locked_until=None, failed_logins=0)
    audit.record(actor=actor, action="accounts.user.unlock", obj=user, area_code=user.area_code,
                 before={"locked_until": user.locked_until, "failed_logins": user.failed_logins},
                 after={"locked_until": None, "failed_logins": 0})
    user.refresh_from_db()
    return user


# Access tokens: device tokens for the phone app and API keys for other systems (one mechanism) -----------------------

TOKEN_PREFIX = {"device": "fpd_", "api_key": "fpk_"}
USE_AUDIT_GAP = dt.timedelta(minutes=15)
# capabilities an API key may never carry: it reads and writes data, it does not administer
API_KEY_FORBIDDEN = {"manage_users", "manage_geo"}


def hash_secret(secret: str) -> str:
    """The stored form of a token secret (SHA-256: the secret has 256 bits of entropy, so no slow hash is needed)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def _new_secret(kind: str) -> str:
    return TOKEN_PREFIX[kind] + secrets.token_urlsafe(32)


def _token_snapshot(token) -> dict:
    return {"kind": token.kind, "name": token.name, "user": token.user_id, "hint": token.hint,
            "capabilities": token.capabilities, "read_only": token.read_only, "expires_at": token.expires_at,
            "revoked_at": token.revoked_at, "revoke_reason": token.revoke_reason}


def _save_token(*, actor, kind: str, name: str, user, area_code: str, capabilities: list[str], read_only: bool,
                expires_at) -> tuple[Any, str]:
    from fupin.accounts.models import AccessToken

    secret = _new_secret(kind)
    token = AccessToken(kind=kind, name=name, user=user, area_code=area_code, secret_hash=hash_secret(secret),
                        hint=secret[:10], capabilities=capabilities, read_only=read_only, expires_at=expires_at,
                        created_by=actor if _is_user(actor) else None)
    token.save()
    audit.record(actor=actor, action=f"accounts.token.issue_{kind}", obj=token, after=_token_snapshot(token))
    return token, secret


@transaction.atomic
def device_token_issue(*, actor, user, device_name: str, days: int | None = None) -> tuple[Any, str]:
    """A token for one phone of `user` (the worker signs in on it once). Returns (token, secret): the secret is
    shown once and only its hash is kept."""
    from django.conf import settings
    from django.utils import timezone

    device_name = (device_name or "").strip()[:100]
    if not device_name:
        raise ServiceError(_("Name the device (e.g. Zhang San's phone)"), field="device_name")
    if not user.is_active or user.is_service_account:
        raise ServiceError(_("This account cannot sign in on a phone"))
    if _is_user(actor) and actor.pk != user.pk and not actor.can("manage_users"):
        raise ServiceError(_("You may sign in only your own phone"))
    days = days or settings.FUPIN_DEVICE_TOKEN_DAYS
    return _save_token(actor=actor, kind="device", name=device_name, user=user, area_code=user.area_code,
                       capabilities=[], read_only=False, expires_at=timezone.now() + dt.timedelta(days=days))


@transaction.atomic
def api_key_create(*, actor, name: str, division, capabilities: list[str], read_only: bool = True,
                   expires_at=None) -> tuple[Any, str]:
    """An API key for another system: a service account bound to `division` (its jurisdiction) acting with
    `capabilities` only. County staff who manage users issue keys within their own jurisdiction and powers."""
    from django.utils import timezone

    from fupin.accounts.choices import ALL_CAPABILITIES
    from fupin.geo.models import Division

    User = get_user_model()
    _check_actor(actor)
    name = (name or "").strip()[:100]
    if not name:
        raise ServiceError(_("Name the key (the other system's name)"), field="name")
    if division is None:
        raise ServiceError(_("Choose the divisions the key may read"), field="division")
    if _is_user(actor) and not actor.is_superuser \
            and not Division.objects.restrict(actor).filter(pk=division.pk).exists():
        raise ServiceError(_("%(division_name)s is outside your jurisdiction") % {"division_name": division.name}, field="division")
    caps = sorted(set(capabilities or []))
    unknown = set(caps) - ALL_CAPABILITIES
    if unknown:
        raise ServiceError(_("Unknown permissions: %(items)s") % {"items": '、'.join(sorted(unknown))}, field="capabilities")
    if set(caps) & API_KEY_FORBIDDEN:
        raise ServiceError(_("A key cannot hold the permission to manage users or grids"), field="capabilities")
    if "view" not in caps:
        raise ServiceError(_("A key needs at least the view permission"), field="capabilities")
    if _is_user(actor) and not all(actor.can(c) for c in caps):
        raise ServiceError(_("You cannot grant a permission you do not hold"), field="capabilities")
    if expires_at is not None and expires_at <= timezone.now():
        raise ServiceError(_("The expiry must be in the future"), field="expires_at")
    account = User(username=f"apikey-{secrets.token_hex(5)}", display_name=name, role="", division=division,
                   area_code=area_code_for(division=division), is_service_account=True)
    account.set_unusable_password()
    account.save()
    audit.record(actor=actor, action="accounts.user.create", obj=account, area_code=account.area_code,
                 after=user_snapshot(account), note="API密钥的服务账号")
    return _save_token(actor=actor, kind="api_key", name=name, user=account, area_code=account.area_code,
                       capabilities=caps, read_only=read_only, expires_at=expires_at)


def may_revoke(actor, token) -> bool:
    """The token's own user (a worker's own phone) or staff who manage users in the token's jurisdiction."""
    from fupin.accounts.models import AccessToken

    if not _is_user(actor):
        return True
    if token.kind == "device" and token.user_id == actor.pk:
        return True
    return actor.can("manage_users") and AccessToken.objects.restrict(actor).filter(pk=token.pk).exists()


@transaction.atomic
def token_revoke(*, actor, token, reason: str = ""):
    """Revoke a device token or an API key: its next request (a phone's next sync) is refused."""
    from django.utils import timezone

    from fupin.accounts.models import AccessToken

    if not may_revoke(actor, token):
        raise ServiceError(_("You cannot revoke this device or key"))
    token = AccessToken.objects.select_for_update().get(pk=token.pk)
    if token.revoked_at is not None:
        return token
    before = _token_snapshot(token)
    token.revoked_at = timezone.now()
    token.revoked_by = actor if _is_user(actor) else None
    token.revoke_reason = (reason or "").strip()[:200]
    token.save(update_fields=["revoked_at", "revoked_by", "revoke_reason"])
    audit.record(actor=actor, action=f"accounts.token.revoke_{token.kind}", obj=token, before=before,
                 after=_token_snapshot(token))
    return token


def token_authenticate(*, secret: str, method: str = "", path: str = "", ip: str = ""):
    """The live token for a presented secret, with its use recorded; None when unknown, revoked or expired.

    Every use updates the last-used time and count; the audit trail gets one `accounts.token.use` event per stretch
    of use (a new one after 15 minutes of silence, like a session) and one per refused revoked or expired token."""
    from django.utils import timezone

    from fupin.accounts.models import AccessToken

    if not secret or len(secret) > 200:
        return None
    token = AccessToken.objects.select_related("user").filter(secret_hash=hash_secret(secret)).first()
    if token is None:
        return None
    now = timezone.now()
    refused = ""
    if token.revoked_at is not None:
        refused = "已吊销"
    elif token.expires_at is not None and token.expires_at <= now:
        refused = "已过期"
    elif not token.user.is_active:
        refused = "账号已停用"
    if refused:
        audit.record(actor=token.user, action="accounts.token.refused", obj=token, note=f"{refused}:{method} {path}"[:500])
        return None
    AccessToken.objects.filter(pk=token.pk).update(last_used_at=now, last_used_ip=(ip or "")[:45],
                                                   use_count=models.F("use_count") + 1)
    if token.last_used_at is None or now - token.last_used_at > USE_AUDIT_GAP:
        audit.record(actor=token.user, action="accounts.token.use", obj=token, note=f"{method} {path}"[:500])
    token.last_used_at = now
    return token
