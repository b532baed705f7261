"""An address's village and town (fupin/exchange/places.py): the hash join on name candidates finds what comparing
the address with every division's name finds, and tells same-named places of two counties apart.

The reference below is written from the rule in places.py's docstring, in plain Python over every (address,
division) pair; the divisions and addresses are made here from their own characters and shapes (names that repeat
across counties, names inside other names, one-character names, addresses with house numbers and without a town).
"""

import random

import duckdb
import pytest

from fupin.eligibility.tests.test_spark_engine import spark_ready  # noqa: F401 - the fixture, for the Spark test
from fupin.exchange.places import BONUS, duckdb_places, statements

SUFFIX = {"county": ["县", "市", "区"], "town": ["镇", "乡", "街道"], "village": ["村", "社区"]}
CHARS = "东西南北中新华红星光明和平安乐长青石桥河口山坪湾岗沟溪坝田家庄"


def _divisions(rng: random.Random, counties: int = 4, towns: int = 4, villages: int = 6) -> list[tuple]:
    """(code, name, level, parent_code): counties of towns of villages (communities too); many names repeat across
    counties (城关镇, 新华村), some are inside others (新华村 / 东新华村), some have one character."""
    out = [("420000000000", "湖北省", "province", None)]
    common_towns = ["城关镇", "新华镇"]
    common_villages = ["新华村", "红星村", "东新华村", "和平社区"]
    for c in range(counties):
        ccode = f"42{c + 1:02d}00000000"
        out.append((ccode, "".join(rng.choice(CHARS) for _ in range(2)) + rng.choice(SUFFIX["county"]), "county",
                    "420000000000"))
        for t in range(towns):
            tcode = f"{ccode[:6]}{t + 1:03d}000"
            tname = common_towns[t] if t < len(common_towns) else (
                "".join(rng.choice(CHARS) for _ in range(rng.randint(1, 3))) + rng.choice(SUFFIX["town"]))
            out.append((tcode, tname, "town", ccode))
            for v in range(villages):
                vname = common_villages[v] if v < len(common_villages) and rng.random() < 0.7 else (
                    "".join(rng.choice(CHARS) for _ in range(rng.randint(0, 3))) + rng.choice(SUFFIX["village"]))
                out.append((f"{tcode}{v + 1:03d}", vname, rng.choice(["village", "village", "community"]), tcode))
    return out


def _addresses(rng: random.Random, divisions: list[tuple], n: int) -> list[str]:
    by_code = {d[0]: d for d in divisions}
    villages = [d for d in divisions if d[2] in ("village", "community")]
    out = []
    for _ in range(n):
        v = rng.choice(villages)
        t = by_code[v[3]]
        c = by_code[t[3]]
        parts = [("湖北省" if rng.random() < 0.5 else ""), (c[1] if rng.random() < 0.6 else ""),
                 (t[1] if rng.random() < 0.7 else t[1][:-1] if rng.random() < 0.5 else ""),
                 (v[1] if rng.random() < 0.85 else ""), f"{rng.randint(1, 12)}组{rng.randint(1, 99)}号"]
        if rng.random() < 0.1:
            parts[1], parts[2] = parts[2], parts[1]
        if rng.random() < 0.05:  # a stray character or a name from elsewhere
            parts.append(rng.choice(CHARS) + rng.choice(divisions)[1])
        out.append("".join(parts))
    out += ["", "组", "5号"]
    return out


def _reference(addresses: list[str], divisions: list[tuple]) -> dict[str, tuple]:
    """address → (village_code, town_code), by comparing the address with every division's name."""
    divs = [d for d in divisions if len(d[1]) >= 2]
    parent = {d[0]: d[3] for d in divs}
    out = {}
    for a in set(addresses):
        named = {d[0]: d for d in divs if d[1] in a}
        village = town = None
        vs = [d for d in named.values() if d[2] in ("village", "community")]
        if vs:
            village = min(vs, key=lambda d, named=named: (-(len(d[1]) + (BONUS if d[3] in named else 0) + (
                BONUS if parent.get(d[3]) in named else 0)), d[0]))[0]
        ts = [d for d in named.values() if d[2] == "town"]
        if ts:
            town = min(ts, key=lambda d, named=named: (-(len(d[1]) + (BONUS if d[3] in named else 0)), d[0]))[0]
        if village or town:
            out[a] = (village, (village or town)[:9])
    return out


def _found(addresses: list[str], divisions: list[tuple]) -> dict[str, tuple]:
    con = duckdb.connect()
    con.execute("CREATE TABLE a (address VARCHAR)")
    con.executemany("INSERT INTO a VALUES (?)", [(x,) for x in addresses] + [(None,)])
    con.execute("CREATE TABLE d (code VARCHAR, name VARCHAR, level VARCHAR, parent_code VARCHAR)")
    con.executemany("INSERT INTO d VALUES (?, ?, ?, ?)", divisions)
    duckdb_places(con, "SELECT address FROM a", "SELECT * FROM d")
    rows = con.execute("SELECT address, village_code, town_code FROM place_of").fetchall()
    leftover = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()} - {"a", "d", "place_of"}
    assert not leftover, leftover  # only the result is left on the engine's connection
    assert len({r[0] for r in rows}) == len(rows)  # one row per address
    return {a: (v, t) for a, v, t in rows}


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_the_name_join_finds_what_comparing_every_name_finds(seed):
    rng = random.Random(seed)
    divisions = _divisions(rng)
    addresses = _addresses(rng, divisions, 600)
    expected = _reference(addresses, divisions)
    assert len(expected) > 400  # positive control: most addresses name a place
    assert _found(addresses, divisions) == expected


def test_a_village_of_the_county_the_address_names_and_of_its_town():
    divisions = [("420000000000", "湖北省", "province", None),
                 ("420100000000", "甲县", "county", "420000000000"), ("420200000000", "乙县", "county", "420000000000"),
                 ("420100100000", "城关镇", "town", "420100000000"), ("420200100000", "城关镇", "town", "420200000000"),
                 ("420200200000", "河口乡", "town", "420200000000"),
                 ("420100100001", "新华村", "village", "420100100000"),
                 ("420200100001", "新华村", "village", "420200100000"),
                 ("420200200001", "新华村", "village", "420200200000")]
    found = _found(["湖北省乙县城关镇新华村3组", "甲县城关镇新华村", "乙县河口乡新华村", "河口新华村", "乙县城关镇", "新华村7号"],
                   divisions)
    assert found["湖北省乙县城关镇新华村3组"] == ("420200100001", "420200100")
    assert found["甲县城关镇新华村"] == ("420100100001", "420100100")
    assert found["乙县河口乡新华村"] == ("420200200001", "420200200")
    # the town's 乡 dropped: its county still tells (乙县's two 新华村 tie on it: the smaller code); no county, no
    # town: the three tie, the smallest code
    assert found["河口新华村"] == ("420100100001", "420100100")
    assert found["乙县城关镇"] == (None, "420200100")
    assert found["新华村7号"] == ("420100100001", "420100100")


def test_both_dialects_say_the_same_but_for_positions():
    duck, spark = dict(statements("duckdb")), dict(statements("spark"))
    assert duck.keys() == spark.keys()
    differing = [k for k in duck if duck[k] != spark[k]]
    assert differing == ["place_address_ends"]
    assert "generate_series" in duck["place_address_ends"] and "sequence" in spark["place_address_ends"]


@pytest.mark.spark
@pytest.mark.usefixtures("spark_ready")
def test_spark_finds_what_duckdb_finds(tmp_path):
    import pyarrow as pa

    from fupin.eligibility.tests.test_spark_engine import SMALL_DATA_CONF
    from fupin.exchange.engine_spark import SparkEngine
    from fupin.exchange.places import spark_places

    rng = random.Random(7)
    divisions = _divisions(rng)
    addresses = _addresses(rng, divisions, 300)
    engine = SparkEngine(master="local[2]", staging=tmp_path, driver_memory="1g", conf=SMALL_DATA_CONF)
    spark = engine.session()
    spark.createDataFrame(pa.table({"address": [*addresses, None]})).createOrReplaceTempView("a")
    spark.createDataFrame(pa.table({k: [d[i] for d in divisions] for i, k in enumerate(
        ("code", "name", "level", "parent_code"))})).createOrReplaceTempView("d")
    spark_places(lambda name, sql: SparkEngine._table(spark, name, sql), "SELECT address FROM a", "SELECT * FROM d")
    got = {r[0]: (r[1], r[2]) for r in spark.sql("SELECT address, village_code, town_code FROM place_of").collect()}
    assert got == _found(addresses, divisions) == _reference(addresses, divisions)
