"""Sign-in guards on every request: the session still valid (same browser, not idle, not past its age, not ended from
elsewhere), the password not past its maximum age, and, for the roles that must, a second factor enrolled before any
other page."""

from django.contrib.auth import logout
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect

from fupin.accounts import passwords, sessions, twofactor

ENROL_PATH = "/account/two-factor/"
PASSWORD_PATH = "/account/password/"
_OPEN_DURING_ENROLMENT = (ENROL_PATH, PASSWORD_PATH, "/logout/", "/static/", "/i18n/", "/login/")
_REASONS = {"browser": "browser", "absolute": "expired", "idle": "idle", "ended": "ended"}


class SessionGuardMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and hasattr(request, "session"):
            reason = sessions.why_invalid(request)
            if reason:
                logout(request)
                if request.path.startswith("/api/"):
                    return JsonResponse({"detail": "会话已结束,请重新登录"}, status=401)
                return redirect(f"/login/?ended={_REASONS[reason]}")
            if passwords.expired(user) and not request.path.startswith(_OPEN_DURING_ENROLMENT):
                if request.path.startswith("/api/"):
                    return JsonResponse({"detail": "密码已过期,请先修改密码"}, status=403)
                if request.headers.get("HX-Request"):
                    return HttpResponse(status=204)
                return redirect(f"{PASSWORD_PATH}?expired=1")
            if (twofactor.required_for(user) and not request.path.startswith(_OPEN_DURING_ENROLMENT)
                    and twofactor.confirmed_device(user) is None):
                if request.path.startswith("/api/"):
                    return JsonResponse({"detail": "该账号须先启用双因素认证"}, status=403)
                if request.headers.get("HX-Request"):
                    return HttpResponse(status=204)  # a page fragment (the division tree): nothing until enrolled
                return redirect(ENROL_PATH)
        return self.get_response(request)
