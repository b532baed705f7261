"""The versioned API: one NinjaAPI at /api/v1/ mounting `<app>.api.router` of every Fupin app that has one.

Every endpoint accepts `Authorization: Bearer <token>` (a device token or an API key, fupin.accounts.auth) or the
browser session with its CSRF token; the OpenAPI document declares both schemes."""

from importlib import import_module
from importlib.util import find_spec

from ninja import NinjaAPI
from ninja.renderers import JSONRenderer
from ninja.security import django_auth

from fupin.accounts.auth import bearer_auth
from fupin.core.apierrors import Refusal
from fupin.core.apiparams import input_error_detail, is_input_error
from fupin.core.appconfig import fupin_apps


class Utf8JSONRenderer(JSONRenderer):
    """Chinese stays readable in responses (and in the scoping sweep's search for leaked names)."""

    json_dumps_params = {"ensure_ascii": False}


api = NinjaAPI(title="Fupin API", version="1", urls_namespace="api-v1", auth=[bearer_auth, django_auth], docs_url="/docs",
               renderer=Utf8JSONRenderer())

for _app in fupin_apps():
    if find_spec(f"{_app.name}.api") is not None and _app.name != "fupin.api":
        _module = import_module(f"{_app.name}.api")
        if hasattr(_module, "router"):
            api.add_router(_app.api_prefix or _app.label, _module.router)


@api.exception_handler(Refusal)
def _refusal(request, exc):
    """A service's refusal, turned into its answer by `fupin.core.apierrors.refusal_as` in the endpoint."""
    return api.create_response(request, exc.body, status=exc.status)


@api.exception_handler(Exception)
def _input_errors(request, exc):
    """A value the database refuses (a number beyond its range, a NUL character) is the caller's error: 422. Anything
    else is ours and goes on to Django's 500 handling and the error log."""
    if is_input_error(exc):
        return api.create_response(request, {"detail": input_error_detail()}, status=422)
    raise exc


from fupin.accounts.api import auth_router  # noqa: E402  (the device sign-in lives at /api/v1/auth/)

api.add_router("auth", auth_router)
