"""The one bulk writer (fupin.core.bulk) writes what Django would write, on SQLite (executemany) and PostgreSQL (COPY),
and a large load leaves every index in place."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction

from fupin.core import bulk
from fupin.core.testing import make_household, table_indexes
from fupin.registry.models import Household, Person


def test_insert_rows_matches_the_orm(county):
    hh = make_household(county["va1"], members=1)
    with transaction.atomic():
        bulk.insert_rows(Person, [{"household_id": hh.pk, "area_code": hh.area_code, "name": "快速",
                                   "id_number": "11010519491231002X", "birth_date": dt.date(1949, 12, 31),
                                   "health": ["2", "4"], "dibao": True}])
    p = Person.objects.get(name="快速")
    assert p.birth_date == dt.date(1949, 12, 31) and p.health == ["2", "4"] and p.dibao and p.is_alive
    assert p.uuid.version == 7 and p.version == 1 and p.created_at is not None and p.relationship == ""
    with transaction.atomic():
        bulk.insert_rows(Household, [{"village_id": county["va1"].pk, "area_code": "420581100201", "poor_code": "F1",
                                      "per_capita_net_income": Decimal("3001.50"), "other_causes": ["9"]}])
    h = Household.objects.get(poor_code="F1")
    assert h.per_capita_net_income == Decimal("3001.50") and h.other_causes == ["9"] and h.income_wages == 0


def test_uuids_are_unique_and_time_ordered():
    values = [bulk.uuid7() for _ in range(1000)]
    assert len(set(values)) == 1000 and all(v.version == 7 for v in values)
    assert [v.int >> 80 for v in values] == sorted(v.int >> 80 for v in values)


def test_large_load_sets_indexes_aside_and_restores_them(county, monkeypatch):
    hh = make_household(county["va1"], members=1)
    before = [name for name, _ in table_indexes("registry_person")]
    monkeypatch.setattr(bulk, "REBUILD_MIN", 10)
    with transaction.atomic():
        bulk.insert_rows(Person, [{"household_id": hh.pk, "area_code": hh.area_code, "name": f"批{i}"}
                                  for i in range(30)])
    assert [name for name, _ in table_indexes("registry_person")] == before
    assert Person.objects.filter(name__startswith="批").count() == 30


def test_an_iterator_of_known_length_sets_indexes_aside_too(county, monkeypatch):
    hh = make_household(county["va1"], members=1)
    before = [name for name, _ in table_indexes("registry_person")]
    dropped = []
    real = bulk._indexes_set_aside

    def spy(conn, cur, table, incoming):
        dropped.append(incoming)
        return real(conn, cur, table, incoming)

    monkeypatch.setattr(bulk, "REBUILD_MIN", 10)
    monkeypatch.setattr(bulk, "_indexes_set_aside", spy)
    rows = ({"household_id": hh.pk, "area_code": hh.area_code, "name": f"流{i}"} for i in range(30))
    with transaction.atomic():
        bulk.BulkWriter(Person).write(rows, set_indexes_aside=True, expected_rows=30)
    assert dropped == [30] and [name for name, _ in table_indexes("registry_person")] == before
    assert Person.objects.filter(name__startswith="流").count() == 30


def test_sequences_stamp_and_encoded_columns(county):
    """Rows as sequences in column order, a stamp shared by every row, a column handed over already encoded."""
    hh = make_household(county["va1"], members=1)
    writer = bulk.BulkWriter(Person, columns=["household_id", "name", "health", "birth_date"], encoded=["health"],
                             stamp={"area_code": hh.area_code})
    with transaction.atomic():
        assert writer.write([(hh.pk, "序列一", '["3"]', dt.date(1980, 2, 29)),
                             {"household_id": hh.pk, "name": "序列二", "health": '["1"]'}]) == 2
    one, two = Person.objects.filter(name__startswith="序列").order_by("name")
    assert one.health == ["3"] and one.birth_date == dt.date(1980, 2, 29) and one.area_code == hh.area_code
    assert two.health == ["1"] and two.area_code == hh.area_code and one.created_at == two.created_at
    assert one.uuid != two.uuid and one.uuid.version == two.uuid.version == 7


def test_unknown_columns_are_refused(county):
    import pytest

    with pytest.raises(KeyError):
        bulk.BulkWriter(Person, columns=["nope"])
    with pytest.raises(KeyError):
        bulk.BulkWriter(Person, stamp={"nope": 1})
    with pytest.raises(KeyError):
        bulk.BulkWriter(Person).row({"nope": 1})


def test_rows_with_their_own_ids(county):
    hh = make_household(county["va1"], members=1)
    pk = (Person.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1000
    writer = bulk.BulkWriter(Person, with_pk=True)
    with transaction.atomic():
        writer.write_prepared([writer.row({"id": pk, "household_id": hh.pk, "area_code": hh.area_code,
                                           "name": "自带编号", "dibao": True})])
    p = Person.objects.get(pk=pk)
    assert p.name == "自带编号" and p.dibao is True and p.uuid.version == 7



def test_update_rows_seals_indexes_and_converts_like_an_insert(county):
    """update_rows writes what save() would: a sealed ID number with its blind indexes (searchable by the new number,
    no longer by the old), decimals given as Decimal, float or text stored as the same number, dates and JSON."""
    from fupin.core.fields import blind_q

    hh = make_household(county["va1"], members=1)
    person = hh.members.get()
    old_number = person.id_number
    with transaction.atomic():
        assert bulk.update_rows(Person, ["id_number", "birth_date", "health"],
                                [(person.pk, "11010519491231002X", dt.date(1949, 12, 31), ["2"])]) == 1
        assert bulk.update_rows(Household, ["per_capita_net_income", "income_wages", "income_business", "batch"],
                                [(hh.pk, Decimal("3001.50"), 1200.25, "99.5", None)]) == 1
    assert Person.objects.filter(blind_q(Person, "id_number", ["11010519491231002X"])).get().pk == person.pk
    assert not Person.objects.filter(blind_q(Person, "id_number", [old_number])).exists()
    person.refresh_from_db()
    assert (person.id_number, person.birth_date, person.health) == ("11010519491231002X", dt.date(1949, 12, 31), ["2"])
    with connection.cursor() as cur:  # the stored column, not its ciphertext's plain reading only
        cur.execute(f"SELECT id_number FROM {Person._meta.db_table} WHERE id = %s", [person.pk])
        assert "11010519491231002X" not in str(cur.fetchone()[0])
    hh.refresh_from_db()
    assert (hh.per_capita_net_income, hh.income_wages, hh.income_business) == (
        Decimal("3001.50"), Decimal("1200.25"), Decimal("99.50"))
    # text that is no number is refused before SQLite could keep it as text in the numeric column
    with pytest.raises(ValidationError), transaction.atomic():
        bulk.update_rows(Household, ["income_wages"], [(hh.pk, "一百")])
    hh.refresh_from_db()
    assert hh.income_wages == Decimal("1200.25")


def _cache_size():
    with connection.cursor() as cur:
        cur.execute("PRAGMA cache_size")
        return cur.fetchone()[0]


def test_page_cache_is_raised_for_the_write_and_set_back(county):
    if connection.vendor != "sqlite":  # PostgreSQL's buffers are the server's: nothing changes, the write goes on
        with bulk.page_cache(Household, 64), transaction.atomic():
            bulk.insert_rows(Household, [{"village_id": county["va1"].pk, "area_code": "420581100201",
                                          "poor_code": "PC1"}])
        assert Household.objects.filter(poor_code="PC1").count() == 1
        return
    before = _cache_size()
    assert before != -64 * 1024
    with bulk.page_cache(Household, 64):
        assert _cache_size() == -64 * 1024
        with bulk.page_cache(Household, 8):  # nested: each sets back what it found
            assert _cache_size() == -8 * 1024
        assert _cache_size() == -64 * 1024
        with transaction.atomic():
            bulk.insert_rows(Household, [{"village_id": county["va1"].pk, "area_code": "420581100201",
                                          "poor_code": f"PC{i}"} for i in range(300)])
    assert _cache_size() == before
    assert Household.objects.filter(poor_code__startswith="PC").count() == 300
    with pytest.raises(RuntimeError), bulk.page_cache(Household, 64):
        raise RuntimeError
    assert _cache_size() == before
