"""Username/password login with a lockout after repeated failures."""

import datetime as dt

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.utils import timezone


class LockoutModelBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        User = get_user_model()
        try:
            user = User.objects.get(username=username)
        except User.DoesNotExist:
            User().set_password(password)  # same work as a real check, so timing does not reveal names
            return None
        now = timezone.now()
        if user.locked_until and user.locked_until > now:
            if request is not None:
                request.fupin_locked_until = user.locked_until
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            if user.failed_logins or user.locked_until:
                User.objects.filter(pk=user.pk).update(failed_logins=0, locked_until=None)
            return user
        failures = user.failed_logins + 1
        locked = None
        if failures >= settings.FUPIN_LOCKOUT_ATTEMPTS:
            locked = now + dt.timedelta(minutes=settings.FUPIN_LOCKOUT_MINUTES)
            failures = 0
            if request is not None:
                request.fupin_locked_until = locked
        User.objects.filter(pk=user.pk).update(failed_logins=failures, locked_until=locked)
        return None
