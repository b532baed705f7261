"""The codes of the funds app, each with its Chinese label (through gettext) and, where pages colour it, a tone."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class SourceKind(models.TextChoices):
    CENTRAL = "central", _("Central budget")
    PROVINCIAL = "provincial", _("Provincial budget")
    COUNTY = "county", _("County budget")
    INTEGRATED = "integrated", _("Integrated agriculture-related funds")
    DONATION = "donation", _("Social donations")


class ProjectKind(models.TextChoices):
    INDUSTRY = "industry", _("Industry")
    INFRASTRUCTURE = "infrastructure", _("Infrastructure")
    HOUSING = "housing", _("Housing")
    EDUCATION = "education", _("Education")
    HEALTH = "health", _("Health")
    EMPLOYMENT = "employment", _("Employment")
    RELOCATION = "relocation", _("Relocation")
    CREDIT = "credit", _("Credit")
    OTHER = "other", _("Other")


class ProjectState(models.TextChoices):
    RESERVE = "reserve", _("Reserve")
    APPRAISAL = "appraisal", _("Appraisal")
    NOTICE = "notice", _("Public notice")
    LIBRARY = "library", _("In the library")
    IMPLEMENTATION = "implementation", _("Implementation")
    ACCEPTED = "accepted", _("Accepted")
    HANDED_OVER = "handed_over", _("Handed over as an asset")


PROJECT_FLOW = [s.value for s in ProjectState]


class BenefitKind(models.TextChoices):
    WAGES = "wages", _("Wages from working on the project")
    DIVIDEND = "dividend", _("Dividend or income share")
    INDUSTRY = "industry", _("Industry support (seedlings, livestock, purchase)")
    INFRASTRUCTURE = "infrastructure", _("Uses the infrastructure")
    HOUSING = "housing", _("Housing")
    TRAINING = "training", _("Training or schooling")
    OTHER = "other", _("Other")


class NoticeKind(models.TextChoices):
    PROJECT = "project", _("Project before entry")
    FUND_USE = "fund_use", _("Use of funds")


class NoticeLevel(models.TextChoices):
    COUNTY = "county", _("County")
    TOWN = "town", _("Town")
    VILLAGE = "village", _("Village")


class LoanState(models.TextChoices):
    APPLIED = "applied", _("Applied")
    VILLAGE_REVIEWED = "village_reviewed", _("Village reviewed")
    TOWN_REVIEWED = "town_reviewed", _("Town checked")
    BANK_APPROVED = "bank_approved", _("Bank approved")
    DISBURSED = "disbursed", _("Disbursed")
    REPAID = "repaid", _("Repaid")
    OVERDUE = "overdue", pgettext_lazy("loan state", "Overdue")  # not the work orders' 超期
    COMPENSATED = "compensated", _("Compensated")
    REFUSED = "refused", _("Refused")


LOAN_PATH = [LoanState.APPLIED, LoanState.VILLAGE_REVIEWED, LoanState.TOWN_REVIEWED, LoanState.BANK_APPROVED,
             LoanState.DISBURSED]
# Loans that count against a bank's lending limit (outstanding principal).
OUTSTANDING_STATES = (LoanState.DISBURSED, LoanState.OVERDUE)
OPEN_STATES = (LoanState.APPLIED, LoanState.VILLAGE_REVIEWED, LoanState.TOWN_REVIEWED, LoanState.BANK_APPROVED,
               LoanState.DISBURSED, LoanState.OVERDUE)


class LoanUse(models.TextChoices):
    HOUSEHOLD = "household", _("Used by the household")
    ENTERPRISE = "enterprise", _("Household loan used by an enterprise or cooperative")


class LoanMisuse(models.TextChoices):
    """Causes besides overdue that cancel a loan's interest subsidy (the rules quoted in issue 16)."""

    DIVERTED = "diverted", _("Diverted from its purpose")
    ON_LENT = "on_lent", _("Lent on to someone else")


class SubsidyStatus(models.TextChoices):
    DUE = "due", _("Due")
    SUSPENDED = "suspended", _("Suspended")
    LISTED = "listed", _("On a payable list")


class FundEntryKind(models.TextChoices):
    DEPOSIT = "deposit", _("Deposit")
    COMPENSATION = "compensation", _("Compensation paid")
    RECOVERY = "recovery", _("Recovery returned")
    WITHDRAWAL = "withdrawal", _("Withdrawal")
