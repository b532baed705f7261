"""core's menu names the office roles by value (it sits below accounts): they must stay the accounts' group."""

from fupin.accounts.choices import OFFICE_ROLES
from fupin.core import apps as core_apps


def test_core_office_roles_are_the_accounts_office_roles():
    assert core_apps.OFFICE_ROLES == {str(r) for r in OFFICE_ROLES}
