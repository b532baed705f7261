"""The pair budget (issue 19): a blocking rule whose blocks sum to more pairs than the budget (pairs per record to
match) is split as a whole by a secondary key; records without that key keep the unsplit rule and are still linked;
a person who moved town is what the split costs. Test data written here by hand, not by the code under test."""

import pyarrow as pa
import pytest
from django.test import override_settings

from fupin.exchange.engine import LinkSettings
from fupin.exchange.skew import guard, guard_records, registry_blocks

from .conftest import ident, write_csv
from .test_skew import _tables


def _with_townless(records: pa.Table, n: int) -> pa.Table:
    """`n` more records of 王伟 whose address names no town of the county."""
    rows = records.to_pylist()
    for i in range(n):
        rows.append({**rows[0], "record_id": len(rows) + 1, "address": f"某某路{i + 1}号"})
    return pa.Table.from_pylist(rows, schema=records.schema)


def test_over_the_budget_the_rule_is_split_by_town_and_townless_records_keep_it():
    # 王伟: 20 persons in each of two towns; 5 records in each town and 2 records without a town → 12 × 40 = 480 pairs
    records, persons, divisions = _tables([("420581100", "1")] * 20 + [("420581101", "1")] * 20,
                                          ["420581100"] * 5 + ["420581101"] * 5)
    records = _with_townless(records, 2)
    rules, report = guard(records=records, persons=persons, divisions=divisions,
                          rules=["l.name_py = r.name_py", "l.birth_date = r.birth_date"], max_block=10_000,
                          pair_budget=25, budget_floor=0)
    assert report["records"] == 12 and report["budget"] == 300 and report["budget_split"] == 1
    entry = report["rules"][0]
    # no record states a birth date: the chain's first key (the birth year) holds none of them, the town all but two
    assert entry["action"] == "budget_split" and entry["pairs"] == 480
    assert entry["chain"] == [["birth_year"], ["town_code"]]
    # within the towns 5 × 20 twice; the two townless records still meet all 40 persons
    assert entry["records_without_key"] == 2 and entry["pairs_without_key"] == 80 and entry["pairs_after"] == 280
    assert not entry["over_budget"]
    name = "l.name_py = r.name_py"
    year = "year(l.birth_date) = year(r.birth_date)"
    assert rules[:5] == [f"{name} AND {year}",
                         f"{name} AND year(l.birth_date) IS NOT NULL AND (year(r.birth_date) IS NULL)",
                         f"{name} AND (year(l.birth_date) IS NULL) AND l.town_code = r.town_code",
                         f"{name} AND (year(l.birth_date) IS NULL) AND l.town_code IS NOT NULL AND (r.town_code IS NULL)",
                         f"{name} AND (year(l.birth_date) IS NULL) AND (l.town_code IS NULL)"]
    # the birth-date rule blocks nothing here (no record states one): left as it is
    assert rules[5] == "l.birth_date = r.birth_date" and report["rules"][1]["action"] == "run"


def test_within_the_budget_or_under_the_floor_nothing_changes():
    """Positive control of the two bounds: the same data under a larger budget, or under the floor, or with the
    budget off, runs the rules as configured."""
    records, persons, divisions = _tables([("420581100", "1")] * 20 + [("420581101", "1")] * 20,
                                          ["420581100"] * 5 + ["420581101"] * 5)
    rules = ["l.name_py = r.name_py", "l.birth_date = r.birth_date"]
    for budget, floor in ((40, 0), (25, 1000), (0, 0)):
        out, report = guard(records=records, persons=persons, divisions=divisions, rules=rules, max_block=10_000,
                            pair_budget=budget, budget_floor=floor)
        assert out == rules, (budget, floor)
        assert {e["action"] for e in report["rules"]} == {"run"}


def test_no_key_meets_the_budget_the_lowest_is_taken_and_said():
    records, persons, divisions = _tables([("420581100", "1")] * 20 + [("420581101", "1")] * 20,
                                          ["420581100"] * 5 + ["420581101"] * 5)
    rules, report = guard(records=records, persons=persons, divisions=divisions, rules=["l.name_py = r.name_py"],
                          max_block=10_000, pair_budget=10, budget_floor=0)
    entry = report["rules"][0]
    assert entry["action"] == "budget_split" and entry["over_budget"] and entry["pairs_after"] == 200
    # the records state no sex (it does not lower it), the town halves it: the first chain with the lowest count
    assert [o["pairs_after"] for o in entry["options"]] == [200, 200, 400, 400]  # the records state no sex
    assert entry["chain"] == [["birth_year"], ["town_code"]]
    assert rules[0] == "l.name_py = r.name_py AND year(l.birth_date) = year(r.birth_date)"


@pytest.mark.django_db
def test_the_run_splits_by_town_links_townless_records_and_shows_it(county, client, tmp_path):
    """Through the run, blocking on the birth date only: 24 registry persons born on one day in two towns. Over the
    budget the rule is split by town: a record in its person's town links, a record whose address names no town
    links too (the unsplit rule); a record whose person moved to the other town is not met by the split rule — and
    is a candidate again when the budget is off (what the split costs, said in docs/scale.md)."""
    from fupin.core.testing import make_user
    from fupin.exchange.linkage import linkage_run
    from fupin.exchange.models import LinkReview, RecordLink
    from fupin.exchange.services import import_department
    from fupin.registry.services import household_create

    names = ["赵建国", "钱秀英", "孙志强", "李桂兰", "周海涛", "吴丽娟", "郑永福", "王淑珍", "冯德胜", "陈玉梅", "褚长江",
             "卫春花", "蒋学文", "沈凤霞", "韩宝山", "杨翠萍", "朱振华", "秦美玲", "尤成龙", "许静怡", "何家乐", "吕晓燕",
             "施耀祖", "张慧敏"]
    for village, part in ((county["va1"], names[:12]), (county["vb1"], names[12:])):
        household_create(actor="test", village=village, poor_code=f"B{village.code}", is_registered_poor=True,
                         poverty_status="0", members=[
                             {"name": name, "relationship": "户主" if i == 0 else "之子",
                              "id_number": ident("19700101", 100 + names.index(name))} for i, name in enumerate(part)])
    header = ["序号", "姓名", "身份证号", "出生日期", "住址"]
    rows = [[1, "赵建国", "", "1970-01-01", "宜都市甲镇甲一村"],  # in the town of its person (甲镇)
            [2, "蒋学文", "", "1970-01-01", "某某路2号"],  # no town named: the unsplit rule
            [3, "韩宝山", "", "1970-01-01", "宜都市甲镇甲二村"]]  # its person lives in 乙镇 (moved)
    import_department(actor="test", source_code="dibao", path=write_csv(tmp_path / "d.csv", header, rows))
    settings = LinkSettings(blocking_rules=["l.birth_date = r.birth_date"])

    def linked(row: int) -> list[str]:
        return list(RecordLink.objects.filter(record__row_number=row + 1).values_list("person__name", flat=True))

    def candidates(row: int) -> set[str]:  # linked, or put to a reviewer
        return set(linked(row)) | set(LinkReview.objects.filter(record__row_number=row + 1, status="open")
                                      .values_list("person__name", flat=True))

    # 3 records × 24 persons = 72 pairs; a budget of 10 per record (30) splits it
    with override_settings(FUPIN_PAIR_BUDGET=10, FUPIN_PAIR_BUDGET_FLOOR=0):
        run = linkage_run(actor="test", settings=settings)
    entry = run.stats["skew"]["rules"][0]
    assert entry["action"] == "budget_split" and entry["split_by"] == ["town_code"] and entry["pairs"] == 72
    assert entry["records_without_key"] == 1
    assert linked(1) == ["赵建国"] and linked(2) == ["蒋学文"]
    assert "韩宝山" not in candidates(3)  # not compared with the person who moved: neither linked nor reviewed
    user = make_user("budget_admin", "city_office", division=county["county"])
    client.force_login(user)
    body = client.get("/exchange/").content.decode()
    assert "分块检查" in body and "配对预算" in body
    # the budget off: the same records, every one linked (the moved person too)
    with override_settings(FUPIN_PAIR_BUDGET=0):
        run = linkage_run(actor="test", settings=settings, force=True)
    assert {e["action"] for e in run.stats["skew"]["rules"]} == {"run"}
    assert linked(1) == ["赵建国"] and linked(2) == ["蒋学文"]
    assert "韩宝山" in candidates(3)  # compared again: the village differs, so at least put to a reviewer


def test_two_rules_over_the_budget_kept_or_counted_decide_alike():
    """Two rules over the budget in one guard (the registry's keys derived once for both, issue 19 at 10x): the
    same rules and report whether the registry's block counts are kept or counted from the persons, and the pairs
    after each split as counted here by hand."""
    records, persons, divisions = _tables([("420581100", "1")] * 20 + [("420581101", "1")] * 20,
                                          ["420581100"] * 5 + ["420581101"] * 5)
    # every record states the birth date every person has: 10 × 40 王伟 pairs, 10 × 70 birth-date pairs
    records = records.set_column(records.schema.get_field_index("birth_date"), "birth_date",
                                 pa.array(["1980-01-01"] * records.num_rows))
    rules = ["l.name_py = r.name_py", "l.birth_date = r.birth_date"]
    counted_rules, counted = guard(records=records, persons=persons, divisions=divisions, rules=rules,
                                   max_block=10_000, pair_budget=25, budget_floor=0)
    kept_rules, kept = guard(records=records, persons=persons, divisions=divisions, rules=rules, max_block=10_000,
                             pair_budget=25, budget_floor=0, kept_blocks=registry_blocks(persons, rules))
    assert counted["registry_blocks"] == "counted" and kept["registry_blocks"] == "kept"
    assert kept_rules == counted_rules
    strip = ("seconds", "registry_blocks")
    assert {k: v for k, v in kept.items() if k not in strip} == {k: v for k, v in counted.items() if k not in strip}
    assert counted["budget"] == 250 and counted["budget_split"] == 2
    name, date = counted["rules"]
    # the birth year is everyone's: 400 pairs still; within the towns 5 × 20 twice
    assert name["pairs"] == 400 and [o["pairs_after"] for o in name["options"]] == [400, 200]
    assert name["chain"] == [["town_code"]] and not name["over_budget"]
    # town 甲镇 holds the 30 others too: 5 × 50 + 5 × 20; no record states a sex
    assert date["pairs"] == 700 and [o["pairs_after"] for o in date["options"]] == [350, 700, 700]
    assert date["chain"] == [["town_code"]] and date["over_budget"]


def _budget_county(extra_persons: int = 0):
    """Persons and records of 王伟 with and without a birth date and a town, written out by hand: (name pinyin,
    birth date, town) of each."""
    persons = [("wang wei", "1980-03-01", "420581100")] * 4 + [("wang wei", "1990-05-05", "420581101")] * 2 + [
        ("wang wei", "", "420581100"),  # no birth date
        ("wang wei", "1980-07-07", ""),  # no town
        ("li lei", "1980-03-01", "420581100"),  # names no record has
        ("zhang san", "1990-05-05", "420581101"), ("zhang san", "1990-05-05", "420581101"),
    ] + [("wang wei", "1990-05-05", "420581101")] * extra_persons
    records = [("wang wei", "1980-01-01", "宜都市甲镇某村"), ("wang wei", "1980-01-01", "宜都市甲镇某村"),
               ("wang wei", "1990-02-02", "宜都市乙镇某村"),
               ("wang wei", None, "宜都市甲镇某村"),  # no birth date: within the town
               ("wang wei", None, "某某路5号"),  # neither: the unsplit rule
               ("zhao liu", "1980-01-01", "宜都市甲镇某村")]  # a name no person has
    person_table = pa.table({
        "person_id": list(range(1, len(persons) + 1)), "name": [f"人{i}" for i in range(len(persons))],
        "name_py": [p[0] for p in persons], "id_number": [""] * len(persons), "birth_date": [p[1] for p in persons],
        "sex": ["1"] * len(persons), "area_code": [p[2] + "201000" if p[2] else "" for p in persons]})
    n = len(records)
    record_table = pa.table({
        "record_id": pa.array(range(1, n + 1), pa.int64()), "id_clean": [""] * n, "id_number": [""] * n,
        "id_status": ["empty"] * n, "name": ["王伟"] * n, "name_py": [r[0] for r in records],
        "birth_date": [r[1] for r in records], "sex": pa.array([None] * n, pa.string()),
        "address": [r[2] for r in records], "id_kind": ["missing"] * n,
        **{k: pa.array([None] * n, pa.string()) for k in ("id_area6", "id_birth_year", "id_last4")}})
    divisions = pa.table({"code": ["420581100000", "420581101000"], "name": ["甲镇", "乙镇"],
                          "level": ["town", "town"], "parent_code": ["420581000000", "420581000000"]})
    return record_table, person_table, divisions


def _guard_in_database(records, persons, divisions, rules, *, keyed_first: bool = False, **kw):
    """The guard in a database of records, persons and the kept block counts. keyed_first: as linkage_compute runs
    it — the records' side (`guard_records`) made while the database holds the records alone, through a cursor of
    the caller's, then the persons read in."""
    import duckdb

    con = duckdb.connect()
    con.register("r_in", records)
    con.register("p_in", persons)
    con.execute("CREATE TABLE records_in AS SELECT * FROM r_in")
    if keyed_first:
        cursor = con.cursor()
        guard_records(cursor, divisions, exact_rule=kw.get("exact_rule", True))
        cursor.close()
        assert {t for (t,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()} == {
            "records_in", "lk"}  # only its keys left
    con.execute("CREATE TABLE persons_in AS SELECT * FROM p_in")
    registry_blocks(None, rules, con=con, persons_table="persons_in", into="registry_blocks")
    try:
        out = guard(con=con, divisions=divisions, rules=rules, kept_blocks="registry_blocks",
                    records_keyed=keyed_first, **kw)
        left = {t for (t,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    finally:
        con.close()
    assert left == {"records_in", "persons_in", "registry_blocks"}  # the guard's own tables are gone
    return out


@pytest.mark.parametrize("exact_rule", [True, False])
def test_records_keyed_before_the_persons_give_the_same_rules_and_report(exact_rule):
    """The records' side made before the persons are in the database (as linkage_compute runs the guard) gives
    the rules and report the guard gives when it makes that side itself, with the budget splitting a rule, a
    record whose town only its address names (乙镇), and a record whose ID is valid (left out by the exact rule)."""
    rules = ["l.name_py = r.name_py", "l.birth_date = r.birth_date"]
    records, persons, divisions = _budget_county()
    status = records.column("id_status").to_pylist()
    status[0] = "valid"  # a record the exact rule links: not in the residual when exact_rule is on
    records = records.set_column(records.column_names.index("id_status"), "id_status", pa.array(status))
    kw = {"max_block": 10_000, "pair_budget": 4, "budget_floor": 0, "exact_rule": exact_rule}
    whole = _guard_in_database(records, persons, divisions, rules, **kw)
    first = _guard_in_database(records, persons, divisions, rules, keyed_first=True, **kw)
    assert first[0] == whole[0]
    assert {k: v for k, v in first[1].items() if k != "seconds"} == {
        k: v for k, v in whole[1].items() if k != "seconds"}
    # counted by hand: 王伟's records in the residual (the first left out by the exact rule) × its 8 persons
    assert first[1]["records"] == (5 if exact_rule else 6)
    assert first[1]["rules"][0]["pairs"] == (4 if exact_rule else 5) * 8


def test_pairs_after_each_chain_counted_by_hand_with_keys_missing_on_either_side():
    """Records and persons lacking the birth year or the town, and names only one side has: the pairs after each
    chain as counted here by hand, the same in the run's database (kept counts) as from Arrow tables (counted), and
    again after the registry gains persons (what a run after a registry change reads)."""
    rules = ["l.name_py = r.name_py"]
    records, persons, divisions = _budget_county()
    # 王伟: 5 records × 8 persons = 40 pairs; 6 records, 5 per record: a budget of 30
    in_db = _guard_in_database(records, persons, divisions, rules, max_block=10_000, pair_budget=5, budget_floor=0)
    arrow = guard(records=records, persons=persons, divisions=divisions, rules=rules, max_block=10_000,
                  pair_budget=5, budget_floor=0)
    assert in_db[0] == arrow[0]
    assert {k: v for k, v in in_db[1].items() if k not in ("seconds", "registry_blocks")} == {
        k: v for k, v in arrow[1].items() if k not in ("seconds", "registry_blocks")}
    entry = in_db[1]["rules"][0]
    assert entry["pairs"] == 40 and entry["budget"] == 30 and entry["action"] == "budget_split"
    # the birth year: 1980's two records × the five 王伟 born in 1980 (one without a town), 1990's record × two;
    # with the person without a birth date, 3 × 1. The town, for the record without a birth date: 甲镇's five
    # (one without a birth date) and the person without a town. The record with neither: all eight.
    assert entry["options"] == [{"split_by": ["birth_year", "town_code"], "chain": [["birth_year"], ["town_code"]],
                                 "pairs_after": 10 + 2 + 3 + 5 + 1 + 8, "records_without_key": 1,
                                 "pairs_without_key": 8}]
    assert not entry["over_budget"]
    # under a budget of 24 no chain meets it: the town alone gives the same 29 (甲镇's three records × five, 乙镇's
    # record × two, the four with a town × the person without one, the last × eight); the sex, which no record
    # states, and the town and sex lower nothing: the first lowest chain is taken
    _, report = _guard_in_database(records, persons, divisions, rules, max_block=10_000, pair_budget=4,
                                   budget_floor=0)
    entry = report["rules"][0]
    assert [o["pairs_after"] for o in entry["options"]] == [29, 15 + 2 + 4 + 8, 40, 40]
    # records without the chain's keys: those with a name at all (the one no person has too)
    assert [o["records_without_key"] for o in entry["options"]] == [1, 1, 6, 6]
    assert entry["chain"] == [["birth_year"], ["town_code"]] and entry["over_budget"]
    # the registry gains three 王伟 born in 1990 in 乙镇: 1990's record meets five, the record with neither eleven
    records, persons, divisions = _budget_county(extra_persons=3)
    _, report = _guard_in_database(records, persons, divisions, rules, max_block=10_000, pair_budget=5,
                                   budget_floor=0)
    entry = report["rules"][0]
    assert entry["pairs"] == 5 * 11 and entry["pairs_after"] == 10 + 5 + 3 + 5 + 1 + 11
    assert entry["pairs_without_key"] == 11
