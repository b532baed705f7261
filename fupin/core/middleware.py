"""Security headers and login-required by default (public paths are listed, everything else needs a session)."""

from django.conf import settings
from django.shortcuts import redirect

PUBLIC_PREFIXES = ("/login/", "/static/", "/i18n/", "/api/", "/admin/", "/healthz")
# the phone app's shell opens with no session (and no network): it signs in with a device token through the API
PUBLIC_PATHS = {"/app/", "/app/manifest.webmanifest", "/app/sw.js"}


class SecurityHeadersMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data: blob: *; style-src 'self' 'unsafe-inline'; "
            "script-src 'self' 'unsafe-inline' 'unsafe-eval'; connect-src 'self'; frame-ancestors 'none'",
        )
        response.setdefault("Permissions-Policy", "geolocation=(self), camera=(self), microphone=()")
        response.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if not request.path.startswith("/static/"):
            response.setdefault("Cache-Control", "no-store")
        return response


class LoginRequiredMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.user.is_authenticated and not request.path.startswith(PUBLIC_PREFIXES) \
                and request.path not in PUBLIC_PATHS:
            return redirect(f"{settings.LOGIN_URL}?next={request.path}")
        return self.get_response(request)
