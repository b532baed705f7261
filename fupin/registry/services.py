"""Writes of the registry. Every change goes through one of these functions, which audit it."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from fupin.core import audit, idnumber
from fupin.core.errors import ServiceError
from fupin.geo.models import Division, Grid
from fupin.registry.models import Household, Person

PERSON_FIELDS = {f.name for f in Person._meta.concrete_fields} - {"id", "uuid", "household", "area_code", "id_rev",
                                                                   "batch", "created_at", "updated_at", "version"}


def person_id_fields(raw_id: object, *, strict: bool) -> dict[str, Any]:
    """Normalise an ID number into the Person columns; strict=False keeps an invalid one verbatim, flagged."""
    text = idnumber.clean(raw_id)
    if not text:
        return {"id_number": "", "id_rev": "", "id_valid": False}
    try:
        number = idnumber.normalise(text)
    except idnumber.IdNumberError as exc:
        if strict:
            raise ServiceError(exc.message, field="id_number") from exc
        return {"id_number": text, "id_rev": text[::-1], "id_valid": False}
    info = idnumber.info(number)
    return {"id_number": number, "id_rev": number[::-1], "id_valid": True, "sex": info.sex,
            "birth_date": info.birth_date}


def _check_unique_person(number: str, *, exclude_pk: int | None = None) -> None:
    qs = Person.objects.filter(id_number=number, household__isnull=False, is_alive=True)
    if exclude_pk:
        qs = qs.exclude(pk=exclude_pk)
    other = qs.select_related("household").first()
    if other:
        raise ServiceError(f"证件号码{idnumber.mask(number)}已在{other.household}中登记;迁入请使用户籍迁移", field="id_number")


@transaction.atomic
def household_create(*, actor, village: Division, members: list[dict], grid: Grid | None = None,
                     **fields: Any) -> Household:
    """Create a household with its members (the first member with relationship 户主 is the head).

    Each member dict holds Person fields plus `id_number` as typed; an invalid ID number is refused with a Chinese
    message naming the member, and a person already in another household is refused (moves are transfers).
    """
    if village.level not in ("village", "community"):
        raise ServiceError(f"户只能登记在村或社区:{village.name}")
    if grid is not None and grid.village_id != village.pk:
        raise ServiceError(f"网格{grid.code}不属于{village.name}")
    if not members:
        raise ServiceError("至少要有一名家庭成员")
    unknown = set(fields) - {f.name for f in Household._meta.concrete_fields}
    if unknown:
        raise ServiceError(f"未知字段:{', '.join(sorted(unknown))}")
    area = grid.code if grid else village.code
    head = next((m for m in members if m.get("relationship") == "户主"), members[0])
    hh = Household(village=village, grid=grid, area_code=area, head_name=head.get("name", ""), size=len(members),
                   **fields)
    hh.full_clean(exclude=["poor_code"] if not fields.get("poor_code") else None)
    hh.save()
    seen = set()
    for i, m in enumerate(members, start=1):
        m = dict(m)
        raw = m.pop("id_number", "")
        try:
            ids = person_id_fields(raw, strict=True)
        except ServiceError as exc:
            raise ServiceError(f"第{i}名成员{m.get('name', '')}:{exc.message}", field="id_number") from exc
        if ids["id_number"]:
            if ids["id_number"] in seen:
                raise ServiceError(f"第{i}名成员的证件号码与本户其他成员重复")
            seen.add(ids["id_number"])
            _check_unique_person(ids["id_number"])
        bad = set(m) - PERSON_FIELDS
        if bad:
            raise ServiceError(f"未知成员字段:{', '.join(sorted(bad))}")
        Person.objects.create(household=hh, area_code=area, **{**m, **ids})
    audit.record(actor=actor, action="registry.household.create", obj=hh, after=audit.snapshot(hh))
    return hh


@transaction.atomic
def household_update(*, actor, household: Household, expected_version: int | None = None, **changes: Any
                     ) -> Household:
    """Change household fields; with expected_version, a stale client's write is refused (ConflictError)."""
    from fupin.core.errors import ConflictError

    hh = Household.objects.select_for_update().get(pk=household.pk)
    if expected_version is not None and hh.version != expected_version:
        raise ConflictError(f"该户记录已被他人修改(当前版本{hh.version},您编辑的是版本{expected_version}),请刷新后再改")
    allowed = {f.name for f in Household._meta.concrete_fields} - {"id", "uuid", "version", "village", "grid",
                                                                    "area_code", "batch", "created_at", "updated_at"}
    bad = set(changes) - allowed
    if bad:
        raise ServiceError(f"不能直接修改:{', '.join(sorted(bad))}")
    before = audit.snapshot(hh)
    for k, v in changes.items():
        setattr(hh, k, v)
    hh.version += 1
    hh.full_clean(exclude=["poor_code"] if not hh.poor_code else None)
    hh.save()
    audit.record(actor=actor, action="registry.household.update", obj=hh, before=before, after=audit.snapshot(hh))
    return hh
