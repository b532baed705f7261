"""Keeping the stored lights (HouseholdLight) current: after each relevant write for the households it touched, and
nightly for the whole county, with the same set-based queries (one aggregate per fact) and the same pure rules
(`fupin.assistance.engine`). A light that turns red posts to the responsible people's inboxes and sends a text;
when it clears, the inbox items are closed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count, Max, Min
from django.utils import timezone, translation

from fupin.assistance import conf, providers
from fupin.assistance.choices import OPEN_MEASURE_STATUSES, Colour
from fupin.assistance.engine import Facts, Rules, Verdict, describe, evaluate
from fupin.assistance.models import AssistanceRecord, HouseholdLight, HouseholdPairing, LightRules, Measure
from fupin.registry.models import Household

log = logging.getLogger(__name__)

STORED = ("colour", "days", "since", "last_record_on", "reasons", "area_code", "village_code", "town_code",
          "cadre_id", "unit_id", "red_since", "alerted")
# Above this many households a refresh reads every household (one pass) rather than a long IN list.
_IN_LIMIT = 2000
_ROW_BY_ROW_LIMIT = 300


def dedupe_key(household_id: int) -> str:
    return f"assistance.red.{household_id}"


def current_rules() -> Rules:
    row = LightRules.objects.order_by("pk").first()
    if row is None:
        defaults = {k: v for k, v in conf.get("lights").items() if k in Rules.__dataclass_fields__}
        return Rules(**defaults)
    return Rules(yellow_from_days=row.yellow_from_days, red_from_days=row.red_from_days,
                 no_cadre_colour=row.no_cadre_colour, overdue_measure_colour=row.overdue_measure_colour,
                 finding_days=row.finding_days, finding_colour=row.finding_colour)


def _has_household_field(name: str) -> bool:
    return any(f.name == name for f in Household._meta.concrete_fields)


@dataclass
class _Tracked:
    facts: Facts
    area_code: str
    cadre_id: int | None
    unit_id: int | None


def gather(household_ids: list[int] | None, today) -> dict[int, _Tracked]:
    """The facts of every tracked household (or of those given): registered poor, not dissolved, and either not yet
    exited or still paired. One query per fact, whatever the number of households."""

    def only(qs, field="household_id"):
        return qs.filter(**{f"{field}__in": household_ids}) if household_ids is not None else qs

    households = only(Household.objects.filter(is_registered_poor=True), "pk")
    if _has_household_field("dissolved_on"):
        households = households.filter(dissolved_on__isnull=True)
    open_pairs = {hid: (cadre, unit) for hid, cadre, unit in only(
        HouseholdPairing.objects.filter(end_date__isnull=True)).values_list("household_id", "cadre_id", "unit_id")}
    first_start = dict(only(HouseholdPairing.objects.all()).order_by().values("household_id")
                       .annotate(s=Min("start_date")).values_list("household_id", "s"))
    last_record = dict(only(AssistanceRecord.objects.all()).order_by().values("household_id")
                       .annotate(m=Max("occurred_on")).values_list("household_id", "m"))
    overdue = {hid: (n, oldest) for hid, n, oldest in only(
        Measure.objects.filter(status__in=OPEN_MEASURE_STATUSES, target_date__lt=today)).order_by()
        .values("household_id").annotate(n=Count("id"), oldest=Min("target_date"))
        .values_list("household_id", "n", "oldest")}
    findings = providers.unverified_findings(household_ids)
    exited = set(conf.exited_statuses())

    out: dict[int, _Tracked] = {}
    for hid, area_code, status in households.values_list("pk", "area_code", "poverty_status").order_by():
        pair = open_pairs.get(hid)
        if status in exited and pair is None:
            continue
        n, oldest = overdue.get(hid, (0, None))
        facts = Facts(household_id=hid, last_record_on=last_record.get(hid), paired_since=first_start.get(hid),
                      has_cadre=pair is not None, overdue_measures=n, oldest_overdue_target=oldest,
                      finding_since=findings.get(hid))
        out[hid] = _Tracked(facts, area_code, pair[0] if pair else None, pair[1] if pair else None)
    return out


def _row(t: _Tracked, v: Verdict, old: tuple | None, today) -> dict:
    was_red = old is not None and old[0] == Colour.RED
    red = v.colour == Colour.RED
    return {
        "colour": v.colour, "days": v.days, "since": v.since, "last_record_on": t.facts.last_record_on,
        "reasons": v.reasons, "area_code": t.area_code, "village_code": t.area_code[:12],
        "town_code": t.area_code[:9] + "000", "cadre_id": t.cadre_id, "unit_id": t.unit_id,
        "red_since": (old[10] if was_red and old[10] else today) if red else None,
        "alerted": bool(old[11]) if (red and was_red) else False,
    }


def _apply(household_ids: list[int] | None, *, today=None, notify: bool = True, sms: bool = True) -> dict:
    today = today or conf.local_today()
    rules = current_rules()
    tracked = gather(household_ids, today)
    existing_qs = HouseholdLight.objects.all()
    if household_ids is not None:
        existing_qs = existing_qs.filter(pk__in=household_ids)
    existing = {r[0]: r[1:] for r in existing_qs.values_list("household_id", *STORED).order_by()}

    changed: dict[int, dict] = {}
    counts = {Colour.GREEN.value: 0, Colour.YELLOW.value: 0, Colour.RED.value: 0}
    newly_red: list[int] = []
    cleared: list[int] = []
    for hid, t in tracked.items():
        v = evaluate(t.facts, rules, today)
        counts[v.colour] += 1
        old = existing.get(hid)
        row = _row(t, v, old, today)
        if row["colour"] == Colour.RED and not row["alerted"]:
            newly_red.append(hid)
            row["alerted"] = notify
        elif old is not None and old[0] == Colour.RED and row["colour"] != Colour.RED:
            cleared.append(hid)
        if old is None or tuple(row[k] for k in STORED) != tuple(old):
            changed[hid] = row
    removed = [hid for hid in existing if hid not in tracked]
    cleared += [hid for hid in removed if existing[hid][0] == Colour.RED]

    now = timezone.now()
    with transaction.atomic():
        if len(changed) + len(removed) > _ROW_BY_ROW_LIMIT:
            gone = [hid for hid in changed if hid in existing] + removed
            if household_ids is None and len(gone) == len(existing):
                HouseholdLight.objects.all().delete()
            else:
                for i in range(0, len(gone), 900):
                    HouseholdLight.objects.filter(pk__in=gone[i:i + 900]).delete()
            HouseholdLight.objects.bulk_create(
                [HouseholdLight(household_id=hid, computed_at=now, **row) for hid, row in changed.items()],
                batch_size=2000)
        else:
            for hid, row in changed.items():
                if hid in existing:
                    HouseholdLight.objects.filter(pk=hid).update(computed_at=now, **row)
                else:
                    HouseholdLight.objects.create(household_id=hid, computed_at=now, **row)
            if removed:
                HouseholdLight.objects.filter(pk__in=removed).delete()
        if notify:
            if newly_red:
                _post_red(newly_red, today, sms=sms)
            for hid in cleared:
                _close(hid)
    return {"households": len(tracked), "changed": len(changed), "removed": len(removed), **counts,
            "newly_red": len(newly_red) if notify else 0, "cleared": len(cleared) if notify else 0}


def refresh_lights(*, household_ids: Iterable[int], today=None, notify: bool = True) -> dict:
    """Recompute the lights of these households now (call inside the write's transaction)."""
    ids = sorted(set(household_ids))
    if not ids:
        return {"households": 0}
    return _apply(ids if len(ids) <= _IN_LIMIT else None, today=today, notify=notify)


def recompute_all(*, today=None, notify: bool = True, sms: bool = True) -> dict:
    """Recompute every light of the county (the nightly step: days pass, thresholds change). notify=False leaves
    new reds unwarned (the next run warns them); sms=False warns through the inbox only (demo data)."""
    return _apply(None, today=today, notify=notify, sms=sms)


# Warnings ---------------------------------------------------------------------------------------------------------


def _recipients(lights: list[HouseholdLight]) -> dict[int, set[int]]:
    """User ids to warn per household: the cadre's account, the unit's responsible user, the village's team."""
    from fupin.accounts.models import User

    village_codes = {lt.village_code for lt in lights}
    village_users: dict[str, set[int]] = {}
    for uid, code in (User.objects.filter(is_active=True, role__in=("village_team", "first_secretary"),
                                          division__code__in=village_codes)
                      .values_list("pk", "division__code")):
        village_users.setdefault(code, set()).add(uid)
    out = {}
    for lt in lights:
        users = set(village_users.get(lt.village_code, ()))
        if lt.cadre and lt.cadre.user_id:
            users.add(lt.cadre.user_id)
        if lt.unit and lt.unit.contact_user_id:
            users.add(lt.unit.contact_user_id)
        out[lt.household_id] = users
    return out


def warning_text(light: HouseholdLight) -> tuple[str, str, str]:
    """(title, body, short text for SMS) of a red light's warning, in Chinese."""
    hh = light.household
    with translation.override("zh-hans"):
        described = [describe(r) for r in light.reasons if r.get("colour") == Colour.RED] or \
            [describe(r) for r in light.reasons]
        problems = ";".join(p for p, _ in described)
        actions = ";".join(dict.fromkeys(a for _, a in described if a))
    village = hh.village.name if hh.village_id else ""
    title = f"红灯警示:{village}{hh}({problems})"
    body = f"{village}{hh}的帮扶跟踪亮红灯:{problems}。\n消除办法:{actions}。"
    cadre = f"帮扶责任人{light.cadre.name}," if light.cadre else ""
    sms = f"【精准扶贫跟踪警示】{cadre}{village}{hh}已亮红灯:{problems}。请{actions}。"
    return title, body, sms


def _post_red(household_ids: list[int], today, *, sms: bool = True) -> None:
    import datetime as dt

    from fupin.accounts.models import User
    from fupin.inbox.models import InboxItem
    from fupin.inbox.services import inbox_post

    lights = list(HouseholdLight.objects.filter(pk__in=household_ids)
                  .select_related("household__village", "cadre", "unit"))
    recipients = _recipients(lights)
    users = User.objects.in_bulk({u for us in recipients.values() for u in us})
    already = set(InboxItem.objects.filter(dedupe_key__in=[dedupe_key(h) for h in household_ids],
                                           done_at__isnull=True).values_list("user_id", "dedupe_key"))
    texts = []
    for lt in lights:
        title, body, sms_text = warning_text(lt)
        key = dedupe_key(lt.household_id)
        url = f"/assistance/households/{lt.household.uuid}/"
        for uid in sorted(recipients[lt.household_id]):
            if (uid, key) in already or uid not in users:
                continue
            inbox_post(user=users[uid], title=title, kind=InboxItem.Kind.WARNING, body=body, url=url,
                       obj=lt.household, area_code=lt.area_code, due_date=today + dt.timedelta(days=7),
                       dedupe_key=key)
        if sms:
            phones = {lt.cadre.phone if lt.cadre else "", lt.unit.phone if lt.unit else ""} - {""}
            texts += [(phone, sms_text) for phone in sorted(phones)]
    if texts:
        from fupin.assistance.sms import send_sms

        transaction.on_commit(lambda: [send_sms(phone=p, text=t) for p, t in texts])


def _close(household_id: int) -> None:
    from fupin.inbox.services import inbox_close_by_key

    inbox_close_by_key(dedupe_key=dedupe_key(household_id))
