"""Template tags every app may use: `{% load fupin %}`. Keep these stable; other apps' templates depend on them.

Filters
- `{{ person.id_number|idmask:request.user }}`: the ID number in full if the user may view full ID numbers
  (`user.may_view_full_id`), else masked as 420581********123X (`fupin.core.idnumber.mask`).
- `{{ event|audit_changes:request.user }}`: [(field label, before, after), ...] of an AuditEvent (used by
  core/_history.html); choice codes become their labels and foreign keys the name of the row, when the viewer may
  see that row (else "#id").
- `{{ event|action_label }}`: a readable label of an audit action such as "geo.gridpost.assign".
- `{{ value|dash }}`: the value, or "—" when empty.

Tags
- `{% audit_history obj %}`: the object's audit trail (newest first, at most 50 events, with the bulk write that
  created or last changed it), rendered with `core/_history.html`. To render events you selected yourself:
  `{% include "core/_history.html" with events=qs %}` (see also `fupin.core.pages.object_history`).
- `{% status_badge value label %}`: a coloured badge; the colour follows the value (succeeded/done/in_use green,
  failed/retired red, running blue, queued/spare grey, repair/warning amber), or pass `tone="green"` etc.
- `{% area_url path %}`: the path with the current `?division=` choice kept.
"""

from __future__ import annotations

from django import template
from django.apps import apps
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from fupin.core import idviews

register = template.Library()

VERBS = {
    "create": _("created"),
    "update": _("changed"),
    "delete": _("deleted"),
    "assign": _("assigned"),
    "end": _("ended"),
    "done": _("done"),
    "unlock": _("unlocked"),
    "password": _("password reset"),
    "import": _("imported"),
    "approve": _("approved"),
    "reject": _("rejected"),
}
TONES = {
    "succeeded": "green", "done": "green", "in_use": "green", "active": "green", "yes": "green",
    "failed": "red", "retired": "red", "locked": "red", "overdue": "red", "no": "red",
    "running": "blue", "open": "blue",
    "queued": "grey", "spare": "grey", "inactive": "grey",
    "repair": "amber", "warning": "amber", "due": "amber",
}
# Keys that bulk-write (batch) events carry in `after`.
BATCH_KEYS = {
    "rows": _("rows"),
    "created": _("created"),
    "updated": _("updated"),
    "assigned": _("assigned"),
    "attached": _("attached"),
}
HISTORY_LIMIT = 50
_CREATE_FIELDS_SHOWN = 12


@register.filter
def idmask(number: str | None, user) -> str:
    """Full ID number for users who may see it, masked for everyone else."""
    return idviews.shown(number, user)


@register.filter
def dash(value):
    return "—" if value in (None, "", [], {}) else value


def _fields(object_type: str) -> dict:
    """Model fields of an audited object type by name and attname."""
    try:
        model = apps.get_model(object_type)
    except (LookupError, ValueError):
        return {}
    fields = {}
    for f in model._meta.concrete_fields:
        fields[f.attname] = f
        fields[f.name] = f
    return fields


def _label(key: str, field) -> str:
    if field is None:
        return str(BATCH_KEYS.get(key, key))
    label = str(field.verbose_name)
    if field.is_relation and label == field.name.replace("_", " "):
        return str(field.related_model._meta.verbose_name)  # an FK without its own label: name the model
    return label


def _related_name(field, value, viewer) -> str:
    """The name of the row a foreign key points to, if the viewer may see it; else "#id"."""
    manager = field.related_model._default_manager
    qs = manager.all()
    if hasattr(qs, "restrict"):
        qs = qs.restrict(viewer) if viewer is not None else qs.none()
    obj = qs.filter(pk=value).first()
    return str(obj) if obj is not None else f"#{value}"


def _show(value, field=None, viewer=None) -> str:
    if value is None or value == "":
        return "—"
    if value is True:
        return str(_("yes"))
    if value is False:
        return str(_("no"))
    if field is not None and field.is_relation and field.related_model is not None:
        return _related_name(field, value, viewer)
    if field is not None and field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(value, (list, dict)):
        text = str(value)
        return text if len(text) <= 80 else text[:77] + "…"
    return str(value)


@register.filter
def audit_changes(event, viewer=None) -> list[tuple[str, str, str]]:
    """What changed in an audit event: the fields whose value differs between before and after."""
    before = event.before if isinstance(event.before, dict) else {}
    after = event.after if isinstance(event.after, dict) else {}
    fields = _fields(event.object_type)
    keys = [k for k in after if k not in before] if not before else list(dict.fromkeys([*before, *after]))
    out = []
    for key in keys:
        if key in ("version", "id", "uuid"):
            continue
        b, a = before.get(key), after.get(key)
        if before and b == a:
            continue
        if not before and a in (None, "", [], {}, False):
            continue
        field = fields.get(key)
        out.append((_label(key, field), _show(b, field, viewer) if before else "", _show(a, field, viewer)))
    return out if before else out[:_CREATE_FIELDS_SHOWN]


@register.filter
def action_label(event) -> str:
    action = event.action if hasattr(event, "action") else str(event)
    if action.startswith("batch."):
        return str(_("bulk write"))
    verb = action.rsplit(".", 1)[-1]
    label = VERBS.get(verb)
    parts = action.split(".")
    if len(parts) >= 2:
        try:
            model = apps.get_model(parts[0], parts[1])
        except LookupError:
            model = None
        if model is not None:
            noun = str(model._meta.verbose_name)
            return f"{noun} · {label}" if label else f"{noun} · {verb}"
    return str(label) if label else action


@register.inclusion_tag("core/_history.html", takes_context=True)
def audit_history(context, obj, limit: int = HISTORY_LIMIT):
    from fupin.accounts.choices import SECURITY_ACTION_PREFIXES
    from fupin.core.pages import object_history

    request = context.get("request")
    events = object_history(obj, limit=limit)
    user = getattr(request, "user", None)
    if not (user is not None and getattr(user, "is_authenticated", False) and user.can("read_audit")):
        # security records (sign-ins, second factors, sessions, role changes) are the auditor's to read
        events = [e for e in events if not e.action.startswith(SECURITY_ACTION_PREFIXES)]
    return {"events": events, "request": request}


@register.simple_tag
def status_badge(value, label=None, tone: str | None = None):
    key = str(value or "")
    tone = tone or TONES.get(key, "grey")
    return format_html('<span class="badge badge-{}">{}</span>', tone, label if label is not None else key)


@register.simple_tag(takes_context=True)
def area_url(context, path: str) -> str:
    code = context.get("division_code")
    if not code:
        return path
    return f"{path}{'&' if '?' in path else '?'}division={code}"
