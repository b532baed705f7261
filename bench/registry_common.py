"""Shared set-up of the registry benchmarks: a fresh database (SQLite in a temporary directory, or a PostgreSQL
database created for the run) and a synthetic county (towns, villages, grids).

Used by bench/registry_import.py, bench/registry_search.py and bench/registry_page.py (bulk_registry: the bulk-built
registry of registry_search and crypto_fields), and setup_database /
start_django by every other bench script that runs Django in-process (assessment_run, quality_run,
assistance_lights, funds_credit, crypto_*, interop, mobile_*): the one start-up of a benchmark.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DOC_HEADER = "2 cores, 24 GiB, python-svc, 2026-11-28"
TOWNS = 10
VILLAGES_PER_TOWN = 12


def start_django(*, debug_env: bool = False) -> None:
    """Set Django up for a benchmark (settings of DATABASE_URL as set by the caller, DEBUG off, quiet logs) and
    migrate the database; the one start-up of every bench script that runs Django in-process.

    settings.DEBUG is off either way; debug_env=True leaves FUPIN_DEBUG as the environment has it while the
    settings load (the lights' and credit benchmarks were measured so), instead of setting it to "0"."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    if not debug_env:
        os.environ["FUPIN_DEBUG"] = "0"
    os.environ["FUPIN_LOG_LEVEL"] = "WARNING"
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.DEBUG = False
    call_command("migrate", verbosity=0)


def open_work(work: Path) -> None:
    """Point Django at a county a comparison benchmark prepared (`work`/db.sqlite3 and `work`/data, as
    bench/compare_steps.py leaves them) and set it up with quiet logs, without migrating: the one start-up of
    compare_steps, compare_memory, compare_digests and linkage_misses."""
    os.environ["DATABASE_URL"] = f"sqlite:///{work}/db.sqlite3"
    os.environ["FUPIN_DATA_DIR"] = str(work / "data")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("FUPIN_LOG_LEVEL", "WARNING")
    import django

    django.setup()


def _server(postgres: str) -> str:
    """The PostgreSQL server URL without a database name."""
    return postgres.rstrip("/").rsplit("/", 1)[0] if postgres.count("/") > 2 else postgres.rstrip("/")


def setup_database(postgres: str | None, name: str, *, reuse: bool = False, data_dir: str | None = None,
                   debug_env: bool = False) -> str:
    """Point Django at a new empty database and migrate it; returns "SQLite" or "PostgreSQL".

    reuse: keep the PostgreSQL database `name` if it exists (a data set built by an earlier run); data_dir: the
    SQLite database's folder (kept between runs) instead of a new temporary one; debug_env: see start_django."""
    if postgres:
        import psycopg

        server = _server(postgres)
        with psycopg.connect(server.replace("postgres://", "postgresql://") + "/postgres", autocommit=True) as c:
            exists = reuse and c.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
            if not exists:
                c.execute(f"DROP DATABASE IF EXISTS {name}")
                c.execute(f"CREATE DATABASE {name}")
        os.environ["DATABASE_URL"] = f"{server}/{name}"
        label = "PostgreSQL"
    else:
        tmp = data_dir or tempfile.mkdtemp(prefix=f"{name}-")
        Path(tmp).mkdir(parents=True, exist_ok=True)
        os.environ["FUPIN_DATA_DIR"] = tmp
        os.environ["DATABASE_URL"] = f"sqlite:///{tmp}/bench.sqlite3"
        label = "SQLite"
    start_django(debug_env=debug_env)
    return label


def drop_database(postgres: str | None, name: str) -> None:
    if not postgres:
        return
    from django.db import connections

    connections.close_all()
    import psycopg

    server = _server(postgres)
    with psycopg.connect(server.replace("postgres://", "postgresql://") + "/postgres", autocommit=True) as c:
        c.execute(f"DROP DATABASE IF EXISTS {name}")


@contextmanager
def fresh_database(postgres: str | None, name: str, *, crypto: str = "on") -> Iterator[str]:
    """A new database for one run (setup_database), dropped afterwards; yields "SQLite" or "PostgreSQL". crypto="off"
    stores values plain (crypto_off), for the "off" side of an on-vs-off encryption benchmark."""
    label = setup_database(postgres, name)
    try:
        if crypto == "off":
            crypto_off()
        yield label
    finally:
        drop_database(postgres, name)


def bench_parser(doc: str | None, size: str, default: int, *, write_doc: bool = True) -> argparse.ArgumentParser:
    """The command line of a benchmark: its size (--rows, --persons, ...), --postgres SERVER_URL, --write-doc."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(f"--{size}", type=int, default=default)
    ap.add_argument("--postgres", help="server URL, e.g. postgres://postgres@127.0.0.1:5432")
    if write_doc:
        ap.add_argument("--write-doc", action="store_true")
    return ap


def cpu_seconds() -> float:
    """CPU time of this process (user+sys)."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def crypto_modes(doc: str | None, size: str, default: int, child, *, write_doc: bool = False):
    """The command line of an on-vs-off encryption benchmark. Run as the parent, it runs the script again with
    --mode off, then --mode on, each in a process of its own (encryption is turned off for a whole process), --rounds
    times alternated (off, on, off, on, ...: both modes see the same load on a shared machine), and returns
    (args, off, on): what child(mode, size, postgres) returned, its (wall s, CPU s) pairs averaged over the rounds,
    each round's CPU seconds under "cpu_runs" and the load averages' range under "load"/"load_end". Run as a child
    (--mode), it calls child, prints its result for the parent and ends the process."""
    ap = bench_parser(doc, size, default, write_doc=write_doc)
    ap.add_argument("--rounds", type=int, default=1, help="off and on alternated this many times")
    ap.add_argument("--mode", choices=["on", "off"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    n = getattr(args, size)
    if args.mode:
        result = child(args.mode, n, args.postgres)
        result.setdefault("load_end", os.getloadavg()[0])  # the load when the child's work ended
        print("RESULT " + json.dumps(result), flush=True)
        raise SystemExit(0)
    runs: dict[str, list[dict]] = {"off": [], "on": []}
    for _round in range(max(args.rounds, 1)):
        for mode in ("off", "on"):
            cmd = [sys.executable, sys.argv[0], "--mode", mode, f"--{size}", str(n)]
            run = subprocess.run(cmd + (["--postgres", args.postgres] if args.postgres else []), capture_output=True,
                                 text=True, check=True)
            line = [x for x in run.stdout.splitlines() if x.startswith("RESULT ")][-1]
            runs[mode].append(json.loads(line[len("RESULT "):]))
            print(mode, runs[mode][-1], flush=True)
    return args, _rounds_mean(runs["off"]), _rounds_mean(runs["on"])


def _rounds_mean(results: list[dict]) -> dict:
    """One result of several rounds: (wall s, CPU s) pairs averaged, each round's CPU s kept, the loads' range."""
    out = dict(results[0])
    out["cpu_runs"] = {}
    for key, value in results[0].items():
        if isinstance(value, list | tuple) and len(value) == 2 and all(isinstance(v, int | float) for v in value):
            out[key] = [sum(r[key][i] for r in results) / len(results) for i in (0, 1)]
            out["cpu_runs"][key] = [r[key][1] for r in results]
    loads = [r[k] for r in results for k in ("load", "load_end") if isinstance(r.get(k), int | float)]
    if loads:
        out["load"], out["load_end"] = min(loads), max(loads)
    out["rounds"] = len(results)
    return out


def on_off_table(off: dict, on: dict, rows: list[tuple[str, str]]) -> list[str]:
    """Markdown rows (what, key) of an on-vs-off benchmark whose results hold (wall s, CPU s) under each key (the
    means over the rounds; with more than one round, each round's CPU seconds too)."""
    def cpu(result: dict, key: str) -> str:
        each = result.get("cpu_runs", {}).get(key, [])
        return f"{result[key][1]:.1f}" + (f" ({', '.join(f'{c:.1f}' for c in each)})" if len(each) > 1 else "")

    lines = ["| what | off wall s | on wall s | off CPU s | on CPU s | on/off (CPU) |", "| --- | --- | --- | --- | --- | --- |"]
    lines += [f"| {what} | {off[key][0]:.1f} | {on[key][0]:.1f} | {cpu(off, key)} | {cpu(on, key)} | "
              f"{on[key][1] / max(off[key][1], 0.001):.2f} |" for key, what in rows]
    return lines


def make_county() -> list[tuple[str, str, str]]:
    """County 420581 with TOWNS towns of VILLAGES_PER_TOWN villages (one grid each); (town, village, code)."""
    from fupin.geo.models import Division, Grid

    county = Division.objects.create(code="420581000000", name="宜都市", full_name="宜都市", level="county")
    places = []
    for t in range(TOWNS):
        town = Division.objects.create(code=f"420581{100 + t:03d}000", name=f"第{t + 1}镇", full_name=f"第{t + 1}镇",
                                       level="town", parent=county)
        for v in range(VILLAGES_PER_TOWN):
            village = Division.objects.create(code=f"420581{100 + t:03d}{200 + v:03d}", name=f"{t + 1}镇{v + 1}村",
                                              full_name=f"{t + 1}镇{v + 1}村", level="village", parent=town)
            Grid.objects.create(code=village.code + "001", village=village, name=f"{village.name}第1网格")
            places.append((town.name, village.name, village.code))
    return places


RELATIONSHIPS = ["户主", "配偶", "之子", "之女", "之母", "之孙子"]


def bulk_registry(persons: int, places: list[tuple[str, str, str]], rng, *, household=None, person=None,
                  say=None) -> list[str]:
    """A synthetic registry by bulk insert (COPY on PostgreSQL, executemany on SQLite): about persons/3.4 households
    spread over `places` (make_county's), then `persons` persons dealt round them (the first of each household its
    head) with made-up valid ID numbers. `household(rng)` and `person(number, rng)` add each row's own fields (a
    person's name among them); `say` is told the progress. Returns the 户编号 list; the tables are ANALYZEd."""
    import time

    from django.db import connection, transaction

    from fupin.core.bulk import insert_rows
    from fupin.geo.models import Division, Grid
    from fupin.registry.models import Household, Person
    from fupin.registry.testdata import _id_for

    say = say or (lambda text: None)
    villages = {d.code: d.pk for d in Division.objects.filter(level="village")}
    grids = {g.village.code: (g.pk, g.code) for g in Grid.objects.select_related("village")}
    n_households = max(1, round(persons / 3.4))
    t0 = time.perf_counter()
    codes, hh_rows = [], []
    for h in range(n_households):
        _, _, vcode = places[h % len(places)]
        code = f"{vcode}{h // len(places) + 1:05d}"
        codes.append(code)
        grid_pk, grid_code = grids[vcode]
        hh_rows.append({"poor_code": code, "village_id": villages[vcode], "grid_id": grid_pk, "area_code": grid_code,
                        "head_name": "", "size": 0, "is_registered_poor": rng.random() < 0.6,
                        "poverty_status": rng.choice("00012343"), "attribute": rng.choice("1123"),
                        "main_cause": str(rng.randint(1, 11)), **(household(rng) if household else {})})
    with transaction.atomic():
        insert_rows(Household, hh_rows)
    ids = dict(Household.objects.values_list("poor_code", "id"))
    say(f"  {n_households:,} households in {time.perf_counter() - t0:.0f}s")
    made = 0
    while made < persons:
        rows = []
        for i in range(made, min(persons, made + 100_000)):
            hh = hh_rows[i % n_households]
            number = _id_for(i)
            rows.append({"household_id": ids[hh["poor_code"]], "area_code": hh["area_code"],
                         "relationship": RELATIONSHIPS[min(i // n_households, 5)], "id_number": number,
                         "sex": "1" if int(number[16]) % 2 else "2", "ethnicity": "01",
                         **(person(number, rng) if person else {})})
        with transaction.atomic():
            insert_rows(Person, rows)
        made += len(rows)
        say(f"  {made:,} persons ({time.perf_counter() - t0:.0f}s)")
    with connection.cursor() as cur:
        cur.execute("ANALYZE")
    return codes


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[18] if len(samples) >= 20 else max(samples)


def load_note() -> str:
    """The machine's load while measuring: other work on the 2 cores stretches wall-clock times."""
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min) / {five:.1f} (5 min) on {os.cpu_count()} cores"


def modes_heading(off: dict, on: dict, what: str) -> str:
    """The first line of an on/off benchmark's output: the database, the size, the load average of each mode."""
    return (f"{on['db']}, {what}, load average off {off['load']:.1f}–{off['load_end']:.1f}, "
            f"on {on['load']:.1f}–{on['load_end']:.1f}")


def append_doc(text: str) -> None:
    """Append a section to docs/performance.md (created with the machine line when absent)."""
    path = ROOT / "docs" / "performance.md"
    if not path.exists():
        path.write_text(f"# Performance\n\nMeasured on {DOC_HEADER}.\n", encoding="utf-8")
    with open(path, "a", encoding="utf-8") as fh:
        fh.write("\n" + text.rstrip() + "\n")


def crypto_off() -> None:
    """Encryption at rest turned off for an on-vs-off benchmark: values stored plain, the blind index columns holding
    the plain value (what a database before the encryption migrations held). Every sealing entry point of
    fupin.core.crypto is replaced (one value and a column at a time), files too (raw imported files, the comparison's
    columnar copies: written plain, no MAGIC); reads pass plain values and plain files through as they are."""
    from fupin.core import crypto

    crypto.encrypt = lambda plain, purpose, ring=None: plain
    crypto.encrypt_many = lambda values, purpose, ring=None: list(values)
    crypto.blind_index = lambda value, purpose, kid=None, ring=None: "" if not value else value
    crypto.blind_index_many = lambda values, purpose, kid=None, ring=None: ["" if not v else v for v in values]
    crypto.seal_chunks = lambda chunks, purpose="file", ring=None: (chunk for chunk in chunks)
