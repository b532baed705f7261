"""Bank statements (还款流水) and the finance bureau's ledger (资金支付台账) from xlsx/csv: read through
`fupin.core.tabular`, validated whole, then written in one batch, or refused whole with a Chinese row report.

A statement row is matched to a loan by its loan number (贷款编号 / 借据号) or, when the bank gives none, by the
borrower's ID number among the bank's loans; only loans of the chosen bank, being repaid, and inside the importing
user's jurisdiction (or the bank's own staff) match. A 流水号 already imported for the bank refuses the file, so a
statement loaded twice is never counted twice.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.db import transaction
from django.db.models import Max, Sum
from django.utils.translation import gettext as _

from fupin.core import idnumber
from fupin.core.dates import parse_date
from fupin.core.errors import ImportRefused, RowProblem, ServiceError
from fupin.core.services import batch_finish, batch_start
from fupin.core.tabular import TableSpec, cell_text, read_table
from fupin.funds import engine
from fupin.funds import permissions as perm
from fupin.funds.choices import LoanState
from fupin.funds.models import Allocation, Bank, Loan, LoanStep, Payment, Project, Repayment

STATEMENT_SPEC = TableSpec(
    columns={
        "number": ["贷款编号", "借据号", "借据编号", "贷款账号", "合同号", "贷款合同号"],
        "id_number": ["证件号码", "身份证号", "身份证号码", "借款人证件号", "借款人身份证号"],
        "name": ["户名", "借款人", "借款人姓名", "客户名称", "姓名"],
        "paid_on": ["交易日期", "还款日期", "记账日期", "入账日期", "日期"],
        "principal": ["归还本金", "还本金额", "本金", "实还本金", "还款本金"],
        "interest": ["归还利息", "利息", "付息金额", "实还利息", "还款利息"],
        "ref": ["流水号", "交易流水号", "凭证号", "交易序号", "业务流水号"],
    },
    required=["paid_on", "principal", "interest"],
)
LEDGER_SPEC = TableSpec(
    columns={
        "project": ["项目编号", "项目代码"],
        "source": ["资金文号", "指标文号", "资金来源文号", "资金名称"],
        "amount": ["支付金额", "金额", "拨付金额", "实付金额"],
        "paid_on": ["支付日期", "拨付日期", "日期", "记账日期"],
        "payee": ["收款单位", "收款人", "收款方"],
        "purpose": ["用途", "摘要", "资金用途"],
        "voucher_no": ["凭证号", "记账凭证号", "凭证编号"],
    },
    required=["project", "source", "amount", "paid_on", "payee"],
)
LABELS = {"number": "贷款编号", "id_number": "证件号码", "name": "户名", "paid_on": "日期", "principal": "本金",
          "interest": "利息", "ref": "流水号", "project": "项目编号", "source": "资金文号", "amount": "金额",
          "payee": "收款单位", "purpose": "用途", "voucher_no": "凭证号"}
_MONEY_CLEAN = re.compile(r"[\s,，¥￥元]")


def parse_money(value) -> Decimal:
    """An amount as banks print it: 1,234.50 / ￥1234.5 / 1234.50元 / an Excel number; blank is 0."""
    if value in (None, ""):
        return Decimal(0)
    if isinstance(value, (int, float)):
        return engine.money(value)
    text = _MONEY_CLEAN.sub("", cell_text(value))
    if text in ("", "-", "—"):
        return Decimal(0)
    try:
        return engine.money(Decimal(text))
    except InvalidOperation:
        raise ValueError(text) from None


class _Memo:
    """A parser's answers by cell value (hashable cells only), its refusals too (raised again as ValueError with the
    same message)."""

    def __init__(self, fn):
        self.fn, self.seen = fn, {}

    def __call__(self, value):
        try:
            key = (type(value), value)
            hit = self.seen.get(key)
        except TypeError:  # an unhashable cell: parse it every time
            return self.fn(value)
        if hit is None:
            try:
                hit = self.seen[key] = (True, self.fn(value))
            except ValueError as exc:
                hit = self.seen[key] = (False, exc.args)
            if len(self.seen) > 100_000:
                self.seen.clear()
        if hit[0]:
            return hit[1]
        raise ValueError(*hit[1])  # a fresh error each time (re-raising one object would grow its traceback)


def _problem(problems: list, row: int, key: str, value, text: str) -> None:
    problems.append(RowProblem(row, LABELS.get(key, key), cell_text(value), text))


def _paid_on(problems: list, row: int, r: dict, parse) -> dt.date | None:
    """The row's 日期 read by `parse`; None (the row's problem noted) when it is missing or no date."""
    try:
        paid_on = parse(r.get("paid_on"))
    except ValueError:
        paid_on = None
    if paid_on is None:
        _problem(problems, row, "paid_on", r.get("paid_on"), _("Invalid date"))
    return paid_on


@transaction.atomic
def import_statement(*, actor, bank: Bank, path: str | Path) -> dict:
    """Repayments of one bank's statement; refused whole on any problem. Returns counts."""
    perm.require(perm.can(actor, "import") or perm.is_bank_staff(actor, bank), _("Your role cannot import bank statements"))
    _header, rows = read_table(path, STATEMENT_SPEC)
    loans = Loan.objects.filter(bank=bank, state__in=(LoanState.DISBURSED, LoanState.OVERDUE, LoanState.COMPENSATED))
    if not perm.is_bank_staff(actor, bank):
        from fupin.core.scoping import scope_prefix

        user = actor if getattr(actor, "pk", None) else None
        if user is not None and not user.is_superuser:
            prefix = scope_prefix(user)
            loans = loans.filter(area_code__startswith=prefix) if prefix is not None else loans.none()
    facts = {pk: [number, area, amount, repaid, disbursed] for pk, number, area, amount, repaid, disbursed
             in loans.values_list("pk", "number", "area_code", "amount", "principal_repaid", "disbursed_on")}
    by_number = {f[0]: pk for pk, f in facts.items()}
    by_id: dict[str, list[int]] = {}

    def loans_of(id_no: str) -> list[int]:
        """Loans by the borrower's ID number, read (and unsealed) only when a row has no loan number."""
        if not by_id:
            by_id[""] = []
            for pk, person_id_no in loans.values_list("pk", "person__id_number"):
                by_id.setdefault(person_id_no, []).append(pk)
        return by_id.get(id_no, [])
    seen_refs = set(Repayment.objects.filter(loan__bank=bank).exclude(bank_ref="").values_list("bank_ref", flat=True))
    problems: list[RowProblem] = []
    parsed: list[tuple[int, int, object, Decimal, Decimal, str]] = []
    file_refs: dict[str, int] = {}
    principal_in: dict[int, Decimal] = defaultdict(Decimal)
    dates, amounts = _Memo(parse_date), _Memo(parse_money)  # a statement repeats its dates and amounts
    for rowno, r in rows:
        number, raw_id = cell_text(r.get("number")), r.get("id_number")
        loan_id = None
        if number:
            loan_id = by_number.get(number)
            if loan_id is None:
                _problem(problems, rowno, "number", number, _("%(bank_name)s has no outstanding loan with this number (or it is outside your jurisdiction)") % {"bank_name": bank.name})
                continue
        elif cell_text(raw_id):
            try:
                id_no = idnumber.normalise(raw_id)
            except idnumber.IdNumberError as exc:
                _problem(problems, rowno, "id_number", cell_text(raw_id), exc.message)
                continue
            found = loans_of(id_no)
            if len(found) != 1:
                _problem(problems, rowno, "id_number", idnumber.mask(id_no),
                         _("The borrower has no outstanding loan") if not found else "该借款人有多笔在贷贷款,请填写贷款编号")
                continue
            loan_id = found[0]
        else:
            _problem(problems, rowno, "number", "", _("Give the loan number or the borrower's ID number"))
            continue
        paid_on = _paid_on(problems, rowno, r, dates)
        if paid_on is None:
            continue
        try:
            principal, interest = amounts(r.get("principal")), amounts(r.get("interest"))
        except ValueError as exc:
            _problem(problems, rowno, "principal", str(exc), _("The amount is not a valid number"))
            continue
        if principal < 0 or interest < 0 or principal + interest <= 0:
            _problem(problems, rowno, "principal", f"{principal}/{interest}", _("Principal and interest cannot be negative, and not both 0"))
            continue
        f = facts[loan_id]
        if f[4] and paid_on < f[4]:
            _problem(problems, rowno, "paid_on", paid_on.isoformat(), _("Earlier than the disbursement date %(f)s") % {"f": f[4]})
            continue
        ref = cell_text(r.get("ref"))
        if ref:
            if ref in seen_refs:
                _problem(problems, rowno, "ref", ref, _("This transaction number was imported before"))
                continue
            if ref in file_refs:
                _problem(problems, rowno, "ref", ref, _("Same transaction number as row %(file_refs)s") % {"file_refs": file_refs[ref]})
                continue
            file_refs[ref] = rowno
        principal_in[loan_id] += principal
        if f[3] + principal_in[loan_id] > f[2]:
            _problem(problems, rowno, "principal", str(principal),
                     _("Principal repaid in total exceeds the loan amount of %(f)s yuan (loan %(f2)s)") % {"f": f[2], "f2": f[0]})
            continue
        parsed.append((rowno, loan_id, paid_on, principal, interest, ref))
    if not parsed and not problems:
        problems.append(RowProblem(0, "", "", _("The file has no data row")))
    if problems:
        raise ImportRefused(problems=problems, headline=_("%(bank_name)s repayment statement not imported") % {"bank_name": bank.name})
    batch = batch_start(kind="funds_statement", actor=actor, source=path, keep_file=True)
    from fupin.core.bulk import BulkWriter

    # rows as tuples in the writer's column order, the rest from its stamp (UUIDs consecutive version-7 ones)
    BulkWriter(Repayment, columns=("loan_id", "area_code", "paid_on", "principal", "interest", "bank_ref"),
               stamp={"version": 1, "batch_id": batch.pk}).write(
        (loan_id, facts[loan_id][1], paid_on, principal, interest, ref[:60])
        for _row, loan_id, paid_on, principal, interest, ref in parsed)
    repaid = _refresh_totals(batch.pk, actor=actor)
    batch_finish(batch, actor=actor, rows=len(parsed),
                 summary={"bank": bank.code, "repayments": len(parsed), "loans": len({p[1] for p in parsed}),
                          "repaid": repaid},
                 area_code="")
    return {"rows": len(parsed), "loans": len({p[1] for p in parsed}), "repaid": repaid, "batch": batch.pk}


def _refresh_totals(batch_id: int, *, actor) -> int:
    """The totals of the loans the batch's repayments touch, raised by the batch's sums in one UPDATE … FROM a
    grouped SELECT of the batch's rows only (on PostgreSQL and SQLite ≥ 3.33 alike, whatever the number of loans:
    summing every earlier repayment of 30,000 loans again took most of the write on PostgreSQL). The validation above
    checked each loan's principal against the same stored totals (a repayment entered by hand recomputes its loan's
    totals from all its repayments: `services._apply_repayment_totals`). Loans whose principal is all in become repaid. Returns how many."""
    from django.db import connection
    from django.db.models import F
    from django.utils import timezone

    q = connection.ops.quote_name
    loan, rep = q(Loan._meta.db_table), q(Repayment._meta.db_table)
    with connection.cursor() as cur:
        cur.execute(
            f"UPDATE {loan} SET principal_repaid = {loan}.principal_repaid + s.p, "  # noqa: S608
            f"interest_paid = {loan}.interest_paid + s.i, version = {loan}.version + 1 "
            f"FROM (SELECT loan_id, SUM(principal) AS p, SUM(interest) AS i FROM {rep} WHERE batch_id = %s "
            f"GROUP BY loan_id) AS s WHERE {loan}.id = s.loan_id",
            [batch_id])
    touched = Repayment.objects.filter(batch_id=batch_id).values("loan_id")
    full = list(Loan.objects.filter(pk__in=touched, state__in=(LoanState.DISBURSED, LoanState.OVERDUE),
                                    principal_repaid__gte=F("amount")).values_list("pk", "area_code", "state"))
    if not full:
        return 0
    name = actor.get_username() if getattr(actor, "pk", None) else str(actor)
    now = timezone.now()
    last = dict(Repayment.objects.filter(loan_id__in=[pk for pk, *_x in full]).order_by().values("loan_id")
                .annotate(m=Max("paid_on")).values_list("loan_id", "m"))
    for i in range(0, len(full), 2000):
        chunk = full[i:i + 2000]
        by_day: dict = defaultdict(list)
        for pk, *_x in chunk:
            by_day[last[pk]].append(pk)
        for day, pks in by_day.items():
            Loan.objects.filter(pk__in=pks).update(state=LoanState.REPAID, closed_on=day)
        LoanStep.objects.bulk_create([LoanStep(loan_id=pk, area_code=area, at=now, from_state=state,
                                               to_state=LoanState.REPAID, action="repaid", actor_name=name,
                                               note="银行流水") for pk, area, state in chunk], batch_size=2000)
    return len(full)


@transaction.atomic
def import_ledger(*, actor, path: str | Path) -> dict:
    """Payments from the finance bureau's ledger: each row names a project (编号) and a source (文号 or name) that
    already has an allocation to it with enough left; refused whole on any problem."""
    from fupin.funds.models import FundSource

    perm.require(perm.can_manage(actor), _("Only the county poverty office may import fund ledgers"))
    _header, rows = read_table(path, LEDGER_SPEC)
    projects = {p.code: p for p in Project.objects.all()}
    sources: dict[str, list] = defaultdict(list)
    for s in FundSource.objects.all():
        for key in {s.document_no, s.name} - {""}:
            sources[key].append(s)
    left: dict[int, Decimal] = {}
    allocations: dict[tuple[int, int], Allocation] = {}
    for a in Allocation.objects.all():
        allocations[(a.source_id, a.project_id)] = a
        left[a.pk] = a.amount
    for aid, s in Payment.objects.order_by().values("allocation_id").annotate(s=Sum("amount")).values_list(
            "allocation_id", "s"):
        left[aid] -= s
    vouchers = set(Payment.objects.exclude(voucher_no="").values_list("voucher_no", flat=True))
    problems: list[RowProblem] = []
    parsed = []
    for rowno, r in rows:
        code, src_key = cell_text(r.get("project")), cell_text(r.get("source"))
        project = projects.get(code)
        if project is None:
            _problem(problems, rowno, "project", code, _("The project library has no project with this number"))
            continue
        found = sources.get(src_key, [])
        if len(found) != 1:
            _problem(problems, rowno, "source", src_key, _("Fund not found") if not found else "有多笔资金同名,请填写文号")
            continue
        allocation = allocations.get((found[0].pk, project.pk))
        if allocation is None:
            _problem(problems, rowno, "source", src_key, _("The fund was not allocated to project %(code)s") % {"code": code})
            continue
        try:
            amount = parse_money(r.get("amount"))
        except ValueError as exc:
            _problem(problems, rowno, "amount", str(exc), _("The amount is not a valid number"))
            continue
        if amount <= 0:
            _problem(problems, rowno, "amount", str(amount), _("The amount must be greater than 0"))
            continue
        paid_on = _paid_on(problems, rowno, r, parse_date)
        if paid_on is None:
            continue
        payee = cell_text(r.get("payee"))
        if not payee:
            _problem(problems, rowno, "payee", "", _("The payee is required"))
            continue
        voucher = cell_text(r.get("voucher_no"))
        if voucher and voucher in vouchers:
            _problem(problems, rowno, "voucher_no", voucher, _("The voucher number is already recorded or repeated in this file"))
            continue
        if voucher:
            vouchers.add(voucher)
        if amount > left[allocation.pk]:
            _problem(problems, rowno, "amount", str(amount), _("Exceeds the allocation's balance of %(left)s yuan") % {"left": left[allocation.pk]})
            continue
        left[allocation.pk] -= amount
        parsed.append((allocation, amount, paid_on, payee, cell_text(r.get("purpose")), voucher))
    if not parsed and not problems:
        problems.append(RowProblem(0, "", "", _("The file has no data row")))
    if problems:
        raise ImportRefused(problems=problems, headline=_("Fund payment ledger not imported"))
    batch = batch_start(kind="funds_ledger", actor=actor, source=path, keep_file=True)
    from fupin.funds.services import payment_create

    try:
        for allocation, amount, paid_on, payee, purpose, voucher in parsed:
            payment_create(actor=actor, allocation=allocation, amount=amount, paid_on=paid_on, payee=payee,
                           purpose=purpose, voucher_no=voucher, batch=batch)
    except ServiceError as exc:  # a check the pre-validation missed: still all or nothing
        raise ImportRefused(problems=[RowProblem(0, "", "", exc.message)], headline=_("Fund payment ledger not imported")) from exc
    batch_finish(batch, actor=actor, rows=len(parsed), summary={"payments": len(parsed)})
    return {"rows": len(parsed), "batch": batch.pk}
