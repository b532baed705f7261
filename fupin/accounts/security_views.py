"""Sign-in security pages: the second step of sign-in, enrolment of an authenticator app, the user's own sessions, and
the security administrator's reset of a lost authenticator."""

from __future__ import annotations

import datetime as dt
import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth import views as auth_views
from django.contrib.auth.password_validation import password_validators_help_texts
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from fupin.accounts import sessions, twofactor
from fupin.accounts.models import UserSession
from fupin.core import audit
from fupin.core.errors import ServiceError
from fupin.core.pages import capability_required

PENDING_KEY = "_fupin_2fa_pending"
PENDING_SECONDS = 300
MAX_CODE_ATTEMPTS = 5


def start_second_step(request, user, next_url: str):
    """Called by the login view after a correct password for a user with an authenticator: no session yet."""
    request.session.cycle_key()
    request.session[PENDING_KEY] = {"id": user.pk, "backend": user.backend, "at": time.time(), "next": next_url,
                                    "tries": 0}
    return redirect("accounts:login_verify")


def _safe_next(request, url: str) -> str:
    if url and url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()}):
        return url
    return settings.LOGIN_REDIRECT_URL


def login_verify(request):
    pending = request.session.get(PENDING_KEY)
    if not pending or time.time() - pending.get("at", 0) > PENDING_SECONDS:
        request.session.pop(PENDING_KEY, None)
        messages.error(request, _("Sign in again: the second step waits five minutes at most."))
        return redirect("accounts:login")
    user = get_user_model().objects.filter(pk=pending["id"], is_active=True).first()
    if user is None:
        request.session.pop(PENDING_KEY, None)
        return redirect("accounts:login")
    error = ""
    if request.method == "POST":
        if twofactor.verify(user=user, code=request.POST.get("code", "")):
            request.session.pop(PENDING_KEY, None)
            login(request, user, backend=pending["backend"])
            sessions.signed_in(request, user, two_factor=True)
            return redirect(_safe_next(request, pending.get("next", "")))
        pending["tries"] = pending.get("tries", 0) + 1
        audit.record(actor=user, action="accounts.two_factor.failed", obj=user, object_repr=str(user))
        if pending["tries"] >= MAX_CODE_ATTEMPTS:
            request.session.pop(PENDING_KEY, None)
            locked = timezone.now() + dt.timedelta(minutes=settings.FUPIN_LOCKOUT_MINUTES)
            get_user_model().objects.filter(pk=user.pk).update(locked_until=locked, failed_logins=0)
            messages.error(request, _("Too many wrong codes: the account is locked for a while."))
            return redirect("accounts:login")
        request.session[PENDING_KEY] = pending
        error = _("The code is not correct. Enter the 6 digits your authenticator shows now, or a recovery code.")
    return render(request, "accounts/login_verify.html", {"error": error})


def two_factor(request):
    """Enrol an authenticator (scan the code, confirm with a first code), then see the recovery codes once."""
    user = request.user
    device = twofactor.confirmed_device(user)
    context = {"device": device, "required": twofactor.required_for(user)}
    if device is not None:
        if request.method == "POST" and request.POST.get("action") == "recovery":
            context["recovery_codes"] = twofactor.new_recovery_codes(actor=user, user=user)
        return render(request, "accounts/two_factor.html", context)
    pending = user.two_factor if hasattr(user, "two_factor") else None
    if request.method == "POST" and request.POST.get("action") == "confirm" and pending is not None:
        try:
            codes = twofactor.enrol_confirm(actor=user, user=user, code=request.POST.get("code", ""))
        except ServiceError as exc:
            context["error"] = exc.message
        else:
            request.session[sessions.TWO_FACTOR_KEY] = True
            UserSession.objects.filter(session_key=request.session.session_key).update(two_factor=True)
            context.update(device=twofactor.confirmed_device(user), recovery_codes=codes)
            return render(request, "accounts/two_factor.html", context)
    if pending is None or (request.method == "GET" and request.GET.get("new")):
        pending = twofactor.enrol_begin(actor=user, user=user)
    context.update(pending=pending, qr_svg=twofactor.qr_svg(pending), secret=pending.secret,
                   uri=twofactor.provisioning_uri(pending))
    return render(request, "accounts/two_factor.html", context)


def my_sessions(request):
    return render(request, "accounts/sessions.html", {
        "records": sessions.active_for(request.user), "current": request.session.session_key,
    })


@require_POST
def end_session(request, pk: int):
    record = UserSession.objects.filter(pk=pk, user=request.user, ended_at__isnull=True).first()
    if record is not None:
        sessions.end(actor=request.user, record=record)
        messages.success(request, _("The session was ended."))
    return redirect("accounts:my_sessions")


@require_POST
def end_all_sessions(request):
    n = sessions.end_all(actor=request.user, user=request.user, keep_key=request.session.session_key)
    messages.success(request, _("Signed out everywhere else (%(n)s sessions).") % {"n": n})
    return redirect("accounts:my_sessions")


@require_POST
@capability_required("manage_security")
def reset_two_factor(request, username):
    from fupin.accounts import selectors

    person = selectors.user_get(viewer=request.user, username=username)
    if person is None:
        from django.http import Http404

        raise Http404
    twofactor.reset(actor=request.user, user=person)
    sessions.end_all(actor=request.user, user=person)
    messages.success(request, _("The authenticator was reset; the user enrols again at the next sign-in."))
    return redirect("accounts:user_detail", username=person.username)


class PasswordChangeView(auth_views.PasswordChangeView):
    """Change one's own password under the policy (fupin/accounts/passwords.py); the other sessions end."""

    template_name = "accounts/password_change.html"
    success_url = "/account/sessions/"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["expired"] = bool(self.request.GET.get("expired"))
        context["password_rules"] = password_validators_help_texts()
        return context

    def form_valid(self, form):
        old_key = self.request.session.session_key
        response = super().form_valid(form)  # cycles the session key (update_session_auth_hash)
        UserSession.objects.filter(session_key=old_key).update(session_key=self.request.session.session_key)
        audit.record(actor=self.request.user, action="accounts.password.change", obj=self.request.user,
                     object_repr=str(self.request.user))
        sessions.end_all(actor=self.request.user, user=self.request.user, keep_key=self.request.session.session_key)
        messages.success(self.request, _("The password was changed; your other sessions were ended."))
        return response
