"""`Authorization: Bearer <token>` on the API: a phone's device token or another system's API key.

The NinjaAPI tries this first and the browser session (with its CSRF check) second. A token request acts as the
token's user — scoped by `restrict(user)` like a session — limited to the token's capabilities; a read-only key is
refused on every write."""

from __future__ import annotations

from django.utils.translation import gettext as _
from ninja.errors import HttpError
from ninja.security import HttpBearer

from fupin.accounts import services

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def client_ip(request) -> str:
    return request.META.get("REMOTE_ADDR", "")


class BearerTokenAuth(HttpBearer):
    """Device tokens (fpd_…) and API keys (fpk_…), looked up by the hash of the secret."""

    def authenticate(self, request, token: str):
        access = services.token_authenticate(secret=token, method=request.method, path=request.path,
                                             ip=client_ip(request))
        if access is None:
            # a client that presents a token chose token authentication: no fall back to a session (a revoked
            # phone gets 401, not a CSRF refusal)
            raise HttpError(401, _("The device token or key is invalid, revoked or expired"))
        if access.read_only and request.method not in SAFE_METHODS:
            raise HttpError(403, _("A read-only key cannot write data"))
        user = access.user
        user.token_capabilities = set(access.capabilities) if access.kind == "api_key" else None
        user.access_token = access
        request.user = user
        request.access_token = access
        return user


bearer_auth = BearerTokenAuth()
