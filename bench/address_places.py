"""Finding each address's village at a province's size: the name join (fupin/exchange/places.py) against comparing
every address with every division's name (what the engines did before), on DuckDB (issue 19).

    .venv/bin/python bench/address_places.py [--counties 100] [--addresses 20000 200000 2000000] [--before-max 200000]

Makes a province of its own (COUNTIES counties of 12 towns of 20 villages, names drawn from a pool so that many
repeat across counties: 城关镇, 新华村), and distinct addresses as departments write them: a house number and a group
make each its own, some without the province, county or town, some with the town's 镇 dropped. For each size it
prints CPU and wall seconds of `duckdb_places` (after) and, up to `--before-max` addresses, of the previous
statement (a join of addresses and divisions on `contains`), and checks that both find the same (address,
name) pairs; and, with the truth of the generator, the share of addresses whose village is found right (after; before
had no county, so a village name repeated in another county's town of the same name was a coin toss).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

POOL = "东西南北中新华红星光明和平安乐长青石桥河口山坪湾岗沟溪坝田家庄杨柳松柏马龙凤金银"
BEFORE = """
    SELECT a.address, arg_max(v.code, length(v.name) + CASE WHEN t.name IS NOT NULL
           AND contains(a.address, t.name) THEN 100 ELSE 0 END) AS village_code
    FROM addresses a JOIN divs v ON v.level IN ('village', 'community') AND contains(a.address, v.name)
    LEFT JOIN divs t ON t.code = v.parent_code GROUP BY a.address"""


def province(rng: random.Random, counties: int) -> list[tuple]:
    out = [("420000000000", "某某省", "province", None)]
    for c in range(counties):
        ccode = f"42{c // 20 + 1:02d}{c % 20 + 1:02d}000000"
        out.append((ccode, "".join(rng.choice(POOL) for _ in range(2)) + rng.choice("县市区"), "county", "420000000000"))
        for t in range(12):
            tcode = f"{ccode[:6]}{t + 1:03d}000"
            tname = "城关镇" if t == 0 else "".join(rng.choice(POOL) for _ in range(2)) + rng.choice(["镇", "乡"])
            out.append((tcode, tname, "town", ccode))
            for v in range(20):
                vname = "".join(rng.choice(POOL) for _ in range(rng.choice([1, 2, 2, 2]))) + rng.choice(["村", "村", "社区"])
                out.append((f"{tcode}{v + 1:03d}", vname, "village", tcode))
    return out


def addresses(rng: random.Random, divisions: list[tuple], n: int) -> list[tuple[str, str]]:
    by_code = {d[0]: d for d in divisions}
    villages = [d for d in divisions if d[2] == "village"]
    out, seen = [], set()
    while len(out) < n:
        v = rng.choice(villages)
        t, c = by_code[v[3]], by_code[by_code[v[3]][3]]
        text = "".join([("某某省" if rng.random() < 0.5 else ""), (c[1] if rng.random() < 0.8 else ""),
                        (t[1] if rng.random() < 0.8 else t[1][:-1]), v[1],
                        f"{rng.randint(1, 15)}组{rng.randint(1, 400)}号"])
        if text not in seen:
            seen.add(text)
            out.append((text, v[0]))
    return out


def timed(fn):
    t, c = time.perf_counter(), time.process_time()
    out = fn()
    return out, round(time.process_time() - c, 2), round(time.perf_counter() - t, 2)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--counties", type=int, default=100)
    parser.add_argument("--addresses", type=int, nargs="+", default=[20_000, 200_000, 2_000_000])
    parser.add_argument("--before-max", type=int, default=200_000)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    import duckdb
    import pyarrow as pa

    from fupin.exchange.places import duckdb_places

    rng = random.Random(19)
    divisions = province(rng, args.counties)
    n_villages = sum(d[2] == "village" for d in divisions)
    print(f"province: {args.counties} counties, {sum(d[2] == 'town' for d in divisions)} towns, {n_villages} villages;"
          f" load {os.getloadavg()[0]:.1f}")
    divs = pa.table({k: [d[i] for d in divisions] for i, k in enumerate(("code", "name", "level", "parent_code"))})
    for n in args.addresses:
        rows = addresses(rng, divisions, n)
        con = duckdb.connect(config={"threads": str(args.threads)})
        con.register("divs_in", divs)
        con.register("addr_in", pa.table({"address": [a for a, _ in rows], "truth": [v for _, v in rows]}))
        con.execute("CREATE TABLE divs AS SELECT * FROM divs_in WHERE length(name) >= 2")
        con.execute("CREATE TABLE addresses AS SELECT address FROM addr_in")
        _, cpu, wall = timed(lambda con=con: duckdb_places(con, "SELECT address FROM addresses", "SELECT * FROM divs"))
        right = con.execute("SELECT avg(CASE WHEN p.village_code = a.truth THEN 1.0 ELSE 0 END) FROM addr_in a "
                            "LEFT JOIN place_of p USING (address)").fetchone()[0]
        line = f"{n:>9} addresses  after: {cpu:7.2f} CPU s {wall:7.2f} wall s, village right {right:.4f}"
        if n <= args.before_max:
            _, bcpu, bwall = timed(lambda con=con: con.execute(f"CREATE TABLE before AS {BEFORE}"))
            bright = con.execute("SELECT avg(CASE WHEN b.village_code = a.truth THEN 1.0 ELSE 0 END) FROM addr_in a "
                                 "LEFT JOIN before b USING (address)").fetchone()[0]
            # the same (address, name) pairs: the name join's against contains() on every pair
            con.execute("CREATE TABLE place_addresses AS SELECT address FROM addresses")
            con.execute("CREATE TABLE place_divisions AS SELECT * FROM divs")
            from fupin.exchange.places import statements

            for name, sql in statements("duckdb")[:4]:
                con.execute(f"CREATE TABLE {name} AS {sql}")
            con.execute("CREATE TABLE contained AS SELECT DISTINCT a.address, d.name FROM addresses a "
                        "JOIN divs d ON contains(a.address, d.name)")
            differ = con.execute("""
                SELECT count(*) FROM ((SELECT address, name FROM place_hits EXCEPT SELECT * FROM contained)
                    UNION ALL (SELECT * FROM contained EXCEPT SELECT address, name FROM place_hits))""").fetchone()[0]
            line += (f"   before: {bcpu:7.2f} CPU s {bwall:7.2f} wall s, village right {bright:.4f}; "
                     f"pairs differing {differ}")
        print(line, flush=True)
        con.close()


if __name__ == "__main__":
    main()
