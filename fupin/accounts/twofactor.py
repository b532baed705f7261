"""Two-factor sign-in: TOTP (RFC 6238: HMAC-SHA1, 6 digits, 30-second steps) and one-time recovery codes.

Who must use it: the roles in `FUPIN_2FA_REQUIRED_ROLES` ("superuser" meaning superusers; in production the default is
superusers, county poverty office staff and auditors; in development and the demo none). Everyone else may enrol. A user who must and has not yet enrolled is sent to enrolment on every page until
done. A user who has enrolled signs in with the password, then a code (`/login/verify/`).

Services here are the only writers of TwoFactorDevice; each is audited.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
import time
from urllib.parse import quote

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fupin.accounts.models import TwoFactorDevice, User
from fupin.core import audit
from fupin.core.errors import ServiceError

STEP_SECONDS = 30
DIGITS = 6
RECOVERY_CODES = 10


def required_for(user) -> bool:
    """Superusers ("superuser" in the setting) and the listed roles must sign in with a second factor."""
    if not getattr(user, "is_authenticated", False):
        return False
    roles = getattr(settings, "FUPIN_2FA_REQUIRED_ROLES", ())
    return bool((user.is_superuser and "superuser" in roles) or user.role in roles)


def confirmed_device(user) -> TwoFactorDevice | None:
    if not getattr(user, "pk", None):
        return None
    return TwoFactorDevice.objects.filter(user=user, confirmed_at__isnull=False).first()


def new_secret() -> str:
    return base64.b32encode(secrets.token_bytes(20)).decode().rstrip("=")


def code_at(secret: str, step: int) -> str:
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    digest = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10**DIGITS).zfill(DIGITS)


def current_step(now: float | None = None) -> int:
    return int((time.time() if now is None else now) // STEP_SECONDS)


def provisioning_uri(device: TwoFactorDevice) -> str:
    issuer = getattr(settings, "FUPIN_2FA_ISSUER", "扶贫网格化管理平台")
    label = quote(f"{issuer}:{device.user.username}")
    return f"otpauth://totp/{label}?secret={device.secret}&issuer={quote(issuer)}&digits={DIGITS}&period={STEP_SECONDS}"


def qr_svg(device: TwoFactorDevice) -> str:
    """The provisioning URI as an inline SVG QR code (made here: nothing leaves the closed network)."""
    import segno

    return segno.make(provisioning_uri(device), error="m").svg_inline(scale=4, dark="#1f2937")


def _hash_code(code: str) -> str:
    return hashlib.sha256(code.replace("-", "").strip().lower().encode()).hexdigest()


def _new_recovery_codes() -> list[str]:
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    return ["-".join("".join(secrets.choice(alphabet) for _i in range(5)) for _j in range(2))
            for _k in range(RECOVERY_CODES)]


@transaction.atomic
def enrol_begin(*, actor, user: User) -> TwoFactorDevice:
    """A new, unconfirmed secret for `user` (replacing an unconfirmed one); confirmed devices are reset by `reset`."""
    if confirmed_device(user):
        raise ServiceError(_("Two-factor authentication is already on; to change it, ask a security administrator to reset it first."))
    device, _created = TwoFactorDevice.objects.update_or_create(
        user=user, defaults={"secret": new_secret(), "confirmed_at": None, "last_step": 0, "recovery_hashes": []})
    audit.record(actor=actor, action="accounts.two_factor.begin", obj=user, object_repr=str(user))
    return device


@transaction.atomic
def enrol_confirm(*, actor, user: User, code: str) -> list[str]:
    """Confirm enrolment with a first code; returns the recovery codes, shown to the user once."""
    device = TwoFactorDevice.objects.select_for_update().filter(user=user, confirmed_at__isnull=True).first()
    if device is None:
        raise ServiceError(_("Start pairing an authenticator first."))
    step = _matching_step(device, code)
    if step is None:
        raise ServiceError(_("The code is wrong: check the authenticator on your phone and try again."), field="code")
    codes = _new_recovery_codes()
    device.confirmed_at = timezone.now()
    device.last_step = step
    device.recovery_hashes = [_hash_code(c) for c in codes]
    device.save()
    audit.record(actor=actor, action="accounts.two_factor.confirm", obj=user, object_repr=str(user))
    return codes


def _matching_step(device: TwoFactorDevice, code: str) -> int | None:
    code = "".join(ch for ch in (code or "") if ch.isdigit())
    if len(code) != DIGITS:
        return None
    now = current_step()
    for step in (now - 1, now, now + 1):  # one step of clock drift either way
        if step > device.last_step and hmac.compare_digest(code_at(device.secret, step), code):
            return step
    return None


@transaction.atomic
def verify(*, user: User, code: str) -> bool:
    """A sign-in code: a TOTP code (each accepted once) or an unused recovery code (then used up)."""
    device = TwoFactorDevice.objects.select_for_update().filter(user=user, confirmed_at__isnull=False).first()
    if device is None:
        return False
    step = _matching_step(device, code)
    if step is not None:
        TwoFactorDevice.objects.filter(pk=device.pk).update(last_step=step)
        return True
    digest = _hash_code(code or "")
    if digest in device.recovery_hashes:
        device.recovery_hashes = [h for h in device.recovery_hashes if h != digest]
        device.save(update_fields=["recovery_hashes"])
        audit.record(actor=user, action="accounts.two_factor.recovery_code_used", obj=user, object_repr=str(user),
                     note=f"剩余{len(device.recovery_hashes)}个恢复码")
        return True
    return False


@transaction.atomic
def new_recovery_codes(*, actor, user: User) -> list[str]:
    device = TwoFactorDevice.objects.select_for_update().filter(user=user, confirmed_at__isnull=False).first()
    if device is None:
        raise ServiceError(_("Two-factor authentication is not on yet."))
    codes = _new_recovery_codes()
    device.recovery_hashes = [_hash_code(c) for c in codes]
    device.save(update_fields=["recovery_hashes"])
    audit.record(actor=actor, action="accounts.two_factor.recovery_codes", obj=user, object_repr=str(user))
    return codes


@transaction.atomic
def reset(*, actor, user: User) -> None:
    """A lost phone: the security administrator removes the device; the user enrols again at the next sign-in."""
    if not (getattr(actor, "is_superuser", False) or actor.can("manage_security")):
        raise ServiceError(_("Only a security administrator can reset two-factor authentication."))
    deleted, _by_model = TwoFactorDevice.objects.filter(user=user).delete()
    audit.record(actor=actor, action="accounts.two_factor.reset", obj=user, object_repr=str(user),
                 note="" if deleted else "未启用")
