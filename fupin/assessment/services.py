"""Writes of assessment and screening: schemes (draft → released), score runs, field checks, policy gaps, kinship
flags and risk alerts. Every service is keyword-only, takes `actor`, runs in one transaction and is audited."""


from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from fupin.assessment import defaults, scoring, screening
from fupin.assessment.choices import (
    INCOME_SURVEY,
    AlertStatus,
    CheckStatus,
    GapStatus,
    Relation,
    SchemeStatus,
    Stratum,
    SubjectKind,
)
from fupin.assessment.facts import parse_period
from fupin.assessment.models import (
    CheckSample,
    FieldCheck,
    Indicator,
    KinshipFlag,
    PolicyGap,
    PolicyRule,
    PolicyRuleRevision,
    RiskAlert,
    Scheme,
    Score,
    ScoreRun,
    StaffIdentity,
)
from fupin.core import audit
from fupin.core import extensions as ext
from fupin.core.errors import ServiceError
from fupin.core.fields import blind_q
from fupin.core.i18n import shown, stored
from fupin.eligibility.expressions import ExpressionError

EXITED_STATUSES = ("1", "4", "已脱贫(享受政策)", "已脱贫(不再享受政策)")


def _user(actor):
    return actor if getattr(actor, "pk", None) else None


def _actor_name(actor) -> str:
    return actor.get_username() if _user(actor) else str(actor or "system")


def _require(actor, area_code: str) -> None:
    """Writes stay inside the actor's jurisdiction (a system actor may write anywhere)."""
    from fupin.core import scoping

    scoping.require(_user(actor), area_code, None)


# -- schemes -----------------------------------------------------------------------------------------------------

def scheme_current() -> Scheme | None:
    return Scheme.objects.filter(status=SchemeStatus.RELEASED).order_by("-number").first()


@transaction.atomic
def scheme_ensure_default(*, actor="system") -> Scheme:
    """The released scheme; when there is none at all, the default pack is loaded and released as version 1."""
    current = scheme_current()
    if current is not None:
        return current
    if Scheme.objects.exists():
        raise ServiceError(_("No assessment scheme is released: release a version first"))
    scheme = Scheme.objects.create(
        name="默认考评方案", number=1, status=SchemeStatus.RELEASED, period_weights=defaults.DEFAULT_PERIOD_WEIGHTS,
        grades=defaults.DEFAULT_GRADES, caps=defaults.DEFAULT_CAPS, released_at=timezone.now(),
        released_by_name=_actor_name(actor), created_by=_user(actor),
        description="上半年30%、全年考核70%;抽查准确率低于98%的不得评为优秀")
    rows = []
    for kind, inds in defaults.DEFAULT_INDICATORS.items():
        for order, (code, name, formula, applies, direction, target, weight, unit, drill) in enumerate(inds):
            rows.append(Indicator(scheme=scheme, code=code, name=name, subject_kind=kind, formula=formula,
                                  applies_when=applies, direction=direction, target=target, weight=weight,
                                  unit=unit, drill=drill, order=order))
    Indicator.objects.bulk_create(rows)
    audit.record(actor=actor, action="assessment.scheme.release", obj=scheme, area_code="",
                 after={"number": 1, "indicators": len(rows)})
    return scheme


@transaction.atomic
def scheme_draft(*, actor, based_on: Scheme | None = None, name: str = "") -> Scheme:
    """A new draft version copying `based_on` (default: the released scheme)."""
    base = based_on or scheme_ensure_default(actor=actor)
    number = (Scheme.objects.order_by("-number").values_list("number", flat=True).first() or 0) + 1
    draft = Scheme.objects.create(name=name.strip()[:100] or base.name, number=number, based_on=base,
                                  period_weights=base.period_weights, grades=base.grades, caps=base.caps,
                                  description=base.description, created_by=_user(actor))
    Indicator.objects.bulk_create([Indicator(scheme=draft, **{f: getattr(i, f) for f in (
        "code", "name", "subject_kind", "formula", "applies_when", "direction", "target", "weight", "unit", "drill",
        "description", "order")}) for i in base.indicators.all()])
    audit.record(actor=actor, action="assessment.scheme.draft", obj=draft, after={"based_on": base.number})
    return draft


def _check_indicator(formula: str, applies: str) -> None:
    try:
        scoring.check_formula(formula)
        if applies.strip():
            scoring.check_formula(applies, as_bool=True)
    except ExpressionError as exc:
        raise ServiceError(_("Formula error: %(message)s") % {"message": exc.message}, field="formula") from exc


@transaction.atomic
def indicator_save(*, actor, scheme: Scheme, code: str, name: str, subject_kind: str, formula: str,
                   direction: str = "higher", target: float, weight: float, applies_when: str = "", unit: str = "",
                   drill: str = "") -> Indicator:
    """Add or change an indicator of a draft scheme; the formula must parse over the known facts."""
    if scheme.status != SchemeStatus.DRAFT:
        raise ServiceError(_("A released scheme cannot be changed: make a new draft version"))
    if subject_kind not in SubjectKind.values:
        raise ServiceError(_("Invalid assessment subject"), field="subject_kind")
    if direction not in ("higher", "lower"):
        raise ServiceError(_("Invalid indicator direction"), field="direction")
    code = (code or "").strip()
    if not code or not code.replace("_", "").isalnum() or not code.isascii():
        raise ServiceError(_("An indicator code may contain only letters, digits and underscores"), field="code")
    if weight is None or float(weight) <= 0:
        raise ServiceError(_("The weight must be greater than 0"), field="weight")
    _check_indicator(formula, applies_when)
    ind, created = Indicator.objects.update_or_create(
        scheme=scheme, subject_kind=subject_kind, code=code,
        defaults={"name": name.strip()[:100] or code, "formula": formula.strip(), "applies_when": applies_when.strip(),
                  "direction": direction, "target": float(target), "weight": float(weight), "unit": unit[:20],
                  "drill": drill[:30]})
    audit.record(actor=actor, action="assessment.indicator.save", obj=ind, area_code="",
                 after={"scheme": scheme.number, "formula": ind.formula, "created": created})
    return ind


@transaction.atomic
def indicator_delete(*, actor, indicator: Indicator) -> None:
    if indicator.scheme.status != SchemeStatus.DRAFT:
        raise ServiceError(_("A released scheme cannot be changed: make a new draft version"))
    audit.record(actor=actor, action="assessment.indicator.delete", obj=indicator, area_code="",
                 before={"code": indicator.code, "formula": indicator.formula})
    indicator.delete()


@transaction.atomic
def scheme_release(*, actor, scheme: Scheme) -> Scheme:
    if scheme.status != SchemeStatus.DRAFT:
        raise ServiceError(_("Only a draft can be released"))
    if not scheme.indicators.exists():
        raise ServiceError(_("The scheme has no indicator"))
    for ind in scheme.indicators.all():
        _check_indicator(ind.formula, ind.applies_when)
    Scheme.objects.filter(status=SchemeStatus.RELEASED).update(status=SchemeStatus.RETIRED)
    scheme.status = SchemeStatus.RELEASED
    scheme.released_at = timezone.now()
    scheme.released_by = _user(actor)
    scheme.released_by_name = _actor_name(actor)
    scheme.version += 1
    scheme.save()
    audit.record(actor=actor, action="assessment.scheme.release", obj=scheme, area_code="",
                 after={"number": scheme.number})
    return scheme


# -- score runs --------------------------------------------------------------------------------------------------

@transaction.atomic
def assess_run(*, actor, period: str, scheme: Scheme | None = None, engine=None) -> tuple[ScoreRun, dict]:
    """Compute and store every subject's score for a period; the run becomes the period's current one."""
    from fupin.core.bulk import insert_rows

    try:
        parse_period(period)
    except ValueError as exc:
        raise ServiceError(str(exc), field="period") from exc
    scheme = scheme or scheme_ensure_default(actor=actor)
    if scheme.status != SchemeStatus.RELEASED:
        raise ServiceError(_("Assessments use a released scheme only"))
    started = timezone.now()
    result = scoring.assess(scheme, period, engine=engine)
    code = result["period"]
    ScoreRun.objects.filter(period=code, is_current=True).update(is_current=False)
    by_kind: dict[str, int] = {}
    for s in result["subjects"]:
        by_kind[s["kind"]] = by_kind.get(s["kind"], 0) + 1
    run = ScoreRun.objects.create(scheme=scheme, period=code, actor=_user(actor), actor_name=_actor_name(actor),
                                  stats={"subjects": by_kind, "scheme": scheme.number,
                                         "seconds": round((timezone.now() - started).total_seconds(), 3)})
    insert_rows(Score, [{"run_id": run.pk, "period": code, "kind": s["kind"], "code": s["code"],
                         "name": s["name"][:100], "area_code": s["area_code"][:15],
                         "score": s["score"] if s["score"] is not None else 0.0, "rank": s["rank"],
                         "rank_of": s["rank_of"], "grade": s["grade"], "indicators": s["indicators"],
                         "parts": s["parts"]} for s in result["subjects"]])
    audit.record(actor=actor, action="assessment.run", object_type="assessment.scorerun", object_id=str(run.pk),
                 object_repr=f"考评 {code}", after=run.stats)
    return run, result


# -- field checks (抽查) -------------------------------------------------------------------------------------------

def _stratum(hh) -> str:
    if not hh.is_registered_poor:
        return Stratum.OTHER
    return Stratum.EXITED if (hh.poverty_status or "") in EXITED_STATUSES else Stratum.POOR


def draw_sample(households: list, *, share: float | None, count: int | None, seed: int) -> list:
    """The sampled households: within each group (poor, exited, other) sorted by id, shuffled with the seed,
    the first `count` or ceil(share × size); the same inputs give the same sample."""
    import math

    groups: dict[str, list] = {}
    for hh in sorted(households, key=lambda h: h.pk):
        groups.setdefault(_stratum(hh), []).append(hh)
    picked = []
    for name in sorted(groups):
        members = groups[name]
        rng = random.Random(f"{seed}:{name}")
        rng.shuffle(members)
        n = min(len(members), count if count is not None else math.ceil((share or 0) * len(members)))
        picked += members[:n]
    return picked


@transaction.atomic
def sample_create(*, actor, village, year: int, share: float | None = None, count: int | None = None,
                  seed: int | None = None) -> CheckSample:
    """Draw a reproducible sample of a village's households for field checks."""
    from fupin.registry.models import Household

    if village.level not in ("village", "community"):
        raise ServiceError(_("A spot check is drawn in a village (community)"))
    _require(actor, village.code)
    if (share is None) == (count is None):
        raise ServiceError(_("Give either the sampling ratio or the households per group"), field="share")
    if share is not None and not 0 < share <= 1:
        raise ServiceError(_("The sampling ratio must be between 0 and 1"), field="share")
    if count is not None and count <= 0:
        raise ServiceError(_("The households per group must be greater than 0"), field="count")
    seed = int(seed) if seed is not None else random.SystemRandom().randint(1, 999_999)
    households = list(Household.objects.filter(village=village, dissolved_on__isnull=True))
    picked = draw_sample(households, share=share, count=count, seed=seed)
    if not picked:
        raise ServiceError(_("The village has no household to check"))
    sample = CheckSample.objects.create(village=village, area_code=village.code, year=year, share=share, count=count,
                                        seed=seed, drawn_by=_user(actor))
    FieldCheck.objects.bulk_create([FieldCheck(sample=sample, household=h, area_code=h.area_code,
                                               stratum=_stratum(h)) for h in picked])
    audit.record(actor=actor, action="assessment.sample.create", obj=sample,
                 after={"seed": seed, "share": share, "count": count, "households": len(picked)})
    return sample


def _tri(value) -> bool | None:
    if value in (None, ""):
        return None
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "是", "on"):
        return True
    if text in ("0", "false", "no", "否", "off"):
        return False
    raise ServiceError(_("Unrecognised answer “%(value)s”") % {"value": value})


@transaction.atomic
def check_record(*, actor, check: FieldCheck, satisfied, correctly_identified=None, wrongly_exited=None,
                 missed_found=None, note: str = "", checked_on: dt.date | None = None,
                 version: int | None = None) -> FieldCheck:
    """Record a field check's result (the phone form); the answer for the household's group is required."""
    _require(actor, check.area_code)
    if version is not None and int(version) != check.version:
        raise ServiceError(_("Someone else changed this spot-check record: reload and fill it in again"))
    before = audit.snapshot(check)
    answers = {"correctly_identified": _tri(correctly_identified), "wrongly_exited": _tri(wrongly_exited),
               "missed_found": _tri(missed_found), "satisfied": _tri(satisfied)}
    needed = {Stratum.POOR: "correctly_identified", Stratum.EXITED: "wrongly_exited",
              Stratum.OTHER: "missed_found"}[check.stratum]
    if answers[needed] is None:
        raise ServiceError({"correctly_identified": _("Answer whether the identification was accurate"), "wrongly_exited": _("Answer whether the exit was wrong"),
                            "missed_found": _("Answer whether the household was missed")}[needed], field=needed)
    checked_on = checked_on or timezone.localdate()
    if checked_on > timezone.localdate():
        raise ServiceError(_("The spot-check date cannot be later than today"), field="checked_on")
    for field in ("correctly_identified", "wrongly_exited", "missed_found"):
        setattr(check, field, answers[field] if field == needed else None)
    check.satisfied = answers["satisfied"]
    check.note = (note or "").strip()[:300]
    check.checked_on = checked_on
    check.checked_by = _user(actor)
    check.status = CheckStatus.DONE
    check.version += 1
    check.save()
    audit.record(actor=actor, action="assessment.check.record", obj=check, before=before,
                 after=audit.snapshot(check))
    return check


# -- policy gaps (应享未享) -----------------------------------------------------------------------------------------

def _revise(rule: PolicyRule, *, actor, origin: str, note: str = "") -> None:
    PolicyRuleRevision.objects.create(rule=rule, revision=rule.revision, name=rule.name, eligible=rule.eligible,
                                      covered=rule.covered, origin=origin, note=note[:300],
                                      saved_by_name=_actor_name(actor))


def _pack_origin(rule: PolicyRule) -> str:
    """The origin of a rule saved before rules were versioned: an earlier pack's text, or the county's own."""
    if rule.origin:
        return rule.origin
    texts = (rule.eligible.strip(), rule.covered.strip())
    if texts in [(e, c) for e, c in defaults.EARLIER_POLICY_RULES.get(rule.code, [])]:
        return "pack:1"
    current = {d[0]: (d[4], d[5]) for d in defaults.DEFAULT_POLICY_RULES}
    return f"pack:{defaults.POLICY_PACK_VERSION}" if current.get(rule.code) == texts else "county"


@transaction.atomic
def policy_rules_ensure_default(*, actor="system") -> list[PolicyRule]:
    """The starting pack of policy rules: created once, and a rule the county never edited is brought up to the
    newest pack version as a new revision (the county's own edits are left alone)."""
    from fupin.assistance.models import Policy
    from fupin.org.models import Department

    existing = {r.code: r for r in PolicyRule.objects.select_for_update()}
    made, upgraded = [], []
    from fupin.assistance.services import policy_create

    pack = f"pack:{defaults.POLICY_PACK_VERSION}"
    for code, name, guarantee, subject, eligible, covered, policy_name, dep, kind in defaults.DEFAULT_POLICY_RULES:
        rule = existing.get(code)
        if rule is not None:
            origin = _pack_origin(rule)
            if origin == "county" or origin == pack:
                if rule.origin != origin:
                    rule.origin = origin
                    rule.save(update_fields=["origin"])
                continue
            before = {"revision": rule.revision, "eligible": rule.eligible, "covered": rule.covered, "origin": origin}
            if not rule.revisions.exists():
                _revise(rule, actor=actor, origin=origin, note="规则版本化之前的文本")
            rule.name, rule.eligible, rule.covered, rule.origin = name, eligible, covered, pack
            rule.revision += 1
            rule.version += 1
            rule.save(update_fields=["name", "eligible", "covered", "origin", "revision", "version", "updated_at"])
            _revise(rule, actor=actor, origin=pack, note=f"起始规则包第{defaults.POLICY_PACK_VERSION}版")
            audit.record(actor=actor, action="assessment.policy_rule.upgrade", obj=rule, area_code="", before=before,
                         after={"revision": rule.revision, "eligible": eligible, "covered": covered})
            upgraded.append(code)
            continue
        department = Department.objects.filter(code=dep).first()
        policy = Policy.objects.filter(name=policy_name).first() or policy_create(
            actor=actor, name=policy_name, kind=kind, department=department)
        rule = PolicyRule.objects.create(
            code=code, name=name, guarantee=guarantee, subject=subject, eligible=eligible, covered=covered,
            policy=policy, department=department, origin=pack)
        _revise(rule, actor=actor, origin=pack, note=f"起始规则包第{defaults.POLICY_PACK_VERSION}版")
        made.append(rule)
    if made:
        audit.record(actor=actor, action="assessment.policy_rules.load", object_type="assessment.policyrule",
                     object_repr="应享未享政策规则", after={"codes": [r.code for r in made],
                                                      "pack": defaults.POLICY_PACK_VERSION})
    return list(PolicyRule.objects.filter(is_active=True).select_related("policy"))


@transaction.atomic
def policy_rule_save(*, actor, code: str, name: str, subject: str, eligible: str, covered: str,
                     guarantee: str = "", policy=None, department=None, note: str = "") -> PolicyRule:
    """The county's own text for a rule: a new revision (kept), never overwritten by a later starting pack."""
    for text in (eligible, covered):
        try:
            screening.check_rule(text, subject)
        except ExpressionError as exc:
            raise ServiceError(_("Rule error: %(message)s") % {"message": exc.message}, field="eligible") from exc
    rule = PolicyRule.objects.select_for_update().filter(code=code).first()
    if rule is None:
        rule = PolicyRule.objects.create(code=code, name=name, subject=subject, eligible=eligible, covered=covered,
                                         guarantee=guarantee, policy=policy, department=department, origin="county")
    else:
        if not rule.revisions.exists():
            _revise(rule, actor=actor, origin=_pack_origin(rule), note="规则版本化之前的文本")
        rule.name, rule.subject, rule.eligible, rule.covered = name, subject, eligible, covered
        rule.guarantee, rule.policy, rule.department, rule.origin = guarantee, policy, department, "county"
        rule.revision += 1
        rule.version += 1
        rule.save()
    _revise(rule, actor=actor, origin="county", note=note)
    audit.record(actor=actor, action="assessment.policy_rule.save", obj=rule, area_code="",
                 after={"revision": rule.revision, "eligible": eligible, "covered": covered})
    return rule


def _gap_key(rule_code: str, household_id: int, person_id) -> str:
    return f"{rule_code}:{household_id}:{person_id or 0}"


def _gap_evidence(rule: PolicyRule, hh, person) -> dict:
    ev = {"政策": rule.name, "户主": hh.head_name, "户编号": hh.poor_code or "", "应享条件": rule.eligible,
          "享受依据": rule.covered, "规则版本": rule.revision}
    if person is not None:
        ev["成员"] = person.name
        ev["在校生状况"] = person.schooling or ""
        ev["参加医保"] = "是" if person.rural_medical else "否"
    ev["危房等级"] = hh.dilapidated_grade or ""
    ev["人均纯收入"] = str(hh.per_capita_net_income) if hh.per_capita_net_income is not None else ""
    return ev


@transaction.atomic
def policy_match(*, actor, household_ids: list[int] | None = None, engine=None) -> dict:
    """Evaluate the active policy rules; open a gap for each new hit, close open gaps no longer hit."""
    from fupin.registry.models import Household, Person

    rules = policy_rules_ensure_default(actor=actor)
    by_code = {r.code: r for r in rules}
    table = screening.evaluate(rules, household_ids=household_ids, engine=engine)
    hits = {_gap_key(r["rule_code"], r["household_id"], r["person_id"]): r for r in table.to_pylist()}
    existing = PolicyGap.objects.all()
    if household_ids is not None:
        existing = existing.filter(household_id__in=household_ids)
    existing_map = {g.key: g for g in existing.only("key", "status", "id", "rule_id", "rule_revision")}
    today = timezone.localdate()
    new_keys = [k for k in hits if k not in existing_map]
    hh_ids = {hits[k]["household_id"] for k in new_keys}
    p_ids = {hits[k]["person_id"] for k in new_keys if hits[k]["person_id"]}
    hhs = Household.objects.in_bulk(hh_ids)
    persons = Person.objects.in_bulk(p_ids)
    new = []
    for k in new_keys:
        h = hits[k]
        hh, person = hhs[h["household_id"]], persons.get(h["person_id"])
        rule = by_code[h["rule_code"]]
        new.append(PolicyGap(key=k, rule=rule, household=hh, person=person, area_code=hh.area_code,
                             rule_revision=rule.revision, evidence=_gap_evidence(rule, hh, person), opened_on=today))
    PolicyGap.objects.bulk_create(new, batch_size=1000)
    reopened = [g.pk for k, g in existing_map.items() if k in hits and g.status == GapStatus.CLOSED]
    PolicyGap.objects.filter(pk__in=reopened).update(status=GapStatus.OPEN, closed_on=None, close_reason="")
    gone = [g for k, g in existing_map.items() if k not in hits and g.status == GapStatus.OPEN]
    revisions = {r.pk: r.revision for r in rules}
    revised = {g.pk: revisions[g.rule_id] for g in gone if revisions.get(g.rule_id, g.rule_revision) > g.rule_revision}
    for revision in set(revised.values()):
        PolicyGap.objects.filter(pk__in=[pk for pk, r in revised.items() if r == revision]).update(
            status=GapStatus.CLOSED, closed_on=today, close_reason=f"规则修订为第{revision}版后不再认定")
    PolicyGap.objects.filter(pk__in=[g.pk for g in gone if g.pk not in revised]).update(
        status=GapStatus.CLOSED, closed_on=today, close_reason="已享受或不再符合条件")
    for rule in rules:  # the open gaps the current revision still finds are its findings now
        still = existing.filter(rule=rule, status=GapStatus.OPEN, rule_revision__lt=rule.revision)
        still.update(rule_revision=rule.revision)
    stats = {"opened": len(new), "reopened": len(reopened), "closed": len(gone), "closed_by_revision": len(revised),
             "open": PolicyGap.objects.filter(status=GapStatus.OPEN).count()}
    audit.record(actor=actor, action="assessment.policy_match", object_type="assessment.policygap",
                 object_repr="应享未享比对", after=stats)
    return stats


@transaction.atomic
def gap_dispatch(*, actor, gap: PolicyGap):
    """Send the gap to its responsible department as a work order (once)."""
    from fupin.dispatch.choices import Origin
    from fupin.dispatch.services import work_order_create

    _require(actor, gap.area_code)
    if gap.status != GapStatus.OPEN:
        raise ServiceError(_("This unclaimed-entitlement lead is closed"))
    if gap.work_order_id:
        return gap.work_order
    who = f"{gap.person.name}" if gap.person_id else gap.household.head_name
    order = work_order_create(
        actor=actor, household=gap.household, title=f"应享未享:{gap.rule.name}({who})",
        description="比对发现该户(成员)符合政策条件但未享受,请核实并落实。依据:"
                    + ";".join(f"{k}:{v}" for k, v in gap.evidence.items()),
        department=gap.rule.department, origin=Origin.FINDING, source=gap)
    gap.work_order = order
    gap.version += 1
    gap.save(update_fields=["work_order", "version", "updated_at"])
    audit.record(actor=actor, action="assessment.gap.dispatch", obj=gap, after={"work_order": order.number})
    return order


@transaction.atomic
def gap_receipt_record(*, actor, gap: PolicyGap, received_on: dt.date, amount=None, note: str = "") -> PolicyGap:
    """Record that the household now receives the policy (an assistance receipt) and close the gap."""
    from fupin.assistance.services import policy_receipt_add

    _require(actor, gap.area_code)
    if gap.status != GapStatus.OPEN:
        raise ServiceError(_("This unclaimed-entitlement lead is closed"))
    if gap.rule.policy_id is None:
        raise ServiceError(_("The rule has no policy item: name one in the rule first"))
    receipt = policy_receipt_add(actor=actor, household=gap.household, policy=gap.rule.policy,
                                 received_on=received_on, amount=amount, note=note or f"应享未享整改:{gap.rule.name}")
    gap.status = GapStatus.CLOSED
    gap.closed_on = timezone.localdate()
    gap.close_reason = f"已落实({received_on.isoformat()})"
    gap.version += 1
    gap.save(update_fields=["status", "closed_on", "close_reason", "version", "updated_at"])
    audit.record(actor=actor, action="assessment.gap.close", obj=gap, after={"receipt": receipt.pk})
    return gap


@transaction.atomic
def gap_dismiss(*, actor, gap: PolicyGap, reason: str) -> PolicyGap:
    _require(actor, gap.area_code)
    if not (reason or "").strip():
        raise ServiceError(_("Explain why this is not an unclaimed entitlement"), field="reason")
    gap.status = GapStatus.DISMISSED
    gap.closed_on = timezone.localdate()
    gap.close_reason = reason.strip()[:200]
    gap.version += 1
    gap.save(update_fields=["status", "closed_on", "close_reason", "version", "updated_at"])
    audit.record(actor=actor, action="assessment.gap.dismiss", obj=gap, after={"reason": gap.close_reason})
    return gap


# -- favouritism (优亲厚友) -----------------------------------------------------------------------------------------

@transaction.atomic
def staff_identity_set(*, actor, user, role: str, id_number: str, name: str = "") -> StaffIdentity:
    from fupin.core import idnumber

    try:
        clean = idnumber.normalise(id_number)
    except idnumber.IdNumberError as exc:
        raise ServiceError(_("Invalid ID number: %(exc)s") % {"exc": exc}, field="id_number") from exc
    obj, _created = StaffIdentity.objects.update_or_create(user=user, defaults={
        "role": role, "id_number": clean, "name": name or user.display_name or user.username,
        "area_code": user.area_code or ""})
    audit.record(actor=actor, action="assessment.staff_identity.set", obj=obj, after={"role": role})
    return obj


PARENT_RELS = ("之父", "之母", "父亲", "母亲", "之公公", "之婆婆", "之岳父", "之岳母")
CHILD_RELS = ("之子", "之女", "子", "女", "之儿媳", "之女婿")
SPOUSE_RELS = ("配偶", "妻", "夫")
HEAD_RELS = ("户主", "本人")
SIBLING_RELS = ("之兄弟姐妹", "兄", "弟", "姐", "妹")


def _relation(staff_rel: str, other_rel: str) -> str:
    """The relation between two people of one registered household, from their relations to its head."""
    def kind(rel: str) -> str:
        rel = rel or ""
        for name, group in (("head", HEAD_RELS), ("spouse", SPOUSE_RELS), ("child", CHILD_RELS),
                            ("parent", PARENT_RELS), ("sibling", SIBLING_RELS)):
            if rel in group or any(rel.startswith(g) for g in group):
                return name
        return "other"

    a, b = kind(staff_rel), kind(other_rel)
    pairs = {("head", "spouse"): Relation.SPOUSE, ("spouse", "head"): Relation.SPOUSE,
             ("head", "child"): Relation.CHILD, ("spouse", "child"): Relation.CHILD,
             ("child", "head"): Relation.PARENT, ("child", "spouse"): Relation.PARENT,
             ("head", "parent"): Relation.PARENT, ("parent", "head"): Relation.CHILD,
             ("child", "child"): Relation.SIBLING, ("head", "sibling"): Relation.SIBLING,
             ("sibling", "head"): Relation.SIBLING}
    return pairs.get((a, b), Relation.SAME_HOUSEHOLD)


@transaction.atomic
def kinship_scan(*, actor, year: int | None = None) -> dict:
    """Flag registered or applicant households related to staff, from the household-register extract (same 户号 and
    relation to the head) and from the same address. A flag asks the town for a second look; it excludes nobody."""
    from fupin.exchange.models import Snapshot, StagedRecord
    from fupin.registry.models import Household, Person

    year = year or timezone.localdate().year
    staff = list(StaffIdentity.objects.all())
    if not staff:
        return {"flags": 0, "new": 0}
    snap = Snapshot.objects.filter(is_current=True, source__code="household_register").first()
    by_id: dict[str, dict] = {}
    by_hukou: dict[str, list[dict]] = {}
    if snap is not None:
        for rec in StagedRecord.objects.filter(snapshot=snap).only("data", "id_clean", "id_number", "id_once").iterator(chunk_size=5000):
            d = rec.data or {}
            hk = str(d.get("户号") or "").strip()
            row = {"id": rec.id_clean, "name": d.get("姓名", ""), "hukou": hk,
                   "rel": str(d.get("与户主关系") or ""), "address": str(d.get("户籍地址") or "").strip()}
            if rec.id_clean:
                by_id[rec.id_clean] = row
            if hk:
                by_hukou.setdefault(hk, []).append(row)
    wanted: dict[str, tuple] = {}  # key -> (staff, relation, source, id_number or address)
    for s in staff:
        me = by_id.get(s.id_number)
        if me is None:
            continue
        for other in by_hukou.get(me["hukou"], []):
            if other["id"] and other["id"] != s.id_number:
                wanted[f"{s.pk}:id:{other['id']}"] = (s, _relation(me["rel"], other["rel"]),
                                                      f"户籍数据:同一户号{me['hukou']}", other["id"], None)
        if me["address"]:
            wanted[f"{s.pk}:addr:{me['address']}"] = (s, Relation.SAME_ADDRESS, f"户籍地址相同:{me['address']}",
                                                      None, me["address"])
    # the registry itself: a staff member who is a member of a registered household, and that household's members
    for p in Person.objects.filter(blind_q(Person, "id_number", [s.id_number for s in staff]), household__isnull=False):
        me_staff = next(s for s in staff if s.id_number == p.id_number)
        for other in Person.objects.filter(household_id=p.household_id).exclude(pk=p.pk):
            if other.id_number:
                wanted.setdefault(f"{me_staff.pk}:id:{other.id_number}", (
                    me_staff, _relation(p.relationship, other.relationship), "人口库:同一户(建档立卡)",
                    other.id_number, None))
    ids = {w[3] for w in wanted.values() if w[3]}
    persons = {p.id_number: p for p in Person.objects.filter(blind_q(Person, "id_number", ids), household__isnull=False)
               .select_related("household")}
    addresses = {w[4] for w in wanted.values() if w[4]}
    hh_by_addr: dict[str, list] = {}
    for hh in Household.objects.filter(address__in=addresses, dissolved_on__isnull=True):
        hh_by_addr.setdefault(hh.address, []).append(hh)
    existing = set(KinshipFlag.objects.filter(year=year).values_list("key", flat=True))
    from fupin.eligibility.services import applicant_household_ids

    applicants = set(applicant_household_ids())
    new = []
    for key, (s, relation, source, id_number, address) in wanted.items():
        targets = []
        if id_number and id_number in persons:
            p = persons[id_number]
            targets.append((p.household, p))
        for hh in hh_by_addr.get(address or "", []):
            targets.append((hh, None))
        for hh, person in targets:
            # the key names the member by row, not by ID number: the flag table keeps no copy of the number
            k = (f"{year}:{s.pk}:person:{person.pk}:{hh.pk}" if person is not None else f"{year}:{key}:{hh.pk}")[:80]
            if k in existing or not (hh.is_registered_poor or hh.monitoring_category or hh.pk in applicants):
                continue
            existing.add(k)
            new.append(KinshipFlag(key=k, household=hh, person=person, staff=s, relation=relation,
                                   source=source[:200], year=year, area_code=hh.area_code))
    KinshipFlag.objects.bulk_create(new)
    audit.record(actor=actor, action="assessment.kinship.scan", object_type="assessment.kinshipflag",
                 object_repr=f"{year}年优亲厚友排查", after={"new": len(new)})
    return {"flags": KinshipFlag.objects.filter(year=year).count(), "new": len(new)}


@transaction.atomic
def kinship_review(*, actor, flag: KinshipFlag, note: str) -> KinshipFlag:
    _require(actor, flag.area_code)
    if not (note or "").strip():
        raise ServiceError(_("Write the re-check opinion"), field="note")
    flag.reviewed = True
    flag.review_note = note.strip()[:300]
    flag.version += 1
    flag.save(update_fields=["reviewed", "review_note", "version", "updated_at"])
    audit.record(actor=actor, action="assessment.kinship.review", obj=flag, after={"note": flag.review_note})
    return flag


# -- return-to-poverty monitoring (防返贫监测) ------------------------------------------------------------------------

@dataclass(frozen=True)
class Signal:
    """A risk signal one provider found: which household, a stable key (one alert per key), what and why."""

    household_id: int
    key: str
    signal: str
    detail: str
    evidence: dict


SignalProvider = Callable[[dt.date], list[Signal]]


def signal_provider(name: str, *, signal: str = "", version: int = 1, order: int = 100):
    """Register fn(today) -> [Signal] as a source of risk signals: the decorator form of
    `ext.register(ext.RiskSignal(key=name, fn=fn, signal=signal, version=version))` (fupin/core/extensions.py).

    A provider whose rule changed declares the `signal` its alerts carry and the rule's `version` (each signal's
    evidence then says 规则版本 N): an open alert of that signal raised by an earlier version that the new version no
    longer raises is closed by the next scan with the reason (not left for the village team to clear by hand)."""

    def deco(fn: SignalProvider) -> SignalProvider:
        ext.register(ext.RiskSignal(key=name, fn=fn, signal=signal, version=version, order=order))
        return fn

    return deco


def signal_providers() -> list[tuple[str, SignalProvider]]:
    return [(p.key, p.fn) for p in ext.registered("assessment.risk_signal")]


def _versions() -> dict[str, tuple[str, int]]:
    """Provider name → (the signal its alerts carry, the version of its rule), for providers whose rule changed."""
    return {p.key: (p.signal, p.version) for p in ext.registered("assessment.risk_signal")
            if p.signal and p.version > 1}


SUPERSEDED_NOTE = "预警规则修订为第{version}版后不再触发"
SURVEY_DONE_NOTE = "收入已调查,由下次风险扫描按收入判断"
SURVEY_MOOT_NOTE = "医疗费用数据已更新,不再需要调查收入"


def _close_superseded(keys: set[str], today: dt.date) -> tuple[int, set[str]]:
    """Open alerts of a versioned signal raised by an earlier version of its rule and not raised again now.
    Returns the number closed and their villages."""
    closed = 0
    villages: set[str] = set()
    for signal, version in _versions().values():
        stale = [(pk, area[:12]) for pk, key, evidence, area in RiskAlert.objects.filter(signal=signal, status=AlertStatus.OPEN)
                 .values_list("pk", "key", "evidence", "area_code")
                 if key not in keys and str((evidence or {}).get("规则版本", "1")) != str(version)]
        villages |= {v for _pk, v in stale}
        for i in range(0, len(stale), 1000):
            closed += RiskAlert.objects.filter(pk__in=[pk for pk, _v in stale[i:i + 1000]]).update(
                status=AlertStatus.CLOSED, closed_on=today, close_note=SUPERSEDED_NOTE.format(version=version),
                version=F("version") + 1)
    return closed, villages


def _close_surveys(keys: set[str], today: dt.date) -> tuple[int, set[str]]:
    """Open income-survey tasks the scan no longer asks for: the income is now surveyed (the signal decides on it),
    or the self-payments that asked for it are gone from the current extract."""
    from fupin.assessment.signals import surveyed_incomes

    stale = [(pk, hid, area[:12]) for pk, key, hid, area in RiskAlert.objects.filter(
        signal=INCOME_SURVEY, status=AlertStatus.OPEN).values_list("pk", "key", "household_id", "area_code")
        if key not in keys]
    surveyed = set(surveyed_incomes([hid for _pk, hid, _v in stale]))
    closed = 0
    for note, pks in ((SURVEY_DONE_NOTE, [pk for pk, hid, _v in stale if hid in surveyed]),
                      (SURVEY_MOOT_NOTE, [pk for pk, hid, _v in stale if hid not in surveyed])):
        for i in range(0, len(pks), 1000):
            closed += RiskAlert.objects.filter(pk__in=pks[i:i + 1000]).update(
                status=AlertStatus.CLOSED, closed_on=today, close_note=note, version=F("version") + 1)
    return closed, {v for _pk, _hid, v in stale}


def _reopen_superseded(signals: dict[str, Signal], today: dt.date) -> list[RiskAlert]:
    """Alerts a rule revision closed (not the village team) that a rule raises again: open again, with the new
    detail and evidence (a household whose income was surveyed after an income-survey task)."""
    again = list(RiskAlert.objects.filter(key__in=list(signals), status=AlertStatus.CLOSED,
                                          close_note__startswith=SUPERSEDED_NOTE.split("{")[0]))
    for alert in again:
        s = signals[alert.key]
        alert.status, alert.closed_on, alert.close_note = AlertStatus.OPEN, None, ""
        alert.detail, alert.evidence, alert.raised_on = s.detail[:300], s.evidence, today
        alert.version += 1
    RiskAlert.objects.bulk_update(again, ["status", "closed_on", "close_note", "detail", "evidence", "raised_on",
                                          "version", "updated_at"], batch_size=1000)
    return again


def _close_inbox_items(villages: set[str]) -> None:
    """Close a village's inbox item once nothing of its kind (alerts, income surveys) stays open there."""
    from fupin.inbox.services import inbox_close_by_key

    if not villages:
        return
    rows = RiskAlert.objects.filter(status=AlertStatus.OPEN)
    if len(villages) == 1:
        rows = rows.filter(area_code__startswith=next(iter(villages)))
    open_rows = set(rows.values_list("area_code", "signal"))
    alerts = {a[:12] for a, sig in open_rows if sig != INCOME_SURVEY}
    surveys = {a[:12] for a, sig in open_rows if sig == INCOME_SURVEY}
    for village in villages:
        if village not in alerts:
            inbox_close_by_key(dedupe_key=_inbox_key(village))
        if village not in surveys:
            inbox_close_by_key(dedupe_key=_inbox_key(village, survey=True))


def _village_team(village_code: str) -> list:
    from fupin.geo import responsible

    return responsible.users(responsible.village_team([village_code]).get(village_code, [])[:10])


def _inbox_key(village_code: str, *, survey: bool = False) -> str:
    return f"assessment.{'income_surveys' if survey else 'alerts'}.{village_code}"


def _post_alerts(village_code: str, alerts: list[RiskAlert]) -> None:
    """One inbox item per village for its open alerts (not one per alert: a scan may raise hundreds), and one for
    its income-survey tasks."""
    from fupin.inbox.services import inbox_post

    risks = [a for a in alerts if a.signal != INCOME_SURVEY]
    surveys = [a for a in alerts if a.signal == INCOME_SURVEY]
    users = _village_team(village_code) if alerts else []
    if risks:
        first = risks[0]
        title = f"防返贫监测预警:{shown(first.detail, settings.LANGUAGE_CODE)}" if len(risks) == 1 else f"防返贫监测预警:本村新增{len(risks)}户"
        for user in users:
            inbox_post(user=user, title=title[:200], url=f"/assessment/alerts/?division={village_code}", obj=first,
                       area_code=village_code, body="请入户核查,符合条件的启动监测对象识别程序。",
                       dedupe_key=_inbox_key(village_code))
    if surveys:
        title = f"防返贫监测:本村{len(surveys)}户医疗支出较大、收入未调查,请入户调查收入"
        for user in users:
            inbox_post(user=user, title=title[:200], obj=surveys[0], area_code=village_code,
                       url=f"/assessment/alerts/?division={village_code}&kind=survey",
                       body="录入调查所得的人均纯收入后,系统按收入判断是否预警。",
                       dedupe_key=_inbox_key(village_code, survey=True))


@transaction.atomic
def risk_scan(*, actor="system", today: dt.date | None = None) -> dict:
    """Run every signal provider; each new signal raises one alert (or income-survey task), and the village team
    gets an inbox item. Alerts a rule revision no longer raises close; income surveys no longer asked for close."""
    from fupin.registry.models import Household

    today = today or timezone.localdate()
    signals: list[Signal] = []
    for _name, fn in signal_providers():
        signals += fn(today)
    by_key = {s.key[:100]: s for s in signals}
    existing = set(RiskAlert.objects.filter(key__in=list(by_key)).values_list("key", flat=True))
    reopened = _reopen_superseded({k: s for k, s in by_key.items() if k in existing}, today)
    fresh = {k: s for k, s in by_key.items() if k not in existing}
    areas = dict(Household.objects.filter(pk__in={s.household_id for s in fresh.values()})
                 .values_list("pk", "area_code"))
    made = [RiskAlert(key=k, household_id=s.household_id, area_code=areas[s.household_id], signal=s.signal,
                      detail=s.detail[:300], evidence=s.evidence, raised_on=today)
            for k, s in fresh.items() if s.household_id in areas]
    RiskAlert.objects.bulk_create(made, batch_size=1000)
    superseded, v1 = _close_superseded(set(by_key), today)
    surveys_closed, v2 = _close_surveys(set(by_key), today)
    _close_inbox_items(v1 | v2)
    by_village: dict[str, list[RiskAlert]] = {}
    for alert in [*made, *reopened]:
        by_village.setdefault(alert.area_code[:12], []).append(alert)
    for village, alerts in by_village.items():
        _post_alerts(village, alerts)
    stats = {"new": sum(a.signal != INCOME_SURVEY for a in made), "reopened": len(reopened),
             "surveys": sum(a.signal == INCOME_SURVEY for a in made), "villages": len(by_village),
             "superseded": superseded, "surveys_closed": surveys_closed}
    if made or reopened or superseded or surveys_closed:
        audit.record(actor=actor, action="assessment.risk_scan", object_type="assessment.riskalert",
                     object_repr="防返贫风险扫描", after=stats)
    return {"signals": len(signals), **stats}


@transaction.atomic
def risk_self_report(*, actor, household, detail: str, signal: str = "self_report") -> RiskAlert:
    """A household's own report of a difficulty, entered by its grid worker: an alert like any signal."""
    _require(actor, household.area_code)
    detail = (detail or "").strip()
    if not detail:
        raise ServiceError(_("Write the difficulty the household reported"), field="detail")
    today = timezone.localdate()
    n = RiskAlert.objects.filter(household=household, signal=signal, raised_on=today).count()
    alert = RiskAlert.objects.create(key=f"self:{household.pk}:{today.isoformat()}:{n}", household=household,
                                     area_code=household.area_code, signal=signal,
                                     detail=stored(gettext_noop("Reported by the household: %(detail)s"),
                                                   detail=detail, max_length=300),
                                     evidence={"申报内容": detail}, raised_on=today, reported_by=_user(actor))
    _post_alerts(alert.area_code[:12], [alert])
    audit.record(actor=actor, action="assessment.risk.self_report", obj=alert, after={"detail": detail})
    return alert


@transaction.atomic
def alert_close(*, actor, alert: RiskAlert, note: str) -> RiskAlert:
    _require(actor, alert.area_code)
    if not (note or "").strip():
        raise ServiceError(_("Write the result of the check"), field="note")
    if alert.status != AlertStatus.OPEN:
        raise ServiceError(_("This alert is already closed"))
    alert.status = AlertStatus.CLOSED
    alert.closed_on = timezone.localdate()
    alert.close_note = note.strip()[:300]
    alert.version += 1
    alert.save(update_fields=["status", "closed_on", "close_note", "version", "updated_at"])
    _close_inbox_items({alert.area_code[:12]})
    audit.record(actor=actor, action="assessment.alert.close", obj=alert, after={"note": alert.close_note})
    return alert


@transaction.atomic
def income_survey_record(*, actor, task: RiskAlert, year: int, per_capita, net_income=None) -> RiskAlert:
    """The village team's answer to an income-survey task: the household's surveyed per-capita net income of a year
    goes into the income history (`income_year_set`, the office's figure) and the task closes; the next risk scan
    decides the signal that asked for the survey on that income (an alert only if the household falls below)."""
    if task.signal != INCOME_SURVEY:
        raise ServiceError(_("This is not an income-survey task"))
    if task.status != AlertStatus.OPEN:
        raise ServiceError(_("This alert is already closed"))
    row = income_year_set(actor=actor, household=task.household, year=year, per_capita=per_capita,
                          net_income=net_income, source="survey")
    return alert_close(actor=actor, alert=task,
                       note=f"已调查收入:{row.year}年人均纯收入{row.per_capita_net_income}元,由下次风险扫描按收入判断")


def _money(value, field: str):
    from decimal import Decimal, InvalidOperation

    try:
        amount = Decimal(str(value).replace(",", "").strip()).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError) as exc:
        raise ServiceError(_("Invalid amount"), field=field) from exc
    if not amount.is_finite() or amount < 0 or amount >= Decimal("1e10"):
        raise ServiceError(_("Amount out of range"), field=field)
    return amount


@transaction.atomic
def income_history_record(*, actor="system") -> dict:
    """Copy each household's current income year from the registry into the income history (one row per household
    and year; a later correction of the same year replaces it). Set-based: one read of each side, bulk writes."""
    from fupin.assessment.models import IncomeYear
    from fupin.registry.models import Household

    current = {hid: (year, pc, net, size, area) for hid, year, pc, net, size, area in Household.objects.filter(
        dissolved_on__isnull=True, income_year__isnull=False, per_capita_net_income__isnull=False).values_list(
        "pk", "income_year", "per_capita_net_income", "net_income", "size", "area_code")}
    kept = {(hid, year): row for hid, year, *row in IncomeYear.objects.filter(source="registry").values_list(
        "household_id", "year", "pk", "per_capita_net_income")}
    manual = set(IncomeYear.objects.exclude(source="registry").values_list("household_id", "year"))
    new, changed = [], []
    for hid, (year, pc, net, size, area) in current.items():
        if (hid, year) in manual:
            continue  # a year entered by hand is the office's figure
        row = kept.get((hid, year))
        if row is None:
            new.append(IncomeYear(household_id=hid, year=year, per_capita_net_income=pc, net_income=net, size=size,
                                  source="registry", area_code=area))
        elif row[1] != pc:
            changed.append(IncomeYear(pk=row[0], per_capita_net_income=pc, net_income=net, size=size))
    IncomeYear.objects.bulk_create(new, batch_size=1000)
    IncomeYear.objects.bulk_update(changed, ["per_capita_net_income", "net_income", "size"], batch_size=1000)
    stats = {"new": len(new), "changed": len(changed)}
    if new or changed:
        audit.record(actor=actor, action="assessment.income_history", object_type="assessment.incomeyear",
                     object_repr="收入历史", after=stats)
    return stats


@transaction.atomic
def income_year_set(*, actor, household, year: int, per_capita, net_income=None, source: str = "manual"):
    """Record a household's per-capita net income of a year by hand (an earlier year's survey, a correction)."""
    from fupin.assessment.models import IncomeYear

    _require(actor, household.area_code)
    try:
        year = int(year)
    except (TypeError, ValueError) as exc:
        raise ServiceError(_("Invalid year"), field="year") from exc
    if not 2000 <= year <= timezone.localdate().year:
        raise ServiceError(_("Year out of range"), field="year")
    pc = _money(per_capita, "per_capita")
    net = _money(net_income, "net_income") if net_income not in (None, "") else None
    before = IncomeYear.objects.filter(household=household, year=year).first()
    obj, _created = IncomeYear.objects.update_or_create(household=household, year=year, defaults={
        "per_capita_net_income": pc, "net_income": net, "size": household.size, "source": source[:20],
        "area_code": household.area_code})
    audit.record(actor=actor, action="assessment.income_year.set", obj=obj,
                 before={"per_capita": str(before.per_capita_net_income)} if before else None,
                 after={"year": year, "per_capita": str(pc), "source": obj.source})
    return obj


@transaction.atomic
def threshold_set(*, actor, year: int, amount, valid_from: dt.date, note: str = ""):
    from decimal import Decimal, InvalidOperation

    from fupin.assessment.models import IncomeThreshold

    try:
        value = Decimal(str(amount))
    except (InvalidOperation, ValueError) as exc:
        raise ServiceError(_("Invalid amount"), field="amount") from exc
    if value <= 0:
        raise ServiceError(_("The amount must be greater than 0"), field="amount")
    obj, _created = IncomeThreshold.objects.update_or_create(year=year, defaults={"amount": value, "valid_from": valid_from,
                                                                            "note": note[:200]})
    audit.record(actor=actor, action="assessment.threshold.set", obj=obj, area_code="",
                 after={"year": year, "amount": str(value)})
    return obj
