"""The registry's columnar copy (fupin/exchange/registry_copy.py): kept current at import and nightly, brought up to
date incrementally, and always the table a full rebuild makes."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest
from django.utils import timezone

from fupin.exchange import cache, registry_copy
from fupin.exchange.linkage import load_persons, registry_fingerprint
from fupin.exchange.tests.conftest import ident, write_csv

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _own_cache(settings, tmp_path):
    """Each test its own cache folder: a copy another test left is not this database's."""
    settings.DATA_DIR = tmp_path


def _full() -> pa.Table:
    """What a full rebuild from the database makes, every sealed value opened anew (nothing kept is used)."""
    return registry_copy.build_full(None)[0]


def _row(table: pa.Table, person_id: int) -> dict:
    rows = table.filter(pa.compute.equal(table.column("person_id"), person_id)).to_pylist()
    return rows[0] if rows else {}


def test_incremental_refresh_equals_a_full_rebuild(people, county):
    from fupin.core.bulk import update_rows
    from fupin.registry.models import Person
    from fupin.registry.services import household_create

    first, info = registry_copy.refresh()
    assert info["mode"] == "full" and first.num_rows == Person.objects.count() == 5
    assert first.equals(_full())
    old_fp = registry_fingerprint()

    zhang = Person.objects.get(id_number=people["ids"]["zhang"])
    li = Person.objects.get(id_number=people["ids"]["li"])
    wang = Person.objects.get(id_number=people["ids"]["wang"])
    # a change through save(): a new name (updated_at moves)
    zhang.name = "张卫"
    zhang.save()
    # the roster importer's kind of update: a new ID number, the version moved and updated_at not
    new_li = ident("19750505", 39)
    update_rows(Person, ["id_number", "version"], [(li.pk, new_li, li.version + 1)])
    # a person added, a person removed
    household_create(actor="test", village=county["va2"], poor_code="P005", is_registered_poor=True,
                     poverty_status="0", members=[{"name": "赵丽", "relationship": "户主",
                                                   "id_number": ident("19880808", 51)}])
    wang_id = wang.pk
    Person.objects.filter(pk=wang_id).update(household=None)
    Person.objects.filter(pk=wang_id).delete()

    # positive control: the kept copy is stale, and a stale copy is told apart from a rebuild
    assert registry_fingerprint() != old_fp
    assert not cache.registry_kept(registry_copy.NAME, registry_fingerprint())
    full = _full()
    assert not first.equals(full)

    copy, info = registry_copy.refresh()
    assert info["mode"] == "incremental"
    assert info["read"] == 3 and info["deleted"] == 1  # 张伟 renamed, 李娜 re-numbered, 赵丽 new
    # only values whose sealed bytes changed were opened: 李娜's and 赵丽's ID (张伟's sealed values are the kept
    # ones), and their health lists
    assert info["opened"] <= 2 * len(registry_copy.SEALED_COLUMNS)
    assert copy.equals(full)
    assert _row(copy, zhang.pk)["name"] == "张卫" and _row(copy, li.pk)["id_number"] == new_li
    assert not _row(copy, wang_id)
    # the comparison reads this copy, and the next refresh finds it current
    assert load_persons().equals(full)
    assert registry_copy.refresh()[1]["mode"] == "current"


def test_a_change_that_moves_only_updated_at_is_read_again(people):
    """The stamp is updated_at and version: either one moving makes the row be read again."""
    from fupin.registry.models import Person

    registry_copy.refresh()
    zhang = Person.objects.get(id_number=people["ids"]["zhang"])
    Person.objects.filter(pk=zhang.pk).update(relationship="其他",
                                              updated_at=timezone.now() + dt.timedelta(seconds=1))
    copy, info = registry_copy.refresh()
    assert info["mode"] == "incremental" and info["read"] == 1
    assert _row(copy, zhang.pk)["relationship"] == "其他"
    assert copy.equals(_full())


def test_a_copy_without_its_own_side_file_is_rebuilt_in_full(people):
    """The copy and its side file carry one build token: a mismatched pair is never merged."""
    from fupin.registry.models import Person

    registry_copy.refresh()
    fp = registry_fingerprint()
    side = cache.registry_read(registry_copy.SEALED, fp)
    cache.registry_write(registry_copy.SEALED, fp, side.replace_schema_metadata({"copy": "another"}))
    zhang = Person.objects.get(id_number=people["ids"]["zhang"])
    zhang.name = "张卫"
    zhang.save()
    rebuilt, info = registry_copy.refresh()
    assert info["mode"] == "full"
    # the kept values still serve (the same sealed bytes open to the same value): only 张伟's, sealed anew by
    # save() (a new nonce), are opened — his ID and his health list, of the five persons' ten
    assert info["opened"] == 2
    assert rebuilt.equals(_full())


def test_the_copy_follows_the_registry_through_load_persons(people):
    """Cache keys follow the registry: a changed person makes the comparison's copy change."""
    from fupin.registry.models import Person

    before = load_persons()
    zhang = Person.objects.get(id_number=people["ids"]["zhang"])
    assert _row(before, zhang.pk)["name"] == "张伟"
    zhang.name = "章伟"
    zhang.save()
    after = load_persons()
    assert _row(after, zhang.pk)["name"] == "章伟"
    assert after.equals(_full())


def test_an_import_refreshes_the_copy_after_it_commits(people, tmp_path, django_capture_on_commit_callbacks):
    from fupin.exchange.services import import_department, sources_ensure_defaults

    sources_ensure_defaults()
    path = write_csv(tmp_path / "vehicle.csv", ["姓名", "身份证号", "车牌号", "车辆类型"],
                     [["张伟", people["ids"]["zhang"], "鄂E12345", "小型轿车"]])
    fp = registry_fingerprint()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        import_department(actor="test", source_code="vehicle", path=path)
    assert not cache.registry_kept(registry_copy.NAME, fp)  # not before the commit
    assert callbacks
    for callback in callbacks:
        callback()
    assert cache.registry_kept(registry_copy.NAME, fp)
    assert registry_copy.refresh()[1]["mode"] == "current"


def test_the_nightly_step_keeps_the_copy(people):
    from fupin.core.nightly import run_refreshers, steps

    assert "exchange.registry_copy" in steps()
    result = run_refreshers(only=["exchange.registry_copy"])["exchange.registry_copy"]
    assert result["mode"] == "full" and result["rows"] == 5
    assert run_refreshers(only=["exchange.registry_copy"])["exchange.registry_copy"]["mode"] == "current"


def test_a_failed_refresh_is_reported_not_raised(people, monkeypatch):
    def broken(*_a, **_kw):
        raise OSError("disk full")

    monkeypatch.setattr(registry_copy, "build_full", broken)
    assert registry_copy.refresh_quietly()["mode"] == "failed"
