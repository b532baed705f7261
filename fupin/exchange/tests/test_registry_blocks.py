"""What the comparison reads of the registry kept with the registry's copy (fupin/exchange/registry_copy.py): the skew
guard's registry side (persons per blocking key of each rule, `blocks`) and the households' columns the rules read
(`households`). Both are made at import and nightly, read by the comparison, and made again when the registry (or
the rules) change — never a table made for another registry or other rules."""

from __future__ import annotations

import pyarrow as pa
import pytest

from fupin.exchange import cache, registry_copy, skew
from fupin.exchange.engine import default_blocking
from fupin.exchange.linkage import load_persons, registry_fingerprint

from .test_skew import _tables


@pytest.fixture(autouse=True)
def _own_cache(settings, tmp_path):
    """Each test its own cache folder: a table another test left is not this database's."""
    settings.DATA_DIR = tmp_path


def _sorted(table: pa.Table) -> list[tuple]:
    d = table.to_pydict()
    return sorted(zip(d["cols"], d["key"], d["n"], strict=True))


@pytest.mark.parametrize("max_block", [150, 400])
def test_the_guard_with_kept_counts_is_the_guard_without(max_block):
    """The same rules and the same report whether the registry's side is kept or counted — also when a large block
    is split (150: the secondary keys are then counted on the registry's own keys)."""
    records, persons, divisions = _tables([("420581100", "1")] * 20 + [("420581101", "1")] * 20,
                                          ["420581100"] * 5 + ["420581101"] * 5)
    rules = default_blocking()
    counted_rules, counted = skew.guard(records=records, persons=persons, divisions=divisions, rules=rules,
                                        max_block=max_block)
    kept = skew.registry_blocks(persons, rules)
    kept_rules, report = skew.guard(records=records, persons=persons, divisions=divisions, rules=rules,
                                    max_block=max_block, kept_blocks=kept)
    assert counted["registry_blocks"] == "counted" and report["registry_blocks"] == "kept"
    assert kept_rules == counted_rules
    strip = ("seconds", "registry_blocks")
    assert {k: v for k, v in report.items() if k not in strip} == {k: v for k, v in counted.items() if k not in strip}
    assert (report["split"] == 1) == (max_block == 150)


def test_counts_made_for_other_rules_or_another_registry_are_not_used():
    records, persons, divisions = _tables([("420581100", "1")] * 40, ["420581100"] * 10)
    rules = default_blocking()
    other_rules = skew.registry_blocks(persons, rules[:2])
    _, report = skew.guard(records=records, persons=persons, divisions=divisions, rules=rules, max_block=400,
                           kept_blocks=other_rules)
    assert report["registry_blocks"] == "counted"
    fewer = persons.slice(0, persons.num_rows - 1)
    _, report = skew.guard(records=records, persons=persons, divisions=divisions, rules=rules, max_block=400,
                           kept_blocks=skew.registry_blocks(fewer, rules))
    assert report["registry_blocks"] == "counted"
    # positive control: the table made for these rules and persons is used
    _, report = skew.guard(records=records, persons=persons, divisions=divisions, rules=rules, max_block=400,
                           kept_blocks=skew.registry_blocks(persons, rules))
    assert report["registry_blocks"] == "kept"


@pytest.mark.django_db
def test_the_counts_follow_the_registry(people):
    """Kept when the copy is refreshed (import, nightly); a changed person makes the kept counts stale, and the
    comparison's counts are then those of the registry as it is, never the stale ones."""
    from fupin.registry.models import Person

    rules = default_blocking()
    info = registry_copy.refresh(table=False)[1]
    assert info["blocks"] == "counted"
    fp = registry_fingerprint()
    assert cache.registry_kept(registry_copy.BLOCKS, registry_copy._blocks_key(fp, rules))
    assert registry_copy.refresh(table=False)[1]["blocks"] == "current"
    before = registry_copy.blocks(fp, load_persons(), rules)
    assert _sorted(before) == _sorted(skew.registry_blocks(load_persons(), rules))

    zhang = Person.objects.get(id_number=people["ids"]["zhang"])
    zhang.name = "赵强"  # another surname, given name and pinyin
    zhang.save()
    new_fp = registry_fingerprint()
    assert new_fp != fp
    # positive control: the kept counts are stale — they differ from the registry's, and are not kept for it
    fresh = skew.registry_blocks(load_persons(), rules)
    assert _sorted(fresh) != _sorted(before)
    assert not cache.registry_kept(registry_copy.BLOCKS, registry_copy._blocks_key(new_fp, rules))
    after = registry_copy.blocks(new_fp, load_persons(), rules)
    assert _sorted(after) == _sorted(fresh)
    assert ("name_py", "zhangwei", 2) in _sorted(before) and ("name_py", "zhangwei", 1) in _sorted(after)
    assert ("name_py", "zhaoqiang", 1) in _sorted(after)
    # kept for the new registry: the next refresh finds it current
    assert registry_copy.refresh(table=False)[1]["blocks"] == "current"


@pytest.mark.django_db
def test_the_run_reads_the_kept_counts_and_counts_after_a_change(people, tmp_path):
    from fupin.exchange.linkage import linkage_compute
    from fupin.exchange.services import import_department, sources_ensure_defaults
    from fupin.registry.models import Person

    from .conftest import write_csv

    sources_ensure_defaults()
    path = write_csv(tmp_path / "dibao.csv", ["姓名", "身份证号", "出生日期", "住址"],
                     [["张伟", "", "1980-01-01", "宜都市甲镇甲一村"], ["李娜", "", "", "宜都市乙镇乙一村"]])
    import_department(actor="test", source_code="dibao", path=path)
    registry_copy.refresh(table=False)
    plan = linkage_compute(force=True)
    assert plan.stats["skew"]["registry_blocks"] == "kept"

    def name_pairs(plan):
        return next(e for e in plan.stats["skew"]["rules"] if e["rule"] == "l.name_py = r.name_py")["pairs"]

    assert name_pairs(plan) == 3  # the record 张伟 × the two 张伟, 李娜 × 李娜
    zhang = Person.objects.get(id_number=people["ids"]["zhang"])
    zhang.name = "赵强"
    zhang.save()
    # the registry changed after the last refresh: the run counts the registry as it is (and keeps that), not the
    # stale counts (which would still give 3)
    assert not cache.registry_kept(registry_copy.BLOCKS, registry_copy._blocks_key(registry_fingerprint(),
                                                                                   default_blocking()))
    plan = linkage_compute(force=True)
    assert name_pairs(plan) == 2
    assert cache.registry_kept(registry_copy.BLOCKS, registry_copy._blocks_key(registry_fingerprint(),
                                                                               default_blocking()))


@pytest.mark.django_db
def test_the_rules_households_are_kept_and_follow_the_registry(people):
    """The households' table the rules read (`hh_all`) is kept when the copy is refreshed; a changed household
    makes it stale, and the comparison then reads the registry as it is."""
    from fupin.exchange.public import registry_households
    from fupin.registry.models import Household

    info = registry_copy.refresh(table=False)[1]
    assert info["households"] == "read"
    fp = registry_fingerprint()
    assert registry_copy.refresh(table=False)[1]["households"] == "current"
    before = registry_households(fp)
    assert before.equals(registry_copy._read_households())
    hh = Household.objects.get(poor_code="P001")
    hh.housing_area = 88
    hh.save()
    new_fp = registry_fingerprint()
    # positive control: the kept table is stale — it differs from the database's, and is not kept for this registry
    assert new_fp != fp and not cache.registry_kept(registry_copy.HOUSEHOLDS, new_fp)
    assert not before.equals(registry_copy._read_households())
    after = registry_households(new_fp)
    assert after.equals(registry_copy._read_households())
    row = after.filter(pa.compute.equal(after.column("household_id"), hh.pk)).to_pylist()[0]
    assert float(row["housing_area"]) == 88
    assert cache.registry_kept(registry_copy.HOUSEHOLDS, new_fp)
