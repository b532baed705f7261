"""Browser sessions: recorded at sign-in, bound to the browser, ended after idle time or at their absolute age, listed to
their user, and ended one by one or everywhere at once (services; every end is audited)."""

from __future__ import annotations

import hashlib
import time

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.utils import timezone
from django.utils.module_loading import import_string

from fupin.accounts.models import User, UserSession
from fupin.core import audit

UA_KEY, LOGIN_AT_KEY, SEEN_KEY, TWO_FACTOR_KEY = "_fupin_ua", "_fupin_login_at", "_fupin_seen", "_fupin_2fa"
TOUCH_EVERY = 60  # seconds between two recordings of "last seen"


def ua_fingerprint(request) -> str:
    return hashlib.sha256(request.META.get("HTTP_USER_AGENT", "").encode()).hexdigest()[:32]


def _ip(request) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


def signed_in(request, user: User, *, two_factor: bool) -> None:
    """Called right after django.contrib.auth.login: bind the session to this browser and list it."""
    now = time.time()
    request.session[UA_KEY] = ua_fingerprint(request)
    request.session[LOGIN_AT_KEY] = now
    request.session[SEEN_KEY] = now
    request.session[TWO_FACTOR_KEY] = two_factor
    if not request.session.session_key:
        request.session.save()
    UserSession.objects.update_or_create(
        session_key=request.session.session_key,
        defaults={"user": user, "user_agent": request.META.get("HTTP_USER_AGENT", "")[:300], "ip": _ip(request),
                  "two_factor": two_factor, "ended_at": None})
    audit.record(actor=user, action="accounts.session.start", obj=user, object_repr=str(user),
                 note=("双因素" if two_factor else "密码") + f";{request.META.get('HTTP_USER_AGENT', '')[:120]}")


def why_invalid(request) -> str | None:
    """The reason this authenticated session must end now, or None."""
    session = request.session
    now = time.time()
    if UA_KEY not in session:
        return None  # a session made outside the sign-in page (tests' force_login, the admin): nothing bound yet
    if session.get(UA_KEY) != ua_fingerprint(request):
        return "browser"
    if now - session.get(LOGIN_AT_KEY, now) > settings.SESSION_COOKIE_AGE:
        return "absolute"
    if now - session.get(SEEN_KEY, now) > settings.FUPIN_SESSION_IDLE_SECONDS:
        return "idle"
    if not UserSession.objects.filter(session_key=session.session_key, ended_at__isnull=True).exists():
        return "ended"
    if now - session.get(SEEN_KEY, 0) > TOUCH_EVERY:
        session[SEEN_KEY] = now
        UserSession.objects.filter(session_key=session.session_key).update(last_seen=timezone.now())
    return None


def _store() -> type[SessionBase]:
    return import_string(f"{settings.SESSION_ENGINE}.SessionStore")


def end(*, actor, record: UserSession, reason: str = "signed_out") -> None:
    _store()(session_key=record.session_key).delete()
    UserSession.objects.filter(pk=record.pk).update(ended_at=timezone.now())
    audit.record(actor=actor, action="accounts.session.end", obj=record.user, object_repr=str(record.user),
                 note=reason)


def end_all(*, actor, user: User, keep_key: str | None = None) -> int:
    """Sign out everywhere (except the current session when keep_key is given)."""
    records = list(UserSession.objects.filter(user=user, ended_at__isnull=True).exclude(session_key=keep_key or ""))
    store = _store()
    for record in records:
        store(session_key=record.session_key).delete()
    UserSession.objects.filter(pk__in=[r.pk for r in records]).update(ended_at=timezone.now())
    audit.record(actor=actor, action="accounts.session.end_all", obj=user, object_repr=str(user),
                 note=f"结束{len(records)}个会话")
    return len(records)


def active_for(user: User):
    return UserSession.objects.filter(user=user, ended_at__isnull=True)
