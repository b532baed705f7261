"""Password policy (等保 2.0 identification and authentication): length, character classes, no reuse of recent
passwords, and a maximum age after which the user must choose a new one. Every number is a setting:

- `FUPIN_PASSWORD_MIN_LENGTH` (default 8; 10 in production), `FUPIN_PASSWORD_CLASSES` (how many of lower-case,
  upper-case, digits and symbols, default 3), `FUPIN_PASSWORD_HISTORY` (recent passwords that may not be reused,
  default 5), `FUPIN_PASSWORD_MAX_AGE_DAYS` (0 = never expires; default 90 in production, 0 in development).
"""

from __future__ import annotations

import datetime as dt
import string

from django.conf import settings
from django.contrib.auth.hashers import check_password
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext


def _classes(password: str) -> int:
    groups = [any(c.islower() for c in password), any(c.isupper() for c in password),
              any(c.isdigit() for c in password), any(c in string.punctuation or not c.isalnum() for c in password)]
    return sum(groups)


class ComplexityValidator:
    def __init__(self, min_classes: int | None = None):
        self.min_classes = min_classes

    def _needed(self) -> int:
        return self.min_classes if self.min_classes is not None else getattr(settings, "FUPIN_PASSWORD_CLASSES", 3)

    def validate(self, password, user=None):
        if _classes(password) < self._needed():
            raise ValidationError(self.get_help_text(), code="password_too_simple")

    def get_help_text(self):
        return ngettext("The password must mix at least %(n)d kind of characters (lower case, upper case, digits, "
                        "symbols).", "The password must mix at least %(n)d kinds of characters (lower case, upper "
                        "case, digits, symbols).", self._needed()) % {"n": self._needed()}


class HistoryValidator:
    """Refuses the last N passwords; records each new one (Django calls password_changed after a user is saved)."""

    def _count(self) -> int:
        return int(getattr(settings, "FUPIN_PASSWORD_HISTORY", 5))

    def validate(self, password, user=None):
        if user is None or not getattr(user, "pk", None) or self._count() <= 0:
            return
        if user.password and check_password(password, user.password):
            raise ValidationError(_("The new password must differ from the current one."), code="password_reused")
        for old in user.password_history.all()[: self._count()]:
            if check_password(password, old.password):
                raise ValidationError(self.get_help_text(), code="password_reused")

    def password_changed(self, password, user=None):
        from fupin.accounts.models import PasswordHistory, User

        if user is None or not getattr(user, "pk", None):
            return
        User.objects.filter(pk=user.pk).update(password_changed_at=timezone.now())
        if self._count() > 0:
            PasswordHistory.objects.create(user=user, password=user.password)
            stale = list(user.password_history.values_list("pk", flat=True)[self._count():])
            if stale:
                PasswordHistory.objects.filter(pk__in=stale).delete()

    def get_help_text(self):
        return _("The password may not repeat one of your last %(n)d passwords.") % {"n": self._count()}


def expired(user) -> bool:
    days = int(getattr(settings, "FUPIN_PASSWORD_MAX_AGE_DAYS", 0))
    if days <= 0 or not getattr(user, "is_authenticated", False) or not user.has_usable_password():
        return False
    changed = user.password_changed_at or user.date_joined
    return changed < timezone.now() - dt.timedelta(days=days)
