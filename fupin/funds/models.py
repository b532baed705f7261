"""Money: fund sources, the project library, allocations and payments, notices, assets, and 扶贫小额信贷 with the risk-
compensation fund. Every row of people's data carries `area_code` (a household's, a project's place, or the county's
for county-level money) so that `restrict(user)` scopes it like everything else."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from fupin.core.models import BaseModel
from fupin.core.scoping import ScopedQuerySet
from fupin.funds.choices import (
    BenefitKind,
    FundEntryKind,
    LoanMisuse,
    LoanState,
    LoanUse,
    NoticeKind,
    NoticeLevel,
    ProjectKind,
    ProjectState,
    SourceKind,
    SubsidyStatus,
)

MONEY = {"max_digits": 16, "decimal_places": 2}


# Funds ------------------------------------------------------------------------------------------------------------


class FundSource(BaseModel):
    """One year's money from one source (a document of the central, provincial or county budget, a donation)."""

    year = models.PositiveSmallIntegerField(_("year"), db_index=True)
    kind = models.CharField(_("source"), max_length=20, choices=SourceKind.choices)
    name = models.CharField(_("name"), max_length=200)
    document_no = models.CharField(_("document number"), max_length=100, blank=True)
    amount = models.DecimalField(_("amount (yuan)"), **MONEY)
    received_on = models.DateField(_("received on"), null=True, blank=True)
    area_code = models.CharField(max_length=15, db_index=True)

    class Meta:
        ordering = ["-year", "kind", "pk"]

    def __str__(self) -> str:
        return f"{self.year} {self.name}"


class Project(BaseModel):
    """A project of the county project library (项目库), from proposal to an asset handed over."""

    code = models.CharField(_("project number"), max_length=40, unique=True)
    name = models.CharField(_("project name"), max_length=200)
    kind = models.CharField(_("project type"), max_length=20, choices=ProjectKind.choices)
    year = models.PositiveSmallIntegerField(_("year"), db_index=True)
    division = models.ForeignKey("geo.Division", verbose_name=_("place"), on_delete=models.PROTECT,
                                 related_name="fund_projects")
    area_code = models.CharField(max_length=15, db_index=True)
    start_date = models.DateField(_("planned start"), null=True, blank=True)
    end_date = models.DateField(_("planned completion"), null=True, blank=True)
    responsible_unit = models.CharField(_("responsible unit"), max_length=100)
    budget = models.JSONField(_("budget by source"), default=dict, blank=True)  # {SourceKind: "yuan"}
    targets = models.JSONField(_("performance targets"), default=list, blank=True)  # [{"indicator", "value"}]
    mechanism = models.TextField(_("mechanism benefiting poor households"), blank=True)
    state = models.CharField(_("state"), max_length=20, choices=ProjectState.choices, default=ProjectState.RESERVE,
                             db_index=True)
    entered_on = models.DateField(_("entered the library on"), null=True, blank=True)

    class Meta:
        ordering = ["-year", "code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    def get_absolute_url(self) -> str:
        return f"/funds/projects/{self.pk}/"

    @property
    def budget_total(self):
        from decimal import Decimal

        return sum((Decimal(str(v)) for v in (self.budget or {}).values()), Decimal(0))


class ProjectBeneficiary(BaseModel):
    """A poor household a project benefits, and how (带贫减贫机制 per household)."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="beneficiaries")
    household = models.ForeignKey("registry.Household", on_delete=models.PROTECT, related_name="fund_projects")
    area_code = models.CharField(max_length=15, db_index=True)
    how = models.CharField(_("how it benefits"), max_length=20, choices=BenefitKind.choices)
    expected_yuan = models.DecimalField(_("expected yearly benefit (yuan)"), null=True, blank=True, **MONEY)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["project", "household"], name="funds_beneficiary_once")]


class ProjectEvent(models.Model):
    """One step of a project's path (储备 → … → 资产移交) or its yearly review."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="events")
    area_code = models.CharField(max_length=15, db_index=True)
    at = models.DateTimeField()
    from_state = models.CharField(max_length=20, blank=True)
    to_state = models.CharField(max_length=20, blank=True)
    review_year = models.PositiveSmallIntegerField(null=True, blank=True)
    actor_name = models.CharField(max_length=150)
    note = models.TextField(blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.project_id} {self.from_state}→{self.to_state}"


class Allocation(BaseModel):
    """Money of one source assigned to one project (资金下达)."""

    source = models.ForeignKey(FundSource, on_delete=models.PROTECT, related_name="allocations")
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="allocations")
    area_code = models.CharField(max_length=15, db_index=True)
    amount = models.DecimalField(_("amount (yuan)"), **MONEY)
    allocated_on = models.DateField(_("allocated on"))
    document_no = models.CharField(_("document number"), max_length=100, blank=True)

    class Meta:
        ordering = ["-allocated_on", "pk"]

    def __str__(self) -> str:
        return f"{self.source.name} → {self.project.name}"


class Payment(BaseModel):
    """Money paid out of an allocation, with its voucher (凭证)."""

    allocation = models.ForeignKey(Allocation, on_delete=models.PROTECT, related_name="payments")
    area_code = models.CharField(max_length=15, db_index=True)
    amount = models.DecimalField(_("amount (yuan)"), **MONEY)
    paid_on = models.DateField(_("paid on"))
    payee = models.CharField(_("payee"), max_length=200)
    purpose = models.CharField(_("purpose"), max_length=200, blank=True)
    voucher_no = models.CharField(_("voucher number"), max_length=60, blank=True, db_index=True)
    voucher = models.FileField(_("voucher"), upload_to="funds/vouchers/%Y/%m/", blank=True)

    class Meta:
        ordering = ["-paid_on", "pk"]

    def __str__(self) -> str:
        return f"{self.voucher_no or self.pk} {self.payee}"


class Notice(BaseModel):
    """A public notice (公示) of a project before entry or of fund use after payment, and its posting."""

    kind = models.CharField(_("kind"), max_length=20, choices=NoticeKind.choices)
    level = models.CharField(_("level"), max_length=10, choices=NoticeLevel.choices, default=NoticeLevel.VILLAGE)
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="notices")
    payment = models.ForeignKey(Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="notices")
    area_code = models.CharField(max_length=15, db_index=True)
    title = models.CharField(_("title"), max_length=200)
    text = models.TextField(_("text"))
    start_date = models.DateField(_("posted from"))
    end_date = models.DateField(_("posted until"))
    posted_on = models.DateField(_("posting recorded on"), null=True, blank=True)
    posted_place = models.CharField(_("where posted"), max_length=200, blank=True)
    photo = models.FileField(_("photo of the board"), upload_to="funds/notices/%Y/%m/", blank=True)

    class Meta:
        ordering = ["-start_date", "pk"]

    def __str__(self) -> str:
        return self.title


class Asset(BaseModel):
    """An asset (扶贫资产) formed by an accepted project, with who owns and runs it."""

    project = models.OneToOneField(Project, on_delete=models.PROTECT, related_name="asset")
    area_code = models.CharField(max_length=15, db_index=True)
    name = models.CharField(_("asset name"), max_length=200)
    owner = models.CharField(_("owner"), max_length=100)
    manager = models.CharField(_("manager"), max_length=100)
    value = models.DecimalField(_("value (yuan)"), **MONEY)
    handed_over_on = models.DateField(_("handed over on"))

    def __str__(self) -> str:
        return self.name


class AssetShare(BaseModel):
    """A household sharing an asset's income, with its weight."""

    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="shares")
    household = models.ForeignKey("registry.Household", on_delete=models.PROTECT, related_name="asset_shares")
    area_code = models.CharField(max_length=15, db_index=True)
    weight = models.DecimalField(_("share"), max_digits=8, decimal_places=2, default=1)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["asset", "household"], name="funds_asset_share_once")]


class AssetIncome(BaseModel):
    """One household's part of an asset's income in one year."""

    asset = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="incomes")
    household = models.ForeignKey("registry.Household", on_delete=models.PROTECT, related_name="asset_incomes")
    area_code = models.CharField(max_length=15, db_index=True)
    year = models.PositiveSmallIntegerField(_("year"))
    amount = models.DecimalField(_("amount (yuan)"), **MONEY)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["asset", "household", "year"], name="funds_income_once")]


# Micro-credit -----------------------------------------------------------------------------------------------------


class Bank(BaseModel):
    """A lending bank; its staff are department users of `department` (if any)."""

    scope_field = None  # reference data

    code = models.SlugField(_("code"), max_length=30, unique=True)
    name = models.CharField(_("bank"), max_length=100)
    department = models.ForeignKey("org.Department", null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="banks")

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class CreditRule(BaseModel):
    """The micro-credit terms in force from a date (dated data: a new row for a new policy, never an edit)."""

    scope_field = None

    valid_from = models.DateField(_("in force from"), unique=True)
    ceiling = models.DecimalField(_("loan ceiling (yuan)"), **MONEY)
    max_term_months = models.PositiveSmallIntegerField(_("longest term (months)"))
    rate_short = models.DecimalField(_("annual rate up to one year (%)"), max_digits=6, decimal_places=3)
    rate_long = models.DecimalField(_("annual rate over one year (%)"), max_digits=6, decimal_places=3)
    subsidy_share = models.DecimalField(_("share of interest subsidised"), max_digits=4, decimal_places=3)
    note = models.CharField(_("document"), max_length=200, blank=True)

    class Meta:
        ordering = ["-valid_from"]

    def __str__(self) -> str:
        return f"{self.valid_from}"


class RiskFund(BaseModel):
    """The risk-compensation fund deposited at one bank: the multiple it may lend and the agreed loss ratio."""

    scope_field = None

    bank = models.OneToOneField(Bank, on_delete=models.PROTECT, related_name="risk_fund")
    multiple = models.DecimalField(_("lending multiple"), max_digits=6, decimal_places=2)
    bank_share = models.DecimalField(_("bank's share of a loss"), max_digits=4, decimal_places=3)

    def __str__(self) -> str:
        return f"{self.bank.name}"


class RiskFundEntry(BaseModel):
    """A movement of a risk fund: a deposit, a compensation paid out, a recovery returned."""

    fund = models.ForeignKey(RiskFund, on_delete=models.PROTECT, related_name="entries")
    area_code = models.CharField(max_length=15, db_index=True)
    kind = models.CharField(_("kind"), max_length=20, choices=FundEntryKind.choices)
    amount = models.DecimalField(_("amount (yuan, + in, - out)"), **MONEY)
    on = models.DateField(_("date"), db_index=True)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        ordering = ["on", "pk"]


class Loan(BaseModel):
    """A 扶贫小额信贷 loan to one member of a poor household, from application to repayment or compensation."""

    department_field = "bank__department"

    number = models.CharField(_("loan number"), max_length=40, unique=True)
    household = models.ForeignKey("registry.Household", on_delete=models.PROTECT, related_name="loans")
    person = models.ForeignKey("registry.Person", on_delete=models.PROTECT, related_name="loans")
    area_code = models.CharField(max_length=15, db_index=True)
    bank = models.ForeignKey(Bank, on_delete=models.PROTECT, related_name="loans")
    rule = models.ForeignKey(CreditRule, on_delete=models.PROTECT, related_name="loans")
    amount = models.DecimalField(_("amount (yuan)"), **MONEY)
    term_months = models.PositiveSmallIntegerField(_("term (months)"))
    purpose = models.CharField(_("purpose"), max_length=200)
    use = models.CharField(_("use"), max_length=20, choices=LoanUse.choices, default=LoanUse.HOUSEHOLD)
    enterprise = models.CharField(_("enterprise or cooperative"), max_length=200, blank=True)
    rate = models.DecimalField(_("annual rate (%)"), max_digits=6, decimal_places=3)
    subsidy_share = models.DecimalField(_("share of interest subsidised"), max_digits=4, decimal_places=3)
    state = models.CharField(_("state"), max_length=20, choices=LoanState.choices, default=LoanState.APPLIED,
                             db_index=True)
    applied_on = models.DateField(_("applied on"))
    disbursed_on = models.DateField(_("disbursed on"), null=True, blank=True)
    due_on = models.DateField(_("due on"), null=True, blank=True, db_index=True)
    extensions = models.PositiveSmallIntegerField(_("extensions"), default=0)
    renewal_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="renewals")
    principal_repaid = models.DecimalField(_("principal repaid"), default=0, **MONEY)
    interest_paid = models.DecimalField(_("interest paid"), default=0, **MONEY)
    closed_on = models.DateField(_("closed on"), null=True, blank=True)
    overdue_since = models.DateField(_("overdue since"), null=True, blank=True)
    was_overdue = models.BooleanField(_("has been overdue"), default=False)
    subsidy_suspended = models.BooleanField(_("subsidy suspended"), default=False)
    suspension_reason = models.CharField(_("reason the subsidy is suspended"), max_length=200, blank=True)
    # 挪用 / 转贷: found on a post-loan check (a visit, the bank's check) and recorded with its evidence; the subsidy
    # stops from the quarter it was found in (services.loan_misuse_record)
    misuse = models.CharField(_("misuse"), max_length=20, choices=LoanMisuse.choices, blank=True)
    misuse_since = models.DateField(_("misuse found on"), null=True, blank=True)
    misuse_note = models.CharField(_("evidence of the misuse"), max_length=300, blank=True)

    class Meta:
        ordering = ["-applied_on", "number"]
        indexes = [models.Index(fields=["bank", "state"])]

    def __str__(self) -> str:
        return self.number

    def get_absolute_url(self) -> str:
        return f"/funds/loans/{self.pk}/"

    @property
    def outstanding(self):
        return self.amount - self.principal_repaid


class LoanStep(models.Model):
    """One decision on a loan: a step of the approval path, an extension, an overdue mark, a claim."""

    loan = models.ForeignKey(Loan, on_delete=models.CASCADE, related_name="steps")
    area_code = models.CharField(max_length=15, db_index=True)
    at = models.DateTimeField()
    from_state = models.CharField(max_length=20, blank=True, choices=LoanState.choices)
    to_state = models.CharField(max_length=20, blank=True, choices=LoanState.choices)
    action = models.CharField(max_length=30)
    actor_name = models.CharField(max_length=150)
    note = models.TextField(blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.loan_id} {self.action}"


class Repayment(BaseModel):
    """Money a borrower paid the bank (principal and interest), from a bank statement or entered by hand."""

    loan = models.ForeignKey(Loan, on_delete=models.PROTECT, related_name="repayments")
    area_code = models.CharField(max_length=15, db_index=True)
    paid_on = models.DateField(_("paid on"), db_index=True)
    principal = models.DecimalField(_("principal"), default=0, **MONEY)
    interest = models.DecimalField(_("interest"), default=0, **MONEY)
    bank_ref = models.CharField(_("bank reference"), max_length=60, blank=True, db_index=True)

    class Meta:
        ordering = ["paid_on", "pk"]


class PayableList(BaseModel):
    """The interest subsidies of one quarter handed to the finance bureau (贴息资金拨付清单)."""

    period = models.CharField(_("quarter"), max_length=7, unique=True)  # "2017Q1"
    area_code = models.CharField(max_length=15, db_index=True)
    total = models.DecimalField(_("total (yuan)"), **MONEY)
    loans = models.PositiveIntegerField(_("loans"))

    def __str__(self) -> str:
        return self.period


class Subsidy(BaseModel):
    """A loan's interest subsidy for one quarter: the interest accrued, the share subsidised, and whether it is due."""

    loan = models.ForeignKey(Loan, on_delete=models.PROTECT, related_name="subsidies")
    area_code = models.CharField(max_length=15, db_index=True)
    period = models.CharField(_("quarter"), max_length=7, db_index=True)
    interest = models.DecimalField(_("interest accrued"), **MONEY)
    amount = models.DecimalField(_("subsidy"), **MONEY)
    status = models.CharField(_("status"), max_length=20, choices=SubsidyStatus.choices, default=SubsidyStatus.DUE)
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    payable_list = models.ForeignKey(PayableList, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="subsidies")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["loan", "period"], name="funds_subsidy_once")]


class CompensationClaim(BaseModel):
    """A defaulted loan's loss shared between the bank and the risk fund in the agreed ratio, and what came back."""

    loan = models.OneToOneField(Loan, on_delete=models.PROTECT, related_name="claim")
    area_code = models.CharField(max_length=15, db_index=True)
    claimed_on = models.DateField(_("claimed on"))
    loss = models.DecimalField(_("loss (outstanding principal)"), **MONEY)
    bank_part = models.DecimalField(_("borne by the bank"), **MONEY)
    fund_part = models.DecimalField(_("paid by the risk fund"), **MONEY)
    recovered = models.DecimalField(_("recovered"), default=0, **MONEY)
    recovered_to_fund = models.DecimalField(_("returned to the fund"), default=0, **MONEY)
