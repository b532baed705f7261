"""Template tags every app may use: `{% load fupin %}`. Keep these stable; other apps' templates depend on them.

Filters
- `{{ person.id_number|idmask:request.user }}`: the ID number in full if the user may view full ID numbers
  (`user.may_view_full_id`), else masked as 420581********123X (`fupin.core.idnumber.mask`).
- `{{ event|audit_changes:request.user }}`: [(field label, before, after), ...] of an AuditEvent (used by
  core/_history.html); choice codes become their labels and foreign keys the name of the row, when the viewer may
  see that row (else "(outside your area)").
- `{{ event|action_label }}`: a readable label of an audit action such as "geo.gridpost.assign".
- `{{ moment|when }}`: a time as "2016-03-08 14:05" in the user's time zone (datetimes, ISO strings, dates).
- `{{ value|dash }}`: the value, or "—" when empty.
- `{{ job.message|shown }}`: a message a service stored by its id (`fupin.core.i18n.stored`) in the reader's language;
  any other text as it is.

Tags
- `{% audit_history obj %}`: the object's audit trail (newest first, at most 50 events, with the bulk write that
  created or last changed it), rendered with `core/_history.html`. To render events you selected yourself:
  `{% include "core/_history.html" with events=qs %}` (see also `fupin.core.pages.object_history`).
- `{% status_badge value label %}`: a coloured badge; the colour follows the value (succeeded/done/in_use green,
  failed/retired red, running blue, queued/spare grey, repair/warning amber), or pass `tone="green"` etc.
- `{% area_url path %}`: the path with the current `?division=` choice kept.
- `{% picker "grid" name value %}` / `{% picker "division" name value %}` / `{% picker "village" name value %}`: a
  `<select>` of the grids, divisions or villages in the user's jurisdiction (`fupin.geo.pickers`), for filter forms
  that would otherwise ask for a 12- or 15-digit code.
- `{% division_names rows "area_code" as names %}` then `{{ code|division_name:names }}`: the division's name for a code (one
  query for the page), or the code when it names no division.
"""

from __future__ import annotations

import datetime as dt

from django import template
from django.apps import apps
from django.db import models
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from fupin.core import audit, i18n, idviews
from fupin.geo import pickers
from fupin.geo.models import Division, Grid

register = template.Library()

# The last part of an audit action ("registry.household.update" -> "update"), as a past-tense label.
VERBS = {
    "create": _("created"), "update": _("changed"), "delete": _("deleted"), "save": _("saved"), "set": _("set"),
    "assign": _("assigned"), "reassign": _("reassigned"), "end": _("ended"), "end_all": _("all ended"),
    "done": _("done"), "unlock": _("unlocked"), "password": _("password reset"), "change": _("changed"),
    "import": _("imported"), "approve": _("approved"), "reject": _("rejected"), "refuse": _("refused"),
    "refused": _("refused"), "start": _("started"), "begin": _("started"), "use": _("used"),
    "issue_device": _("issued to a device"), "revoke_device": _("revoked from a device"),
    "issue_api": _("issued"), "revoke_api": _("revoked"), "confirm": _("confirmed"), "failed": _("failed"),
    "recovery_code_used": _("recovery code used"), "recovery_codes": _("recovery codes issued"),
    "reset": _("reset"), "close": _("closed"), "record": _("recorded"), "dismiss": _("dismissed"),
    "dispatch": _("sent as a work order"), "review": _("reviewed"), "scan": _("scanned"),
    "self_report": _("self-reported"), "run": _("run"), "release": _("released"), "draft": _("drafted"),
    "colour": _("light changed"), "add": _("added"), "terms": _("terms changed"), "members": _("members changed"),
    "answer": _("answered"), "classify": _("classified"), "unpin": _("unpinned"), "evidence": _("evidence added"),
    "attach": _("file attached"), "comment": _("commented"), "escalate": _("escalated"), "status": _("status changed"),
    "compare": _("compared"), "open": _("opened"), "decide": _("decided"), "request": _("requested"),
    "income": _("income recorded"), "apply": _("applied"), "compensate": _("compensated"),
    "extend": _("extended"), "overdue": _("overdue"), "recovery": _("recovered"), "repayment": _("repaid"),
    "post": _("posted"), "advance": _("advanced"), "beneficiary": _("beneficiary added"), "deposit": _("deposited"),
    "compute": _("computed"), "payable_list": _("payment list made"), "prepare": _("prepared"),
    "submit": _("submitted"), "resend": _("sent again"), "feedback": _("feedback received"),
    "secret": _("secret changed"), "test": _("tested"), "resolve": _("resolved"), "accept": _("accepted"),
    "reroute": _("rerouted"), "reopen": _("reopened"), "cancel": _("cancelled"), "return": _("returned"),
    "person_report": _("personal information report"), "raw_file_purged": _("raw files purged"),
    "sessions_purged": _("sessions purged"), "snapshot_purged": _("snapshots purged"), "load": _("loaded"),
    "head": _("head changed"), "merge": _("merged"), "merge_target": _("merged into"), "split": _("split"),
    "split_source": _("split from"), "birth": _("birth"), "death": _("death"), "move": _("moved"),
    "marriage": _("marriage"), "not_poor": _("marked not poor"), "poor": _("marked poor"), "publish": _("published"),
    "discard": _("discarded"), "full_id": _("full ID number viewed"), "ensure": _("ensured"),
    "setup_defaults": _("defaults set up"), "roster": _("roster exported"), "policy_match": _("policies matched"),
    "risk_scan": _("risk scan"), "kinship": _("kinship"),
}
# The middle of an audit action when it is not a model name.
NOUNS = {
    "password": _("Password"), "session": _("Sign-in session"), "token": _("Access key"),
    "two_factor": _("Second factor"), "alert": _("Alert"), "check": _("Check"), "gap": _("Policy gap"),
    "indicator": _("Indicator"), "kinship": _("Kinship check"), "policy_rule": _("Policy rule"),
    "policy_rules": _("Policy rules"), "risk": _("Risk"), "sample": _("Sample"), "scheme": _("Assessment scheme"),
    "staff_identity": _("Staff identity"), "threshold": _("Threshold"), "area_pairing": _("Area pairing"),
    "errand": _("Errand"), "household_plan": _("Household plan"), "light": _("Light"),
    "light_rules": _("Light rules"), "pairing": _("Pairing"), "policy_receipt": _("Policy received"),
    "village_plan": _("Village plan"), "work_team": _("Work team"), "users": _("Demo accounts"),
    "linkage": _("Linkage"), "mapping": _("Mapping"), "value_mapping": _("Value mapping"),
    "credit_rule": _("Credit rule"), "risk_fund": _("Risk fund"), "subsidy": _("Subsidy"),
    "adjustment": _("Adjustment"), "delivery": _("Delivery"), "national": _("National system"),
    "codes": _("Code tables"), "member": _("Member"), "poverty_line": _("Poverty line"),
    "village_profile": _("Village profile"), "village": _("Village"), "retention": _("Retention"),
    "version": _("Form version"), "change": _("Change"), "conflict": _("Sync conflict"),
    "identification": _("Identification"),
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
def when(value) -> str:
    """A moment as "2016-03-08 14:05" in the user's time zone: the one format for times on every page. Takes an aware
    datetime, an ISO string (as audit records and job results keep them) or a date ("2016-03-08")."""
    if value in (None, ""):
        return ""
    if isinstance(value, str):
        parsed = parse_datetime(value)
        if parsed is None:
            day = parse_date(value)
            return day.isoformat() if day else value
        value = parsed
    if isinstance(value, dt.datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value)
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


@register.filter
def actor(name) -> str:
    """A stored actor name as a page shows it: "system" (or none) in the user's language, a user name as it is
    (marked not to be translated)."""
    if not name or name == "system":
        return str(_("system"))
    return format_html('<span translate="no">{}</span>', name)


@register.filter
def shown(value) -> str:
    """A stored message (fupin.core.i18n.stored) in the reader's language; any other text as it is."""
    return i18n.shown(value)


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


# Fields that many models declare without a label of their own (Django would show the field name, "area code").
UNLABELLED_FIELDS = {"area_code": _("Area code")}


def _label(key: str, field) -> str:
    if field is None:
        return str(BATCH_KEYS.get(key, key))
    label = str(field.verbose_name)
    if label == field.name.replace("_", " ") and field.name in UNLABELLED_FIELDS:
        return str(UNLABELLED_FIELDS[field.name])
    if field.is_relation and label == field.name.replace("_", " "):
        return str(field.related_model._meta.verbose_name)  # an FK without its own label: name the model
    return label


def _related_name(field, value, viewer) -> str:
    """The name of the row a foreign key points to, if the viewer may see it; never a bare "#id". Asked once per row
    for one viewer (remembered on the viewer, which lives as long as its request): a history of fifty events about
    one household's members asks for that household once, not fifty times."""
    from django.utils.translation import get_language

    memo = None
    if viewer is not None:
        memo = getattr(viewer, "_fupin_related_names", None)
        if memo is None:
            memo = {}
            viewer._fupin_related_names = memo
    key = (field.related_model._meta.label_lower, str(value), get_language())
    if memo is not None and key in memo:
        return memo[key]
    from fupin.core.fields import sealed_names

    manager = field.related_model._default_manager
    qs = manager.all().defer(*sealed_names(field.related_model))  # its name is shown, not its sealed values
    if hasattr(qs, "restrict"):
        qs = qs.restrict(viewer) if viewer is not None else qs.none()
    obj = qs.filter(pk=value).first()
    if obj is not None:
        name = str(obj)
    elif manager.filter(pk=value).exists():
        name = str(_("(outside your area)"))
    else:
        name = str(_("(removed)"))
    if memo is not None:
        memo[key] = name
    return name


def _show(value, field=None, viewer=None) -> str:
    if value is None or value == "":
        return "—"
    if audit.is_fingerprint(value):  # hex digits, not words: never read as English (or translated) by a browser
        return format_html('<span translate="no">{}</span>', value)
    if value is True:
        return str(_("yes"))
    if value is False:
        return str(_("no"))
    if field is not None and field.is_relation and field.related_model is not None:
        return _related_name(field, value, viewer)
    if field is not None and field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(field, models.DateTimeField):
        return when(value)
    if isinstance(value, dict):  # a JSON document (a form's answers, a rule set's settings): not its Python text
        return str(_("%(n)s entries")) % {"n": len(value)}
    if isinstance(value, list):
        if all(isinstance(v, str | int | float) for v in value):
            text = i18n.join_list(value)
            return text if len(text) <= 80 else text[:77] + "…"
        return str(_("%(n)s entries")) % {"n": len(value)}
    return i18n.shown(value) if isinstance(value, str) else str(value)


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
    """"registry.household.update" -> "户 · 修改": the noun from the model (or NOUNS, or the app), the verb from VERBS;
    a procedure's step ("lifecycle.exit.town_review") by the procedure's and the step's names."""
    action = event.action if hasattr(event, "action") else str(event)
    if action.startswith("batch."):
        return str(_("bulk write"))
    parts = action.split(".")
    verb = parts[-1]
    if parts[0] == "lifecycle" and len(parts) == 3:
        step = _procedure_step_label(parts[1], parts[2])
        if step:
            return step
    label = VERBS.get(verb) or (_("other change") if len(parts) > 1 else None)
    noun = _noun(parts) if len(parts) >= 2 else None
    if noun and label:
        return f"{noun} · {label}"
    return str(label or noun or _("other change"))


def _noun(parts: list[str]) -> str | None:
    if len(parts) >= 3:
        try:
            return str(apps.get_model(parts[0], parts[1])._meta.verbose_name)
        except (LookupError, ValueError):
            pass
        if parts[1] in NOUNS:
            return str(NOUNS[parts[1]])
    if parts[0] == "export":
        return str(_("Export"))
    try:
        return str(apps.get_app_config(parts[0]).verbose_name)
    except LookupError:
        return None


def _procedure_step_label(kind: str, step: str) -> str | None:
    from fupin.lifecycle.definitions import PROCEDURES

    pdef = PROCEDURES.get(kind)
    if pdef is None:
        return None
    for sdef in pdef.steps:
        if sdef.code == step:
            return f"{pdef.label} · {sdef.label}"
    return f"{pdef.label} · {VERBS[step]}" if step in VERBS else None


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


PICKERS = {"grid": "grid_choices", "division": "division_choices", "village": "village_choices"}


@register.inclusion_tag("web/_picker.html", takes_context=True)
def picker(context, kind: str, name: str, value="", label=None):
    """A select of what the user's jurisdiction holds; villages and grids grouped by the level above."""
    choices = getattr(pickers, PICKERS[kind])(context["request"].user, empty=("", _("All")))
    grouped = kind != "division"
    return {"name": name, "value": str(value or ""), "label": label, "empty": choices[0],
            "options": choices[1:], "grouped": grouped}


@register.simple_tag
def division_names(rows, attr: str = "area_code") -> dict:
    """{code: name} of the divisions and grids named by the rows' `attr` (one query each), for a page of rows."""
    wanted = {str(getattr(r, attr, r) or "") for r in rows} - {""}
    names = dict(Division.objects.filter(code__in=wanted).values_list("code", "name"))
    names.update(Grid.objects.filter(code__in=wanted - names.keys()).values_list("code", "name"))
    return names


@register.filter
def division_name(code, names: dict) -> str:
    return names.get(str(code or ""), code or "")


# Background jobs, as a user reads them -------------------------------------------------------------------------------

JOB_KINDS = {
    "exchange.import": _("Department data import"),
    "eligibility.compare": _("Department data comparison"),
    "dashboards.refresh": _("Dashboard figures recomputed"),
    "registry.import_roster": _("Poverty roster import"),
    "quality.run": _("Data quality check"),
}
# What a job's result keys count; keys not listed (ids, links, long reports) are not shown.
RESULT_KEYS = {
    "status": _("Outcome"), "headline": _("Result"), "summary": _("Summary"), "file": _("File"),
    "rows": _("Rows"), "households": _("Households checked"), "problems": _("Problems"),
    "problem_count": _("Problems"), "unreadable": _("Unreadable rows"), "skipped": _("Skipped columns"),
    "changes": _("Findings"), "findings_by_rule": _("Findings by rule"), "open": _("Open problems"),
    "opened": _("New problems"), "closed": _("Problems resolved"), "rule_errors": _("Rules that failed"),
    "seconds": _("Seconds"), "areas": _("Areas"), "ms": _("Milliseconds"),
}
OUTCOMES = {"imported": _("imported"), "dry_run": _("checked, nothing written"), "refused": _("refused")}
CHANGES = {"new": _("new"), "reopened": _("reopened"), "kept_dismissed": _("still dismissed"),
           "updated": _("updated"), "cleared": _("cleared")}


@register.filter
def job_kind(job) -> str:
    """The kind of a job by name ("部门数据导入"), not its code ("exchange.import")."""
    kind = getattr(job, "kind", job)
    if kind in JOB_KINDS:
        return str(JOB_KINDS[kind])
    try:
        return str(apps.get_app_config(kind.split(".", 1)[0]).verbose_name)
    except LookupError:
        return str(_("Background job"))


@register.filter
def job_refused(job) -> bool:
    """A job that ran to its end but whose file was refused (the roster import refuses a file whole)."""
    return isinstance(job.result, dict) and job.result.get("status") == "refused"


@register.filter
def job_summary(job) -> list[tuple[str, str]]:
    """A finished job's result as (label, readable value) rows: counts, outcomes, findings per rule by the rule's name;
    never a Python dict."""
    result = job.result if isinstance(job.result, dict) else {}
    rows = []
    for key, value in result.items():
        if key not in RESULT_KEYS or value in (None, "", [], {}):
            continue
        rows.append((str(RESULT_KEYS[key]), _readable(key, value)))
    return rows


def _readable(key: str, value) -> str:
    if key == "status":
        return str(OUTCOMES.get(value, value))
    if key == "changes" and isinstance(value, dict):
        return ",".join(f"{CHANGES.get(k, k)} {n}" for k, n in value.items() if n) or "0"
    if key == "findings_by_rule" and isinstance(value, dict):
        names = _rule_names(value)
        return i18n.join_list(f"{names.get(code, code)} {n}" for code, n in value.items())
    if key == "summary" and isinstance(value, dict):
        return str(_("%(rows)s rows, %(households)s households (%(hc)s new, %(hu)s updated); members %(pc)s new, "
                     "%(pu)s updated; %(p)s data-quality problems.") % {
            "rows": value.get("rows", 0), "households": value.get("households", 0),
            "hc": value.get("households_created", 0), "hu": value.get("households_updated", 0),
            "pc": value.get("persons_created", 0), "pu": value.get("persons_updated", 0),
            "p": value.get("problems", 0)})
    if key == "rule_errors" and isinstance(value, list):
        return i18n.join_list(v.get("rule", v) if isinstance(v, dict) else v for v in value)
    if isinstance(value, (list, dict)):
        return str(len(value))
    if isinstance(value, bool):
        return str(_("yes") if value else _("no"))
    return str(value)


def _rule_names(counts: dict) -> dict:
    """Comparison rule codes -> their names (the rule's own name, as its rule set gives it)."""
    if not apps.is_installed("fupin.eligibility"):
        return {}
    from fupin.eligibility.models import Rule

    return dict(Rule.objects.filter(code__in=list(counts)).order_by("rule_set_id").values_list("code", "name"))


@register.filter
def choice_label(value, field_path: str) -> str:
    """A choice's label from its code: `{{ s|choice_label:"eligibility.Finding.status" }}` -> "已排除"."""
    app_label, model_name, field_name = field_path.split(".")
    field = apps.get_model(app_label, model_name)._meta.get_field(field_name)
    return str(dict(field.flatchoices).get(value, value))


@register.simple_tag(takes_context=True)
def source_label(context, code: str) -> str:
    """A department source's name from its code ("vehicle" -> "机动车登记"); one query per request."""
    from fupin.exchange.selectors import source_names

    request = context.get("request")
    names = getattr(request, "_fupin_source_names", None)
    if names is None:
        names = source_names()
        if request is not None:
            request._fupin_source_names = names
    return names.get(code, code)
