"""Bulk pairing (结对名单) and policies received (享受政策名单) from xlsx/csv: all-or-nothing, with the row report.

Households are found by 户编号 or by the head's ID number, and only among the households the importing user may see.
A household already paired with another cadre is refused (不脱贫不脱钩: reassignment is a separate, approved act).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.db import transaction
from django.utils.translation import gettext as _

from fupin.assistance import conf, services
from fupin.assistance.choices import RecordSource, UnitKind
from fupin.assistance.models import Cadre, HouseholdPairing, Policy, PolicyReceipt, Unit
from fupin.assistance.tracking import refresh_lights
from fupin.core import dates, idnumber
from fupin.core.errors import ImportRefused, RowProblem, ServiceError
from fupin.core.fields import blind_q
from fupin.core.services import batch_finish, batch_start
from fupin.core.tabular import TableSpec, cell_text, read_table
from fupin.registry.models import Household, Person

HOUSEHOLD_COLUMNS = {
    "poor_code": ["户编号", "贫困户编号", "户码"],
    "head_id": ["户主身份证号", "户主证件号码", "户主身份证号码", "身份证号", "证件号码"],
    "head_name": ["户主姓名", "户主"],
}
PAIRING_SPEC = TableSpec(
    columns={
        **HOUSEHOLD_COLUMNS,
        "cadre_name": ["帮扶责任人", "帮扶干部", "帮扶人姓名", "帮扶责任人姓名", "结对干部"],
        "cadre_phone": ["帮扶责任人电话", "帮扶人电话", "联系电话", "手机号码", "帮扶干部电话"],
        "unit": ["帮扶单位", "工作单位", "所在单位", "派出单位"],
        "post": ["职务", "帮扶人职务", "帮扶责任人职务"],
        "duty": ["帮扶责任", "定责", "职责"],
        "exit_commitment": ["脱贫承诺", "包脱贫", "包脱贫承诺"],
        "exit_target_year": ["计划脱贫年度", "承诺脱贫年份", "计划脱贫年份"],
        "start": ["结对日期", "开始日期", "结对时间"],
    },
    required=["cadre_name", "unit"],
)
RECEIPT_SPEC = TableSpec(
    columns={
        **HOUSEHOLD_COLUMNS,
        "policy": ["政策名称", "享受政策", "政策", "政策项目"],
        "received_on": ["享受日期", "发放日期", "日期", "享受时间"],
        "amount": ["金额", "发放金额", "享受金额", "金额元"],
        "note": ["备注", "说明"],
    },
    required=["policy", "received_on"],
)


def parse_date(value) -> dt.date | None:
    """A date as counties type it, read by the one date parser (`fupin.core.dates`); ValueError (a DateError, with
    a Chinese message) when it is no date or could be read two ways."""
    return dates.parse_date(value)


def _household_finder(user):
    """Looks households up by 户编号 or head ID among those `user` may see; returns (household | None, problem)."""
    from fupin.assistance.selectors import visible_households

    visible = visible_households(user) if getattr(user, "pk", None) else Household.objects.all()

    def find(row: dict) -> tuple[Household | None, str, str, str]:
        code = cell_text(row.get("poor_code"))
        raw_id = row.get("head_id")
        if code:
            hh = Household.objects.filter(poor_code=code).first()
            if hh is None:
                return None, "poor_code", code, "系统中没有该户编号"
        elif cell_text(raw_id):
            try:
                number = idnumber.normalise(raw_id)
            except idnumber.IdNumberError as exc:
                return None, "head_id", cell_text(raw_id), exc.message
            person = Person.objects.filter(blind_q(Person, "id_number", number), household__isnull=False).select_related(
                "household").first()
            if person is None:
                return None, "head_id", idnumber.mask(number), "系统中没有该身份证号的人员"
            hh = person.household
        else:
            return None, "poor_code", "", "须填写户编号或户主身份证号"
        if not visible.filter(pk=hh.pk).exists():
            return None, "poor_code", code or cell_text(raw_id), "该户不在您的管辖范围内"
        name = cell_text(row.get("head_name"))
        if name and hh.head_name and name != hh.head_name:
            return None, "head_name", name, f"户主姓名与系统不符(系统中为{hh.head_name})"
        return hh, "", "", ""

    return find


@transaction.atomic
def import_pairings(*, actor, path: str | Path) -> dict:
    """Pair households with cadres from a roster file; new units and cadres are created as named."""
    _header, rows = read_table(path, PAIRING_SPEC)
    find = _household_finder(actor)
    today = conf.local_today()
    problems: list[RowProblem] = []
    parsed = []
    seen: dict[int, tuple[int, tuple]] = {}
    units = {u.name: u for u in Unit.objects.all()}
    for rowno, r in rows:
        hh, col, val, problem = find(r)
        if problem:
            problems.append(RowProblem(rowno, col, val, problem))
            continue
        name = cell_text(r.get("cadre_name"))
        unit_name = cell_text(r.get("unit"))
        phone = cell_text(r.get("cadre_phone"))
        if not name:
            problems.append(RowProblem(rowno, "cadre_name", "", _("The responsible cadre's name is required")))
        if not unit_name:
            problems.append(RowProblem(rowno, "unit", "", _("The assisting unit is required")))
        if len(name) > 50 or len(unit_name) > 100:
            problems.append(RowProblem(rowno, "cadre_name", name, _("The name or the unit's name is too long")))
        if not hh.is_registered_poor:
            problems.append(RowProblem(rowno, "poor_code", str(hh), _("The household is not a registered poor household")))
        try:
            start = parse_date(r.get("start")) or today
            if start > today:
                raise ValueError
        except ValueError:
            problems.append(RowProblem(rowno, "start", cell_text(r.get("start")), _("Invalid pairing date, or later than today")))
            start = today
        year_text = cell_text(r.get("exit_target_year")).rstrip("年")
        year = None
        if year_text:
            if not (year_text.isdigit() and 2014 <= int(year_text) <= 2035):
                problems.append(RowProblem(rowno, "exit_target_year", year_text, _("The planned exit year must be a year from 2014 to 2035")))
            else:
                year = int(year_text)
        key = (name, unit_name, phone)
        if hh.pk in seen and seen[hh.pk][1] != key:
            problems.append(RowProblem(rowno, "poor_code", str(hh), _("Same household as row %(seen)s, but a different responsible cadre") % {"seen": seen[hh.pk][0]}))
            continue
        seen[hh.pk] = (rowno, key)
        parsed.append({"row": rowno, "household": hh, "name": name, "unit": unit_name, "phone": phone,
                       "post": cell_text(r.get("post"))[:50], "duty": cell_text(r.get("duty"))[:200],
                       "exit_commitment": cell_text(r.get("exit_commitment"))[:200], "year": year, "start": start})
    current = {p.household_id: p for p in HouseholdPairing.objects.filter(
        household_id__in=[p["household"].pk for p in parsed], end_date__isnull=True).select_related("cadre__unit")}
    for p in parsed:
        cur = current.get(p["household"].pk)
        if cur and (cur.cadre.name, cur.cadre.unit.name) != (p["name"], p["unit"]):
            problems.append(RowProblem(p["row"], "cadre_name", p["name"],
                                       _("The household is assisted by %(cadre_name)s (%(unit)s); pairing lasts until the household exits poverty: a change needs a reassignment with approval") % {"cadre_name": cur.cadre.name, "unit": cur.cadre.unit}))
    cadres: dict[tuple, Cadre] = {}
    for c in Cadre.objects.select_related("unit"):
        cadres.setdefault((c.name, c.unit.name, c.phone), c)
        cadres.setdefault((c.name, c.unit.name, ""), c)

    def existing_cadre(p) -> Cadre | None:
        return cadres.get((p["name"], p["unit"], p["phone"])) or (
            cadres.get((p["name"], p["unit"], "")) if not p["phone"] else None)

    for p in parsed:
        cadre = existing_cadre(p)
        if cadre is not None and not cadre.is_active and p["household"].pk not in current:
            problems.append(RowProblem(p["row"], "cadre_name", p["name"], _("Responsible cadre %(cadre)s is inactive and cannot take a new pairing") % {"cadre": cadre}))
    if not parsed and not problems:
        problems.append(RowProblem(0, "", "", _("The file has no data row")))
    if problems:
        raise ImportRefused(problems=sorted(problems, key=lambda p: p.row), headline=_("Pairing list not imported"))

    batch = batch_start(kind="assistance_pairing_import", actor=actor, source=path, keep_file=True)
    created_units = created_cadres = created = 0
    touched = []
    for p in parsed:
        unit = units.get(p["unit"])
        if unit is None:
            unit = units[p["unit"]] = services.unit_create(actor=actor, name=p["unit"], kind=UnitKind.OTHER)
            created_units += 1
        cadre = existing_cadre(p)
        if cadre is None:
            cadre = services.cadre_create(actor=actor, name=p["name"], unit=unit, phone=p["phone"], post=p["post"])
            cadres[(p["name"], unit.name, p["phone"])] = cadre
            created_cadres += 1
        hh = p["household"]
        if hh.pk in current:
            continue
        try:  # the service's checks (registered poor, active cadre, one open pairing) hold for imports too
            services.pairing_assign(actor=actor, household=hh, cadre=cadre, start=p["start"], duty=p["duty"],
                                    post=p["post"] or "结对帮扶干部", exit_commitment=p["exit_commitment"],
                                    exit_target_year=p["year"], batch=batch, refresh=False)
        except ServiceError as exc:
            raise ImportRefused(problems=[RowProblem(p["row"], "cadre_name", p["name"], exc.message)],
                                headline=_("Pairing list not imported")) from exc
        current[hh.pk] = None
        touched.append(hh.pk)
        created += 1
    summary = {"rows": len(parsed), "paired": created, "units_created": created_units,
               "cadres_created": created_cadres, "already_paired": len(parsed) - created}
    batch_finish(batch, actor=actor, rows=len(parsed), summary=summary)
    refresh_lights(household_ids=touched)
    return {**summary, "batch": batch.pk}


def _amount(value) -> Decimal | None:
    text = cell_text(value).replace(",", "").replace("元", "")
    if not text:
        return None
    amount = Decimal(text)
    if amount < 0:
        raise InvalidOperation
    return amount.quantize(Decimal("0.01"))


@transaction.atomic
def import_policy_receipts(*, actor, path: str | Path) -> dict:
    """Record policies received from a department's list; every policy must be in the catalogue."""
    _header, rows = read_table(path, RECEIPT_SPEC)
    find = _household_finder(actor)
    today = conf.local_today()
    policies = {p.name: p for p in Policy.objects.filter(is_active=True)}
    problems: list[RowProblem] = []
    parsed = []
    for rowno, r in rows:
        hh, col, val, problem = find(r)
        if problem:
            problems.append(RowProblem(rowno, col, val, problem))
            continue
        name = cell_text(r.get("policy"))
        policy = policies.get(name)
        if policy is None:
            problems.append(RowProblem(rowno, "policy", name, _("The policy is not in the policy catalogue (add it there first)")))
        try:
            received = parse_date(r.get("received_on"))
            if received is None or received > today:
                raise ValueError
        except ValueError:
            problems.append(RowProblem(rowno, "received_on", cell_text(r.get("received_on")), _("Invalid benefit date, or later than today")))
            received = None
        try:
            amount = _amount(r.get("amount"))
        except (InvalidOperation, ValueError):
            problems.append(RowProblem(rowno, "amount", cell_text(r.get("amount")), _("The amount must be a number not less than 0")))
            amount = None
        if policy and received:
            parsed.append(PolicyReceipt(household=hh, policy=policy, area_code=hh.area_code, received_on=received,
                                        amount=amount if amount is not None else policy.amount,
                                        note=cell_text(r.get("note"))[:200]))
    if not parsed and not problems:
        problems.append(RowProblem(0, "", "", _("The file has no data row")))
    if problems:
        raise ImportRefused(problems=sorted(problems, key=lambda p: p.row), headline=_("Policy recipient list not imported"))
    batch = batch_start(kind="assistance_receipts_import", actor=actor, source=path, keep_file=True)
    recorder = actor if getattr(actor, "pk", None) else None
    for p in parsed:
        p.batch = batch
        p.recorded_by = recorder
    PolicyReceipt.objects.bulk_create(parsed, batch_size=1000)
    batch_finish(batch, actor=actor, rows=len(parsed), summary={"receipts": len(parsed),
                                                                "source": RecordSource.IMPORT})
    return {"receipts": len(parsed), "batch": batch.pk}
