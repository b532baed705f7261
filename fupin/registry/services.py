"""Writes of the registry. Every change goes through one of these functions, which audit it.

Dynamic management (动态管理) is one service per kind of change: a birth or a marriage adds a member, a death marks the
person deceased, a marriage out or a move away takes the person out of the household, a move between households is a
transfer, and households split and merge. Each writes a `MemberChange` row (the household's membership history) and
one audit event, and recomputes the household's size and per-capita income.
"""

from __future__ import annotations

import datetime as dt
import uuid as uuidlib
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from fupin.core import audit, idnumber
from fupin.core.errors import ConflictError, ServiceError
from fupin.core.fields import blind_q
from fupin.core.household_rows import relocate_rows
from fupin.core.i18n import join_list
from fupin.geo.models import Division, Grid
from fupin.registry.models import Household, MemberChange, Person, PovertyLine, VillageProfile

PERSON_FIELDS = {f.name for f in Person._meta.concrete_fields} - {"id", "uuid", "household", "area_code", "id_index",
                                                                   "id_tail4_index", "id_tail6_index", "batch", "created_at", "updated_at", "version"}
INCOME_FIELDS = ("income_wages", "income_business", "cost_business", "income_property", "transfer_family_planning",
                 "transfer_dibao", "transfer_wubao", "transfer_pension", "transfer_eco", "transfer_other")
TRANSFER_FIELDS = INCOME_FIELDS[4:]
HEAD = "户主"
CENT = Decimal("0.01")


def _today() -> dt.date:
    return timezone.localdate()


def person_id_fields(raw_id: object, *, strict: bool) -> dict[str, Any]:
    """Normalise an ID number into the Person columns; strict=False keeps an invalid one verbatim, flagged."""
    text = idnumber.clean(raw_id)
    if not text:
        return {"id_number": "", "id_valid": False}
    try:
        number = idnumber.normalise(text)
    except idnumber.IdNumberError as exc:
        if strict:
            raise ServiceError(exc.message, field="id_number") from exc
        return {"id_number": text, "id_valid": False}
    info = idnumber.info(number)
    return {"id_number": number, "id_valid": True, "sex": info.sex,
            "birth_date": info.birth_date}


def _check_unique_person(number: str, *, exclude_pk: int | None = None) -> None:
    qs = Person.objects.filter(blind_q(Person, "id_number", number), household__isnull=False, is_alive=True)
    if exclude_pk:
        qs = qs.exclude(pk=exclude_pk)
    other = qs.select_related("household").first()
    if other:
        raise ServiceError(_("ID number %(mask)s is already registered in %(household)s; to move the person in, use a household registration move") % {"mask": idnumber.mask(number), "household": other.household}, field="id_number")


# Income --------------------------------------------------------------------------------------------------------

def _dec(value: object) -> Decimal:
    if value in (None, ""):
        return Decimal(0)
    try:
        return Decimal(str(value))
    except ArithmeticError as exc:
        raise ServiceError(_("The amount is not a number: %(value)s") % {"value": value}) from exc


def income_figures(values: dict[str, object], size: int) -> dict[str, Decimal]:
    """年收入, 纯收入 and 人均纯收入 from the income block (yuan/year).

    annual = wages + business + property + transfers; net = annual - business costs; per capita = net / members.
    >>> income_figures({"income_wages": 6000, "cost_business": 1000, "income_business": 3000}, 2)["per_capita_net_income"]
    Decimal('4000.00')
    """
    wages, business, costs, prop = (_dec(values.get(k)) for k in INCOME_FIELDS[:4])
    transfers = sum((_dec(values.get(k)) for k in TRANSFER_FIELDS), Decimal(0))
    annual = wages + business + prop + transfers
    net = annual - costs
    per_capita = (net / size).quantize(CENT, rounding=ROUND_HALF_UP) if size else Decimal(0)
    return {"annual_income": annual.quantize(CENT), "net_income": net.quantize(CENT),
            "per_capita_net_income": per_capita}


def _apply_income(hh: Household) -> None:
    """Recompute the income totals from the income block; a household whose block is empty but that has a net
    income (a roster gives only the per-capita figure) keeps its net income, divided by the current size."""
    values = {k: getattr(hh, k) for k in INCOME_FIELDS}
    if not any(_dec(v) for v in values.values()) and _dec(hh.net_income):
        hh.per_capita_net_income = (_dec(hh.net_income) / hh.size).quantize(CENT, rounding=ROUND_HALF_UP) \
            if hh.size else Decimal(0)
        return
    for k, v in income_figures(values, hh.size).items():
        setattr(hh, k, v)


def poverty_line(year: int | None) -> Decimal | None:
    """The poverty line of a year (yuan per person per year); None when the county has not entered it."""
    if not year:
        return None
    return PovertyLine.objects.filter(year=year).values_list("amount", flat=True).first()


@transaction.atomic
def poverty_line_set(*, actor, year: int, amount: object, note: str = "") -> PovertyLine:
    """Enter or correct the poverty line of a year (a dated setting the county keeps)."""
    value = _dec(amount)
    if not (1900 < int(year) < 2200):
        raise ServiceError(_("Invalid year: %(year)s") % {"year": year})
    if value <= 0:
        raise ServiceError(_("The poverty line must be greater than 0"))
    line = PovertyLine.objects.filter(year=year).first()
    before = audit.snapshot(line)
    if line is None:
        line = PovertyLine(year=year)
    line.amount, line.note = value, note
    line.save()
    audit.record(actor=actor, action="registry.poverty_line.set", obj=line, object_repr=f"{year}年贫困线",
                 before=before, after=audit.snapshot(line))
    return line


# Households ----------------------------------------------------------------------------------------------------

def _validate_place(village: Division, grid: Grid | None) -> str:
    if village.level not in ("village", "community"):
        raise ServiceError(_("A household is registered only in a village or community: %(village_name)s") % {"village_name": village.name})
    if grid is not None and grid.village_id != village.pk:
        raise ServiceError(_("Grid %(grid_code)s does not belong to %(village_name)s") % {"grid_code": grid.code, "village_name": village.name})
    return grid.code if grid else village.code


def _new_person(*, household: Household, member: dict, index: int, strict_id: bool = True,
                allow_empty_id: bool = True) -> Person:
    m = dict(member)
    raw = m.pop("id_number", "")
    person_uuid = m.pop("uuid", None)
    who = f"第{index}名成员{m.get('name', '')}" if index else (m.get("name") or "该成员")
    if not str(m.get("name") or "").strip():
        raise ServiceError(_("%(who)s: the name is required") % {"who": who}, field="name")
    try:
        ids = person_id_fields(raw, strict=strict_id)
    except ServiceError as exc:
        raise ServiceError(f"{who}:{exc.message}", field="id_number") from exc
    if not ids["id_number"] and not allow_empty_id:
        raise ServiceError(_("%(who)s: the ID number is empty") % {"who": who}, field="id_number")
    bad = set(m) - PERSON_FIELDS
    if bad:
        raise ServiceError(_("Unknown member fields: %(items)s") % {"items": ', '.join(sorted(bad))})
    if ids["id_number"]:
        _check_unique_person(ids["id_number"])
    fields = {**m, **ids}
    if person_uuid:
        fields["uuid"] = person_uuid
    return Person(household=household, area_code=household.area_code, **fields)


@transaction.atomic
def household_create(*, actor, village: Division, members: list[dict], grid: Grid | None = None,
                     uuid: uuidlib.UUID | str | None = None, **fields: Any) -> Household:
    """Create a household with its members (the first member with relationship 户主 is the head).

    Each member dict holds Person fields plus `id_number` as typed; an invalid ID number is refused with a Chinese
    message naming the member, and a person already in another household is refused (moves are transfers).
    A client-generated `uuid` makes the call idempotent: when a household with that uuid exists it is returned as it
    stands and nothing is written.
    """
    if uuid:
        existing = Household.objects.filter(uuid=uuid).first()
        if existing is not None:
            return existing
    area = _validate_place(village, grid)
    if not members:
        raise ServiceError(_("A household needs at least one member"))
    unknown = set(fields) - {f.name for f in Household._meta.concrete_fields}
    if unknown:
        raise ServiceError(_("Unknown fields: %(items)s") % {"items": ', '.join(sorted(unknown))})
    heads = [m for m in members if m.get("relationship") == HEAD]
    if len(heads) > 1:
        raise ServiceError(_("A household has only one head"))
    head = heads[0] if heads else members[0]
    hh = Household(village=village, grid=grid, area_code=area, head_name=head.get("name", ""), size=len(members),
                   **fields)
    if uuid:
        hh.uuid = uuid
    if not hh.poor_code:
        hh.poor_code = None
    _apply_income(hh)
    hh.full_clean(exclude=["poor_code"] if not hh.poor_code else None)
    hh.save()
    seen = set()
    people = []
    for i, m in enumerate(members, start=1):
        person = _new_person(household=hh, member=m, index=i)
        if person.id_number:
            if person.id_number in seen:
                raise ServiceError(_("Member %(i)s has the same ID number as another member of the household") % {"i": i})
            seen.add(person.id_number)
        person.full_clean(exclude=["household", "uuid"])
        people.append(person)
    Person.objects.bulk_create(people)
    audit.record(actor=actor, action="registry.household.create", obj=hh, after=audit.snapshot(hh))
    return hh


def _locked(household: Household) -> Household:
    return Household.objects.select_for_update().get(pk=household.pk)


def _check_version(obj, expected_version: int | None, what: str) -> None:
    if expected_version is not None and obj.version != expected_version:
        raise ConflictError(_("Someone else changed this %(what)s record (now version %(version)s, you edited version %(expected_version)s): reload and change it again") % {"what": what, "version": obj.version, "expected_version": expected_version})


@transaction.atomic
def household_update(*, actor, household: Household, expected_version: int | None = None, **changes: Any
                     ) -> Household:
    """Change household fields; with expected_version, a stale client's write is refused (ConflictError).

    Income fields recompute the annual, net and per-capita net income; `village`/`grid` move the household (and its
    members' area codes) to another place.
    """
    hh = _locked(household)
    _check_version(hh, expected_version, "户")
    allowed = {f.name for f in Household._meta.concrete_fields} - {
        "id", "uuid", "version", "area_code", "batch", "created_at", "updated_at", "size", "annual_income",
        "net_income", "per_capita_net_income", "dissolved_on", "dissolved_reason", "merged_into", "split_from"}
    bad = set(changes) - allowed
    if bad:
        raise ServiceError(_("Cannot be changed directly: %(items)s") % {"items": ', '.join(sorted(bad))})
    before = audit.snapshot(hh)
    for k, v in changes.items():
        setattr(hh, k, v)
    if "village" in changes or "grid" in changes:
        if "village" in changes and "grid" not in changes and hh.grid_id and hh.grid.village_id != hh.village_id:
            hh.grid = None
        hh.area_code = _validate_place(hh.village, hh.grid)
    if hh.poor_code == "":
        hh.poor_code = None
    _apply_income(hh)
    hh.version += 1
    hh.full_clean(exclude=["poor_code"] if not hh.poor_code else None)
    hh.save()
    after = audit.snapshot(hh)
    if "village" in changes or "grid" in changes:
        # every row that belongs to the household follows it, in this transaction (fupin/core/household_rows.py)
        after["rows_moved"] = relocate_rows([hh.pk], area_code=hh.area_code, village=hh.village)
    audit.record(actor=actor, action="registry.household.update", obj=hh, before=before, after=after)
    return hh


def household_relocate(*, actor, household: Household, village: Division, grid: Grid | None = None,
                       expected_version: int | None = None) -> Household:
    """Move a household to another village and/or grid: the household, its members and every row that belongs to it
    (visits, pairings, plans, findings, work orders, procedures, responses, problems ... as declared with
    `fupin.core.household_rows.household_rows`) take the new area code in one transaction; one audit event."""
    return household_update(actor=actor, household=household, expected_version=expected_version, village=village,
                            grid=grid)


@transaction.atomic
def person_update(*, actor, person: Person, expected_version: int | None = None, **changes: Any) -> Person:
    """Correct a member's fields; a new ID number is validated (Chinese message) and must not be in another household.

    Deaths, marriages and moves are not edits: they have their own services below.
    """
    p = Person.objects.select_for_update().get(pk=person.pk)
    _check_version(p, expected_version, "成员")
    allowed = PERSON_FIELDS - {"is_alive", "death_date", "id_valid"}
    bad = set(changes) - allowed
    if bad:
        raise ServiceError(_("Cannot be changed directly: %(items)s") % {"items": ', '.join(sorted(bad))})
    if changes.get("relationship") == HEAD and p.relationship != HEAD:
        raise ServiceError(_("To change the head, use “Change head”"))
    before = audit.snapshot(p)
    if "id_number" in changes:
        ids = person_id_fields(changes.pop("id_number"), strict=True)
        if ids["id_number"] and ids["id_number"] != p.id_number:
            _check_unique_person(ids["id_number"], exclude_pk=p.pk)
        for k, v in ids.items():
            setattr(p, k, v)
    for k, v in changes.items():
        setattr(p, k, v)
    if not str(p.name or "").strip():
        raise ServiceError(_("The name is required"), field="name")
    p.version += 1
    p.full_clean(exclude=["household", "uuid"])
    p.save()
    if p.relationship == HEAD and p.household_id:
        Household.objects.filter(pk=p.household_id).update(head_name=p.name)
    audit.record(actor=actor, action="registry.person.update", obj=p, before=before, after=audit.snapshot(p))
    return p


# Dynamic management ---------------------------------------------------------------------------------------------

def _log(*, actor, kind: str, person: Person, date: dt.date, from_household: Household | None = None,
         to_household: Household | None = None, note: str = "") -> MemberChange:
    area = (to_household or from_household or person).area_code
    return MemberChange.objects.create(
        kind=kind, person=person, from_household=from_household, to_household=to_household, date=date,
        area_code=area, note=note[:300], actor=actor if getattr(actor, "pk", None) else None,
        actor_name=(actor.get_username() if getattr(actor, "pk", None) else str(actor or "system"))[:150])


def _refresh(hh: Household) -> Household:
    """Recount living members, re-derive the head's name and the per-capita income, bump the version."""
    living = list(Person.objects.filter(household=hh, is_alive=True).values_list("name", "relationship"))
    hh.size = len(living)
    head = next((n for n, r in living if r == HEAD), None)
    if head is not None:
        hh.head_name = head
    _apply_income(hh)
    hh.version += 1
    hh.save()
    return hh


def _check_date(date: dt.date | None, what: str) -> dt.date:
    date = date or _today()
    if date > _today():
        raise ServiceError(_("The %(what)s date cannot be later than today: %(date)s") % {"what": what, "date": date.isoformat()})
    return date


def _check_open(hh: Household) -> None:
    if hh.dissolved_on:
        raise ServiceError(_("%(hh)s was closed on %(dissolved_on)s: its members cannot change") % {"hh": hh, "dissolved_on": hh.dissolved_on.isoformat()})


def _member(person: Person) -> Person:
    p = Person.objects.select_for_update(of=("self",)).select_related("household").get(pk=person.pk)
    if p.household_id is None:
        raise ServiceError(_("%(p_name)s is in no household now") % {"p_name": p.name})
    if not p.is_alive:
        raise ServiceError(_("%(p_name)s is deceased") % {"p_name": p.name})
    return p


def _hand_over_head(*, leaving: Person, household: Household, new_head: Person | None, date: dt.date,
                    actor) -> None:
    """When the head leaves (dies, marries out, moves), another living member must become head."""
    if leaving.relationship != HEAD:
        return
    others = Person.objects.filter(household=household, is_alive=True).exclude(pk=leaving.pk)
    if not others.exists():
        return
    if new_head is None:
        raise ServiceError(_("%(leaving_name)s is the head: name the new head too") % {"leaving_name": leaving.name})
    if new_head.household_id != household.pk or not new_head.is_alive or new_head.pk == leaving.pk:
        raise ServiceError(_("The new head %(new_head_name)s must be another living member of the household") % {"new_head_name": new_head.name})
    Person.objects.filter(pk=new_head.pk).update(relationship=HEAD, version=new_head.version + 1,
                                                 updated_at=timezone.now())
    _log(actor=actor, kind=MemberChange.Kind.HEAD, person=new_head, date=date, from_household=household,
         to_household=household, note=f"原户主{leaving.name}")


def _dissolve_if_empty(hh: Household, date: dt.date, reason: str) -> None:
    if not Person.objects.filter(household=hh, is_alive=True).exists():
        hh.dissolved_on, hh.dissolved_reason = date, reason


@transaction.atomic
def member_add(*, actor, household: Household, member: dict, kind: str = MemberChange.Kind.BIRTH,
               date: dt.date | None = None, note: str = "") -> Person:
    """A birth, a marriage into the household or another new member. A newborn may have no ID number yet.

    A person already in another household is not added: that is a move (`member_move`).
    """
    if kind not in (MemberChange.Kind.BIRTH, MemberChange.Kind.MARRIAGE_IN, MemberChange.Kind.ADD):
        raise ServiceError(_("Unknown change type: %(kind)s") % {"kind": kind})
    date = _check_date(date, _("change"))
    hh = _locked(household)
    _check_open(hh)
    member = dict(member)
    member.setdefault("relationship", "其他")
    if member["relationship"] == HEAD and Person.objects.filter(household=hh, is_alive=True,
                                                                 relationship=HEAD).exists():
        raise ServiceError(_("The household has a head; to change the head, use “Change head”"))
    person = _new_person(household=hh, member=member, index=0, allow_empty_id=kind == MemberChange.Kind.BIRTH)
    if kind == MemberChange.Kind.BIRTH and person.birth_date and person.birth_date > date:
        raise ServiceError(_("The date of birth is later than the registration date"))
    person.full_clean(exclude=["household", "uuid"])
    person.save()
    _log(actor=actor, kind=kind, person=person, date=date, to_household=hh, note=note)
    _refresh(hh)
    audit.record(actor=actor, action=f"registry.member.{kind}", obj=person, area_code=hh.area_code,
                 after=audit.snapshot(person), note=note)
    return person


@transaction.atomic
def member_death(*, actor, person: Person, date: dt.date, new_head: Person | None = None, note: str = "") -> Person:
    """Mark a member deceased on `date`; the household keeps the record. A deceased head hands over to `new_head`;
    the household is closed when nobody living remains."""
    date = _check_date(date, _("death"))
    p = _member(person)
    if p.birth_date and date < p.birth_date:
        raise ServiceError(_("The date of death is earlier than the date of birth"))
    hh = _locked(p.household)
    before = audit.snapshot(p)
    _hand_over_head(leaving=p, household=hh, new_head=new_head, date=date, actor=actor)
    p.is_alive, p.death_date = False, date
    p.version += 1
    p.save()
    _log(actor=actor, kind=MemberChange.Kind.DEATH, person=p, date=date, from_household=hh, note=note)
    _dissolve_if_empty(hh, date, "death")
    _refresh(hh)
    audit.record(actor=actor, action="registry.member.death", obj=p, before=before, after=audit.snapshot(p),
                 note=note)
    return p


@transaction.atomic
def member_leave(*, actor, person: Person, date: dt.date | None = None, kind: str = MemberChange.Kind.MARRIAGE_OUT,
                 new_head: Person | None = None, note: str = "") -> Person:
    """A member marries out or moves away from the registry's area: the person leaves the household (the record and
    its history stay)."""
    if kind not in (MemberChange.Kind.MARRIAGE_OUT, MemberChange.Kind.MOVE_OUT):
        raise ServiceError(_("Unknown change type: %(kind)s") % {"kind": kind})
    date = _check_date(date, _("moving out"))
    p = _member(person)
    hh = _locked(p.household)
    before = audit.snapshot(p)
    _hand_over_head(leaving=p, household=hh, new_head=new_head, date=date, actor=actor)
    p.household = None
    p.version += 1
    p.save()
    _log(actor=actor, kind=kind, person=p, date=date, from_household=hh, note=note)
    _dissolve_if_empty(hh, date, kind)
    _refresh(hh)
    audit.record(actor=actor, action=f"registry.member.{kind}", obj=p, before=before, after=audit.snapshot(p),
                 note=note)
    return p


@transaction.atomic
def member_move(*, actor, person: Person, to_household: Household, relationship: str,
                date: dt.date | None = None, kind: str = MemberChange.Kind.MOVE, new_head: Person | None = None,
                note: str = "") -> Person:
    """Transfer a member to another household (a move, or a marriage between two registered households).

    The person keeps one record; the transfer is logged on both households.
    """
    if kind not in (MemberChange.Kind.MOVE, MemberChange.Kind.MARRIAGE_IN):
        raise ServiceError(_("Unknown change type: %(kind)s") % {"kind": kind})
    date = _check_date(date, _("move"))
    p = _member(person)
    source = _locked(p.household)
    target = _locked(to_household)
    if source.pk == target.pk:
        raise ServiceError(_("%(p_name)s is already in the household") % {"p_name": p.name})
    _check_open(target)
    if relationship == HEAD and Person.objects.filter(household=target, is_alive=True, relationship=HEAD).exists():
        raise ServiceError(_("%(target)s already has a head") % {"target": target})
    before = audit.snapshot(p)
    _hand_over_head(leaving=p, household=source, new_head=new_head, date=date, actor=actor)
    p.household, p.area_code, p.relationship = target, target.area_code, relationship or "其他"
    p.version += 1
    p.save()
    _log(actor=actor, kind=kind, person=p, date=date, from_household=source, to_household=target, note=note)
    _dissolve_if_empty(source, date, "move")
    _refresh(source)
    _refresh(target)
    relocate_rows([target.pk], area_code=target.area_code, village=target.village)  # the person's own rows follow
    audit.record(actor=actor, action="registry.member.move", obj=p, before=before, after=audit.snapshot(p),
                 note=f"{source} → {target}" + (f";{note}" if note else ""))
    return p


@transaction.atomic
def head_change(*, actor, household: Household, new_head: Person, old_head_relationship: str = "其他",
                date: dt.date | None = None, note: str = "") -> Household:
    """Make another living member the head of household; the former head takes `old_head_relationship`."""
    date = _check_date(date, _("head change"))
    hh = _locked(household)
    _check_open(hh)
    nh = _member(new_head)
    if nh.household_id != hh.pk:
        raise ServiceError(_("%(nh_name)s is not a member of the household") % {"nh_name": nh.name})
    if nh.relationship == HEAD:
        raise ServiceError(_("%(nh_name)s is already the head") % {"nh_name": nh.name})
    if old_head_relationship == HEAD:
        raise ServiceError(_("The former head needs another relationship"))
    # updated_at and version moved too: the change stamp the comparison's registry copy is kept by
    Person.objects.filter(household=hh, is_alive=True, relationship=HEAD).update(
        relationship=old_head_relationship, version=F("version") + 1, updated_at=timezone.now())
    nh.relationship = HEAD
    nh.version += 1
    nh.save()
    _log(actor=actor, kind=MemberChange.Kind.HEAD, person=nh, date=date, from_household=hh, to_household=hh,
         note=note)
    before = audit.snapshot(hh)
    _refresh(hh)
    audit.record(actor=actor, action="registry.household.head", obj=hh, before=before, after=audit.snapshot(hh),
                 note=note)
    return hh


@transaction.atomic
def household_split(*, actor, household: Household, members: list[Person], relationships: dict[int, str],
                    date: dt.date | None = None, new_head_of_source: Person | None = None, poor_code: str | None = None,
                    uuid: uuidlib.UUID | str | None = None, note: str = "", **fields: Any) -> Household:
    """Split some members off into a new household in the same village and grid (分户).

    `relationships` gives each moving member's relationship in the new household by person pk; exactly one is 户主.
    The new household is not registered poor by itself: that takes the identification procedure (or `fields`).
    """
    date = _check_date(date, _("household split"))
    source = _locked(household)
    _check_open(source)
    moving = list(Person.objects.select_for_update().filter(pk__in=[m.pk for m in members]))
    if not moving:
        raise ServiceError(_("Choose the members to split off"))
    for p in moving:
        if p.household_id != source.pk or not p.is_alive:
            raise ServiceError(_("%(p_name)s is not a living member of the household") % {"p_name": p.name})
    remaining = Person.objects.filter(household=source, is_alive=True).exclude(pk__in=[p.pk for p in moving])
    if not remaining.exists():
        raise ServiceError(_("After the split the household cannot be empty; to move everyone, use a merger or a move"))
    heads = [p for p in moving if relationships.get(p.pk) == HEAD]
    if len(heads) != 1:
        raise ServiceError(_("The new household needs exactly one head"))
    missing = [p.name for p in moving if not relationships.get(p.pk)]
    if missing:
        raise ServiceError(_("Give the relationship to the new head: %(items)s") % {"items": join_list(missing)})
    old_head = next((p for p in moving if p.relationship == HEAD), None)
    if old_head is not None:
        _hand_over_head(leaving=old_head, household=source, new_head=new_head_of_source, date=date, actor=actor)
    new = Household(village=source.village, grid=source.grid, area_code=source.area_code,
                    group_name=source.group_name, address=source.address, head_name=heads[0].name,
                    poor_code=poor_code or None, split_from=source, size=len(moving), **fields)
    if uuid:
        new.uuid = uuid
    new.full_clean(exclude=["poor_code"] if not new.poor_code else None)
    new.save()
    for p in moving:
        p.household, p.relationship = new, relationships[p.pk]
        p.version += 1
        p.save()
        _log(actor=actor, kind=MemberChange.Kind.SPLIT, person=p, date=date, from_household=source,
             to_household=new, note=note)
    _refresh(source)
    _refresh(new)
    audit.record(actor=actor, action="registry.household.split", obj=new, after=audit.snapshot(new),
                 note=f"由{source}分出" + (f";{note}" if note else ""))
    audit.record(actor=actor, action="registry.household.split_source", obj=source,
                 note=f"分出{new}({len(moving)}人)" + (f";{note}" if note else ""))
    return new


@transaction.atomic
def household_merge(*, actor, source: Household, target: Household, relationships: dict[int, str] | None = None,
                    date: dt.date | None = None, note: str = "") -> Household:
    """Merge `source` into `target` (合户): every living member of source moves; source is closed, not deleted.

    `relationships` gives each moving member's relationship to the target's head by person pk (default 其他).
    """
    date = _check_date(date, _("household merger"))
    src, tgt = _locked(source), _locked(target)
    if src.pk == tgt.pk:
        raise ServiceError(_("A household cannot merge with itself"))
    _check_open(src)
    _check_open(tgt)
    relationships = relationships or {}
    if any(r == HEAD for r in relationships.values()):
        raise ServiceError(_("Members merged in cannot be heads; to change the head after the merger, use “Change head”"))
    moving = list(Person.objects.select_for_update().filter(household=src, is_alive=True))
    before = audit.snapshot(src)
    for p in moving:
        p.household, p.area_code, p.relationship = tgt, tgt.area_code, relationships.get(p.pk) or "其他"
        p.version += 1
        p.save()
        _log(actor=actor, kind=MemberChange.Kind.MERGE, person=p, date=date, from_household=src, to_household=tgt,
             note=note)
    src.dissolved_on, src.dissolved_reason, src.merged_into = date, "merge", tgt
    _refresh(src)
    _refresh(tgt)
    relocate_rows([tgt.pk], area_code=tgt.area_code, village=tgt.village)  # the members' own rows follow
    audit.record(actor=actor, action="registry.household.merge", obj=src, before=before, after=audit.snapshot(src),
                 note=f"并入{tgt}" + (f";{note}" if note else ""))
    audit.record(actor=actor, action="registry.household.merge_target", obj=tgt,
                 note=f"{src}并入本户({len(moving)}人)" + (f";{note}" if note else ""))
    return tgt


# Villages ------------------------------------------------------------------------------------------------------

VILLAGE_PROFILE_FIELDS = {f.name for f in VillageProfile._meta.concrete_fields} - {
    "id", "uuid", "version", "created_at", "updated_at", "batch", "village", "year", "area_code"}


@transaction.atomic
def village_profile_save(*, actor, village: Division, year: int, expected_version: int | None = None,
                         **figures: Any) -> VillageProfile:
    """Create or change the village form of one year (the figures the village reports)."""
    if village.level != "village":
        raise ServiceError(_("Village information belongs to an administrative village only: %(village_name)s") % {"village_name": village.name})
    bad = set(figures) - VILLAGE_PROFILE_FIELDS
    if bad:
        raise ServiceError(_("Unknown fields: %(items)s") % {"items": ', '.join(sorted(bad))})
    profile = VillageProfile.objects.select_for_update().filter(village=village, year=year).first()
    before = audit.snapshot(profile)
    if profile is None:
        profile = VillageProfile(village=village, year=year, area_code=village.code)
    else:
        _check_version(profile, expected_version, "村级信息")
        profile.version += 1
    for k, v in figures.items():
        setattr(profile, k, v)
    profile.full_clean(exclude=["village", "uuid"])
    profile.save()
    audit.record(actor=actor, action="registry.village_profile.save", obj=profile, before=before,
                 after=audit.snapshot(profile))
    return profile


@transaction.atomic
def village_set_poor(*, actor, village: Division, is_poor: bool, note: str = "") -> Division:
    """Mark a village as a poor village (贫困村) or not. Exit (出列) goes through the village-exit procedure."""
    if village.level != "village":
        raise ServiceError(_("Only an administrative village can be a poor village: %(village_name)s") % {"village_name": village.name})
    v = Division.objects.select_for_update().get(pk=village.pk)
    if v.is_poor_village == is_poor:
        return v
    before = {"is_poor_village": v.is_poor_village}
    v.is_poor_village = is_poor
    v.version += 1
    v.save(update_fields=["is_poor_village", "version", "updated_at"])
    audit.record(actor=actor, action="registry.village.poor" if is_poor else "registry.village.not_poor", obj=v,
                 area_code=v.code, before=before, after={"is_poor_village": is_poor}, note=note)
    return v
