"""The skew guard (issue 19, item 3): a planted 王伟 block is measured before the run and split by a secondary key,
or skipped with a report when no key brings it under the bound; never run unbounded."""

import pyarrow as pa
import pytest
from django.test import override_settings

from fupin.exchange.engine import default_blocking
from fupin.exchange.skew import guard, rule_columns

from .conftest import ident, write_csv

TOWNS = {"420581100": "甲镇", "420581101": "乙镇"}


def _tables(wangwei_persons: list[tuple[str, str]], wangwei_records: list[str], others: int = 30):
    """Registry persons (王伟 in the given (town, sex) pairs, plus `others` people of other names) and department
    records without IDs named 王伟 at the given towns' addresses."""
    persons = {"person_id": [], "name": [], "name_py": [], "id_number": [], "birth_date": [], "sex": [],
               "area_code": []}
    for i, (town, sex) in enumerate(wangwei_persons + [("420581100", "1")] * others):
        named = i < len(wangwei_persons)
        persons["person_id"].append(i + 1)
        persons["name"].append("王伟" if named else f"李{i}")
        persons["name_py"].append("wang wei" if named else f"li {i}")
        persons["id_number"].append(ident("19800101", i + 1))
        persons["birth_date"].append("1980-01-01")
        persons["sex"].append(sex)
        persons["area_code"].append(town + "201000")
    records = {"record_id": [], "id_clean": [], "id_number": [], "id_status": [], "name": [], "name_py": [],
               "birth_date": [], "sex": [], "address": [], "id_kind": [], "id_area6": [], "id_birth_year": [],
               "id_last4": []}
    for i, town in enumerate(wangwei_records):
        for k, v in (("record_id", i + 1), ("id_clean", ""), ("id_number", ""), ("id_status", "empty"),
                     ("name", "王伟"), ("name_py", "wang wei"), ("birth_date", None), ("sex", None),
                     ("address", f"宜都市{TOWNS[town]}某村"), ("id_kind", "missing"), ("id_area6", None),
                     ("id_birth_year", None), ("id_last4", None)):
            records[k].append(v)
    divisions = pa.table({"code": [t + "000" for t in TOWNS], "name": list(TOWNS.values()),
                          "level": ["town", "town"], "parent_code": ["420581000000", "420581000000"]})
    return pa.table(records, schema=pa.schema([(k, pa.int64() if k == "record_id" else pa.string())
                                               for k in records])), pa.table(persons), divisions


def _entry(report, rule):
    return next(e for e in report["rules"] if e["rule"] == rule)


def test_a_large_block_is_split_by_town():
    # 王伟: 20 persons in each of two towns, 5 records in each → one block of 10 × 40 = 400 pairs
    records, persons, divisions = _tables([("420581100", "1")] * 20 + [("420581101", "1")] * 20,
                                          ["420581100"] * 5 + ["420581101"] * 5)
    rules, report = guard(records=records, persons=persons, divisions=divisions, rules=default_blocking(),
                          max_block=150)
    name = _entry(report, "l.name_py = r.name_py")
    assert name["largest"] == 400 and name["largest_key"] == {"key": "wang wei", "records": 10, "persons": 40,
                                                             "pairs": 400}
    assert name["action"] == "split" and name["split_by"] == ["town_code"] and name["largest_after"] == 100
    assert name["keys"] == [{"key": "wang wei", "records": 10, "persons": 40, "pairs": 400}]
    # the ordinary keys keep the rule as it was; the large key is blocked with the town added
    assert "l.name_py = r.name_py AND concat_ws('|', CAST(l.name_py AS STRING)) NOT IN ('wang wei')" in rules
    assert ("l.name_py = r.name_py AND concat_ws('|', CAST(l.name_py AS STRING)) IN ('wang wei') "
            "AND l.town_code = r.town_code") in rules
    assert "l.name_py = r.name_py" not in rules
    # the other rules are small (no record has an ID or a birth date): run unchanged
    assert _entry(report, "l.birth_date = r.birth_date")["action"] == "run"
    assert report["split"] == 1 and report["skipped_keys"] == 0 and report["records"] == 10


def test_a_block_no_secondary_key_bounds_is_skipped_and_reported():
    # every 王伟 in one town, one sex: neither the town nor the sex splits the block
    records, persons, divisions = _tables([("420581100", "1")] * 40, ["420581100"] * 10)
    rules, report = guard(records=records, persons=persons, divisions=divisions, rules=default_blocking(),
                          max_block=150)
    name = _entry(report, "l.name_py = r.name_py")
    assert name["action"] == "skipped" and name["skipped_keys"] == 1 and name["skipped_records"] == 10
    assert not any(r.startswith("l.name_py = r.name_py AND") and " IN ('wang wei') " in r for r in rules)
    assert report["skipped_keys"] == 1


def test_under_the_bound_nothing_changes():
    """Positive control: the same data with a bound above the largest block runs every rule as configured."""
    records, persons, divisions = _tables([("420581100", "1")] * 40, ["420581100"] * 10)
    rules, report = guard(records=records, persons=persons, divisions=divisions, rules=default_blocking(),
                          max_block=400)
    assert rules == default_blocking()
    assert {e["action"] for e in report["rules"]} == {"run"}
    assert _entry(report, "l.name_py = r.name_py")["largest"] == 400


def test_rule_columns():
    assert rule_columns("l.id_area6 = r.id_area6 AND l.id_last4 = r.id_last4") == ["id_area6", "id_last4"]
    assert rule_columns("levenshtein(l.name, r.name) < 2") is None
    assert rule_columns("l.name_py = r.surname") is None


@pytest.mark.django_db
def test_the_run_splits_a_planted_block_links_and_shows_the_report(county, client, tmp_path):
    """Through the run: 24 registry persons named 王伟 in two towns, department records of 王伟 without IDs. The
    run measures, splits the block by town, still links the one 王伟 it can tell apart, and the page shows it."""
    from fupin.core.testing import make_user
    from fupin.exchange.linkage import linkage_run
    from fupin.exchange.models import RecordLink
    from fupin.exchange.services import import_department
    from fupin.registry.services import household_create

    for village, n, birth in ((county["va1"], 12, "19700101"), (county["vb1"], 12, "19710101")):
        household_create(actor="test", village=village, poor_code=f"W{village.code}", is_registered_poor=True,
                         poverty_status="0", members=[
                             {"name": "王伟", "relationship": "户主" if i == 0 else "之子",
                              "id_number": ident(birth, 100 + i + (50 if village == county["vb1"] else 0))}
                             for i in range(n)])
    unique = ident("19851231", 7)
    household_create(actor="test", village=county["va2"], poor_code="W-ONE", is_registered_poor=True,
                     poverty_status="0", members=[{"name": "王伟", "relationship": "户主", "id_number": unique}])
    rows = [[i + 1, "王伟", "", "", "宜都市甲镇甲一村" if i % 2 else "宜都市乙镇乙一村"] for i in range(8)]
    rows.append([9, "王伟", "", "1985-12-31", "宜都市甲镇甲二村"])  # the one who can be told apart (birth date)
    import_department(actor="test", source_code="dibao",
                      path=write_csv(tmp_path / "d.csv", ["序号", "姓名", "身份证号", "出生日期", "住址"], rows))
    with override_settings(FUPIN_MAX_BLOCK=70):  # 9 records × 25 persons = 225 pairs under 王伟; 5 × 13 in 甲镇
        run = linkage_run(actor="test")
    skew = run.stats["skew"]
    name = _entry(skew, "l.name_py = r.name_py")
    assert name["action"] == "split" and name["split_by"] == ["town_code"] and name["largest"] == 225
    assert name["largest_after"] == 65
    # the engine ran the split rules: the record with the birth date links to its person
    assert RecordLink.objects.filter(record__row_number=10, person__id_number=unique).exists()
    # prediction in chunks of the residual (3 records a pass) gives the same links and scores as one pass
    from fupin.exchange.engine import DuckDBEngine

    def links():
        return sorted(RecordLink.objects.values_list("record_id", "person_id", "method", "score"))

    one_pass = links()
    with override_settings(FUPIN_MAX_BLOCK=70):
        chunked = linkage_run(actor="test", force=True, engine=DuckDBEngine(predict_chunk_records=3))
    assert chunked.stats["predict_chunks"] == 3 and links() == one_pass
    # and in parts of the registry too (7 persons a part, each part with each part of the residual): the same
    with override_settings(FUPIN_MAX_BLOCK=70):
        parted = linkage_run(actor="test", force=True,
                             engine=DuckDBEngine(predict_chunk_records=3, predict_chunk_persons=7))
    parts = parted.stats["predict_parts"]
    assert parts["records"] == 3 and parts["persons"] >= 2 and parted.stats["predict_chunks"] == 3 * parts["persons"]
    assert links() == one_pass
    user = make_user("skew_admin", "city_office", division=county["county"])
    client.force_login(user)
    body = client.get("/exchange/").content.decode()
    assert "分块检查" in body and "按乡镇拆分" in body and "225" in body
