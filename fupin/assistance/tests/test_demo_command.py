"""`fupin seed_assistance_demo` on a demo county seeded without the assistance data. Its own module: it seeds its
own county, so it must not run inside test_demo.py's shared (module-scoped) one."""

import pytest
from django.core.management import call_command

from fupin.assistance.models import HouseholdPairing
from fupin.registry.models import Household

pytestmark = pytest.mark.django_db


def test_command_on_a_county_seeded_without_assistance(monkeypatch):
    """`fupin seed_assistance_demo` adds the data to a county seeded before this capability existed."""
    from fupin.assistance import demo
    from fupin.demo.seed import seed_demo

    real = demo.seed_assistance
    monkeypatch.setattr(demo, "seed_assistance", None)  # seed_demo skips a capability without the function
    seed_demo(actor="test", scale=0.02)
    assert not HouseholdPairing.objects.exists()
    monkeypatch.setattr(demo, "seed_assistance", real)
    call_command("seed_assistance_demo")
    assert HouseholdPairing.objects.count() == Household.objects.filter(is_registered_poor=True,
                                                                       dissolved_on__isnull=True).count()
