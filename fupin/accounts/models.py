"""Users, each with one role and one jurisdiction (a division or a grid) or a department."""

import uuid as uuidlib

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.contrib.auth.models import UserManager as DjangoUserManager
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from fupin.accounts.choices import ROLE_CAPABILITIES, Role
from fupin.core.scoping import PREFIX_LENGTH, ScopedQuerySet


class UserManager(DjangoUserManager.from_queryset(ScopedQuerySet)):
    """Django's user manager with `restrict(user)`: users are scoped by `area_code` like people's data."""


class User(AbstractUser):
    """A person who logs in: county staff, town and village workers, grid workers, cadres, department handlers."""

    scope_field = "area_code"
    department_field = "department"

    uuid = models.UUIDField(unique=True, null=True, blank=True, editable=False)
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, blank=True)
    display_name = models.CharField(pgettext_lazy("person", "name"), max_length=50, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    division = models.ForeignKey("geo.Division", verbose_name=_("jurisdiction"), null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="users")
    grid = models.ForeignKey("geo.Grid", verbose_name=_("grid"), null=True, blank=True, on_delete=models.PROTECT,
                             related_name="users")
    department = models.ForeignKey("org.Department", verbose_name=_("department"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="staff")
    command_unit = models.ForeignKey("org.CommandUnit", verbose_name=_("command unit"), null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="staff")
    unit_name = models.CharField(_("work unit"), max_length=100, blank=True)
    area_code = models.CharField(max_length=15, blank=True, db_index=True)
    failed_logins = models.PositiveSmallIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)
    password_changed_at = models.DateTimeField(null=True, blank=True)
    batch = models.ForeignKey("core.Batch", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    # the identity another system acts as through an API key (no password, never signs in on a page)
    is_service_account = models.BooleanField(_("service account"), default=False)

    objects = UserManager()

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.display_name or self.username

    @property
    def jurisdiction_prefix(self) -> str | None:
        """The code prefix this user may read (see fupin.core.scoping); None when bound to nothing."""
        if self.grid_id:
            return self.grid.code
        if self.division_id:
            div = self.division
            return div.code[: PREFIX_LENGTH.get(div.level, 12)]
        return None

    def can(self, capability: str) -> bool:
        # a request made with a token is limited to the token's capabilities (set by fupin.accounts.auth)
        limit = getattr(self, "token_capabilities", None)
        if limit is not None and capability not in limit:
            return False
        if self.is_service_account:
            return limit is not None
        if self.is_superuser:
            return True
        return capability in ROLE_CAPABILITIES.get(self.role, set())

    @property
    def may_view_full_id(self) -> bool:
        return self.can("view_full_id")


class TwoFactorDevice(models.Model):
    """A user's authenticator app (TOTP, RFC 6238) and one-time recovery codes (stored as SHA-256 hashes)."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="two_factor")
    secret = models.CharField(max_length=64)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    last_step = models.BigIntegerField(default=0)  # the last time step accepted: a code is never accepted twice
    recovery_hashes = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("two-factor device")
        verbose_name_plural = _("two-factor devices")

    def __str__(self) -> str:
        return f"{self.user} TOTP"


class UserSession(models.Model):
    """A signed-in browser session: listed to its user, ended one by one or everywhere at once."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="browser_sessions")
    session_key = models.CharField(max_length=40, unique=True)
    user_agent = models.CharField(max_length=300, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    two_factor = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_seen = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-last_seen"]
        verbose_name = _("browser session")
        verbose_name_plural = _("browser sessions")

    def __str__(self) -> str:
        return f"{self.user} {self.created_at:%Y-%m-%d %H:%M}"


class PasswordHistory(models.Model):
    """Earlier password hashes of a user, so a new password cannot repeat one of the last few (FUPIN_PASSWORD_HISTORY)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="password_history")
    password = models.CharField(max_length=128)
    changed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-changed_at", "-id"]

    def __str__(self) -> str:
        return f"{self.user} {self.changed_at:%Y-%m-%d}"


class AccessTokenKind(models.TextChoices):
    DEVICE = "device", _("phone (device token)")
    API_KEY = "api_key", _("other system (API key)")


class AccessToken(models.Model):
    """A bearer token: a worker's phone (device token) or another system (API key). Only the SHA-256 of the secret
    is stored; the secret is shown once when issued. Requests with it act as `user` (for an API key, its service
    account), limited to `capabilities` and, when `read_only`, to reads."""

    scope_field = "area_code"

    uuid = models.UUIDField(default=uuidlib.uuid4, unique=True, editable=False)
    kind = models.CharField(_("kind"), max_length=10, choices=AccessTokenKind.choices)
    name = models.CharField(_("name"), max_length=100)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.PROTECT,
                             related_name="access_tokens")
    area_code = models.CharField(max_length=15, blank=True, db_index=True)
    secret_hash = models.CharField(max_length=64, unique=True)
    hint = models.CharField(_("token starts with"), max_length=12)
    capabilities = models.JSONField(_("capabilities"), default=list, blank=True)
    read_only = models.BooleanField(_("read-only"), default=False)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    created_at = models.DateTimeField(_("issued at"), auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    last_used_ip = models.CharField(_("last address"), max_length=45, blank=True)
    use_count = models.PositiveIntegerField(_("requests"), default=0)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revoked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    revoke_reason = models.CharField(_("reason revoked"), max_length=200, blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("access token")
        verbose_name_plural = _("access tokens")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["kind", "revoked_at"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.hint}…)"
