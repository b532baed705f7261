"""Writes of data quality: the rule set (data, audited), a run of the checks, and the grid workers' inbox."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fupin.core import audit
from fupin.core.errors import ServiceError, only_changes
from fupin.eligibility.expressions import ExpressionError
from fupin.geo import responsible
from fupin.quality import engine
from fupin.quality.models import Problem, Rule, Run, Subject
from fupin.surveys import evaluator

log = logging.getLogger(__name__)
RULES_DATA = Path(__file__).resolve().parent / "rules_data" / "default.json"
JOB_KIND = "quality.run"
INBOX_PREFIX = "quality:"
CHUNK = 900


def names_for(subject: str) -> tuple[str, ...]:
    return engine.HOUSEHOLD_FACTS if subject == Subject.HOUSEHOLD else engine.PERSON_FACTS


def _check_condition(subject: str, condition: str) -> None:
    if subject == Subject.RESPONSE:
        raise ServiceError(_("The collection forms' rules are built-in checks: no expression can be written"))
    try:
        evaluator.check(condition, names_for(subject))
    except ExpressionError as exc:
        raise ServiceError(_("The rule's expression has an error: %(message)s") % {"message": exc.message}, field="condition") from exc


@transaction.atomic
def rules_load_default(*, actor) -> int:
    """Add the shipped rules (rules_data/default.json) that the database does not have; returns how many."""
    spec = json.loads(RULES_DATA.read_text(encoding="utf-8"))["rules"]
    have = set(Rule.objects.values_list("key", flat=True))
    created = 0
    for r in spec:
        if r["key"] in have:
            continue
        if r["condition"]:
            _check_condition(r["subject"], r["condition"])
        rule = Rule.objects.create(**{k: r.get(k, "") for k in ("key", "label", "description", "subject",
                                                                 "condition", "builtin", "item", "requires")},
                                   order=r.get("order", 100))
        audit.record(actor=actor, action="quality.rule.create", obj=rule, after=audit.snapshot(rule))
        created += 1
    return created


@transaction.atomic
def rule_save(*, actor, rule: Rule, expected_version: int | None = None, **changes) -> Rule:
    """Change a rule (label, description, condition, item, is_active); the expression is checked first."""
    only_changes(changes, {"label", "description", "condition", "item", "is_active"})
    r = Rule.objects.select_for_update().get(pk=rule.pk)
    if expected_version is not None and r.version != expected_version:
        raise ServiceError(_("Someone else changed this rule after you opened it: reload and change it again"))
    if "condition" in changes:
        if r.builtin:
            raise ServiceError(_("A built-in check has no expression"))
        _check_condition(r.subject, changes["condition"])
    before = audit.snapshot(r)
    for k, v in changes.items():
        setattr(r, k, v)
    r.version += 1
    r.full_clean()
    r.save()
    audit.record(actor=actor, action="quality.rule.save", obj=r, before=before, after=audit.snapshot(r))
    return r


def run_checks(*, actor=None, trigger: str = "manual", progress=None, today=None, post_inbox: bool = True) -> Run:
    """Run every active rule over the whole registry and all responses; open new problems, close fixed ones."""
    started = time.monotonic()
    today = today or timezone.localdate()
    if not Rule.objects.exists():
        rules_load_default(actor=actor or "system")
    run = Run.objects.create(trigger=trigger, actor=actor if getattr(actor, "pk", None) else None)
    try:
        rules = list(Rule.objects.filter(is_active=True))
        rule_errors: dict[int, str] = {}
        found = engine.evaluate(rules, today, progress=progress, errors=rule_errors)
        with transaction.atomic():
            opened, closed = _sync(run, found, keep_rules=set(rule_errors))
            counts: dict[str, int] = {}
            keys = {r.pk: r.key for r in rules}
            for f in found:
                counts[keys[f.rule_id]] = counts.get(keys[f.rule_id], 0) + 1
            run.counts, run.opened, run.closed, run.open_total = counts, opened, closed, len(found)
            run.status, run.finished_at = Run.Status.DONE, timezone.now()
            run.seconds = round(time.monotonic() - started, 2)
            run.save()
            audit.record(actor=actor, action="quality.run", obj=run,
                         after={"open": len(found), "opened": opened, "closed": closed, "trigger": trigger,
                                "rule_errors": sorted(rule_errors.values())})
            for message in rule_errors.values():
                log.warning("quality run %s: %s", run.pk, message)
        run.rule_errors = sorted(rule_errors.values())
    except Exception:
        Run.objects.filter(pk=run.pk).update(status=Run.Status.FAILED, finished_at=timezone.now())
        raise
    if post_inbox:
        if progress:
            progress(90, _("Notifying the grid workers"))
        inbox_sync()
    run.seconds = round(time.monotonic() - started, 2)
    Run.objects.filter(pk=run.pk).update(seconds=run.seconds)
    return run


def _chunks(items: list, size: int = CHUNK):
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _sync(run: Run, found: list[engine.Found], keep_rules: set[int] = frozenset()) -> tuple[int, int]:
    """Open what is new, close what is no longer found; the problems of a rule that could not run (keep_rules) stay
    open: not finding them is not a fix."""
    open_map = dict(Problem.objects.filter(status=Problem.Status.OPEN).exclude(rule_id__in=keep_rules)
                    .values_list("key", "id"))
    found_keys = {f.key for f in found}
    new = [Problem(rule_id=f.rule_id, key=f.key, household_id=f.household_id, person_id=f.person_id,
                   response_id=f.response_id, village_id=f.village_id, area_code=f.area_code or "",
                   item=f.item, detail=f.detail[:300], first_run=run, last_run=run)
           for f in found if f.key not in open_map]
    Problem.objects.bulk_create(new, batch_size=2000)
    gone = [pk for key, pk in open_map.items() if key not in found_keys]
    now = timezone.now()
    for part in _chunks(gone):
        Problem.objects.filter(pk__in=part).update(status=Problem.Status.CLOSED, closed_at=now, last_run=run)
    Problem.objects.filter(status=Problem.Status.OPEN).exclude(last_run=run).update(last_run=run)
    return len(new), len(gone)


def inbox_sync() -> dict:
    """One inbox item per registered poor household with open problems for its grid's grid worker, one per grid
    for the other residents' problems; items whose problems are all fixed are closed."""
    from django.contrib.auth import get_user_model

    from fupin.inbox.models import InboxItem
    from fupin.inbox.services import inbox_close_by_key, inbox_post
    from fupin.registry.models import Household

    user_model = get_user_model()
    wanted: dict[str, dict] = {}
    rows = (Problem.objects.filter(status=Problem.Status.OPEN, household__isnull=False,
                                   household__grid__isnull=False)
            .values_list("household_id", "household__grid_id", "household__grid__code",
                         "household__is_registered_poor", "area_code", "village__code"))
    per_key: dict[str, int] = {}
    for hid, grid_id, grid_code, poor, area_code, village_code in rows:
        key = f"{INBOX_PREFIX}hh:{hid}" if poor else f"{INBOX_PREFIX}grid:{grid_code}"
        per_key[key] = per_key.get(key, 0) + 1
        if key not in wanted:
            wanted[key] = {"grid_id": grid_id, "household_id": hid if poor else None, "area_code": area_code,
                           "village_code": village_code or area_code[:12], "grid_code": grid_code}
    existing = set(InboxItem.objects.filter(dedupe_key__startswith=INBOX_PREFIX, done_at__isnull=True)
                   .values_list("user_id", "dedupe_key"))
    heads = dict(Household.objects.filter(pk__in=[w["household_id"] for w in wanted.values() if w["household_id"]])
                 .values_list("id", "head_name"))
    workers = responsible.grid_workers(w["grid_id"] for w in wanted.values())
    posted = 0
    for key, w in wanted.items():
        for user_id in workers.get(w["grid_id"], []):
            if (user_id, key) in existing:
                continue
            if w["household_id"]:
                title = f"数据质量:{heads.get(w['household_id']) or ''}户有{per_key[key]}处问题待核实"
                url = f"/quality/villages/{w['village_code']}/?household={w['household_id']}"
            else:
                title = f"数据质量:本网格其他住户有{per_key[key]}处问题待核实"
                url = f"/quality/villages/{w['village_code']}/?grid={w['grid_code']}"
            inbox_post(user=user_model(pk=user_id), title=title, kind=InboxItem.Kind.DATA_QUALITY, url=url,
                       body="请入户或对照证件核实,在户籍中改正后,下一次检查会自动关闭这一项。",
                       area_code=w["area_code"], dedupe_key=key)
            posted += 1
    closed = 0
    for key in {k for _u, k in existing} - set(wanted):
        closed += inbox_close_by_key(dedupe_key=key)
    return {"posted": posted, "closed": closed}


def run_start(*, actor):
    """Queue a full run as a background job (the page shows its progress)."""
    from fupin.core.services import job_create

    return job_create(kind=JOB_KIND, title="数据质量检查", actor=actor)
