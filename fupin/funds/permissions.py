"""Who may do what with money. Reads are scoped by `restrict(user)`; these decide writes. An actor that is not a
user (the demo, the nightly run, tests' "test") acts everywhere, as in the other apps."""

from __future__ import annotations

from fupin.core.errors import ServiceError
from fupin.core.scoping import covers


def _user(actor):
    return actor if getattr(actor, "pk", None) else None


def can(actor, capability: str) -> bool:
    user = _user(actor)
    return user is None or user.is_superuser or user.can(capability)


def can_manage(actor) -> bool:
    """The county's money: sources, allocations, payments, credit rules, banks, risk funds, the library's entry."""
    return can(actor, "approve_county")


def in_area(actor, area_code: str) -> bool:
    user = _user(actor)
    if user is None:
        return True
    return covers(user, area_code)


def require(ok: bool, message: str) -> None:
    if not ok:
        raise ServiceError(message)


def require_area(actor, area_code: str) -> None:
    require(in_area(actor, area_code), "该对象不在您的管辖范围内")


def is_bank_staff(actor, bank) -> bool:
    user = _user(actor)
    return (user is not None and bank.department_id is not None and user.department_id == bank.department_id
            and user.can("department_work"))


def may_decide_loan(actor, loan, step: str) -> bool:
    """村评议: the village team; 乡镇审核: the town; 银行审批 and 放款: the bank's staff or the county office
    recording the bank's decision."""
    if _user(actor) is None or _user(actor).is_superuser:
        return True
    if step in ("bank_approved", "disbursed"):
        return is_bank_staff(actor, loan.bank) or (can(actor, "approve_county") and in_area(actor, loan.area_code))
    capability = {"village_reviewed": "village_review", "town_reviewed": "approve_town"}[step]
    return (can(actor, capability) or can(actor, "approve_county")) and in_area(actor, loan.area_code)
