"""Data embedded in a page for its script, with Chinese kept readable (so the scoping sweep can search it)."""

import json

from django.core.serializers.json import DjangoJSONEncoder
from django.utils.safestring import SafeString, mark_safe

_ESCAPES = {ord(">"): "\\u003E", ord("<"): "\\u003C", ord("&"): "\\u0026"}


def script_json(value) -> SafeString:
    """JSON for a <script type="application/json"> element: like json_script, without escaping Chinese."""
    return mark_safe(json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False).translate(_ESCAPES))  # noqa: S308
