"""The national poverty information system (全国扶贫开发信息系统): its import layouts, its suspect-data feedback
(疑点数据) and the snapshot a yearly dynamic adjustment (动态调整) is compared with.

The layout followed here (see docs/interop.md): a workbook of two sheets, members first, then households. The
member sheet uses the columns of the 建档立卡 roster the national system exports (domain.md §6) under the same
headers, so that what goes out also comes back in through the roster importer; coded fields carry the national
code values (性别 GB/T 2261.1, 民族 GB/T 3304, 贫困户属性, 致贫原因, 脱贫状态 ... as in fupin/registry/codes.py), not
labels. The household sheet carries one row per household with its 12-digit division code. The national system's
exact current import template was not found: a county must confirm the columns against the template its
provincial office issues before uploading, and can change `MEMBER_COLUMNS` / `HOUSEHOLD_COLUMNS` here.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import QuerySet

from fupin.core import idnumber
from fupin.registry.importer import HEADER
from fupin.registry.models import Household, Person
from fupin.registry.xlsxstream import Sheet, workbook_chunks

# (header, source) — the member sheet's headers are the roster importer's canonical names
MEMBER_COLUMNS: list[tuple[str, str]] = [
    (HEADER["seq"], "seq"), (HEADER["town"], "household__village__parent__name"),
    (HEADER["village"], "household__village__name"), (HEADER["group"], "household__group_name"),
    (HEADER["poor_code"], "household__poor_code"), (HEADER["name"], "name"),
    (HEADER["relationship"], "relationship"), (HEADER["id_type"], "id_type"), (HEADER["id_number"], "id_number"),
    (HEADER["sex"], "sex"), (HEADER["ethnicity"], "ethnicity"), (HEADER["size"], "household__size"),
    (HEADER["attribute"], "household__attribute"), (HEADER["main_cause"], "household__main_cause"),
    (HEADER["other_causes"], "household__other_causes"), (HEADER["status"], "household__poverty_status"),
    (HEADER["standard"], "household__identification_standard"),
    (HEADER["year_identified"], "household__year_identified"), (HEADER["year_exited"], "household__year_exited"),
    (HEADER["political"], "political_status"), (HEADER["education"], "education"),
    (HEADER["schooling"], "schooling"), (HEADER["health"], "health"), (HEADER["labour"], "labour_skill"),
    (HEADER["work_status"], "work_status"), (HEADER["work_months"], "work_months"),
    (HEADER["dibao"], "dibao"), (HEADER["rural_medical"], "rural_medical"), (HEADER["pension"], "pension_insurance"),
    (HEADER["serious_illness"], "serious_illness_insurance"), (HEADER["soldier"], "serving_soldier"),
    (HEADER["disability_card"], "disability_card"), (HEADER["phone"], "phone"),
]
HOUSEHOLD_COLUMNS: list[tuple[str, str]] = [
    ("户编号", "poor_code"), ("行政区划代码", "village__code"), ("乡镇", "village__parent__name"),
    ("行政村", "village__name"), ("组", "group_name"), ("户主姓名", "head_name"), ("户主证件号码", "head_id"),
    ("家庭人口数", "size"), ("识别标准", "identification_standard"), ("贫困户属性", "attribute"),
    ("主要致贫原因", "main_cause"), ("其他致贫原因", "other_causes"), ("脱贫状态", "poverty_status"),
    ("识别年度", "year_identified"), ("脱贫年度", "year_exited"), ("人均纯收入", "per_capita_net_income"),
    ("联系电话", "phone"),
]
ID_TYPE_NAMES = {"id_card": "居民身份证", "disability": "残疾人证", "hukou": "户口簿", "other": "其他"}
MEMBER_SHEET, HOUSEHOLD_SHEET = "成员信息", "户信息"
_FLAGS = {"dibao", "rural_medical", "pension_insurance", "serious_illness_insurance", "serving_soldier"}
_ID_FIELDS = {"id_number", "disability_card", "head_id"}


def _text(v) -> str:
    return "" if v is None else str(v)


def _converter(source: str, full_ids: bool):
    """The function turning a stored value of `source` into the cell's text (chosen once per column)."""
    if source in _FLAGS:
        return lambda v: "是" if v else "否"
    if source in _ID_FIELDS:
        return _text if full_ids else (lambda v: "" if v is None else idnumber.mask(v))
    if source == "id_type":
        return lambda v: ID_TYPE_NAMES.get(v, v or "")
    if source in ("health", "household__other_causes", "other_causes"):
        return lambda v: ",".join(str(x) for x in v) if isinstance(v, list) else _text(v)
    if source == "per_capita_net_income":
        return lambda v: f"{v:.2f}" if v else ""
    return _text


def _full_ids(user) -> bool:
    return bool(getattr(user, "may_view_full_id", False)) or bool(getattr(user, "is_superuser", False))


def member_rows(user, households: QuerySet) -> Iterator[list[str]]:
    """Member sheet rows of the households' living members, heads first, household by household."""
    full = _full_ids(user)
    sources = [s for _, s in MEMBER_COLUMNS if s != "seq"]
    qs = (Person.objects.filter(household__in=households.order_by().values("pk"), is_alive=True)
          .order_by("household__area_code", "household__poor_code", "household_id", "id")
          .values_list("household_id", *sources))
    seq = 0
    pending: list[tuple] = []
    current = None
    rel = sources.index("relationship") + 1

    convert = [_converter(s, full) for s in sources]

    def flush():
        nonlocal seq
        pending.sort(key=lambda r: r[rel] != "户主")
        for r in pending:
            seq += 1
            yield [str(seq), *(f(v) for f, v in zip(convert, r[1:], strict=True))]
        pending.clear()

    for r in qs.iterator(chunk_size=5000):
        if r[0] != current and pending:
            yield from flush()
        current = r[0]
        pending.append(r)
    yield from flush()


def household_rows(user, households: QuerySet) -> Iterator[list[str]]:
    """Household sheet rows, one per household; the heads' ID numbers are read for each chunk of households."""
    full = _full_ids(user)
    sources = [s for _, s in HOUSEHOLD_COLUMNS if s != "head_id"]
    qs = households.order_by("area_code", "poor_code", "id").values_list("id", *sources)
    batch: list[tuple] = []

    convert = {s: _converter(s, full) for _, s in HOUSEHOLD_COLUMNS}

    def flush():
        heads = dict(Person.objects.filter(household_id__in=[r[0] for r in batch], relationship="户主",
                                           is_alive=True).values_list("household_id", "id_number"))
        for r in batch:
            values = dict(zip(sources, r[1:], strict=True))
            values["head_id"] = heads.get(r[0], "")
            yield [convert[s](values[s]) for _, s in HOUSEHOLD_COLUMNS]
        batch.clear()

    for r in qs.iterator(chunk_size=2000):
        batch.append(r)
        if len(batch) >= 900:
            yield from flush()
    if batch:
        yield from flush()


def export_chunks(user, households: QuerySet) -> Iterator[bytes]:
    """The national layout workbook of these households (already restricted to the user), streamed."""
    return workbook_chunks([
        Sheet(MEMBER_SHEET, [h for h, _ in MEMBER_COLUMNS], member_rows(user, households),
              widths={0: 6, 4: 20, 8: 21}),
        Sheet(HOUSEHOLD_SHEET, [h for h, _ in HOUSEHOLD_COLUMNS], household_rows(user, households),
              widths={0: 20, 1: 14, 6: 21}),
    ])


def registered(prefix: str) -> QuerySet:
    """The registered poor households (with a 户编号) of a jurisdiction: what the national roster holds."""
    return Household.objects.filter(is_registered_poor=True, poor_code__isnull=False,
                                    area_code__startswith=prefix)


# -- the dynamic adjustment's snapshot and diff -----------------------------------------------------------------

SNAPSHOT_FIELDS = ("poverty_status", "attribute", "main_cause", "identification_standard", "size", "head_name")


def snapshot(prefix: str) -> dict[str, dict]:
    """户编号 → the household's national fields and its living members (keyed by ID number, else name)."""
    out: dict[str, dict] = {}
    ids: dict[int, str] = {}
    for hid, code, village, *values in registered(prefix).values_list("id", "poor_code", "village__code",
                                                                      *SNAPSHOT_FIELDS).iterator(chunk_size=5000):
        ids[hid] = code
        out[code] = {"village": village, **dict(zip(SNAPSHOT_FIELDS, values, strict=True)), "members": {}}
    persons = Person.objects.filter(household__in=registered(prefix).values("pk"), is_alive=True)
    for hid, name, rel, number in persons.values_list("household_id", "name", "relationship",
                                                       "id_number").iterator(chunk_size=5000):
        code = ids.get(hid)
        if code is not None:
            out[code]["members"][number or f"name:{name}"] = {"name": name, "relationship": rel}
    return out


def diff(old: dict[str, dict], new: dict[str, dict], *, exited: tuple[str, ...] = ("1", "4")) -> dict[str, list]:
    """What changed between two snapshots, by kind: new identifications, exits, returns, households gone, member
    changes and other field changes."""
    kinds: dict[str, list] = {"identified": [], "exited": [], "returned": [], "removed": [], "member_added": [],
                              "member_removed": [], "member_changed": [], "changed": []}
    for code, h in new.items():
        o = old.get(code)
        if o is None:
            kinds["identified"].append({"poor_code": code, "head": h["head_name"], "size": h["size"]})
            continue
        before, after = o.get("poverty_status"), h.get("poverty_status")
        if after != before and after in exited:
            kinds["exited"].append({"poor_code": code, "head": h["head_name"], "from": before, "to": after})
        elif after != before and after == "3":
            kinds["returned"].append({"poor_code": code, "head": h["head_name"], "from": before, "to": after})
        fields = [f for f in SNAPSHOT_FIELDS if f not in ("poverty_status", "size") and o.get(f) != h.get(f)]
        if fields:
            kinds["changed"].append({"poor_code": code, "head": h["head_name"], "fields": fields,
                                     "before": {f: o.get(f) for f in fields}, "after": {f: h.get(f) for f in fields}})
        om, nm = o.get("members", {}), h.get("members", {})
        for key in nm.keys() - om.keys():
            kinds["member_added"].append({"poor_code": code, "key": key, **nm[key]})
        for key in om.keys() - nm.keys():
            kinds["member_removed"].append({"poor_code": code, "key": key, **om[key]})
        for key in nm.keys() & om.keys():
            if nm[key] != om[key]:
                kinds["member_changed"].append({"poor_code": code, "key": key, "before": om[key], "after": nm[key]})
    for code, o in old.items():
        if code not in new:
            kinds["removed"].append({"poor_code": code, "head": o.get("head_name", "")})
    for items in kinds.values():
        items.sort(key=lambda x: (x["poor_code"], x.get("key", "")))
    return kinds
