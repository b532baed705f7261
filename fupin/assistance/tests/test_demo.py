"""The assistance demo data on a small demo county: the bulletin's pairing structure and a mix of lights."""

import pytest
from django.core.management import call_command

from fupin.assistance.models import (
    AreaPairing,
    AssistanceRecord,
    Cadre,
    HouseholdLight,
    HouseholdPairing,
    Measure,
    PolicyReceipt,
    WorkTeam,
)
from fupin.geo.models import Division
from fupin.registry.models import Household

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def _seeded_once(django_db_setup, django_db_blocker):
    """The demo county, seeded once for the tests of this module that only read it: inside a transaction that is
    rolled back when the module's tests are done (each test runs in a savepoint of it)."""
    from django.db import transaction

    from fupin.demo.seed import seed_demo

    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            seed_demo(actor="test", scale=0.02)
            yield
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


@pytest.fixture
def demo_county(_seeded_once, db):
    """Read-only use: a test that writes does so in its own savepoint, rolled back after it."""


def test_seed_assistance(demo_county):
    """seed_demo calls seed_assistance (fupin/assistance/demo.py) under its own batch."""
    poor = Household.objects.filter(is_registered_poor=True, dissolved_on__isnull=True)
    assert HouseholdPairing.objects.filter(end_date__isnull=True).count() == poor.count()
    assert Cadre.objects.exclude(pairings=None).count() >= 0.9 * poor.count() - 5
    poor_villages = Division.objects.filter(is_poor_village=True).count()
    assert poor_villages == 26
    for kind in ("leader_village", "enterprise_village", "first_secretary"):
        assert AreaPairing.objects.filter(kind=kind).count() == 26
    villages = Division.objects.filter(level="village").count()
    assert WorkTeam.objects.count() == villages == 123
    assert AreaPairing.objects.filter(kind="committee_town").count() == Division.objects.filter(level="town").count()
    assert Measure.objects.exists() and PolicyReceipt.objects.exists()
    assert AssistanceRecord.objects.count() > 10 * poor.count()
    assert AssistanceRecord.objects.filter(batch__kind="seed_demo").count() == AssistanceRecord.objects.count()
    colours = {c: HouseholdLight.objects.filter(colour=c).count() for c in ("green", "yellow", "red")}
    assert colours["green"] > colours["yellow"] > 0 and colours["red"] > 0
    assert HouseholdLight.objects.count() == poor.count()
    # the demo pairing cadre's login carries households of the demo village
    cadre = Cadre.objects.get(user__username="demo_pairing_cadre")
    assert cadre.pairings.count() >= 1


def test_command_refuses_a_second_seeding(demo_county):
    with pytest.raises(Exception, match="只能生成一次"):
        call_command("seed_assistance_demo")
