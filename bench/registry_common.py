"""Shared set-up of the registry benchmarks: a fresh database (SQLite in a temporary directory, or a PostgreSQL
database created for the run) and a synthetic county (towns, villages, grids).

Used by bench/registry_import.py, bench/registry_search.py and bench/registry_page.py; start_django by the other
bench scripts that run Django in-process (bench/assessment_run.py, bench/quality_run.py).
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DOC_HEADER = "2 cores, 24 GiB, python-svc, 2026-11-28"
TOWNS = 10
VILLAGES_PER_TOWN = 12


def start_django() -> None:
    """Set Django up for a benchmark (settings of DATABASE_URL as set by the caller, DEBUG off, quiet logs) and
    migrate the database; the one start-up of every bench script that runs Django in-process."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["FUPIN_DEBUG"] = "0"
    os.environ["FUPIN_LOG_LEVEL"] = "WARNING"
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.DEBUG = False
    call_command("migrate", verbosity=0)


def _server(postgres: str) -> str:
    """The PostgreSQL server URL without a database name."""
    return postgres.rstrip("/").rsplit("/", 1)[0] if postgres.count("/") > 2 else postgres.rstrip("/")


def setup_database(postgres: str | None, name: str) -> str:
    """Point Django at a new empty database and migrate it; returns "SQLite" or "PostgreSQL"."""
    if postgres:
        import psycopg

        server = _server(postgres)
        with psycopg.connect(server.replace("postgres://", "postgresql://") + "/postgres", autocommit=True) as c:
            c.execute(f"DROP DATABASE IF EXISTS {name}")
            c.execute(f"CREATE DATABASE {name}")
        os.environ["DATABASE_URL"] = f"{server}/{name}"
        label = "PostgreSQL"
    else:
        tmp = tempfile.mkdtemp(prefix=f"{name}-")
        os.environ["FUPIN_DATA_DIR"] = tmp
        os.environ["DATABASE_URL"] = f"sqlite:///{tmp}/bench.sqlite3"
        label = "SQLite"
    start_django()
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


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[18] if len(samples) >= 20 else max(samples)


def load_note() -> str:
    """The machine's load while measuring: other work on the 2 cores stretches wall-clock times."""
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min) / {five:.1f} (5 min) on {os.cpu_count()} cores"


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
