"""ID numbers sealed at rest (issue 20): the column holds ciphertext, exact search and the ID tail go through keyed
blind indexes, writes of every kind (save, bulk insert, bulk_update, update) keep the indexes right, and the migration's
resealing (fupin/core/rotation.py) seals rows written in plain."""

import pytest
from django.db import connection

from fupin.core import crypto
from fupin.core.fields import blind_q, with_indexes
from fupin.core.rotation import reseal_model, stale_count
from fupin.core.testing import make_household
from fupin.registry import selectors
from fupin.registry.models import Person

pytestmark = pytest.mark.django_db


def _raw(pk: int, column: str = "id_number") -> str:
    with connection.cursor() as cur:
        cur.execute(f"SELECT {column} FROM registry_person WHERE id = %s", [pk])
        return cur.fetchone()[0]


def test_id_number_is_sealed_and_found_through_its_indexes(county, users):
    hh = make_household(county["va1"], head="甲乙", members=3, poor_code="T-1", is_registered_poor=True)
    head = Person.objects.get(household=hh, relationship="户主")
    number = head.id_number
    raw = _raw(head.pk)
    assert raw.startswith("$e1$") and number not in raw and number[-6:] not in raw
    assert crypto.decrypt(raw, "registry.person.id_number") == number
    for col in ("id_index", "id_tail4_index", "id_tail6_index"):
        assert _raw(head.pk, col) and number[-4:] not in _raw(head.pk, col)
    # a lookup by value is asked of the blind index (never compares ciphertexts), `in` too, and blind_q directly
    assert list(Person.objects.filter(id_number=number)) == [head]
    assert list(Person.objects.filter(id_number__in=[number, "110105194912310021"])) == [head]
    assert list(Person.objects.filter(blind_q(Person, "id_number", number))) == [head]
    assert list(Person.objects.filter(blind_q(Person, "id_number", number[-6:], tail=6))) == [head]
    assert Person.objects.filter(household=hh, id_number="").count() == 0
    # the search box: full number, last 4, last 5 (narrowed after the index of the last 4), last 6, last 8
    for typed in (number, number[-4:], number[-5:], number[-6:], number[-8:]):
        assert head in selectors.search_persons(users["county"], typed), typed
    other = next(p for p in hh.members.all() if p.pk != head.pk)
    wrong5 = ("1" if other.id_number[-5] != "1" else "2") + other.id_number[-4:]
    assert other not in selectors.search_persons(users["county"], wrong5)


def test_writes_keep_the_indexes(county):
    hh = make_household(county["va1"], head="丙丁", members=2, poor_code="T-2", is_registered_poor=True)
    p = Person.objects.get(household=hh, relationship="户主")
    new = "42058119900101123X" if p.id_number != "42058119900101123X" else "420581199001011248"
    Person.objects.filter(pk=p.pk).update(**with_indexes(Person, {"id_number": new}))
    assert list(Person.objects.filter(id_number=new)) == [p]
    p.refresh_from_db()
    p.id_number = "420581199001011248" if new != "420581199001011248" else "42058119900101123X"
    p.save()
    assert list(Person.objects.filter(id_number=p.id_number)) == [p]
    assert not Person.objects.filter(id_number=new).exists()


def test_resealing_seals_plain_rows(county):
    hh = make_household(county["va1"], head="戊己", members=3, poor_code="T-3", is_registered_poor=True)
    people = list(Person.objects.filter(household=hh))
    numbers = {p.pk: p.id_number for p in people}
    with connection.cursor() as cur:  # as the rows stood before the migration: plain numbers, no indexes
        cur.execute("UPDATE registry_person SET id_number = %s, id_index = '', id_tail4_index = '', "
                    "id_tail6_index = '' WHERE id = %s", [numbers[people[0].pk], people[0].pk])
    assert _raw(people[0].pk) == numbers[people[0].pk]
    assert stale_count(Person) >= 1
    reseal_model(Person, batch=1)
    assert stale_count(Person) == 0
    assert _raw(people[0].pk).startswith("$e1$")
    assert list(Person.objects.filter(id_number=numbers[people[0].pk])) == [people[0]]
