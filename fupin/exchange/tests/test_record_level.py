"""The linkage's decision per record: P(record is p) = odds_p / (Σ odds of the record's candidates + 1 − ρ), with ρ
the share of records about a registry person measured on the valid IDs (the run's, or the record's department's
own), in both engines; the priors measured, not set."""

from datetime import date

import duckdb
import pyarrow as pa
import pytest

from fupin.eligibility.tests.test_spark_engine import SMALL_DATA_CONF, spark_ready  # noqa: F401 - the fixture
from fupin.exchange.engine import (
    DuckDBEngine,
    LinkSettings,
    decision_sql,
    ranked_sql,
    source_prior_sql,
    source_priors,
)

from .conftest import ident

NAMES = [c["output_column_name"] for c in LinkSettings().comparisons]
RATE = 0.6  # the run's ρ in the hand-made cases below: the model's match rate
PAYROLL = 0.15  # the payroll department's own ρ: 15 of its 100 valid IDs in the registry

# (record, source, [(person, match weight)]): the same first candidate, alone, beside a near-equal second, beside a
# stronger one; the same lone candidate in the payroll department
CASES = [(1, "dibao", [(11, 2.0)]),
         (2, "dibao", [(11, 2.0), (12, 1.9)]),
         (3, "dibao", [(11, 2.0), (12, 6.5)]),
         (4, "payroll", [(11, 2.0)])]


def _scored() -> pa.Table:
    rows = []
    for record, _source, candidates in CASES:
        for person, w in candidates:
            row = {"record_id": record, "person_id": person, "weight": w, "score": 2**w / (1 + 2**w)}
            for n in NAMES:
                row.update({f"gamma_{n}": 1, f"mw_{n}": 0.5, f"mw_tf_adj_{n}": 0.0})
            rows.append(row)
    return pa.Table.from_pylist(rows)


def _priors() -> dict:
    stats = {"ids_by_source": {"dibao": [40, 24], "payroll": [100, 15], "death": [10, 10]}}
    priors = source_priors(stats, {"match_rate": RATE}, LinkSettings())
    assert stats["in_registry"] == RATE
    return priors


def _expected() -> dict:
    """The formula written out: each candidate's odds 2^w (× ρ_s/ρ for a department with its own ρ) over the sum of
    the record's candidates' odds plus the share outside the registry."""
    out = {}
    for record, source, candidates in CASES:
        rho = PAYROLL if source == "payroll" else RATE
        odds = {p: 2**w * rho / RATE for p, w in candidates}
        for p in odds:
            out[(record, p)] = (odds[p] / (sum(odds.values()) + 1 - rho), odds[p] / (1 + odds[p]))
    return out


def _decide(run) -> dict:
    """{(record, person): (score, pair_score, others_share, outside_share, decision)} of the decision SQL, `run`
    executing statements on an engine that holds the tables `scored` and `residual`."""
    settings = LinkSettings()
    run(f"CREATE TABLE source_prior AS {source_prior_sql(_priors())}")
    run(f"CREATE TABLE ranked AS {ranked_sql(settings)}")
    rows = run(f"SELECT record_id, person_id, score, pair_score, others_share, outside_share, decision "
               f"FROM ({decision_sql(settings, NAMES, RATE)}) d")
    return {(r[0], r[1]): tuple(r[2:]) for r in rows}


def _check(got: dict) -> None:
    expected = _expected()
    assert got.keys() == expected.keys()
    for key, (score, pair) in expected.items():
        assert got[key][0] == pytest.approx(score, rel=1e-12) and got[key][1] == pytest.approx(pair, rel=1e-12)
        assert got[key][0] + got[key][2] + got[key][3] == pytest.approx(1.0)  # the record's whole probability
    # alone, the candidate's 2 bits (pairwise 0.8) become 4 / (4 + 0.4) = 0.91 for the record: a link
    assert got[(1, 11)][0] == pytest.approx(4 / 4.4) and got[(1, 11)][4] == "link"
    # a near-equal second takes its share: neither links, both go to review
    assert got[(2, 11)][0] < 0.6 and {got[(2, 11)][4], got[(2, 12)][4]} == {"review"}
    # a stronger second: the first is not the record's (0.04), still shown to the reviewer on its pairwise 0.8; the
    # second is not 5 bits ahead, so not linked either
    assert got[(3, 11)][0] < 0.05 and got[(3, 11)][4] == "review" and got[(3, 12)][4] == "review"
    # the same lone candidate for a payroll record: its department's own ρ (0.15) makes it less likely than for a
    # dibao record (4 × 0.25 / (1 + 0.85) = 0.54), not linked
    assert got[(4, 11)][0] == pytest.approx(1 / 1.85) and got[(4, 11)][4] == "review"
    assert got[(4, 11)][1] < got[(1, 11)][1]


def _residual() -> pa.Table:
    return pa.table({"record_id": [c[0] for c in CASES], "source_code": [c[1] for c in CASES]})


def test_record_level_probability_on_duckdb():
    con = duckdb.connect()
    con.register("scored_in", _scored())
    con.register("residual_in", _residual())
    con.execute("CREATE TABLE scored AS SELECT * FROM scored_in")
    con.execute("CREATE TABLE residual AS SELECT * FROM residual_in")
    _check(_decide(lambda sql: con.execute(sql).fetchall()))


@pytest.mark.spark
@pytest.mark.usefixtures("spark_ready")
def test_record_level_probability_on_spark(tmp_path):
    from fupin.exchange.engine_spark import SparkEngine

    engine = SparkEngine(master="local[2]", staging=tmp_path, driver_memory="1g", conf=SMALL_DATA_CONF)
    spark = engine.session()
    spark.createDataFrame(_scored()).createOrReplaceTempView("scored")
    spark.createDataFrame(_residual()).createOrReplaceTempView("residual")

    def run(sql: str):
        if sql.startswith("CREATE TABLE "):
            name, select = sql[len("CREATE TABLE "):].split(" AS ", 1)
            SparkEngine._table(spark, name, select)
            return []
        return [tuple(r) for r in spark.sql(sql).collect()]

    got = _decide(run)
    _check(got)
    con = duckdb.connect()  # and the same numbers as DuckDB's, to the last bits
    con.register("scored_in", _scored())
    con.register("residual_in", _residual())
    con.execute("CREATE TABLE scored AS SELECT * FROM scored_in")
    con.execute("CREATE TABLE residual AS SELECT * FROM residual_in")
    duck = _decide(lambda sql: con.execute(sql).fetchall())
    assert {k: v[4] for k, v in got.items()} == {k: v[4] for k, v in duck.items()}
    assert all(abs(a - b) <= 1e-12 for k in got for a, b in zip(got[k][:4], duck[k][:4], strict=True))


def _inputs() -> tuple[pa.Table, pa.Table]:
    """A registry of 300 persons and three departments' records: each department sends valid IDs of which a known
    number are in the registry, and records without an ID naming a registry person (name, birth date, sex)."""
    persons, records = [], []
    surnames, given = "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许", "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平"
    for i in range(300):
        birth = date(1950 + i % 40, 1 + i % 12, 1 + i % 28)
        persons.append({"person_id": 1000 + i, "name": surnames[i % 20] + given[i // 20] + given[(i * 7) % 20],
                        "name_py": f"py{i}", "id_number": ident(birth.strftime("%Y%m%d"), 100 + i % 800),
                        "id_valid": True, "birth_date": birth.isoformat(), "sex": "1" if i % 2 else "2",
                        "area_code": "420581100201"})
    # (department, valid IDs, of which in the registry, records without an ID)
    plan = [("dibao", 60, 36, 5), ("payroll", 80, 8, 5), ("death", 20, 20, 5)]
    rid, used = 1, 0
    for source, n_valid, n_found, n_missing in plan:
        for j in range(n_valid):
            if j < n_found:
                number = persons[used]["id_number"]
                used += 1
            else:  # a valid ID of someone outside the registry
                number = ident("20010101", j, area="110101")
            records.append({"record_id": rid, "source_code": source, "id_clean": number, "id_number": number,
                            "id_status": "valid", "name": f"外{rid}", "name_py": f"wai{rid}", "id_kind": "full"})
            rid += 1
        for _ in range(n_missing):  # about a registry person no valid ID named
            p = persons[250 + rid % 50]
            records.append({"record_id": rid, "source_code": source, "id_clean": "", "id_number": "",
                            "id_status": "missing", "name": p["name"], "name_py": p["name_py"],
                            "birth_date": p["birth_date"], "sex": p["sex"], "id_kind": "missing"})
            rid += 1
    columns = ["record_id", "source_code", "id_clean", "id_number", "id_status", "name", "name_py", "birth_date",
               "sex", "address", "id_kind", "id_area6", "id_birth_year", "id_last4"]
    records = pa.Table.from_pylist([{c: r.get(c) for c in columns} for r in records]).cast(pa.schema(
        [(c, pa.int64() if c == "record_id" else pa.string()) for c in columns]))
    return records, pa.Table.from_pylist(persons)


def test_priors_are_measured_on_the_valid_ids_not_set():
    records, persons = _inputs()
    # what the engine should find, counted here from the inputs: per department, valid IDs and those in the registry
    in_registry = set(persons.column("id_number").to_pylist())
    counted: dict[str, list[int]] = {}
    for r in records.to_pylist():
        if r["id_status"] == "valid":
            c = counted.setdefault(r["source_code"], [0, 0])
            c[0] += 1
            c[1] += r["id_number"] in in_registry
    assert counted == {"dibao": [60, 36], "payroll": [80, 8], "death": [20, 20]}
    divisions = pa.table({"code": ["420581100201"], "name": ["甲村"], "level": ["village"], "parent_code": [""]})
    decisions = pa.table({"record_key": pa.array([], pa.string()), "person_id": pa.array([], pa.int64()),
                          "status": pa.array([], pa.string())})
    out = DuckDBEngine(threads=1).link(records=records, persons=persons, divisions=divisions, decisions=decisions,
                                       settings=LinkSettings())
    stats = out.stats
    assert stats["model"]["trained"] is False  # too few records to train: the stored starting model ...
    # ... but the priors are this run's, measured: the run's over all valid IDs, each department's over its own
    assert stats["in_registry"] == pytest.approx(64 / 160) == stats["model"]["parameters"]["match_rate"]
    by_source = stats["in_registry_by_source"]
    assert by_source["dibao"] == {"valid_ids": 60, "in_registry": 36, "rate": 36 / 60}
    assert by_source["payroll"] == {"valid_ids": 80, "in_registry": 8, "rate": 8 / 80}
    assert by_source["death"] == {"valid_ids": 20, "in_registry": 20, "rate": None}  # too few: the run's ρ
    # every probabilistic pair carries its department's ρ in its explanation, and its record-level probability
    import json

    pairs = [*[(r, "link") for r in out.links.to_pylist() if r["method"] == "probabilistic"],
             *[(r, "review") for r in out.reviews.to_pylist()]]
    assert pairs  # a positive control: the records without an ID found their persons
    source_of = dict(zip(records.column("record_id").to_pylist(), records.column("source_code").to_pylist(),
                         strict=True))
    rates = {"dibao": 36 / 60, "payroll": 8 / 80, "death": 64 / 160}
    for row, _kind in pairs:
        ex = json.loads(row["explanation"])
        assert ex["in_registry"] == pytest.approx(rates[source_of[row["record_id"]]], abs=1e-6)
        assert ex["probability"] == pytest.approx(row["score"], abs=1e-6)
        assert ex["probability"] + ex["others_share"] + ex["outside_share"] == pytest.approx(1.0, abs=1e-5)
        if ex["others_share"] < 1e-9:  # a lone candidate: its pairwise odds × ρ_s/ρ against 1 − ρ_s
            rho = rates[source_of[row["record_id"]]]
            odds = ex["pair_probability"] / (1 - ex["pair_probability"])
            assert ex["probability"] == pytest.approx(odds / (odds + 1 - rho), rel=1e-4)


@pytest.mark.django_db
def test_the_run_page_shows_each_department_s_own_prior(client, county):
    from fupin.core.testing import make_user
    from fupin.exchange.models import LinkRun

    stats = {"in_registry": 0.589, "in_registry_by_source": {
        "payroll": {"valid_ids": 8033, "in_registry": 1076, "rate": 0.13394},
        "death": {"valid_ids": 5594, "in_registry": 1526, "rate": 0.27279},
        "forest": {"valid_ids": 12, "in_registry": 7, "rate": None}}}  # too few: the run's prior, not listed
    LinkRun.objects.create(engine="duckdb", stats=stats, model=None)
    client.force_login(make_user("prior_admin", "city_office", division=county["county"]))
    body = client.get("/exchange/").content.decode()
    assert 'id="department-priors"' not in body  # no model kept with the run: nothing of it shown
    from fupin.exchange.models import LinkModel

    run = LinkRun.objects.get()
    run.model = LinkModel.objects.create(trained=False, reason="too_small", records=10, persons=10, match_rate=0.589)
    run.save(update_fields=["model"])
    body = client.get("/exchange/").content.decode()
    assert 'id="department-priors"' in body and "各部门自己的有效身份证号中属于人口库中的人的比例" in body
    shown = body.split('id="department-priors"', 1)[1].split("</p>", 1)[0]
    from fupin.exchange.models import Source

    names = dict(Source.objects.values_list("code", "name"))
    assert f"{names['payroll']} 0.134" in shown and f"{names['death']} 0.273" in shown
    assert names["forest"] not in shown


def test_held_records_are_read_through_a_view_and_link_as_handed_arrow(monkeypatch):
    """The linkage hands the engine its DuckDB database holding the records and persons as tables: the engine reads
    the records through a view, never copies them (at 10x the copy beside them spilled), and copies the persons
    (every blocking rule reads them again) and drops their input. Handed as Arrow, each is copied into a table and
    unregistered. Either way the links and review pairs are the same."""
    records, persons = _inputs()
    divisions = pa.table({"code": ["420581100201"], "name": ["甲村"], "level": ["village"], "parent_code": [""]})
    decisions = pa.table({"record_key": pa.array([], pa.string()), "person_id": pa.array([], pa.int64()),
                          "status": pa.array([], pa.string())})
    catalogues: list[dict[str, str]] = []
    probabilistic = DuckDBEngine._probabilistic

    def watched(self, con, settings, stats):  # after the exact stage: what the engine reads from
        catalogues.append(dict(con.execute("SELECT table_name, table_type FROM information_schema.tables "
                                           "WHERE table_name IN ('r', 'p', 'records_in', 'persons_in')").fetchall()))
        return probabilistic(self, con, settings, stats)

    monkeypatch.setattr(DuckDBEngine, "_probabilistic", watched)
    as_arrow = DuckDBEngine(threads=1).link(records=records, persons=persons, divisions=divisions,
                                            decisions=decisions, settings=LinkSettings())
    engine = DuckDBEngine(threads=1)
    con = engine.connect()
    for name, table in (("records_in", records), ("persons_in", persons)):
        con.register("t", table)
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM t")
        con.unregister("t")
    held = engine.link(records=None, persons=None, divisions=divisions, decisions=decisions, settings=LinkSettings(),
                       con=con)
    assert catalogues[0] == {"r": "BASE TABLE", "p": "BASE TABLE"}  # Arrow: copied, and unregistered
    assert catalogues[1] == {"records_in": "BASE TABLE", "r": "VIEW", "p": "BASE TABLE"}  # held
    assert held.links.num_rows > 0
    assert held.links.sort_by("record_id").equals(as_arrow.links.sort_by("record_id"))
    keys = [("record_id", "ascending"), ("person_id", "ascending")]
    assert held.reviews.sort_by(keys).equals(as_arrow.reviews.sort_by(keys))
