"""Security headers and login-required by default (public paths are listed, everything else needs a session)."""

from urllib.parse import unquote_to_bytes

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect

from fupin.core import extensions

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
            "script-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
            "frame-ancestors 'none'",
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


# Request bodies the API reads; anything else sent to it is answered 415 before a view tries to parse it.
API_BODY_TYPES = ("application/json", "multipart/form-data", "application/x-www-form-urlencoded")
# API paths that take a raw file body (a photo chunk): an app registers `extensions.RawBodyPrefix(prefix=...)`
RAW_BODY_TYPES = ("application/octet-stream", "image/jpeg", "image/png", "image/webp")


def accept_raw_bodies(prefix: str) -> None:
    """Let the API routes under `prefix` take a raw file body (RAW_BODY_TYPES) besides the declared types (the call
    form of `extensions.register(extensions.RawBodyPrefix(prefix=prefix))`)."""
    extensions.register(extensions.RawBodyPrefix(prefix=prefix))


def _raw_body_prefixes() -> tuple[str, ...]:
    return tuple(r.prefix for r in extensions.registered("core.raw_body"))


class BadRequestGuardMiddleware:
    """Refuse what no view can understand before it reaches one: NUL characters in the path or query string (Django's
    forms refuse them, PostgreSQL cannot store them) and, on the API, request bodies of an undeclared content type."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        api = request.path.startswith("/api/")
        raw = request.META.get("QUERY_STRING", "")
        if "\x00" in request.path or (raw and b"\x00" in unquote_to_bytes(raw.replace("+", " "))):
            if api:
                return JsonResponse({"detail": [{"loc": ["query"], "msg": "请求参数含有不可见的控制字符(NUL)",
                                                 "type": "value_error"}]}, status=422,
                                    json_dumps_params={"ensure_ascii": False})
            return HttpResponse("请求参数含有不可见的控制字符", status=400, content_type="text/plain; charset=utf-8")
        if api and request.method in ("POST", "PUT", "PATCH") and request.META.get("CONTENT_LENGTH") not in (None, "", "0"):
            ctype = request.META.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
            raw_ok = ctype in RAW_BODY_TYPES and request.path.startswith(_raw_body_prefixes())
            if ctype not in API_BODY_TYPES and not raw_ok:
                return JsonResponse({"detail": f"不支持的请求内容类型:{ctype or '(未声明)'};请使用 application/json"},
                                    status=415, json_dumps_params={"ensure_ascii": False})
            if ctype == "application/json" and (b"\\u0000" in request.body or b"\x00" in request.body):
                return JsonResponse({"detail": [{"loc": ["body"], "msg": "请求内容含有不可见的控制字符(NUL)",
                                                 "type": "value_error"}]}, status=422,
                                    json_dumps_params={"ensure_ascii": False})
        return self.get_response(request)


class FullIdViewMiddleware:
    """Records, once per request, the full ID numbers a page or API answer showed (fupin/core/idviews.py)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from django.conf import settings

        from fupin.core import idviews

        if not getattr(settings, "FUPIN_AUDIT_FULL_ID_VIEWS", True):
            return self.get_response(request)
        token = idviews.start()
        try:
            response = self.get_response(request)
        finally:
            idviews.finish(token, request=request)
        return response
