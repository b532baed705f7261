"""Writes of the comparison: rule sets (draft → released), comparison runs, and the findings' lifecycle.

A comparison links department records (incrementally), evaluates the released rule set in the engine over every
household in scope, then reconciles findings: a new hit opens a finding and a verification task in the inbox of the
household's grid worker; a hit on a dismissed finding stays dismissed unless its evidence changed; an open finding
no longer hit is cleared.
"""

# ruff: noqa: S608 - the bulk reads interpolate table names, integer ids and _lit() literals only
from __future__ import annotations

import contextvars
import datetime as dt
import functools
import hashlib
import io
import itertools
import json
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable

import pyarrow as pa
import pyarrow.compute as pc
from django.conf import settings
from django.db import connection, connections, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fupin.core import audit
from fupin.core.bulk import (
    BulkWriter,
    check_references,
    collector_paused,
    fetch_arrow,
    foreign_keys_checked_in_bulk,
    foreign_keys_enforced,
    page_cache,
    update_rows,
)
from fupin.core.errors import ServiceError
from fupin.core.fields import blind_q
from fupin.eligibility.defaults import default_rules
from fupin.eligibility.expressions import ExpressionError, fields_used, parse
from fupin.eligibility.facts import Program
from fupin.eligibility.mappings import (
    MAPPABLE_ROLES,
    default_mappings,
    norm_value,
    not_understood,
    resolvers_for,
)
from fupin.eligibility.models import Assessment, ComparisonRun, Finding, Rule, RuleKind, RuleSet, ValueMapping

log = logging.getLogger(__name__)
Progress = Callable[[int, str], None]
EXITED = ("4", "已脱贫(不再享受政策)")
# Keys of findings opened from outside the comparison (finding_open_external); comparison runs leave them alone.
EXTERNAL_KEY_PREFIX = "ext:"
DEFAULT_POVERTY_LINE = 2952.0


def _user(actor):
    return actor if getattr(actor, "pk", None) else None


def _actor_name(actor) -> str:
    return actor.get_username() if _user(actor) else str(actor or "system")


# -- rule sets ---------------------------------------------------------------------------------------------------

def ruleset_current() -> RuleSet | None:
    return RuleSet.objects.filter(status=RuleSet.Status.RELEASED).order_by("-number").first()


def rule_record_fields(rule: Rule, source_fields) -> set[str]:
    """The fields of its source's records a rule reads (none for member and household rules)."""
    if rule.subject in ("member", "household"):
        return set()
    try:
        return fields_used(parse(rule.expression)) & set(source_fields)
    except ExpressionError:
        return set()


def released_rules_reading(source_code: str) -> dict[str, list[str]]:
    """{field: [rule names]} of the released rule set's active rules on this source (exchange field reader)."""
    from fupin.exchange.public import Source

    rs = ruleset_current()
    source = Source.objects.filter(code=source_code).first()
    if rs is None or source is None:
        return {}
    out: dict[str, list[str]] = {}
    for rule in rs.rules.filter(subject=source_code, is_active=True):
        for name in rule_record_fields(rule, source.field_names()):
            out.setdefault(name, []).append(rule.name)
    return out


def rules_not_evaluated(rules: list[Rule]) -> dict[str, dict]:
    """Rules whose source's current snapshot lacks a field they read: {code: {"source", "snapshot", "missing"}}.

    Such a rule is not evaluated for that source and its findings stay as they were (a file without the column says
    nothing about it: clearing them would silently lose findings).
    """
    from fupin.exchange.public import current_snapshots

    current = {s.source.code: s for s in current_snapshots()}
    out: dict[str, dict] = {}
    for rule in rules:
        snap = current.get(rule.subject)
        if snap is None:
            continue
        present = set((snap.mapping_used or {}).values())
        missing = sorted(rule_record_fields(rule, snap.source.field_names()) - present)
        if missing:
            out[rule.code] = {"source": snap.source.code, "source_name": snap.source.name, "snapshot": snap.pk,
                              "file": snap.file_name, "missing": missing}
    return out


@transaction.atomic
def ruleset_ensure_default(*, actor="system") -> RuleSet:
    """The released rule set; when there is none at all, the default pack is loaded and released as version 1."""
    current = ruleset_current()
    if current is not None:
        return current
    if RuleSet.objects.exists():
        raise ServiceError(_("No rule set is released: release a version first"))
    rs = RuleSet.objects.create(name="默认识别规则(十不准、五优先、四看四算)", number=1, status=RuleSet.Status.RELEASED,
                                description="系统自带的默认规则包", released_by_name=_actor_name(actor),
                                released_at=timezone.now(), released_by=_user(actor), created_by=_user(actor))
    Rule.objects.bulk_create([Rule(rule_set=rs, **r) for r in default_rules()])
    _mappings_copy(rs, None)
    audit.record(actor=actor, action="eligibility.ruleset.release", obj=rs, after={"number": 1, "default": True})
    return rs


@transaction.atomic
def ruleset_draft(*, actor, based_on: RuleSet | None = None, name: str = "") -> RuleSet:
    """A new draft version copying the rules of `based_on` (default: the released set)."""
    based_on = based_on or ruleset_ensure_default(actor=actor)
    number = (RuleSet.objects.order_by("-number").values_list("number", flat=True).first() or 0) + 1
    rs = RuleSet.objects.create(name=name or based_on.name, number=number, based_on=based_on,
                                description=based_on.description, created_by=_user(actor))
    Rule.objects.bulk_create([
        Rule(rule_set=rs, code=r.code, kind=r.kind, name=r.name, description=r.description, subject=r.subject,
             expression=r.expression, evidence_fields=r.evidence_fields, group=r.group, order=r.order,
             is_active=r.is_active) for r in based_on.rules.all()])
    _mappings_copy(rs, based_on)
    audit.record(actor=actor, action="eligibility.ruleset.draft", obj=rs, after={"number": number,
                                                                                  "based_on": based_on.number})
    return rs


def _program_for(rules: list[Rule], mappings: list | None = None) -> Program:
    from fupin.exchange.public import Source, sources_ensure_defaults

    sources_ensure_defaults()
    sources = {s.code: s.field_names() for s in Source.objects.filter(is_active=True)}
    mapped: dict[str, set[str]] = defaultdict(set)
    for m in mappings or []:
        mapped[m.source_code].add(m.field)
    return Program(rules, sources, today=timezone.localdate(), mapped=mapped)


def rule_check(rule: Rule) -> None:
    """Refuse (ServiceError, Chinese) a rule whose expression is not an expression over its subject's facts."""
    try:
        _program_for([rule]).check(rule)
    except ExpressionError as exc:
        raise ServiceError(_("The expression of rule “%(rule_code)s” has an error: %(message)s") % {"rule_code": rule.code, "message": exc.message}, field="expression") from exc


@transaction.atomic
def rule_save(*, actor, rule_set: RuleSet, code: str, kind: str, name: str, subject: str, expression: str,
              description: str = "", evidence_fields: list[str] | None = None, group: str = "", order: int = 0,
              is_active: bool = True) -> Rule:
    """Add or change a rule of a draft rule set (released sets are never changed)."""
    if rule_set.status != RuleSet.Status.DRAFT:
        raise ServiceError(_("A released rule set cannot be changed: make a new draft version"))
    if kind not in RuleKind.values:
        raise ServiceError(_("Invalid rule type: %(kind)s") % {"kind": kind})
    if not code or not name:
        raise ServiceError(_("The rule's code and name are required"))
    rule = Rule.objects.filter(rule_set=rule_set, code=code).first() or Rule(rule_set=rule_set, code=code)
    before = audit.snapshot(rule) if rule.pk else None
    rule.kind, rule.name, rule.description, rule.subject = kind, name, description, subject
    rule.expression, rule.evidence_fields, rule.group = expression, list(evidence_fields or []), group
    rule.order, rule.is_active = order, is_active
    rule_check(rule)
    rule.full_clean(exclude=["rule_set"])
    rule.save()
    audit.record(actor=actor, action="eligibility.rule.save", obj=rule, object_repr=f"v{rule_set.number} {code}",
                 before=before, after=audit.snapshot(rule))
    return rule


@transaction.atomic
def rule_delete(*, actor, rule: Rule) -> None:
    if rule.rule_set.status != RuleSet.Status.DRAFT:
        raise ServiceError(_("A released rule set cannot be changed: make a new draft version"))
    audit.record(actor=actor, action="eligibility.rule.delete", obj=rule, before=audit.snapshot(rule))
    rule.delete()


@transaction.atomic
def ruleset_release(*, actor, rule_set: RuleSet) -> RuleSet:
    """Release a draft (every rule must compile); the previously released set is retired."""
    rs = RuleSet.objects.select_for_update().get(pk=rule_set.pk)
    if rs.status != RuleSet.Status.DRAFT:
        raise ServiceError(_("Only a draft can be released"))
    rules = list(rs.rules.all())
    if not rules:
        raise ServiceError(_("The rule set has no rule"))
    for rule in rules:
        rule_check(rule)
    for m in rs.value_mappings.all():
        _mapping_check(m.source_code, m.field)
    RuleSet.objects.filter(status=RuleSet.Status.RELEASED).update(status=RuleSet.Status.RETIRED)
    rs.status = RuleSet.Status.RELEASED
    rs.released_by = _user(actor)
    rs.released_by_name = _actor_name(actor)
    rs.released_at = timezone.now()
    rs.version += 1
    rs.save()
    audit.record(actor=actor, action="eligibility.ruleset.release", obj=rs, after={"number": rs.number})
    transaction.on_commit(lambda: not_understood_refresh())
    return rs


# -- value mappings (versioned with the rule set they serve) -------------------------------------------------------

def _mappings_copy(rs: RuleSet, based_on: RuleSet | None) -> None:
    """A new set's mappings: those of the set it is based on, else (a set from before mappings) the defaults."""
    source = list(based_on.value_mappings.all()) if based_on is not None else []
    if source:
        rows = [ValueMapping(rule_set=rs, source_code=m.source_code, field=m.field, description=m.description,
                             values=dict(m.values)) for m in source]
    else:
        rows = [ValueMapping(rule_set=rs, source_code=m["source"], field=m["field"],
                             description=m.get("description", ""), values=dict(m["values"]))
                for m in default_mappings()]
    ValueMapping.objects.bulk_create(rows)


def _mapping_check(source_code: str, field: str):
    from fupin.exchange.public import Source, sources_ensure_defaults

    sources_ensure_defaults()
    source = Source.objects.filter(code=source_code).first()
    if source is None:
        raise ServiceError(_("The data source of the value mapping does not exist: %(source_code)s") % {"source_code": source_code})
    spec = next((f for f in source.fields if f["name"] == field), None)
    if spec is None:
        raise ServiceError(_("Data source “%(source_name)s” has no field “%(field)s”") % {"source_name": source.name, "field": field}, field="field")
    if spec.get("role", "text") not in MAPPABLE_ROLES:
        raise ServiceError(_("“%(field)s” is an ID number, name, date, number or address: it cannot have a value mapping") % {"field": field}, field="field")
    return source


def mappings_released() -> list:
    """The released set's mappings (the defaults, as dicts, before any rule set exists)."""
    rs = ruleset_current()
    if rs is None:
        return [] if RuleSet.objects.exists() else default_mappings()
    return list(rs.value_mappings.all())


@transaction.atomic
def value_mapping_save(*, actor, rule_set: RuleSet, source_code: str, field: str, values: dict[str, str],
                       description: str | None = None) -> ValueMapping:
    """Set (replace) the mapping of one field in a draft rule set; released sets are never changed."""
    if rule_set.status != RuleSet.Status.DRAFT:
        raise ServiceError(_("A released rule set cannot be changed: make a new draft version"))
    _mapping_check(source_code, field)
    cleaned: dict[str, str] = {}
    for raw, mapped in values.items():
        raw, mapped = str(raw).strip()[:200], str(mapped or "").strip()[:100]
        if not raw:
            continue
        if norm_value(raw) in {norm_value(k) for k in cleaned}:
            raise ServiceError(_("The value “%(raw)s” appears twice") % {"raw": raw}, field="values")
        cleaned[raw] = mapped
    obj = ValueMapping.objects.filter(rule_set=rule_set, source_code=source_code, field=field).first()
    before = {"values": obj.values, "description": obj.description} if obj else None
    if obj is None:
        obj = ValueMapping(rule_set=rule_set, source_code=source_code, field=field)
    obj.values = cleaned
    if description is not None:
        obj.description = description.strip()[:200]
    obj.save()
    audit.record(actor=actor, action="eligibility.value_mapping.save", object_type="eligibility.valuemapping",
                 object_id=str(obj.pk), object_repr=f"v{rule_set.number} {source_code}.{field}", before=before,
                 after={"values": obj.values, "description": obj.description})
    return obj


@transaction.atomic
def value_mapping_delete(*, actor, mapping: ValueMapping) -> None:
    if mapping.rule_set.status != RuleSet.Status.DRAFT:
        raise ServiceError(_("A released rule set cannot be changed: make a new draft version"))
    audit.record(actor=actor, action="eligibility.value_mapping.delete", object_type="eligibility.valuemapping",
                 object_id=str(mapping.pk), object_repr=f"v{mapping.rule_set.number} {mapping}",
                 before={"values": mapping.values})
    mapping.delete()


def ruleset_draft_for_edit(*, actor) -> RuleSet:
    """The newest draft, or a new one based on the released set (edits of mappings go to a draft)."""
    draft = RuleSet.objects.filter(status=RuleSet.Status.DRAFT).order_by("-number").first()
    return draft or ruleset_draft(actor=actor)


def not_understood_refresh(snapshots=None) -> int:
    """Recompute `Snapshot.not_understood` (current snapshots by default) against the released mappings."""
    from fupin.exchange.public import Snapshot

    resolvers = resolvers_for(mappings_released())
    snaps = snapshots if snapshots is not None else Snapshot.objects.filter(is_current=True).select_related("source")
    changed = 0
    for snap in snaps:
        value = not_understood(snap.source.code, snap.value_counts or {}, resolvers)
        if value != snap.not_understood:
            Snapshot.objects.filter(pk=snap.pk).update(not_understood=value)
            snap.not_understood = value
            changed += 1
    return changed


# -- the comparison ----------------------------------------------------------------------------------------------

def applicant_household_ids() -> list[int]:
    """Households in an identification procedure that is under way (the procedures app, when installed)."""
    from django.apps import apps

    if not apps.is_installed("fupin.lifecycle"):
        return []
    from fupin.lifecycle.models import Procedure

    # no guard: a database error here must fail the run (inside the run's transaction it cannot be recovered from)
    return list(Procedure.objects.filter(kind="identification", status="open", household__isnull=False)
                .values_list("household_id", flat=True))


def poverty_line(year: int) -> float:
    from fupin.registry.models import PovertyLine

    line = PovertyLine.objects.filter(year__lte=year).order_by("-year").first()
    return float(line.amount) if line else DEFAULT_POVERTY_LINE


def _ids_sql(ids: list[int]) -> str:
    return ", ".join(str(int(i)) for i in ids) if ids else "-1"


def _load_tables(program: Program, applicants: list[int], read_persons: Callable, registry_fp: str,
                 plan=None, only: list[int] | None = None) -> tuple[dict[str, pa.Table], list, dict]:
    """The engine's input tables, the statements that scope them (建档立卡 and applicants, and of those only the
    households `only` when given) and the department records' `Load` steps by source (for the program's setup);
    the links are those the linkage `plan` (not yet written) leaves.

    Each input is in memory only while the statements that read it run — the registry's households, persons and
    the department records grow with the county (at 10x 106, 473 and 335 MB of Arrow): the households, the persons
    (`read_persons()`: a table, or a row group at a time) and the records of the sources without a value mapping
    are read by a `Load` step just
    before their first reader, and every input is released (`Release`) after the last statement that reads it;
    the engine's own tables hold what the rules read of it (DuckDB: buffer-managed, spilled beyond
    FUPIN_DUCKDB_MEMORY). Read now: the links (the plan's own, which its write holds anyway), and the records of
    the sources with a mapped field, whose distinct values the value map reads first (`_value_map`, which then
    keeps only their linked records). An incremental run reads the households now (its assessments are ranked
    again with their villages)."""
    from fupin.exchange.public import (
        Load,
        Release,
        current_snapshots,
        planned_links,
        registry_households,
        snapshot_record_data,
    )

    current = current_snapshots()
    tables = {"links_all": planned_links(current, plan),
              "applicants_in": pa.table({"household_id": pa.array(applicants, pa.int64())})}
    read_households = Load(lambda: {"hh_all": registry_households(registry_fp)})  # kept with the registry's copy
    if only is not None:
        tables.update(read_households.read())
    by_source = {s.source.code: s for s in current}
    loads = {}
    for source in program.loaded:
        if program.mapped.get(source):
            tables[f"raw_{source}"] = snapshot_record_data(by_source.get(source))
        else:
            loads[source] = Load(functools.partial(_record_data, source, by_source.get(source)))
    exited = ", ".join(_lit(x) for x in EXITED)
    loaded = ", ".join(_lit(s) for s in program.loaded) or _lit("-")
    scope = ("(CAST(h.is_registered_poor AS BOOLEAN) "
             "OR h.household_id IN (SELECT household_id FROM applicants_in))")
    if only is not None:
        tables["only_in"] = pa.table({"household_id": pa.array(only, pa.int64())})
        scope += " AND h.household_id IN (SELECT household_id FROM only_in)"
    pre = [
        *([read_households] if only is None else []),
        f"""CREATE TABLE hh_in AS SELECT h.*,
                CASE WHEN (CAST(h.is_registered_poor AS BOOLEAN) AND coalesce(h.poverty_status, '') NOT IN ({exited}))
                     OR h.household_id IN (SELECT household_id FROM applicants_in) THEN 1 ELSE 0 END AS in_scope,
                CASE WHEN h.household_id IN (SELECT household_id FROM applicants_in) THEN 1 ELSE 0 END AS is_applicant
            FROM hh_all h WHERE {scope}""",
        Release(("hh_all",)),
        Load(lambda: {"persons_all": read_persons()}),
        "CREATE TABLE mem_in AS SELECT p.* FROM persons_all p WHERE p.household_id IN (SELECT household_id FROM hh_in)",
        Release(("persons_all",)),
        # method and score: the evidence of a record rule's finding cites how its record was linked (`hit_links`)
        f"""CREATE TABLE links_in AS SELECT l.record_id, l.person_id, l.source_code, l.method, l.score FROM links_all l
            WHERE l.source_code IN ({loaded}) AND l.person_id IN (SELECT person_id FROM mem_in)""",
        """CREATE TABLE counts_in AS SELECT m.household_id, l.source_code, count(*) AS n
            FROM links_all l JOIN mem_in m ON m.person_id = l.person_id GROUP BY m.household_id, l.source_code""",
        Release(tuple(n for n in ("links_all", "applicants_in", "only_in") if n in tables)),
    ]
    return tables, pre, loads


def _record_data(source: str, snapshot) -> dict[str, pa.Table]:
    """A `Load` step's read: the records of one source (raw_<source>)."""
    from fupin.exchange.public import snapshot_record_data

    return {f"raw_{source}": snapshot_record_data(snapshot)}


def _source_tables(program: Program, current: list) -> dict[str, pa.Table]:
    """The department records the value map reads (raw_<source> of the sources with a mapped field), and no links:
    an incremental run with nothing to evaluate still reports the values no mapping knows."""
    from fupin.exchange.public import snapshot_record_data

    by_source = {s.source.code: s for s in current}
    tables = {f"raw_{source}": snapshot_record_data(by_source.get(source)) for source in program.loaded
              if program.mapped.get(source)}  # what the value map reads (`Program.distinct_sql`)
    tables["links_all"] = pa.table({"record_id": pa.array([], pa.int64()), "person_id": pa.array([], pa.int64()),
                                    "method": pa.array([], pa.string()), "score": pa.array([], pa.float64()),
                                    "area_code": pa.array([], pa.string()), "snapshot_id": pa.array([], pa.int64()),
                                    "source_code": pa.array([], pa.string())})
    return tables


def _lit(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def _evaluate(program: Program, tables: dict[str, pa.Table], pre: list, loads: dict, rules: list[Rule],
              line: float, engine) -> dict:
    """The rules' results: hits, assessments, undecided pairs, the hit households' and members' facts and the hit
    records' links. `tables` is handed over to the engine, which empties it as the setup's `Release` steps say;
    `loads`: the `Load` steps of the sources' records not in `tables` (`_load_tables`)."""
    hit_rules = [r for r in rules if r.kind in (RuleKind.EXCLUSION, RuleKind.PRIORITY)]
    score_rules = [r for r in rules if r.kind == RuleKind.SCORING]
    empty_hits = ("SELECT CAST(NULL AS BIGINT) AS household_id, CAST(NULL AS BIGINT) AS person_id, "
                  "CAST(NULL AS BIGINT) AS record_id, CAST(NULL AS VARCHAR) AS rule_code, "
                  "CAST(NULL AS VARCHAR) AS content WHERE false")
    hits_sql = " UNION ALL ".join(program.hit_sql(r) for r in hit_rules) or empty_hits
    undecided_sql = " UNION ALL ".join(
        sql for sql in (program.undecided_sql(r) for r in hit_rules) if sql) or (
        "SELECT CAST(NULL AS BIGINT) AS household_id, CAST(NULL AS BIGINT) AS person_id, "
        "CAST(NULL AS BIGINT) AS record_id, CAST(NULL AS VARCHAR) AS rule_code, CAST(NULL AS VARCHAR) AS field, "
        "CAST(NULL AS VARCHAR) AS value WHERE false")
    priority_codes = ", ".join(_lit(r.code) for r in hit_rules if r.kind == RuleKind.PRIORITY) or "'-'"
    registry_codes = ", ".join(_lit(r.code) for r in hit_rules if r.kind != RuleKind.PRIORITY
                               and r.subject in ("member", "household")) or "'-'"
    setup = [*pre, *program.setup(line, loads), f"CREATE TABLE hits AS {hits_sql}",
             f"CREATE TABLE scores AS {program.scores_sql(score_rules)}"]
    queries = {
        "hits": f"SELECT * FROM hits WHERE rule_code NOT IN ({priority_codes}) "
                "ORDER BY household_id, rule_code, person_id, record_id",
        "assessments": f"""
            WITH p AS (SELECT household_id, to_json(list(DISTINCT rule_code ORDER BY rule_code)) AS priorities
                   FROM hits WHERE rule_code IN ({priority_codes}) GROUP BY household_id)
            SELECT h.household_id, h.area_code, coalesce(s.score, 0) AS score,
                   rank() OVER (PARTITION BY substr(h.area_code, 1, 12) ORDER BY coalesce(s.score, 0) DESC) AS rank,
                   count(*) OVER (PARTITION BY substr(h.area_code, 1, 12)) AS rank_of,
                   coalesce(s.parts, '{{}}') AS parts,
                   coalesce(CAST(p.priorities AS VARCHAR), '[]') AS priorities
            FROM households h LEFT JOIN scores s USING (household_id) LEFT JOIN p USING (household_id)
            WHERE h.in_scope ORDER BY h.household_id""",  # in the order they are written (_write_assessments)
        "in_scope": "SELECT count(*) FROM households WHERE in_scope",
        "undecided": f"SELECT * FROM ({undecided_sql}) ORDER BY household_id, rule_code, person_id, record_id",
        # the facts of the households a member or household rule hit (their findings' evidence cites them; a
        # record rule's evidence cites its records, and a priority rule makes no finding): not every household a
        # priority rule hit (at 1x 110,415 rows, 0.8 s of CPU to turn into Python)
        "hit_households": f"""SELECT * EXCLUDE (household_code) FROM households
                             WHERE household_id IN (SELECT household_id FROM hits
                                                    WHERE rule_code IN ({registry_codes}))""",
        "hit_members": """SELECT * EXCLUDE (health, disability_card) FROM members
                          WHERE person_id IN (SELECT person_id FROM hits)""",
        # how the hit records were linked (their evidence cites it), instead of every link kept in Python
        "hit_links": """SELECT record_id, person_id, method, score FROM links
                        WHERE record_id IN (SELECT record_id FROM hits)""",
    }
    return engine.evaluate(tables=tables, setup=setup, queries=queries)


def _digest(obj) -> str:
    text = _flat_json(obj) if type(obj) is list else None
    if text is None:
        text = json.dumps(obj, ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


_json_text = json.encoder.encode_basestring  # what json.dumps(..., ensure_ascii=False) writes a string as


def _flat_json(items: list) -> str | None:
    """json.dumps(items, ensure_ascii=False) of a list of integers, strings and lists of strings — the findings'
    keys and their record rules' evidence content, two per finding — written directly (the same text, so the same
    digests as ever); None for anything else (json.dumps then)."""
    parts = []
    for x in items:
        kind = type(x)
        if kind is str:
            parts.append(_json_text(x))
        elif kind is int:
            parts.append(int.__repr__(x))
        elif kind is list and all(type(y) is str for y in x):
            parts.append("[" + ", ".join(map(_json_text, x)) + "]")
        else:
            return None
    return "[" + ", ".join(parts) + "]"


def compare_run(*, actor, progress: Progress | None = None, engine=None, relink: bool = True) -> ComparisonRun:
    """Link (incrementally), evaluate the released rule set and reconcile findings, assessments and inbox tasks.

    Everything is computed first, outside any transaction (the linkage, the rules, which findings open, change or
    clear); then two short transactions write the prepared rows, the links' and the findings' — on SQLite the one
    write lock is held only that long. The links' transaction runs in a thread of its own while the rules are
    computed, once every input the rules read from the database has been read (`_LinksAlongside`). If the
    registry, a snapshot or a finding changed meanwhile, the run computes again inside the transaction. An error
    rolls the transaction it happens in back and is raised (the job or the command fails visibly); links already
    committed stay, as after a crash between the two transactions (the next run repairs what they changed); the
    failure is recorded as an audit event `eligibility.compare.failed` outside the rolled-back work.
    """
    try:
        return _compare_run(actor=actor, progress=progress, engine=engine, relink=relink)
    except Exception as exc:
        audit.record(actor=actor, action="eligibility.compare.failed", object_type="eligibility.comparisonrun",
                     object_id="", object_repr="比对失败", after={"error": f"{type(exc).__name__}: {exc}"[:500]})
        raise


def _findings_mark() -> tuple:
    """What the findings looked like (a decision taken between computing and writing changes it)."""
    from django.db.models import Count, Max

    return tuple(Finding.objects.aggregate(n=Count("id"), t=Max("updated_at")).values())


def _compare_run(*, actor, progress: Progress | None, engine, relink: bool) -> ComparisonRun:
    from fupin.exchange.public import (
        RecordLink,
        default_engine,
        linkage_cache,
        linkage_current,
        linkage_write,
        registry_fingerprint_kept_through,
    )

    progress = progress or (lambda p, m="": None)
    engine = engine or default_engine()
    rule_set = ruleset_ensure_default(actor=actor)
    alongside = _LinksAlongside(actor, progress) if relink and not connection.in_atomic_block else None
    try:
        plan = _compare_compute(rule_set, progress=alongside.progress if alongside is not None else progress,
                                engine=engine, relink=relink,
                                write_links=alongside.start if alongside is not None else None)
    finally:
        if alongside is not None:
            alongside.join()  # the links' transaction ends (committed or rolled back) before anything goes on
    if alongside is not None:
        alongside.finish()
        alongside.plan = None  # written (or not: computed again below); see `plan["link"]`
    t_write = time.perf_counter()
    progress(80, "写入比对结果")
    # Two short transactions (on SQLite each holds the one write lock): the links first, then the findings. A crash
    # between them leaves links whose findings are not written: the previous run's inputs then differ from the
    # current ones (the relinked snapshots), so the next run evaluates what those links changed and repairs it.
    link_run = None
    if alongside is not None and alongside.written:  # the links' transaction ran beside the rules
        link_run = alongside.link_run
        t_links, t_cache = t_write + alongside.seconds_write, t_write + alongside.seconds_write + alongside.seconds_cache
    else:
        with registry_fingerprint_kept_through(), foreign_keys_checked_in_bulk(RecordLink), transaction.atomic():
            if plan["link"] is not None and not linkage_current(plan["link"]):
                plan = _compare_compute(rule_set, progress=progress, engine=engine, relink=relink)  # inputs changed
                plan["recomputed"] = True
            if plan["link"] is not None:
                with collector_paused():  # the links' rows (see _compare_compute)
                    link_run = linkage_write(plan["link"], actor=actor, cache=False)
        t_links = time.perf_counter()
        if plan["link"] is not None:
            linkage_cache(plan["link"])  # the links' columnar copies, outside the write lock
        t_cache = time.perf_counter()
    # the links are written: their plan (at 10x 2.4 million links with their explanations, 0.2-0.3 GB) is not held
    # through the findings' transaction (a run computed again there makes its own)
    plan["link"] = None
    late_links = None
    # without SQLite's per-row foreign-key lookups (as the links' transaction): what it wrote is checked at once
    # before it commits (`_check_written`)
    with foreign_keys_checked_in_bulk(Finding), page_cache(Finding, WRITE_PAGE_CACHE_MB), transaction.atomic():
        written_after = _write_marks() if not foreign_keys_enforced(Finding) else None
        if (relink and _stale_links()) or _findings_mark() != plan["mark"]:
            recomputed = _compare_compute(rule_set, progress=progress, engine=engine, relink=relink)
            if recomputed["link"] is not None:  # a department imported meanwhile: its links go in this one
                link_run = linkage_write(recomputed["link"], actor=actor, cache=False)
                late_links = recomputed["link"]
            plan = {**recomputed, "recomputed": True}
        with collector_paused():  # the findings' and assessments' rows (see _compare_compute)
            result = plan["result"]
            run = ComparisonRun.objects.create(rule_set=rule_set, actor=_user(actor), actor_name=_actor_name(actor),
                                               households=plan["in_scope"])
            # the findings' plan (at 10x 86,678 new findings with their evidence) is let go once written, before
            # the assessments
            changes = _reconcile_apply(run, plan.pop("reconcile"))
            if plan["incremental"] is None:
                n_assessed = _write_assessments(run, plan["assessments"], plan["previous_digest"])
            else:  # only the rows that changed; the next full run cannot take these for the previous run's
                n_assessed = update_rows(Assessment, ["score", "rank", "rank_of", "parts", "priorities", "run_id"],
                                         [(*r, run.pk) for r in plan["assessments"] or []], encoded=ASSESSMENT_JSON)
                run.stats["assessments_digest"] = plan["previous_digest"] if not n_assessed else ""
            by_rule, by_village = _counts()
            seconds = plan["seconds"]
            run.stats = {
                "rule_set": rule_set.number, "hits": result["hits"].num_rows, "findings_by_rule": by_rule,
                "rule_errors": sorted(plan["rule_errors"].values()),
                "by_village": by_village, "changes": changes, "assessed": n_assessed, "applicants": plan["applicants"],
                "assessments_digest": run.stats.get("assessments_digest", ""),
                "not_evaluated": plan["not_evaluated"],
                "link": link_run.stats if link_run else None,
                "not_understood": plan["not_understood"],
                "recomputed_in_transaction": bool(plan.get("recomputed")),
                "inputs": plan["inputs"], "incremental": plan["incremental"],
            }
            audit.record(actor=actor, action="eligibility.compare", object_type="eligibility.comparisonrun",
                         object_id=str(run.pk), object_repr=f"比对 #{run.pk}",
                         after={"households": run.households, "changes": changes, "rule_set": rule_set.number})
            not_understood_refresh()
            t_end = time.perf_counter()
            # each transaction's length; write_lock: both together, what the write lock was held (a SQLite writer
            # waits at most one of them)
            # (links written alongside the rules: their transaction's and copies' seconds, counted in `compute`
            # too, and `total` is the run's own wall time)
            t_findings = t_cache if alongside is None or not alongside.written else t_write
            lock = (t_links - t_write) + (t_end - t_findings)
            run.stats["seconds"] = {**seconds, "write_links": round(t_links - t_write, 3),
                                    "cache_links": round(t_cache - t_links, 3),
                                    "write_findings": round(t_end - t_findings, 3),
                                    "write_lock": round(lock, 3), "write": round(lock, 3),
                                    "links_alongside": bool(alongside is not None and alongside.written
                                                            and not alongside.first),
                                    # written before the rules (a large run: see `_LinksAlongside`)
                                    "links_first": bool(alongside is not None and alongside.written
                                                        and alongside.first),
                                    "total": round(seconds["compute"] + t_end - t_write, 3)}
            run.finished_at = timezone.now()
            run.save()
            if written_after is not None:
                _check_written(run, written_after)
    if late_links is not None:
        linkage_cache(late_links)
    progress(100, _("Comparison finished"))
    return run


class _LinksAlongside:
    """The links' transaction (`linkage_write`, then the links' columnar copies after its commit) run in a thread of
    its own, on its own database connection, while `compare` computes the rules and plans the findings: at 1x the
    links' 235,000 rows take about 1.8 s to write, mostly inside SQLite (which lets other threads run) and the
    rules' evaluation mostly inside DuckDB. It starts once every input the rules read from the database has been
    read (`_compare_rules`: what follows reads the plan's links, the columnar copies and tables the links'
    transaction does not write), so what the rules compute does not depend on when it commits. Its transaction is
    the one `compare` ran before, in the same order (links committed before the findings' transaction begins): it
    checks that the linkage's inputs are still current first, and writes nothing when they are not (`compare` then
    computes again inside its own links' transaction, as before).

    Only on its own: not inside an outer transaction (a test's or a caller's: another connection would not see its
    rows; nor is the transaction written first there), and beside the rules on SQLite only with a database file in
    WAL mode (readers and the one writer side by side; an
    in-memory database shares one cache and its tables' locks). And only for at least `MIN_LINKS` links: a rerun
    after one department reloads writes about 16,000 at 1x, in 0.3 s, and there is little to write beside then,
    while a thread of its own costs its connection and a fresh read of the registry's fingerprint (0.1-0.2 s at 1x:
    the cached one is the comparison's connection's); those are written in the run's own thread, as before.

    From `settings.FUPIN_LINKS_FIRST_FROM` links (a million; the 10x county has 2.35 million) the same transaction
    runs in the run's own thread at that point, before the rules read anything (`first`): beside the rules, the write's rows
    and the plan it holds (its links with their explanations) add to the rules' own highest memory, which is the
    run's; written first, the plan's explanations and reviews go right after, and its links once the rules have
    taken them (`_compare_rules`). That costs the overlap's wall time, not CPU. At 10x, under the rules' own DuckDB
    limit, the write beside the rules stays within the run's 2 GB (docs/performance.md, hover), but on 2 cores it
    slowed the rules as much as it saved and cost more CPU (the lead's runs after hover): so it runs first there."""

    MIN_LINKS = 50_000

    def __init__(self, actor, progress: Progress):
        self.actor = actor
        self._progress = progress
        self._pending: tuple | None = None
        self.thread: threading.Thread | None = None
        self.plan = None
        self.link_run = None
        self.written = False
        self.error: BaseException | None = None
        self.seconds_write = 0.0
        self.seconds_cache = 0.0
        self.first = False  # written before the rules, in the run's own thread
        self.beside = self.possible()  # a thread of its own can write beside the rules

    @staticmethod
    def possible() -> bool:
        if connection.in_atomic_block:
            return False
        if connection.vendor == "postgresql":
            return True
        if connection.vendor != "sqlite":
            return False
        with connection.cursor() as cur:
            cur.execute("PRAGMA journal_mode")
            return str(cur.fetchone()[0]).lower() == "wal"

    @staticmethod
    def writes_first(n_links: int) -> bool:
        """Whether a plan of `n_links` links is written before the rules (`settings.FUPIN_LINKS_FIRST_FROM`; 0:
        never) instead of beside them."""
        first_from = settings.FUPIN_LINKS_FIRST_FROM
        return bool(first_from) and n_links >= first_from

    def start(self, plan) -> bool:
        """Begin writing `plan` (a LinkagePlan; None: nothing to write); True when it is written already (`first`:
        the plan then keeps only the links' columns the rules read, see `planned_links`)."""
        if plan is None or self.thread is not None:
            return False
        if self.writes_first(plan.links.num_rows):
            self.plan, self.first = plan, True
            self._write()
            self.finish()
            if self.written:
                from fupin.exchange.public import arrow_memory_returned

                plan.links = plan.links.drop_columns(["explanation"])  # written: the explanations go
                plan.reviews = plan.reviews.schema.empty_table()
                arrow_memory_returned()
            self.plan = None
            return self.written
        if not self.beside or plan.links.num_rows < self.MIN_LINKS:
            return False  # written after the rules, in the run's own links' transaction
        self.plan = plan
        context = contextvars.copy_context()  # what the caller's context holds (the audit's actor, a job's id)
        self.thread = threading.Thread(target=context.run, args=(self._write,), name="compare-links-write")
        self.thread.start()
        return False

    def _write(self) -> None:
        from fupin.exchange.public import (
            RecordLink,
            linkage_cache,
            linkage_current,
            linkage_write,
            registry_fingerprint_kept_through,
        )

        try:
            t = time.perf_counter()
            # the links' transaction changes no person and no household: a large run's (written in the run's own
            # thread) leaves the registry's fingerprint known to the findings' transaction
            with registry_fingerprint_kept_through(), foreign_keys_checked_in_bulk(RecordLink), \
                    transaction.atomic():
                if not linkage_current(self.plan):
                    return
                self.link_run = linkage_write(self.plan, actor=self.actor, cache=False)
            self.seconds_write = time.perf_counter() - t
            self.written = True
            t = time.perf_counter()
            linkage_cache(self.plan)  # after the commit, as before
            self.seconds_cache = time.perf_counter() - t
        except BaseException as exc:  # raised in the comparison's own thread (`finish`)
            self.error = exc
        finally:
            if not self.first:
                connections.close_all()  # this thread's connections only

    def progress(self, percent: int, message: str = "") -> None:
        """The run's progress, held while the links' transaction runs and reported when it ends: a job's progress
        is a database write, which on SQLite would wait for the one write lock (and fail after the busy timeout
        if the links took longer)."""
        if self.thread is not None and self.thread.is_alive():
            self._pending = (percent, message)
        else:
            self._progress(percent, message)

    def join(self) -> None:
        if self.thread is not None:
            self.thread.join()

    def finish(self) -> None:
        """After `join`: the links' error raised here, else the progress held meanwhile reported."""
        if self.error is not None:
            raise self.error
        if self._pending is not None:
            pending, self._pending = self._pending, None
            self._progress(*pending)


def _write_marks() -> dict[str, int]:
    """The newest inbox item and audit event before the findings' transaction writes (see `_check_written`)."""
    from django.db.models import Max

    from fupin.core.models import AuditEvent
    from fupin.inbox.models import InboxItem

    return {"inbox": InboxItem.objects.aggregate(m=Max("id"))["m"] or 0,
            "audit": AuditEvent.objects.aggregate(m=Max("id"))["m"] or 0}


def _check_written(run: ComparisonRun, after: dict[str, int]) -> None:
    """The references of every row the findings' transaction wrote, checked at once (`core.bulk.check_references`:
    IntegrityError, and the transaction rolls back, when a parent is missing), for a transaction run without
    SQLite's per-row lookups: the run, its findings (all of them name it as their last run: new, changed, cleared),
    its assessments (all of them name it after a full write, the changed ones after an incremental one), the inbox
    items posted and the audit events recorded. The assessments' households are checked against one scan of the
    households' keys; the few thousand others row by row."""
    from fupin.core.models import AuditEvent
    from fupin.inbox.models import InboxItem

    check_references(ComparisonRun, "id = %s", [run.pk], few=True)
    check_references(Finding, "last_run_id = %s", [run.pk], few=True)
    check_references(Assessment, "run_id = %s", [run.pk])
    check_references(InboxItem, "id > %s", [after["inbox"]], few=True)
    check_references(AuditEvent, "id > %s", [after["audit"]], few=True)


def _stale_links() -> bool:
    from fupin.exchange.public import Snapshot, registry_fingerprint

    fp = registry_fingerprint()
    return Snapshot.objects.filter(is_current=True).exclude(link_fingerprint__startswith=fp + "|").exists()


def _compare_compute(rule_set, *, progress: Progress, engine, relink: bool,
                     write_links: Callable | None = None) -> dict:
    """Everything a comparison writes, computed without writing: the linkage plan, the rules' results and the
    findings' changes.

    When the previous run's inputs (registry, rule set, applicants, poverty line, date) are the same and only some
    sources' snapshots changed, the run is incremental: only the rules that read a changed source are evaluated,
    only over the households whose linked records of those sources changed (by content); every other finding and
    assessment stays as it is, unwritten. `write_links(linkage plan)`: called once the rules' inputs are read from
    the database (see `_LinksAlongside`)."""
    from fupin.exchange.public import (
        arrow_memory_returned,
        linkage_compute,
        registry_fingerprint,
    )

    t0 = time.perf_counter()
    mark = _findings_mark()
    registry_fp = registry_fingerprint()
    # the linkage reads the registry's persons itself and lets them go once its engine holds them; the rules read
    # them again after it (the copy kept current at import, opened in memory): not held beside the linkage's
    # engine and its memory limit (at 10x 473 MB of Arrow)
    plan = linkage_compute(engine=engine, registry_fp=registry_fp,
                           progress=lambda p, m="": progress(int(p * 0.5), m)) if relink else None
    arrow_memory_returned()  # what the linkage read and let go (the records, the registry's block counts)
    # the rules and the findings' plan build tens of thousands of Python objects that all stay alive until the
    # write: the cyclic collector's passes over them find nothing to free (see core.bulk.collector_paused)
    with collector_paused():
        return _compare_rules(rule_set, progress=progress, engine=engine, plan=plan, registry_fp=registry_fp,
                              mark=mark, t0=t0, write_links=write_links)


def _compare_rules(rule_set, *, progress: Progress, engine, plan, registry_fp: str, mark: tuple, t0: float,
                   write_links: Callable | None = None) -> dict:
    """_compare_compute after the linkage: the rules' results, the findings' changes, the assessments."""
    from fupin.exchange.public import arrow_memory_returned, current_snapshots, load_persons, persons_batches

    t_link = time.perf_counter()
    progress(50, _("Applying the rules"))
    all_rules = [r for r in rule_set.rules.all() if r.is_active]
    not_evaluated = rules_not_evaluated(all_rules)
    rules = [r for r in all_rules if r.code not in not_evaluated]
    mappings = list(rule_set.value_mappings.all())
    program = _program_for(rules, mappings)
    rule_errors: dict[str, str] = {}  # a rule saved before the language's limits: reported on the run, not fatal
    for rule in rules:
        try:
            program.check(rule)
        except ExpressionError as exc:
            rule_errors[rule.code] = f"规则「{rule.code}」的表达式有误,本次未参与比对:{exc.message}"
    if rule_errors:
        rules = [r for r in rules if r.code not in rule_errors]
        program = _program_for(rules, mappings)
    applicants = applicant_household_ids()
    line = poverty_line(timezone.localdate().year)
    current = current_snapshots()
    inputs = _run_inputs(rule_set, registry_fp, applicants, line, program, current, plan)
    previous = _previous_run()
    scope = _incremental_scope(previous, inputs, rules, program)
    if scope is not None:
        rules = [r for r in rules if r.code in scope["rules"]]
        program = _program_for(rules, mappings)
    # the registry's persons: read by the engine's setup once the households are in, a row group at a time (full
    # runs: the one statement that reads them keeps the members in scope; at 10x the whole table is 473 MB), or
    # here when an incremental run needs them first; their only reference goes to the engine, which lets them go
    # once it holds what the rules read
    persons: list[pa.Table] = []
    if scope is not None:
        persons.append(load_persons(registry_fp))
        scope["households"] = _changed_households(scope["sources"], previous, current, persons[0], plan, engine)

    def read_persons() -> pa.Table | pa.RecordBatchReader:
        return persons.pop() if persons else persons_batches(registry_fp)

    households = None  # an incremental run's households (id, area code): its assessments are ranked again with them
    # every input read from the database that the links' write changes; True: the links are written (before the
    # rules: a large run, see `_LinksAlongside`)
    written_first = write_links(plan) if write_links is not None else False
    if scope is not None and not scope["households"]:
        # no household's linked records changed: nothing is evaluated, and of the registry and the links nothing
        # is read; the changed sources' values are, for the values no mapping knows
        tables, pre, loads = _source_tables(program, current), [], {}
    else:
        tables, pre, loads = _load_tables(program, applicants, read_persons, registry_fp, plan,
                                          only=scope["households"] if scope is not None else None)
        if scope is not None:
            households = tables["hh_all"].select(["household_id", "area_code"])
    if written_first:
        # written and copied: the rules' links (`links_all`, read from the plan) are now their only holder, and the
        # rules' setup lets them go once its own tables hold what it reads of them
        plan.links = plan.links.schema.empty_table()  # (a slice would keep their buffers)
    values_nu = _value_map(program, tables, mappings, engine)
    t_load = time.perf_counter()
    if scope is None or (scope["households"] and rules):
        result = _evaluate(program, tables, pre, loads, rules, line, engine)
    else:
        result = _empty_result()
    t_eval = time.perf_counter()
    progress(75, _("Collecting the findings"))
    keep_rules = set(not_evaluated) | set(rule_errors)
    del tables
    arrow_memory_returned()
    with page_cache(Finding, WRITE_PAGE_CACHE_MB):  # the records its evidence cites, the households (see below)
        reconcile = _reconcile_plan(rules, result, keep_rules=keep_rules,
                                    only=scope["households"] if scope is not None else None)
    assessments = (result["assessments"] if scope is None
                   else _assessments_merged(result["assessments"], engine, households)
                   if _scores_evaluated(rules) else None)
    undecided = _undecided(result["undecided"])
    if scope is not None:
        values_nu, undecided = _not_understood_merged(previous, program, values_nu, undecided, rules, scope)
    t_plan = time.perf_counter()
    in_scope = (int(result["in_scope"].column(0)[0].as_py() or 0) if scope is None
                else previous.households)
    return {"link": plan, "result": result, "reconcile": reconcile, "rule_errors": rule_errors,
            "not_evaluated": not_evaluated, "applicants": len(applicants), "mark": mark, "inputs": inputs,
            "assessments": assessments, "in_scope": in_scope, "previous_digest": (
                (previous.stats or {}).get("assessments_digest", "") if previous is not None else ""),
            "incremental": None if scope is None else {
                "sources": sorted(scope["sources"]), "rules": sorted(r.code for r in rules),
                "households": len(scope["households"])},
            "not_understood": {"values": values_nu, **undecided},
            "seconds": {"link": round(t_link - t0, 3), "load": round(t_load - t_link, 3),
                        "evaluate": round(t_eval - t_load, 3), "findings": round(t_plan - t_eval, 3),
                        "compute": round(t_plan - t0, 3)}}


# what the rules compute from besides the rules, the registry and the department records: a change here (a new
# version of the SQL program, facts, defaults) makes the next run a full one
PROGRAM_VERSION = 1


def _run_inputs(rule_set: RuleSet, registry_fp: str, applicants: list[int], line: float, program: Program,
                current: list, plan) -> dict:
    """What a run's results were computed from: one key for everything but the department sources, and each
    source's snapshot and the links it has (as the linkage `plan` leaves them)."""
    from django.db.models import Count, Sum

    from fupin.exchange.public import LinkMethod, RecordLink

    relinked = {s.pk: plan.fingerprint for s in plan.stale} if plan is not None else {}
    # a reviewer's decision rewrites one record's link without relinking its snapshot: any new one means a full run
    reviewed = RecordLink.objects.filter(method=LinkMethod.REVIEWED).aggregate(n=Count("id"), s=Sum("record_id"))
    key = _digest([PROGRAM_VERSION, rule_set.pk, rule_set.number, rule_set.version, registry_fp,
                   sorted(applicants), line, program.today.isoformat(), program.sources, reviewed])
    return {"key": key, "sources": {s.source.code: [s.pk, relinked.get(s.pk, s.link_fingerprint)]
                                    for s in current}}


def _previous_run() -> ComparisonRun | None:
    return ComparisonRun.objects.filter(finished_at__isnull=False).order_by("-pk").first()


def _incremental_scope(previous: ComparisonRun | None, inputs: dict, rules: list[Rule], program: Program
                       ) -> dict | None:
    """{"sources": changed sources, "rules": codes of the rules to evaluate} when the run can be incremental, else
    None (a full run): no previous run, or its inputs other than the sources differ."""
    before = (previous.stats or {}).get("inputs") if previous is not None else None
    if not before or before.get("key") != inputs["key"]:
        return None
    was, now = before.get("sources") or {}, inputs["sources"]
    changed = {code for code in set(was) | set(now) if was.get(code) != now.get(code)}
    affected = []
    for rule in rules:
        read = program.sources_read(rule)
        if read is None or read & changed:
            if program.reads_across_households(rule):
                return None
            affected.append(rule)
    codes = {r.code for r in affected}
    if any(r.kind in (RuleKind.SCORING, RuleKind.PRIORITY) for r in affected):
        # an assessment is the sum of every scoring rule and the list of every priority rule met
        codes |= {r.code for r in rules if r.kind in (RuleKind.SCORING, RuleKind.PRIORITY)}
    return {"sources": changed, "rules": codes}


def _changed_households(sources: set[str], previous: ComparisonRun, current: list, persons: pa.Table, plan,
                        engine) -> list[int]:
    """Households with a member whose linked records of these sources differ (by content: a reloaded file gives
    its records new ids) between the previous run's snapshots and the current ones."""
    from fupin.exchange.public import Snapshot, load_links, planned_links, snapshot_record_data

    if not sources:
        return []
    was = (previous.stats or {}).get("inputs", {}).get("sources", {})
    old_snaps = list(Snapshot.objects.filter(pk__in=[was[c][0] for c in sources if c in was]))
    new_snaps = [s for s in current if s.source.code in sources]
    new_links = planned_links(new_snaps, plan)

    def data_of(snaps: list) -> pa.Table:
        parts = [snapshot_record_data(s) for s in snaps]
        return pa.concat_tables(parts) if parts else snapshot_record_data(None)

    pairs = ("SELECT l.person_id, md5(r.data) AS content FROM {links} l JOIN {data} r ON r.record_id = l.record_id "
             "WHERE l.person_id IS NOT NULL")
    sql = (f"WITH o AS ({pairs.format(links='old_links', data='old_data')}), "
           f"n AS ({pairs.format(links='new_links', data='new_data')}), "
           "d AS ((SELECT * FROM o EXCEPT ALL SELECT * FROM n) UNION ALL (SELECT * FROM n EXCEPT ALL SELECT * FROM o)) "
           "SELECT DISTINCT p.household_id FROM d JOIN persons_all p ON p.person_id = d.person_id "
           "WHERE p.household_id IS NOT NULL ORDER BY 1")
    out = engine.evaluate(tables={"old_links": load_links(old_snaps).select(["record_id", "person_id"]),
                                  "new_links": new_links.select(["record_id", "person_id"]),
                                  "old_data": data_of(old_snaps), "new_data": data_of(new_snaps),
                                  "persons_all": persons.select(["person_id", "household_id"])},
                          setup=[], queries={"changed": sql})["changed"]
    return [int(h) for h in out.column(0).to_pylist()]


def _scores_evaluated(rules: list[Rule]) -> bool:
    return any(r.kind in (RuleKind.SCORING, RuleKind.PRIORITY) for r in rules)


def _empty_result() -> dict:
    """The result of evaluating no rule on no household."""
    i64, s = pa.int64(), pa.string()
    return {"hits": pa.table({"household_id": pa.array([], i64), "person_id": pa.array([], i64),
                              "record_id": pa.array([], i64), "rule_code": pa.array([], s),
                              "content": pa.array([], s)}),
            "assessments": pa.table({"household_id": pa.array([], i64), "area_code": pa.array([], s),
                                     "score": pa.array([], pa.float64()), "rank": pa.array([], i64),
                                     "rank_of": pa.array([], i64), "parts": pa.array([], s),
                                     "priorities": pa.array([], s)}),
            "in_scope": pa.table({"n": pa.array([0], i64)}),
            "undecided": pa.table({"household_id": pa.array([], i64), "person_id": pa.array([], i64),
                                   "record_id": pa.array([], i64), "rule_code": pa.array([], s),
                                   "field": pa.array([], s), "value": pa.array([], s)}),
            "hit_households": pa.table({"household_id": pa.array([], i64)}),
            "hit_members": pa.table({"person_id": pa.array([], i64)}),
            "hit_links": pa.table({"record_id": pa.array([], i64), "person_id": pa.array([], i64),
                                   "method": pa.array([], s), "score": pa.array([], pa.float64())})}


def _assessments_merged(fresh: pa.Table, engine, households: pa.Table | None) -> list[tuple]:
    """The assessments an incremental run changes: the fresh scores of the households evaluated, ranked again with
    the stored ones of their villages; only the rows that differ from what is stored, as update_rows rows (parts and
    priorities as JSON text: `update_rows(..., encoded=ASSESSMENT_JSON)`). `households`: the registry's households
    (household_id, area_code), whose ids in the touched villages select the stored rows by their unique index (None
    only when nothing was evaluated: no fresh rows, nothing to merge)."""
    if not fresh.num_rows:
        return []
    villages = sorted({a[:12] for a in fresh.column("area_code").to_pylist()})
    A = Assessment._meta.db_table
    stored = []
    columns = ('SELECT household_id, area_code, score, "rank", rank_of, CAST(parts AS TEXT) AS parts, '
               f'CAST(priorities AS TEXT) AS priorities, id FROM "{A}" WHERE ')
    types = {"household_id": pa.int64(), "area_code": pa.string(), "score": pa.float64(), "rank": pa.int64(),
             "rank_of": pa.int64(), "parts": pa.string(), "priorities": pa.string(), "id": pa.int64()}
    # the stored rows of these villages by household id (an index lookup each), not by a scan of every row for its
    # village: a household's assessment carries the registry's area code, and an incremental run's registry is the
    # one of the run that wrote them (its fingerprint is in the run's inputs)
    in_villages = pc.is_in(pc.utf8_slice_codeunits(households.column("area_code"), 0, 12),
                           value_set=pa.array(villages, pa.string()))
    ids = households.filter(pc.fill_null(in_villages, False)).column("household_id").to_pylist()
    for i in range(0, len(ids), 5000):
        stored.append(fetch_arrow(columns + f"household_id IN ({_ids_sql(ids[i:i + 5000])})", types=types))
    # ranked again, joined to the stored row; a row whose score, ranks and JSON texts are all the stored ones is
    # unchanged and not returned (equal texts are equal JSON); a row whose score or ranks differ is written as it
    # is; one whose numbers are the stored ones but not its texts is compared as JSON below (the same object need
    # not be written the same way: its keys in another order, or a row written by an earlier version)
    sql = """WITH s AS (SELECT * FROM stored WHERE substr(area_code, 1, 12) IN (SELECT v FROM villages)),
             m AS (SELECT household_id, area_code, score, parts, priorities FROM fresh
                        UNION ALL SELECT household_id, area_code, score, parts, priorities FROM s
                        WHERE household_id NOT IN (SELECT household_id FROM fresh)),
             r AS (SELECT household_id, score, parts, priorities,
                    rank() OVER (PARTITION BY substr(area_code, 1, 12) ORDER BY score DESC) AS rank,
                    count(*) OVER (PARTITION BY substr(area_code, 1, 12)) AS rank_of FROM m)
             SELECT r.household_id, CAST(r.score AS DOUBLE) AS score, r.parts, r.priorities, r.rank, r.rank_of, s.id,
                    (CAST(r.score AS DOUBLE) IS DISTINCT FROM s.score OR r.rank IS DISTINCT FROM s.rank
                     OR r.rank_of IS DISTINCT FROM s.rank_of) AS numbers_differ,
                    s.parts AS old_parts, s.priorities AS old_priorities
             FROM r JOIN s USING (household_id)
             WHERE CAST(r.score AS DOUBLE) IS DISTINCT FROM s.score OR r.rank IS DISTINCT FROM s.rank
                OR r.rank_of IS DISTINCT FROM s.rank_of OR r.parts IS DISTINCT FROM s.parts
                OR r.priorities IS DISTINCT FROM s.priorities"""
    # a household in scope now but not before (no stored row) is left out: the registry changed, and the run would
    # not be incremental
    ranked = engine.evaluate(tables={"fresh": fresh.select(["household_id", "area_code", "score", "parts",
                                                            "priorities"]),
                                     "stored": pa.concat_tables(stored) if stored else fetch_arrow(
                                         columns + "1 = 0", types=types),
                                     "villages": pa.table({"v": pa.array(villages, pa.string())})},
                             setup=[], queries={"r": sql})["r"]
    rows = []
    c = ranked.to_pydict()
    for sid, score, rank, rank_of, parts, prios, differ, old_parts, old_prios in zip(
            c["id"], c["score"], c["rank"], c["rank_of"], c["parts"], c["priorities"], c["numbers_differ"],
            c["old_parts"], c["old_priorities"], strict=True):
        if differ or json.loads(old_parts) != json.loads(parts) or json.loads(old_prios) != json.loads(prios):
            rows.append((sid, float(score), int(rank), int(rank_of), parts, prios))
    return rows


ASSESSMENT_JSON = ("parts", "priorities")


def _not_understood_merged(previous: ComparisonRun, program: Program, values: list[list], undecided: dict,
                           rules: list[Rule], scope: dict) -> tuple[list[list], dict]:
    """An incremental run's not-understood report: its own for what it evaluated, the previous run's for the rest."""
    from fupin.registry.models import Household

    before = (previous.stats or {}).get("not_understood") or {}
    values = sorted([v for v in before.get("values", []) if v[0] not in program.loaded] + values,
                    key=lambda u: (u[0], u[1], -u[3], u[2]))
    codes = {r.code for r in rules}
    ids, redone = scope["households"], set()
    for i in range(0, len(ids), 5000):
        redone |= set(Household.objects.filter(pk__in=ids[i:i + 5000]).values_list("poor_code", flat=True))
    kept = [u for u in before.get("undecided", []) if u["rule"] not in codes or u["household"] not in redone]
    rows = undecided["undecided"] + kept
    total = undecided["undecided_total"] + before.get("undecided_total", 0) - (
        len(before.get("undecided", [])) - len(kept))
    return values, {"undecided": rows[:UNDECIDED_KEPT], "undecided_total": max(total, len(rows))}


UNDECIDED_KEPT = 5000


def _value_map(program: Program, tables: dict[str, pa.Table], mappings: list, engine) -> list[list]:
    """Add the `vmap` table (each distinct value of a mapped field → its mapped value, understood or not) and return
    the values no mapping knows, [[source, field, value, records], ...]."""
    from fupin.exchange.public import arrow_memory_returned

    sql = program.distinct_sql()
    cols = {"source": pa.string(), "field": pa.string(), "raw": pa.string(), "mapped": pa.string(),
            "known": pa.bool_()}
    rows: dict[str, list] = {k: [] for k in cols}
    unknown: list[list] = []
    if sql:
        resolvers = resolvers_for(mappings)
        seen = engine.evaluate(tables={k: v for k, v in tables.items() if k.startswith("raw_")}, setup=[],
                               queries={"distinct": sql})["distinct"].to_pylist()
        for r in seen:
            if r["raw"] is None:
                continue
            known, mapped = resolvers[(r["source"], r["field"])](r["raw"])
            for k, v in (("source", r["source"]), ("field", r["field"]), ("raw", r["raw"]), ("mapped", mapped),
                         ("known", known)):
                rows[k].append(v)
            if not known:
                unknown.append([r["source"], r["field"], r["raw"], int(r["n"])])
    tables["vmap"] = pa.table({k: pa.array(v, t) for (k, t), v in zip(cols.items(), rows.values(), strict=True)})
    # of the records read for their values, the rules read only the linked ones (`Program.record_table_setup`):
    # the others are let go now, not held through the evaluation (at 1x two in five)
    links = tables.get("links_all")
    raw_names = [k for k in tables if k.startswith("raw_")]
    if links is not None and raw_names:
        for name in raw_names:
            linked = links.column("record_id").filter(pc.equal(links.column("source_code"), name[len("raw_"):]))
            raw = tables[name]
            tables[name] = raw.filter(pc.is_in(raw.column("record_id"), value_set=linked))
            del raw
        arrow_memory_returned()
    return sorted(unknown, key=lambda u: (u[0], u[1], -u[3], u[2]))


def _undecided(table: pa.Table) -> dict:
    """The (household, rule, person, record) pairs a not-understood value left undecided, for the run's stats."""
    from fupin.exchange.public import StagedRecord
    from fupin.registry.models import Household

    rows = table.to_pylist()
    kept = rows[:UNDECIDED_KEPT]
    codes = dict(Household.objects.filter(pk__in={r["household_id"] for r in kept}).values_list("pk", "poor_code"))
    recs = {r.pk: r for r in StagedRecord.objects.filter(pk__in={r["record_id"] for r in kept})
            .select_related("snapshot").only("pk", "row_number", "sheet", "source_code", "snapshot__file_name")}
    out = []
    for r in kept:
        rec = recs.get(r["record_id"])
        out.append({"household": codes.get(r["household_id"], ""), "rule": r["rule_code"],
                    # the member by row: the run's stats keep no ID number (findings_export puts it back)
                    "person_id": r["person_id"], "source": rec.source_code if rec else "",
                    "field": r["field"], "value": r["value"],
                    "file": rec.snapshot.file_name if rec else "", "sheet": rec.sheet if rec else "",
                    "row": rec.row_number if rec else None})
    return {"undecided": out, "undecided_total": len(rows)}


def _link_methods(links: pa.Table, record_ids: set[int]) -> dict[tuple[int, int], tuple[str, float]]:
    """{(record, person): (method, score)} of these records' links, from the hit records' links (`hit_links`)."""
    if not record_ids or not links.num_rows:
        return {}
    part = links.filter(pc.is_in(links.column("record_id"), value_set=pa.array(sorted(record_ids), pa.int64())))
    cols = part.select(["record_id", "person_id", "method", "score"]).to_pydict()
    return {(r, p): (m, sc) for r, p, m, sc in zip(cols["record_id"], cols["person_id"], cols["method"],
                                                   cols["score"], strict=True)}


def _findings_slice(by_code: dict[str, Rule], hits_part: pa.Table, members_part: pa.Table,
                    households_part: pa.Table, hit_links: pa.Table, out: dict) -> None:
    """One slice of `_reconcile_plan`: the findings its hits (whole households) want, compared with the stored ones;
    adds to `out` the new findings, the changed and reopened ones, the counts and the keys wanted."""
    from fupin.exchange.public import records_for_evidence
    from fupin.registry.models import Household, Person

    hits = hits_part.to_pylist()
    members = {m["person_id"]: m for m in members_part.to_pylist()}
    households = {h["household_id"]: h for h in households_part.to_pylist()}
    grouped: dict[tuple, list] = defaultdict(list)
    contents: dict[tuple, list] = defaultdict(list)
    for h in hits:
        k = (h["household_id"], h["rule_code"], h["person_id"])
        grouped[k].append(h["record_id"])
        if h["content"] is not None:
            contents[k].append(h["content"])
    del hits
    dup_ids = [members[k[2]]["id_number"] for k in grouped if by_code[k[1]].subject == "member" and k[2] in members]
    dup_households: dict[str, list[str]] = defaultdict(list)
    if dup_ids:
        for number, code in Person.objects.filter(blind_q(Person, "id_number", dup_ids), household__isnull=False).values_list(
                "id_number", "household__poor_code"):
            dup_households[number].append(code or "")
    # 1. every hit's key and evidence hash; record rules hash the records' content computed in the engine, so the
    #    evidence itself is only built for findings that are new or whose evidence changed
    wanted: dict[str, dict] = {}
    for (hh_id, code, person_id), rec_ids in grouped.items():
        rule = by_code[code]
        member = members.get(person_id) if person_id is not None else None
        number = member["id_number"] if member and member["id_valid"] else ""
        person_key = number or (f"p{person_id}" if person_id is not None else "")
        key = _digest([hh_id, code, person_key])[:64]
        w = {"household_id": hh_id, "person_id": person_id, "number": number, "rule": rule, "member": member,
             "record_ids": rec_ids, "evidence": None}
        if rule.subject in ("member", "household"):
            w["evidence"], content = _evidence(rule, member, households.get(hh_id), rec_ids, {}, {},
                                               dup_households.get(number, []))
            w["hash"] = _digest([code, content])
        else:
            w["hash"] = _digest([code, sorted(contents[(hh_id, code, person_id)])])
        wanted[key] = w
    out["wanted"].update(wanted)
    existing = {f.key: f for f in Finding.objects.filter(key__in=list(wanted)).defer("evidence")}
    need = [k for k, w in wanted.items() if w["evidence"] is None and (
        k not in existing or existing[k].evidence_hash != w["hash"]
        or existing[k].status == Finding.Status.CLEARED)]
    record_ids = {rid for k in need for rid in wanted[k]["record_ids"] if rid is not None}
    records = records_for_evidence(record_ids)
    link_method = _link_methods(hit_links, record_ids)
    for k in need:
        w = wanted[k]
        w["evidence"], _records = _evidence(w["rule"], w["member"], households.get(w["household_id"]), w["record_ids"],
                                     records, link_method, [])
    del records, link_method
    hh_ids = {w["household_id"] for k, w in wanted.items() if k not in existing or w["evidence"] is not None}
    # only what findings, their tasks and titles read (a whole household row opens sealed fields and decimals)
    hh_objs = Household.objects.only("id", "poor_code", "hukou_no", "head_name", "area_code", "grid_id",
                                     "village_id").in_bulk(list(hh_ids))
    changes, new_objs, changed, reopened = out["changes"], out["new"], out["changed"], out["reopened"]
    for key, w in wanted.items():
        f = existing.get(key)
        hh = hh_objs.get(w["household_id"])
        if f is None:
            new_objs.append(Finding(
                key=key, household=hh, household_code=hh.poor_code or "", person_id=w["person_id"],
                person_id_number=w["number"], rule=w["rule"], rule_code=w["rule"].code, rule_name=w["rule"].name,
                source_code=_source_of(w["rule"]), evidence=w["evidence"], evidence_hash=w["hash"],
                area_code=hh.area_code))
            changes["new"] += 1
            continue
        if f.status in (Finding.Status.DISMISSED, Finding.Status.CORRECTED) and f.evidence_hash == w["hash"]:
            changes["kept_dismissed"] += 1
            continue
        if f.status in (Finding.Status.DISMISSED, Finding.Status.CORRECTED, Finding.Status.CLEARED):
            f.status = Finding.Status.OPEN
            f.version += 1
            reopened.append(f)
            changes["reopened"] += 1
        elif f.evidence_hash != w["hash"]:
            changes["updated"] += 1
        else:
            continue
        f.evidence, f.evidence_hash, f.rule = w["evidence"], w["hash"], w["rule"]
        if hh is not None:
            f.area_code, f.household = hh.area_code, hh  # loaded once above, not per finding
        changed.append(f)


# SQLite's page cache (MB, a ceiling) while the findings are planned and while the findings' transaction writes them
# and the assessments (`core.bulk.page_cache`): at 10x the findings' table, its unique key index and the indexes
# built again after a first load outgrow the 2 MB default, and pages read again and again grew faster than the rows
WRITE_PAGE_CACHE_MB = 256

# hits planned at a time (`_reconcile_plan`): the hits, members, evidence records and households of one slice are
# Python objects only while it is planned (at 1x: 8,705 hits, one slice)
FINDINGS_SLICE = 20_000


def _plan_slices(household_ids: pa.Array, size: int) -> list[tuple[int, int]]:
    """(offset, length) of consecutive slices of about `size` rows of rows sorted by household: a slice ends only
    where the household changes, so that a household's rows (its findings' hits) are never in two slices."""
    n = len(household_ids)
    out, start = [], 0
    ids = household_ids.to_numpy(zero_copy_only=False) if n else None
    while start < n:
        end = min(start + max(size, 1), n)
        while end < n and ids[end] == ids[end - 1]:
            end += 1
        out.append((start, end - start))
        start = end
    return out


def _reconcile_plan(rules: list[Rule], result: dict, keep_rules: set[str] = frozenset(),
                    only: list[int] | None = None, slice_size: int | None = None) -> dict:
    """Which findings this run's hits open, change, keep or clear — computed, nothing written. Findings of
    `keep_rules` (not evaluated in this run) are left as they are; an incremental run (`only`: those it
    evaluated) may clear only the findings of its `rules` on those households. The hits (ordered by household) are
    planned in slices of about `slice_size` (FINDINGS_SLICE) rows, never cutting a household: what a slice turns
    into Python objects to decide (hit rows, members, households, the records its evidence cites, the stored
    findings it compares with) is let go before the next; what the write needs is kept."""
    by_code = {r.code: r for r in rules}
    hits = result["hits"]
    out = {"changes": {"new": 0, "reopened": 0, "kept_dismissed": 0, "updated": 0, "cleared": 0}, "new": [],
           "changed": [], "reopened": [], "wanted": set()}
    for offset, length in _plan_slices(hits.column("household_id"), slice_size or FINDINGS_SLICE):
        part = hits.slice(offset, length)
        in_part = pc.unique(part.column("household_id"))
        _findings_slice(by_code, part, *(
            t.filter(pc.is_in(t.column("household_id"), value_set=in_part))
            for t in (result["hit_members"], result["hit_households"])), result["hit_links"], out)
    wanted, changes = out["wanted"], out["changes"]
    # open findings no hit of this run keeps (but those of rules not evaluated, and findings received from outside
    # — the national system's suspect data — which are not the rule set's to clear)
    stale = Finding.objects.filter(status=Finding.Status.OPEN).exclude(rule_code__in=list(keep_rules)).exclude(
        key__startswith=EXTERNAL_KEY_PREFIX)
    fields = ("pk", "key", "uuid", "area_code", "household_code", "rule_name", "rule_code", "status", "version")
    if only is None:
        candidates = list(stale.only(*fields))
    else:
        candidates = [f for i in range(0, len(only), 5000) for f in stale.filter(
            rule_code__in=list(by_code), household_id__in=only[i:i + 5000]).only(*fields)]
    cleared = [f for f in candidates if f.key not in wanted]
    changes["cleared"] = len(cleared)
    return {"changes": changes, "new": out["new"], "changed": out["changed"], "reopened": out["reopened"],
            "cleared": cleared}


def _reconcile_apply(run: ComparisonRun, plan: dict) -> dict:
    """Write what `_reconcile_plan` decided: set-based updates and inserts, inbox tasks posted and closed."""
    from django.db.models import F

    from fupin.inbox.services import inbox_close_by_keys

    now = timezone.now()
    changed, new_objs, cleared = plan["changed"], plan["new"], plan["cleared"]
    for f in changed:
        f.updated_at, f.last_run = now, run
    # a finding this run finds as it was is not written (its last_run names the last run that changed it)
    Finding.objects.bulk_update(changed, ["status", "version", "evidence", "evidence_hash", "rule", "area_code",
                                          "updated_at", "last_run"], batch_size=500)
    _insert_findings(run, new_objs)
    to_post = [*plan["reopened"], *new_objs]
    # cleared in one statement per 5,000, their tasks closed likewise (no per-row saves)
    ids = [f.pk for f in cleared]
    for i in range(0, len(ids), 5000):
        Finding.objects.filter(pk__in=ids[i:i + 5000]).update(status=Finding.Status.CLEARED,
                                                              version=F("version") + 1, updated_at=now, last_run=run)
    inbox_close_by_keys(dedupe_keys=[f.inbox_key for f in cleared])
    for f in cleared:
        f.status, f.version = Finding.Status.CLEARED, f.version + 1
    _post_tasks(to_post)
    if audit.has_listeners():
        audit.announce([_finding_change(f, "eligibility.finding.open") for f in to_post]
                       + [_finding_change(f, "eligibility.finding.clear") for f in cleared])
    return plan["changes"]


NEW_FINDING_COLUMNS = ["uuid", "key", "household_id", "household_code", "person_id", "person_id_number", "rule_id",
                       "rule_code", "rule_name", "source_code", "evidence", "evidence_hash", "area_code",
                       "first_run_id", "last_run_id"]


def _insert_findings(run: ComparisonRun, new_objs: list[Finding]) -> None:
    """Insert new findings with the core bulk writer (COPY / executemany, not the ORM's per-field preparation),
    then give the objects their ids (one read of key → id) for the inbox tasks and audit events that name them."""
    for f in new_objs:
        f.first_run, f.last_run = run, run
    BulkWriter(Finding, columns=NEW_FINDING_COLUMNS).write(
        ([getattr(f, c) for c in NEW_FINDING_COLUMNS] for f in new_objs),
        set_indexes_aside=_indexes_aside(), expected_rows=len(new_objs))
    keys = [f.key for f in new_objs]
    ids: dict[str, int] = {}
    for i in range(0, len(keys), 5000):
        ids.update(Finding.objects.filter(key__in=keys[i:i + 5000]).values_list("key", "pk"))
    for f in new_objs:
        f.pk = ids[f.key]
        f._state.adding, f._state.db = False, "default"


def _finding_change(f: Finding, action: str) -> audit.Change:
    return audit.Change(action=action, object_type="eligibility.finding", object_id=str(f.pk), area_code=f.area_code,
                        object_uuid=str(f.uuid), object_repr=str(f)[:200], after={"status": f.status,
                                                                                   "rule_code": f.rule_code})


def _source_of(rule: Rule) -> str:
    return "registry" if rule.subject in ("member", "household") else rule.subject


def _evidence(rule: Rule, member, household, rec_ids, records, link_method, dup_households) -> tuple[dict, object]:
    """The evidence shown to the grid worker, and the content that decides whether the evidence changed."""
    ev: dict = {"rule": rule.code, "description": rule.description}
    if member:
        ev["member"] = {"name": member["name"], "relationship": member["relationship"],
                        "id_number": member["id_number"]}
    if rule.subject in ("member", "household"):
        from fupin.eligibility.expressions import fields_used, parse

        facts_src = member if rule.subject == "member" and member else (household or {})
        used = sorted(fields_used(parse(rule.expression)))
        facts = {k: (facts_src.get(k) if k in facts_src else (household or {}).get(k)) for k in used}
        ev["facts"] = facts
        content: object = {"facts": facts}
        if rule.code == "duplicate_member" or "same_id_households" in used:
            ev["households"] = sorted(set(dup_households))
            content = {"households": ev["households"]}
        return ev, content
    items, content_items = [], []
    for rid in sorted(r for r in rec_ids if r is not None):
        rec = records.get(rid)
        if rec is None:
            continue
        fields = {k: v for k, v in rec.data.items() if not rule.evidence_fields or k in rule.evidence_fields}
        method, score = link_method.get((rid, member["person_id"] if member else None), ("", None))
        items.append({"source": rec.source_code, "file": rec.file_name, "row": rec.row_number,
                      "snapshot": rec.snapshot_id, "record": rec.pk, "fields": fields,
                      "id_as_received": rec.id_raw, "link": method,
                      "link_score": round(score, 4) if score is not None else None})
        content_items.append(_digest(rec.data))
    ev["records"] = items
    return ev, sorted(content_items)


def _post_tasks(findings: list[Finding]) -> None:
    """A verification task per finding for the household's grid worker (else the town staff), posted in bulk."""
    from fupin.geo import responsible
    from fupin.inbox.services import inbox_post_many

    workers = responsible.household_answerers({f.household.pk: f.household for f in findings}.values())
    due = timezone.localdate() + dt.timedelta(days=15)
    items = []
    for f in findings:
        hh = f.household
        body = (f.rule.description if f.rule else f.evidence.get("description", "")) + \
            "\n请入户核实后确认、说明理由后排除,或更正数据。"
        for user_id in workers.get(hh.pk, []):
            items.append({"user_id": user_id, "kind": "verify", "title": f"核实比对发现:{hh} {f.rule_name}",
                          "body": body, "url": f.get_absolute_url(), "obj": f, "area_code": f.area_code,
                          "due_date": due, "dedupe_key": f.inbox_key})
    inbox_post_many(items)


def _inbox_close(f: Finding) -> None:
    from fupin.inbox.services import inbox_close_by_key

    inbox_close_by_key(dedupe_key=f.inbox_key)


def _write_assessments(run: ComparisonRun, table: pa.Table, previous_digest: str) -> int:
    """Replace the assessments, unless they are exactly those of the previous run (a digest says so).

    The table (at 10x 1.1 million rows) comes in household order (the rules' query sorts it) and is not copied
    whole: its rows go ASSESSMENTS_SLICE at a time to the digest (the IPC stream of those slices, hashed as it is
    written) and again to the write (Python values a slice at a time)."""
    ids = table.column("household_id")
    if table.num_rows > 1 and not pc.all(pc.less(ids.slice(0, table.num_rows - 1), ids.slice(1))).as_py():
        table = table.sort_by("household_id")  # not in order (an engine that did not keep the query's): a copy
    del ids

    def slices():
        for offset in range(0, table.num_rows, ASSESSMENTS_SLICE):
            yield table.slice(offset, ASSESSMENTS_SLICE)

    sink = _Hashed()  # the IPC stream hashed as it is written, not held
    with pa.ipc.new_stream(sink, table.schema) as writer:
        for part in slices():  # one batch each, whatever the engine's chunks: the same rows, the same digest
            writer.write_table(part.combine_chunks())
    digest = sink.sha256.hexdigest()
    run.stats["assessments_digest"] = digest
    if previous_digest == digest and Assessment.objects.exists():
        return 0
    Assessment.objects.all().delete()
    columns = ["household_id", "run_id", "score", "rank", "rank_of", "parts", "priorities", "area_code"]
    writer = BulkWriter(Assessment, columns=columns, encoded=ASSESSMENT_JSON)
    # the columns in their database types (integers, floats, JSON text, text): the rows go as they are, without a
    # per-row conversion step, when the writer has nothing to convert (as on SQLite and PostgreSQL)
    typed = {"household_id": pa.int64(), "score": pa.float64(), "rank": pa.int64(), "rank_of": pa.int64(),
             "parts": pa.string(), "priorities": pa.string(), "area_code": pa.string()}

    def rows():  # Python values a slice at a time (at 10x 1.1 million rows: not all of them at once)
        for part in slices():
            cols = {name: pc.cast(part.column(name), t).to_pylist() for name, t in typed.items()}
            del part
            yield from zip(cols["household_id"], itertools.repeat(run.pk), cols["score"], cols["rank"],
                           cols["rank_of"], cols["parts"], cols["priorities"], cols["area_code"])

    # the table was just emptied: its non-unique indexes (run, area) are built again once from the whole column
    # rather than kept up to date row by row (`_indexes_aside`)
    aside = {"set_indexes_aside": _indexes_aside(), "expected_rows": table.num_rows}
    if writer.takes_rows_as_they_are() and len(writer.fields) == len(columns):
        return writer.write_prepared(rows(), **aside)
    return writer.write(rows(), **aside)


def _indexes_aside() -> bool:
    """Whether the findings' transaction sets a (nearly) empty table's non-unique indexes aside while it loads it
    (`BulkWriter.write`'s `set_indexes_aside`: at least REBUILD_MIN rows into a table holding fewer): on SQLite,
    where inserting hundreds of thousands of keys in random order into an index larger than the page cache is what
    grew faster than the rows. Not on PostgreSQL: the dropped indexes would lock the table (the assessments and
    findings the pages read) until the whole transaction commits."""
    return connection.vendor == "sqlite"


ASSESSMENTS_SLICE = 50_000


class _Hashed(io.RawIOBase):
    """A write-only file that keeps only the SHA-256 of what is written to it."""

    def __init__(self) -> None:
        super().__init__()
        self.sha256 = hashlib.sha256()

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self.sha256.update(data)
        return len(data)


def _counts() -> tuple[dict, dict]:
    from django.db.models import Count

    active = [Finding.Status.OPEN, Finding.Status.CONFIRMED]
    by_rule = {r["rule_code"]: r["n"] for r in Finding.objects.filter(status__in=active).values("rule_code")
               .annotate(n=Count("id"))}
    by_village: dict[str, dict] = defaultdict(dict)
    rows = (Finding.objects.filter(status__in=active).values("area_code", "rule_code").annotate(n=Count("id")))
    for r in rows:
        v = r["area_code"][:12]
        by_village[v][r["rule_code"]] = by_village[v].get(r["rule_code"], 0) + r["n"]
    return by_rule, dict(by_village)


# -- a finding's lifecycle ---------------------------------------------------------------------------------------

def _decide(actor, finding: Finding, status: str, reason: str, action: str) -> Finding:
    f = Finding.objects.select_for_update().get(pk=finding.pk)
    if f.status == Finding.Status.CLEARED:
        raise ServiceError(_("The finding no longer appears in the comparison: nothing to do"))
    before = {"status": f.status, "reason": f.reason}
    f.status, f.reason = status, reason
    f.decided_by, f.decided_at = _user(actor), timezone.now()
    f.version += 1
    f.save()
    _inbox_close(f)
    audit.record(actor=actor, action=action, obj=f, area_code=f.area_code, before=before,
                 after={"status": status, "reason": reason})
    return f


@transaction.atomic
def finding_confirm(*, actor, finding: Finding, note: str = "") -> Finding:
    """The grid worker verified the finding: the household does not meet the standard on this point."""
    return _decide(actor, finding, Finding.Status.CONFIRMED, note.strip(), "eligibility.finding.confirm")


@transaction.atomic
def finding_dismiss(*, actor, finding: Finding, reason: str) -> Finding:
    """Not true on the ground (e.g. the car was sold, a namesake). Needs a reason; it stays dismissed until its
    evidence changes."""
    if not (reason or "").strip():
        raise ServiceError(_("Dismissing a finding needs a reason"), field="reason")
    return _decide(actor, finding, Finding.Status.DISMISSED, reason.strip(), "eligibility.finding.dismiss")


@transaction.atomic
def finding_correct(*, actor, finding: Finding, note: str) -> Finding:
    """The registry data was wrong and has been corrected (what was corrected goes in the note)."""
    if not (note or "").strip():
        raise ServiceError(_("Say which data were corrected"), field="note")
    return _decide(actor, finding, Finding.Status.CORRECTED, note.strip(), "eligibility.finding.correct")


@transaction.atomic
def finding_open_external(*, actor, household, source_code: str, rule_code: str, rule_name: str, description: str,
                          evidence: dict, person=None, key: str) -> tuple[Finding, bool]:
    """Open a finding received from outside the comparison (e.g. the national system's suspect data) in the same
    verification flow: a task in the grid worker's inbox, confirm / dismiss / correct as for any finding.

    `key` identifies the finding at its source: receiving the same one again changes nothing (returns created=False),
    and a comparison run never clears it. Returns (finding, created).
    """
    full_key = (EXTERNAL_KEY_PREFIX + _digest([source_code, key]))[:64]
    existing = Finding.objects.filter(key=full_key).first()
    if existing is not None:
        return existing, False
    ev = {"rule": rule_code, "description": description, **evidence}
    f = Finding.objects.create(
        key=full_key, household=household, household_code=household.poor_code or "", person=person,
        person_id_number=(person.id_number if person is not None and person.id_valid else "")[:18],
        rule_code=rule_code[:40], rule_name=rule_name[:100], source_code=source_code[:40], evidence=ev,
        evidence_hash=_digest(ev), area_code=household.area_code)
    f.household = household
    _post_tasks([f])
    audit.record(actor=actor, action="eligibility.finding.open", obj=f, area_code=f.area_code,
                 after={"status": f.status, "rule_code": f.rule_code, "source_code": f.source_code})
    return f, True


def findings_export() -> dict:
    """The `fupin compare --out` document: open and confirmed findings."""
    rows = sorted(  # ordered here: the ID number is sealed (a database ORDER BY would sort ciphertexts)
        Finding.objects.filter(status__in=[Finding.Status.OPEN, Finding.Status.CONFIRMED])
        .values("id", "household_code", "rule_code", "person_id_number", "source_code", "evidence"),
        key=lambda r: (r["household_code"], r["rule_code"], r["person_id_number"], r["id"]))
    run = ComparisonRun.objects.filter(finished_at__isnull=False).first()
    nu = (run.stats or {}).get("not_understood") or {} if run else {}
    values = [{"source": s, "field": f, "value": v, "records": n} for s, f, v, n in nu.get("values", [])]
    from fupin.registry.models import Person

    undecided = nu.get("undecided", [])
    numbers = dict(Person.objects.filter(pk__in={u.get("person_id") for u in undecided} - {None})
                   .values_list("pk", "id_number"))
    undecided = [{**{k: v for k, v in u.items() if k != "person_id"},
                  "person": u.get("person") or numbers.get(u.get("person_id")) or None} for u in undecided]
    return {"findings": [{"household": r["household_code"], "rule": r["rule_code"],
                          "person": r["person_id_number"] or None, "source": r["source_code"],
                          "evidence": r["evidence"]} for r in rows],
            # 不能识别: values no mapping knows, and the rule/record pairs they left undecided (never "no match")
            "not_understood": {"values": values, "undecided": undecided,
                               "undecided_total": nu.get("undecided_total", 0)}}
