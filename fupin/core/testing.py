"""Factories for tests: build state through services, the way the application does."""

from __future__ import annotations

import itertools
import random

from fupin.core import idnumber
from fupin.geo.models import Division, Grid

_seq = itertools.count(1)


def make_id(area: str = "420581", birth: str | None = None, *, male: bool | None = None, rng=None) -> str:
    """A valid 18-digit ID number (unique within a test run)."""
    rng = rng or random
    birth = birth or f"{rng.randint(1940, 2015)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
    n = next(_seq) % 500
    seq = n * 2 + (1 if (male if male is not None else rng.random() < 0.5) else 0)
    body = f"{area}{birth}{seq % 1000:03d}"
    return body + idnumber.check_char(body)


def make_division(code: str, name: str, level: str, parent: Division | None = None, **kw) -> Division:
    return Division.objects.create(code=code, name=name, full_name=name, level=level, parent=parent, **kw)


def make_county_tree() -> dict:
    """A county with two towns; town A has villages A1 and A2, town B has village B1 and a community."""
    county = make_division("420581000000", "测试县", "county")
    town_a = make_division("420581100000", "甲镇", "town", county)
    town_b = make_division("420581101000", "乙镇", "town", county)
    va1 = make_division("420581100201", "甲一村", "village", town_a, lng=111.40, lat=30.50)
    va2 = make_division("420581100202", "甲二村", "village", town_a, lng=111.42, lat=30.51)
    vb1 = make_division("420581101201", "乙一村", "village", town_b, lng=111.43, lat=30.42)
    cb = make_division("420581101001", "乙社区", "community", town_b)
    ga1 = Grid.objects.create(code=va1.code + "001", village=va1, name="甲一村第1网格")
    gb1 = Grid.objects.create(code=vb1.code + "001", village=vb1, name="乙一村第1网格")
    return {"county": county, "town_a": town_a, "town_b": town_b, "va1": va1, "va2": va2, "vb1": vb1, "cb": cb,
            "ga1": ga1, "gb1": gb1}


def make_user(username: str, role: str = "city_office", *, division: Division | None = None, grid: Grid | None = None,
              department=None, password: str = "pw-test-12345", **kw):
    from fupin.accounts.models import User
    from fupin.accounts.services import area_code_for

    kw.setdefault("area_code", area_code_for(division=division, grid=grid))
    user = User.objects.create_user(username=username, password=password, role=role, division=division, grid=grid,
                                    department=department, display_name=kw.pop("display_name", username), **kw)
    return user


def make_household(village: Division, *, grid: Grid | None = None, head: str = "张三", members: int = 3,
                   actor="test", **fields):
    from fupin.registry.services import household_create

    rels = ["户主", "配偶", "之子", "之女", "之父", "之母"]
    people = [{"name": head if i == 0 else f"{head[0]}{'一二三四五六'[i]}", "relationship": rels[i % len(rels)],
               "id_number": make_id()} for i in range(members)]
    return household_create(actor=actor, village=village, grid=grid, members=people, **fields)


def sweep_app_modules(find, *, skip: tuple[str, ...] = ()) -> dict[str, list]:
    """{module path: what `find(source text)` found} over the application's modules (not tests, migrations, demo
    seeding or test factories; not the paths starting with `skip`), for the sweeps that keep one mechanism per
    concern. Fails when it reads too little of the tree to mean anything."""
    import pathlib

    root = pathlib.Path(__file__).resolve().parents[2]
    paths = sorted((root / "fupin").rglob("*.py"))
    assert len(paths) > 200, "the sweep does not read the tree"
    found = {}
    for path in paths:
        rel = path.relative_to(root).as_posix()
        if (rel.startswith(skip) or "/tests/" in rel or "/migrations/" in rel or "/demo" in rel
                or rel.endswith(("testing.py", "demo.py"))):
            continue
        hits = find(path.read_text(encoding="utf-8"))
        if hits:
            found[rel] = hits
    return found


def own_data_dir(tmp_path, settings):
    """A data directory of the test's own (files, raw uploads, exports, the columnar cache and Spark's staging under
    it), so a search of it covers exactly what this test wrote: the shared test directory keeps earlier runs' files."""
    root = tmp_path / "data"
    root.mkdir()
    settings.DATA_DIR = root
    settings.MEDIA_ROOT = root / "files"
    settings.FUPIN_RAW_DIR = root / "raw"
    settings.FUPIN_EXPORT_DIR = root / "exports"
    return root


def table_indexes(table: str) -> list[tuple[str, str]]:
    """Each index of `table` with its definition, sorted (what a rebuild must give back), on either database."""
    from django.db import connection

    with connection.cursor() as cur:
        if connection.vendor == "sqlite":
            cur.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s", [table])
        else:
            cur.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s", [table])
        return sorted(cur.fetchall())
