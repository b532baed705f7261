"""What the pages of every app use besides the area (fupin/geo/areas.py).

- `paginate(request, qs, per_page=50)`: a Page; templates render `{% include "web/_pagination.html" %}`.
- `capability_required("manage_geo")`: a view decorator that answers 403 unless `request.user.can(capability)`.
- `is_htmx(request)`: the request comes from htmx (answer with a partial).
- `content_disposition(filename, inline=False)`: the Content-Disposition of a download that keeps a Chinese file name.
- `run_service(request, fn, ok_message)`: a form post's service call: its refusal (ServiceError, a refused file's
  report) shown as an error message instead of an error page, else ok_message (a text, or a function of the result;
  None: no message) as a success message; returns the result (True when the service returns nothing), or None when
  refused, so `if run_service(...) is not None:` is "it was done".
- `object_history(obj, limit=50)`: the audit events of one object for `core/_history.html`, newest first, with the
  event of the bulk write (import, seeding) that created or last changed it.
"""

from __future__ import annotations

import functools
from urllib.parse import quote

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Page, Paginator


def object_history(obj, *, limit: int = 50, extra=None) -> list:
    """Audit events of `obj` (and of `extra`, a Q over AuditEvent), plus its batch's event, newest first."""
    from django.db.models import Q

    from fupin.core.models import AuditEvent

    q = Q(object_type=obj._meta.label_lower, object_id=str(obj.pk))
    if extra is not None:
        q |= extra
    batch_id = getattr(obj, "batch_id", None)
    if batch_id:
        q |= Q(object_type="core.batch", object_id=str(batch_id))
    return list(AuditEvent.objects.filter(q).select_related("actor").order_by("-at", "-id")[:limit])


def paginate(request, qs, per_page: int = 50) -> Page:
    return Paginator(qs, per_page).get_page(request.GET.get("page"))


def capability_required(capability: str):
    """403 unless the signed-in user has the capability (see fupin.accounts.choices.ROLE_CAPABILITIES)."""

    def deco(view):
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            if not request.user.is_authenticated or not request.user.can(capability):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapper

    return deco


def is_htmx(request) -> bool:
    return request.headers.get("HX-Request") == "true"


def content_disposition(filename: str, *, inline: bool = False) -> str:
    """A Content-Disposition header value that keeps a Chinese file name (RFC 6266 / 5987), with an ASCII fallback
    for clients that read only `filename`."""
    ascii_name = filename.encode("ascii", "replace").decode().replace("?", "_")
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"


FILE_TYPES = {".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ".pdf": "application/pdf"}


def file_response(content, filename: str, *, inline: bool = False):
    """A file the page made (an export, a printed notice) as the response: typed by its name's suffix (FILE_TYPES),
    its name kept by `content_disposition`."""
    from django.http import HttpResponse

    response = HttpResponse(content, content_type=FILE_TYPES[filename[filename.rfind("."):].lower()])
    response["Content-Disposition"] = content_disposition(filename, inline=inline)
    return response


def run_service(request, fn, ok_message):
    """Call fn() (a service); show its refusal as an error message instead of an error page, else ok_message (a text
    or a function of the result; None shows nothing) as a success message. Returns the result (True when fn returns
    None, so that None always means refused), or None when refused."""
    from fupin.core.errors import ImportRefused, ServiceError

    try:
        result = fn()
    except ImportRefused as exc:
        messages.error(request, exc.report(limit=50))
        return None
    except ServiceError as exc:
        messages.error(request, exc.message)
        return None
    if ok_message is not None:
        messages.success(request, ok_message(result) if callable(ok_message) else ok_message)
    return True if result is None else result
