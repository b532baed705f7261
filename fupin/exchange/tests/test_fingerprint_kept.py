"""The registry's fingerprint read once while nothing is written (hrules): on SQLite, a second read with no row of
the database changed since — by this connection (`total_changes`) or by another (`PRAGMA data_version`) — gives
the value read before without scanning the persons and households again; any write makes it read again."""

import pytest
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext

from fupin.exchange import linkage
from fupin.exchange.linkage import registry_fingerprint
from fupin.registry.models import Household, Person


def _scans(queries) -> int:
    return sum(1 for q in queries if "max(updated_at)" in q["sql"])


@pytest.mark.django_db
def test_fingerprint_read_again_only_after_a_write(people, monkeypatch):
    sqlite = connection.vendor == "sqlite"
    fp = registry_fingerprint()
    with CaptureQueriesContext(connection) as q:
        assert registry_fingerprint() == fp
    assert _scans(q.captured_queries) == (0 if sqlite else 2)
    # a person changed by this connection: read again, and the fingerprint moves
    Person.objects.filter(pk=Person.objects.order_by("pk").first().pk).update(version=F("version") + 1)
    with CaptureQueriesContext(connection) as q:
        moved = registry_fingerprint()
    assert _scans(q.captured_queries) == 2 and moved != fp
    # a write to any other table: read again (the value is the same)
    Household.objects.filter(pk=-1).update(version=1)  # no row: nothing changed, nothing read again
    with CaptureQueriesContext(connection) as q:
        assert registry_fingerprint() == moved
    assert _scans(q.captured_queries) == (0 if sqlite else 2)
    from fupin.geo.models import Division

    Division.objects.filter(pk=Division.objects.order_by("pk").first().pk).update(name=F("name"))
    with CaptureQueriesContext(connection) as q:
        assert registry_fingerprint() == moved
    assert _scans(q.captured_queries) == 2
    # another connection's commit (PRAGMA data_version moves): read again
    if sqlite:
        mark = linkage._database_unchanged_mark
        monkeypatch.setattr(linkage, "_database_unchanged_mark", lambda: (lambda m: (m[0], m[1] + 1, m[2]))(mark()))
        with CaptureQueriesContext(connection) as q:
            assert registry_fingerprint() == moved
        assert _scans(q.captured_queries) == 2



@pytest.mark.django_db
def test_fingerprint_kept_through_a_write_of_no_person_and_no_household(people, monkeypatch):
    """A write its caller knows changes no person and no household (the links' transaction, `linkage_write`)
    leaves the fingerprint read before it known after it; not when it began unknown (a row changed since the last
    read), nor when another connection committed meanwhile."""
    from fupin.exchange.linkage import registry_fingerprint_kept_through
    from fupin.geo.models import Division

    def division_written():
        Division.objects.filter(pk=Division.objects.order_by("pk").first().pk).update(name=F("name"))

    sqlite = connection.vendor == "sqlite"
    fp = registry_fingerprint()
    with registry_fingerprint_kept_through():
        division_written()
    with CaptureQueriesContext(connection) as q:
        assert registry_fingerprint() == fp
    assert _scans(q.captured_queries) == (0 if sqlite else 2)
    # unknown when the write began: not made known by it
    division_written()
    with registry_fingerprint_kept_through():
        division_written()
    with CaptureQueriesContext(connection) as q:
        assert registry_fingerprint() == fp
    assert _scans(q.captured_queries) == 2
    # another connection's commit during the write (PRAGMA data_version moves): read again
    if sqlite:
        mark = linkage._database_unchanged_mark
        with registry_fingerprint_kept_through():
            division_written()
            monkeypatch.setattr(linkage, "_database_unchanged_mark",
                                lambda: (lambda m: (m[0], m[1] + 1, m[2]))(mark()))
        monkeypatch.setattr(linkage, "_database_unchanged_mark", mark)
        with CaptureQueriesContext(connection) as q:
            assert registry_fingerprint() == fp
        assert _scans(q.captured_queries) == 2
