"""Benchmark of encryption at rest: the household page, registry search (ID exact, ID tail, name), the engine's registry
read and a roster import with the sealed fields (ID numbers with their blind indexes, phones, health, disability card)
sealed, against the same database with them in plain.

Each mode runs in a process of its own on a fresh database built the same way (same seed): "on" seals as the
platform does; "off" stores the same values plain (crypto.encrypt and crypto.blind_index replaced by the identity
while building and reading: reads then pass plain values through and the index columns hold the plain number and its
tails, which is what a database before the encryption migration held: the number and its reversed copy, indexed).
Every figure is given as wall time and as the process's CPU time (the machine is shared).

Usage (from the repository root):
    .venv/bin/python bench/crypto_fields.py                       # SQLite, 100,000 persons
    .venv/bin/python bench/crypto_fields.py --persons 1000000 --postgres postgres://postgres@127.0.0.1:5432
    add --write-doc to append the figures to docs/performance.md
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from registry_common import (
    append_doc,
    bulk_registry,
    crypto_modes,
    fresh_database,
    load_note,
    make_county,
    p95,
)

DB_NAME = "fupin_bench_crypto"
PAGES = 60
SAMPLES = 200
ROSTER_HOUSEHOLDS = 3000  # about 10,000 persons


def build(persons: int, places, rng: random.Random) -> list[str]:
    from fupin.registry.testdata import _GIVEN, _SURNAMES

    def household(rng: random.Random) -> dict:
        return {"phone": f"13{rng.randint(100000000, 999999999)}"}

    def person(number: str, rng: random.Random) -> dict:
        disabled = rng.random() < 0.06
        return {"name": rng.choice(_SURNAMES) + "".join(rng.choice(_GIVEN) for _ in range(2)),
                "phone": f"13{rng.randint(100000000, 999999999)}" if rng.random() < 0.5 else "",
                "health": [rng.choice("11111234")] + (["4"] if disabled else []),
                "disability_card": (number + "4" + str(rng.randint(1, 4))) if disabled else ""}

    return bulk_registry(persons, places, rng, household=household, person=person)


def measure(fn, args) -> tuple[float, float, float]:
    """p95 and mean wall ms, and mean CPU ms of this process."""
    samples, cpu = [], 0.0
    for a in args:
        t, c = time.perf_counter(), time.process_time()
        fn(a)
        samples.append((time.perf_counter() - t) * 1000)
        cpu += time.process_time() - c
    return p95(samples), sum(samples) / len(samples), cpu * 1000 / len(samples)


def child(mode: str, persons: int, postgres: str | None) -> dict:
    with fresh_database(postgres, f"{DB_NAME}_{mode}", crypto=mode) as label:
        from django.test import Client

        from fupin.core.testing import make_user
        from fupin.exchange.linkage import load_persons, registry_fingerprint
        from fupin.geo.models import Division
        from fupin.registry import selectors
        from fupin.registry.models import Person

        rng = random.Random(7)
        places = make_county()
        t0, c0 = time.perf_counter(), time.process_time()
        codes = build(persons, places, rng)
        built, built_cpu = time.perf_counter() - t0, time.process_time() - c0
        print(f"built {persons:,} persons in {built:.0f} s ({built_cpu:.0f} CPU s), load {os.getloadavg()}", flush=True)
        user = make_user("bench_county", "city_office", division=Division.objects.get(code="420581000000"))
        sample = [Person.objects.filter(pk=pk).values_list("id_number", "name").first()
                  for pk in rng.sample(range(1, persons + 1), SAMPLES)]
        sample = [s for s in sample if s]
        out = {"label": label, "mode": mode, "built_s": built, "built_cpu": built_cpu, "persons": persons,
               "load_start": os.getloadavg()}
        search = lambda q: selectors.search_persons(user, q)  # noqa: E731
        for q in sample[:5]:
            search(q[0])
        out["search_id"] = measure(search, [s[0] for s in sample])
        out["search_name"] = measure(search, [s[1] for s in sample])
        out["search_tail6"] = measure(search, [s[0][-6:] for s in sample])
        out["search_tail4"] = measure(search, [s[0][-4:] for s in sample[:50]])
        client = Client()
        client.force_login(user)
        page_codes = rng.sample(codes, PAGES)
        for c in page_codes[:5]:
            client.get(f"/households/{c}/")

        def page(c):
            assert client.get(f"/households/{c}/").status_code == 200

        out["page"] = measure(page, page_codes[5:])
        out["load_measured"] = os.getloadavg()
        village = places[0][2]

        def village_rows(_):
            list(Person.objects.filter(area_code__startswith=village).values("name", "phone", "health",
                                                                              "disability_card", "household__phone"))

        out["village_rows"] = measure(village_rows, range(10))
        out["village_n"] = Person.objects.filter(area_code__startswith=village).count()
        out["load_searched"] = os.getloadavg()
        print("PARTIAL " + json.dumps(out), flush=True)  # search and page figures before the long reads
        t, c = time.perf_counter(), time.process_time()
        load_persons(registry_fingerprint() + f"-bench-{time.time()}")  # not from the cache
        out["load_persons_s"] = time.perf_counter() - t
        out["load_persons_cpu"] = time.process_time() - c
        # a roster import of new households into the populated registry (the importer's "already registered" check
        # goes through the blind index)
        import tempfile

        from fupin.registry.importer import import_roster
        from fupin.registry.testdata import roster_rows, write_csv

        roster = roster_rows(places, households=ROSTER_HOUSEHOLDS, seed=3, start=persons * 3, code_prefix="R")
        path = write_csv(Path(tempfile.mkdtemp(prefix="fupin-bench-crypto-")) / "roster.csv", roster)
        t, c = time.perf_counter(), time.process_time()
        res = import_roster(actor="bench", path=path)
        out["import"] = (len(roster), time.perf_counter() - t, time.process_time() - c, res.persons_created)
        raw = Person.objects.exclude(phone="").values_list("id", flat=True).first()
        from django.db import connection

        with connection.cursor() as cur:
            cur.execute("SELECT phone, id_number FROM registry_person WHERE id = %s", [raw])
            phone, number = cur.fetchone()
            out["stored_sample"] = phone[:12]
            out["stored_id"] = number[:12]
        return out


def main() -> None:
    args, off, on = crypto_modes(__doc__, "persons", 100_000, child, write_doc=True)
    rows = [("household page (county user, every panel)", "page"), ("search by ID number, exact", "search_id"),
            ("search by the last 6 characters of an ID", "search_tail6"),
            ("search by the last 4 characters of an ID", "search_tail4"), ("search by name, exact", "search_name"),
            (f"one village's {on['village_n']:,} persons with phone, health, card (values)", "village_rows")]
    lines = [f"## Encryption at rest: sealed ID numbers (blind indexes), phones, health and disability card, on vs off "
             f"({on['label']}, bench/crypto_fields.py, {args.persons:,} persons)", "",
             "| what | off p95 ms | on p95 ms | off mean ms | on mean ms | off CPU ms | on CPU ms | on/off (CPU) |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for what, key in rows:
        lines.append(f"| {what} | {off[key][0]:.1f} | {on[key][0]:.1f} | {off[key][1]:.1f} | {on[key][1]:.1f} | "
                     f"{off[key][2]:.1f} | {on[key][2]:.1f} | {on[key][2] / max(off[key][2], 0.001):.2f} |")
    lines.append(f"| the engine's registry read (load_persons, every person), s | | | {off['load_persons_s']:.2f} | "
                 f"{on['load_persons_s']:.2f} | {off['load_persons_cpu']:.2f} | {on['load_persons_cpu']:.2f} | "
                 f"{on['load_persons_cpu'] / off['load_persons_cpu']:.2f} |")
    lines.append(f"| roster import of {on['import'][0]:,} new persons into the registry, s | | | {off['import'][1]:.1f} | "
                 f"{on['import'][1]:.1f} | {off['import'][2]:.1f} | {on['import'][2]:.1f} | "
                 f"{on['import'][2] / off['import'][2]:.2f} |")
    lines.append(f"| building the database (bulk insert), s | | | {off['built_s']:.0f} | {on['built_s']:.0f} | | | |")
    lines += ["", f"Stored ID number, first characters: off `{off['stored_id']}`, on `{on['stored_id']}`; "
              f"phone: off `{off['stored_sample']}`, on `{on['stored_sample']}`. "
              f"Measured {load_note()} (other helpers' test runs share the 2 cores: absolute times are stretched, "
              "the two modes ran one after the other)."]
    print("\n".join(lines))
    if args.write_doc:
        append_doc("\n".join(lines))


if __name__ == "__main__":
    main()
