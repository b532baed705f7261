"""Keeping the stored lights (HouseholdLight) current: after each relevant write for the households it touched, and
nightly for the whole county, with the same set-based queries (one aggregate per fact) and the same pure rules
(`fupin.assistance.engine`). A light that turns red posts to the responsible people's inboxes and sends a text;
when it clears, the inbox items are closed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections.abc import Iterable
from contextlib import nullcontext
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone, translation

from fupin.assistance import conf, providers
from fupin.assistance.choices import OPEN_MEASURE_STATUSES, Colour
from fupin.assistance.engine import Facts, Rules, Verdict, describe, evaluate
from fupin.assistance.models import AssistanceRecord, HouseholdLight, HouseholdPairing, LightRules, Measure
from fupin.core import audit
from fupin.core.bulk import BulkWriter
from fupin.registry.models import Household

log = logging.getLogger(__name__)

STORED = ("colour", "days", "since", "last_record_on", "reasons", "area_code", "village_code", "town_code",
          "cadre_id", "unit_id", "red_since", "alerted", "fingerprint")
# Above this many households a refresh reads every household (one pass) rather than a long IN list.
_IN_LIMIT = 2000
_ROW_BY_ROW_LIMIT = 300
# Up to this many households, facts are read with correlated subqueries (index lookups), beyond it with GROUP BY.
_FEW = 50


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
    """The facts of every tracked household (or of those given): registered poor or monitored (防返贫监测), not
    dissolved, and either not yet exited, still paired, or monitored.

    One statement either way, read as plain tuples: for the county, each fact is aggregated once over its whole
    table (GROUP BY) and joined to the households; for a few households, correlated subqueries use the household
    indexes instead of aggregating whole tables.
    """
    q = connection.ops.quote_name
    hh, pair, rec, mea = (q(m._meta.db_table) for m in (Household, HouseholdPairing, AssistanceRecord, Measure))
    statuses = ", ".join(["%s"] * len(OPEN_MEASURE_STATUSES))
    overdue = f"m.status IN ({statuses}) AND m.target_date < %s"
    # monitored households (防返贫监测, fupin.assessment) are tracked like poor ones, exited or not
    where = "(h.is_registered_poor = %s OR h.monitoring_category <> '')"
    if _has_household_field("dissolved_on"):
        where += " AND h.dissolved_on IS NULL"
    ids_params: list[int] = []
    if household_ids is not None:
        where += f" AND h.id IN ({', '.join(['%s'] * len(household_ids))})"
        ids_params = list(household_ids)
    # table names come from the models, every value is a parameter
    if household_ids is not None and len(household_ids) <= _FEW:
        sql = " ".join([
            "SELECT h.id, h.area_code, h.poverty_status, h.monitoring_category, p.cadre_id, p.unit_id,",
            f"(SELECT MIN(p2.start_date) FROM {pair} p2 WHERE p2.household_id = h.id),",  # noqa: S608
            f"(SELECT MAX(r.occurred_on) FROM {rec} r WHERE r.household_id = h.id),",  # noqa: S608
            f"(SELECT SUM(CASE WHEN {overdue} THEN 1 ELSE 0 END) FROM {mea} m WHERE m.household_id = h.id),",  # noqa: S608
            f"(SELECT MIN(CASE WHEN {overdue} THEN m.target_date END) FROM {mea} m WHERE m.household_id = h.id)",  # noqa: S608
            f"FROM {hh} h LEFT JOIN {pair} p ON p.household_id = h.id AND p.end_date IS NULL WHERE {where}",
        ])
        params = [*OPEN_MEASURE_STATUSES, today, *OPEN_MEASURE_STATUSES, today, True, *ids_params]
    else:
        sql = " ".join([
            "SELECT h.id, h.area_code, h.poverty_status, h.monitoring_category, p.cadre_id, p.unit_id, fs.s, lr.m, "
            "od.n, od.o",
            f"FROM {hh} h LEFT JOIN {pair} p ON p.household_id = h.id AND p.end_date IS NULL",
            f"LEFT JOIN (SELECT household_id, MIN(start_date) AS s FROM {pair} GROUP BY household_id) fs",  # noqa: S608
            "ON fs.household_id = h.id",
            f"LEFT JOIN (SELECT household_id, MAX(occurred_on) AS m FROM {rec} GROUP BY household_id) lr",  # noqa: S608
            "ON lr.household_id = h.id",
            "LEFT JOIN (SELECT m.household_id, COUNT(*) AS n, MIN(m.target_date) AS o",
            f"FROM {mea} m WHERE {overdue} GROUP BY m.household_id) od ON od.household_id = h.id",
            f"WHERE {where}",
        ])
        params = [*OPEN_MEASURE_STATUSES, today, True, *ids_params]
    county_on_postgres = connection.vendor == "postgresql" and household_ids is None
    with transaction.atomic() if county_on_postgres else nullcontext(), connection.cursor() as cursor:
        if county_on_postgres:
            # the county's aggregates fit in memory instead of spilling to disk (this transaction only)
            cursor.execute("SET LOCAL work_mem = '64MB'")
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    findings = providers.unverified_findings(household_ids)
    extra = providers.conditions(household_ids, today)
    exited = set(conf.exited_statuses())
    out: dict[int, _Tracked] = {}
    for hid, area_code, status, monitored, cadre_id, unit_id, first, last, n, oldest in rows:
        if status in exited and cadre_id is None and not monitored:
            continue
        facts = Facts(household_id=hid, last_record_on=_date(last), paired_since=_date(first),
                      has_cadre=cadre_id is not None, overdue_measures=int(n or 0),
                      oldest_overdue_target=_date(oldest), finding_since=findings.get(hid),
                      conditions=extra.get(hid, []))
        out[hid] = _Tracked(facts, area_code, cadre_id, unit_id)
    return out


def _date(value):
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


@dataclass(frozen=True)
class _Stored:
    colour: str
    red_since: dt.date | None
    alerted: bool
    fingerprint: str
    keys: tuple  # the indexed columns: (colour, area_code, cadre_id, unit_id)


def _iso(d: dt.date | None) -> str | None:
    return None if d is None else d.isoformat()


def canonical(row: dict) -> tuple:
    """The stored values of a light as plain text and numbers, in STORED order without the fingerprint: what its
    digest is taken of, and what the county-wide write sends to the database (dates as ISO text, reasons as JSON)."""
    reasons = row["reasons"]
    return (row["colour"], row["days"], _iso(row["since"]), _iso(row["last_record_on"]),
            json.dumps(reasons, ensure_ascii=False) if reasons else "[]", row["area_code"], row["village_code"],
            row["town_code"], row["cadre_id"], row["unit_id"], _iso(row["red_since"]), row["alerted"])


def fingerprint(canon: tuple) -> str:
    """A digest of everything stored about a light but the time it was computed: equal digests, nothing to write."""
    return hashlib.blake2b("\x1f".join(map(str, canon)).encode(), digest_size=16).hexdigest()


def _stored(household_ids: list[int] | None) -> dict[int, _Stored]:
    q = connection.ops.quote_name
    table = q(HouseholdLight._meta.db_table)
    sql = f"SELECT household_id, colour, red_since, alerted, fingerprint, area_code, cadre_id, unit_id FROM {table}"  # noqa: S608
    params: list[int] = []
    if household_ids is not None:
        sql += f" WHERE household_id IN ({', '.join(['%s'] * len(household_ids))})"
        params = list(household_ids)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {hid: _Stored(colour, _date(red_since), bool(alerted), fp, (colour, area, cadre, unit))
                for hid, colour, red_since, alerted, fp, area, cadre, unit in cursor.fetchall()}


def _row(t: _Tracked, v: Verdict, old: _Stored | None, today) -> dict:
    was_red = old is not None and old.colour == Colour.RED
    red = v.colour == Colour.RED
    return {
        "colour": v.colour, "days": v.days, "since": v.since, "last_record_on": t.facts.last_record_on,
        "reasons": v.reasons, "area_code": t.area_code, "village_code": t.area_code[:12],
        "town_code": t.area_code[:9] + "000", "cadre_id": t.cadre_id, "unit_id": t.unit_id,
        "red_since": (old.red_since or today if was_red else today) if red else None,
        "alerted": old.alerted if (red and was_red) else False,
    }


def _apply(household_ids: list[int] | None, *, today=None, notify: bool = True, sms: bool = True) -> dict:
    today = today or conf.local_today()
    rules = current_rules()
    tracked = gather(household_ids, today)
    existing = _stored(household_ids)

    changed: dict[int, dict] = {}
    canons: dict[int, tuple] = {}
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
        elif old is not None and old.colour == Colour.RED and row["colour"] != Colour.RED:
            cleared.append(hid)
        canon = canonical(row)
        row["fingerprint"] = fingerprint(canon)
        if old is None or old.fingerprint != row["fingerprint"]:
            changed[hid] = row
            canons[hid] = canon
    removed = [hid for hid in existing if hid not in tracked]
    cleared += [hid for hid in removed if existing[hid].colour == Colour.RED]

    now = timezone.now()
    with transaction.atomic(savepoint=False):
        if len(changed) + len(removed) > _ROW_BY_ROW_LIMIT:
            for i in range(0, len(removed), 900):
                HouseholdLight.objects.filter(pk__in=removed[i:i + 900]).delete()
            _update_many({hid: row for hid, row in changed.items() if hid in existing}, canons, existing, now)
            _insert_many({hid: canons[hid] for hid in changed if hid not in existing}, changed, now)
        else:
            for hid, row in changed.items():
                if hid in existing:
                    HouseholdLight.objects.filter(pk=hid).update(computed_at=now, **row)
                else:
                    HouseholdLight.objects.create(household_id=hid, computed_at=now, **row)
            if removed:
                HouseholdLight.objects.filter(pk__in=removed).delete()
        if audit.has_listeners():
            audit.announce(_colour_changes(changed, removed, existing))
        if notify:
            if newly_red:
                _post_red(newly_red, today, sms=sms)
            for hid in cleared:
                _close(hid)
    return {"households": len(tracked), "changed": len(changed), "removed": len(removed), **counts,
            "newly_red": len(newly_red) if notify else 0, "cleared": len(cleared) if notify else 0}


def _colour_changes(changed: dict[int, dict], removed: list[int], existing: dict[int, _Stored]) -> list:
    """The lights whose colour changed (or that appeared or went), for the change listeners (webhooks)."""
    out = []
    for hid, row in changed.items():
        old = existing.get(hid)
        if old is None or old.colour != row["colour"]:
            out.append(audit.Change(action="assistance.light.colour", object_type="registry.household",
                                    object_id=str(hid), area_code=row["area_code"],
                                    before={"colour": old.colour if old else None}, after={"colour": row["colour"]}))
    for hid in removed:
        old = existing[hid]
        out.append(audit.Change(action="assistance.light.colour", object_type="registry.household",
                                object_id=str(hid), area_code=old.keys[1] or "", before={"colour": old.colour},
                                after={"colour": None}))
    return out


def _db_row(hid: int, canon: tuple, fp: str, when, columns: tuple[str, ...] = STORED) -> tuple:
    """(household_id, *columns, computed_at) from the canonical values."""
    values = dict(zip(STORED[:-1], canon, strict=True))
    values["fingerprint"] = fp
    return (hid, *(values[c] for c in columns), when)


# canonical() already gives these in database form (ISO dates, reasons as JSON text)
_ENCODED = ("since", "last_record_on", "reasons", "red_since")


def _writer(columns: tuple[str, ...], table: str | None = None) -> BulkWriter:
    return BulkWriter(HouseholdLight, columns=("household_id", *columns, "computed_at"), only=True,
                      encoded=_ENCODED, table=table)


def _insert_many(canons: dict[int, tuple], rows: dict[int, dict], now) -> None:
    """Insert many lights at once through the bulk writer (bulk_create prepares each value through the field, about
    half a millisecond a row here, far too slow for a county recompute), in the caller's transaction."""
    if canons:
        _writer(STORED).write(_db_row(hid, canon, rows[hid]["fingerprint"], now) for hid, canon in canons.items())


# What changes every night (the day count) is not indexed; a light whose indexed columns stay put is rewritten
# without touching its index entries.
_UNINDEXED = ("days", "since", "last_record_on", "reasons", "red_since", "alerted", "fingerprint")


def _update_many(rows: dict[int, dict], canons: dict[int, tuple], existing: dict[int, _Stored], now) -> None:
    """Rewrite many stored lights: executemany UPDATE on SQLite; on PostgreSQL one UPDATE … FROM a temporary table
    filled by the bulk writer."""
    if not rows:
        return
    narrow, wide = [], []
    for hid, r in rows.items():
        same_keys = existing[hid].keys == (r["colour"], r["area_code"], r["cadre_id"], r["unit_id"])
        (narrow if same_keys else wide).append(hid)
    ops = connection.ops
    table = ops.quote_name(HouseholdLight._meta.db_table)
    for part, columns in ((narrow, _UNINDEXED), (wide, STORED)):
        if not part:
            continue
        data = (_db_row(hid, canons[hid], rows[hid]["fingerprint"], now, columns) for hid in part)
        names = (*columns, "computed_at")
        if connection.vendor == "postgresql":
            cols = ", ".join(ops.quote_name(c) for c in ("household_id", *names))
            sets = ", ".join(f"{ops.quote_name(c)} = t.{ops.quote_name(c)}" for c in names)
            with connection.cursor() as cursor:
                cursor.execute(f"CREATE TEMP TABLE light_update ON COMMIT DROP AS SELECT {cols} FROM {table} "  # noqa: S608
                               "WITH NO DATA")
                _writer(columns, table="light_update").write(data)
                cursor.execute(f"UPDATE {table} l SET {sets} FROM light_update t "  # noqa: S608
                               f"WHERE l.household_id = t.household_id")
                cursor.execute("DROP TABLE light_update")
        else:
            writer = _writer(columns)
            sets = ", ".join(f"{ops.quote_name(c)} = %s" for c in names)
            moved = [(*row[1:], row[0]) for row in map(writer.prepare, data)]  # the id goes last, in the WHERE
            with connection.cursor() as cursor:
                for i in range(0, len(moved), 10000):
                    cursor.executemany(f"UPDATE {table} SET {sets} WHERE household_id = %s",  # noqa: S608
                                       moved[i:i + 10000])


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
    from fupin.geo import responsible

    village_users = responsible.village_team(lt.village_code for lt in lights)
    out = {}
    for lt in lights:
        users = set(village_users.get(lt.village_code, ()))
        if lt.cadre and lt.cadre.user_id:
            users.add(lt.cadre.user_id)
        if lt.unit and lt.unit.contact_user_id:
            users.add(lt.unit.contact_user_id)
        out[lt.household_id] = users
    return out


def warning_parts(light: HouseholdLight) -> dict[str, str]:
    """The pieces of a red light's warning (also the SMS template's parameters), in Chinese."""
    hh = light.household
    with translation.override("zh-hans"):
        described = [describe(r) for r in light.reasons if r.get("colour") == Colour.RED] or \
            [describe(r) for r in light.reasons]
        problems = ";".join(p for p, _ in described)
        actions = ";".join(dict.fromkeys(a for _, a in described if a))
    village = hh.village.name if hh.village_id else ""
    return {"cadre": light.cadre.name if light.cadre else "", "household": f"{village}{hh}", "problems": problems,
            "actions": actions, "village": village}


def warning_text(light: HouseholdLight) -> tuple[str, str, str]:
    """(title, body, short text for SMS) of a red light's warning, in Chinese."""
    hh = light.household
    parts = warning_parts(light)
    problems, actions, village = parts["problems"], parts["actions"], parts["village"]
    title = f"红灯警示:{village}{hh}({problems})"
    body = f"{village}{hh}的帮扶跟踪亮红灯:{problems}。\n消除办法:{actions}。"
    cadre = f"帮扶责任人{light.cadre.name}," if light.cadre else ""
    sms = f"【精准扶贫跟踪警示】{cadre}{village}{hh}已亮红灯:{problems}。请{actions}。"
    return title, body, sms


_WARN_FIELDS = ("household_id", "colour", "days", "reasons", "area_code", "village_code", "household__uuid",
                "household__head_name", "household__poor_code", "household__hukou_no", "household__area_code",
                "household__village__name", "cadre__name", "cadre__phone", "cadre__user_id", "unit__phone",
                "unit__contact_user_id")


def _post_red(household_ids: list[int], today, *, sms: bool = True) -> None:
    """Warn about new red lights: an inbox item for each responsible user (once per light), a text to the cadre's
    and the unit's phones after the commit."""
    from fupin.accounts.models import User
    from fupin.inbox.models import InboxItem
    from fupin.inbox.services import inbox_post

    texts = []
    for i in range(0, len(household_ids), 2000):
        chunk = household_ids[i:i + 2000]
        lights = list(HouseholdLight.objects.filter(pk__in=chunk)
                      .select_related("household__village", "cadre", "unit").only(*_WARN_FIELDS))
        recipients = _recipients(lights)
        users = User.objects.in_bulk({u for us in recipients.values() for u in us})
        already = set(InboxItem.objects.filter(dedupe_key__in=[dedupe_key(h) for h in chunk],
                                               done_at__isnull=True).values_list("user_id", "dedupe_key"))
        for lt in lights:
            key = dedupe_key(lt.household_id)
            to_post = [uid for uid in sorted(recipients[lt.household_id]) if (uid, key) not in already
                       and uid in users]
            phones = sorted({lt.cadre.phone if lt.cadre else "", lt.unit.phone if lt.unit else ""} - {""}) \
                if sms else []
            if not to_post and not phones:
                continue
            title, body, sms_text = warning_text(lt)
            url = f"/assistance/households/{lt.household.uuid}/"
            for uid in to_post:
                inbox_post(user=users[uid], title=title, kind=InboxItem.Kind.WARNING, body=body, url=url,
                           obj=lt.household, area_code=lt.area_code, due_date=today + dt.timedelta(days=7),
                           dedupe_key=key)
            if phones:
                parts = warning_parts(lt)
                params = {k: parts[k] for k in ("cadre", "household", "problems")}
                texts += [(phone, sms_text, params, lt.area_code, lt.household_id) for phone in phones]
    if texts:
        from fupin.assistance.sms import send_sms

        transaction.on_commit(lambda: [
            send_sms(phone=p, text=t, purpose="red_light", params=params, area_code=area,
                     dedupe_key=f"{dedupe_key(hid)}.{today:%Y%m%d}.{p}") for p, t, params, area, hid in texts])


def _close(household_id: int) -> None:
    from fupin.inbox.services import inbox_close_by_key

    inbox_close_by_key(dedupe_key=dedupe_key(household_id))
