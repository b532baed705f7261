"""Benchmark of registry search and the household page with 1,000,000 persons.

Builds a synthetic county (10 towns × 12 villages, one grid each) with --persons persons in about --persons/3.4
households (bulk inserts: COPY on PostgreSQL, executemany on SQLite), then measures, for a county user and a village
user, the p95 of `fupin.registry.selectors.search_persons` for an exact ID number, the last 4 and 6 characters of an
ID, a name (exact) and a name prefix (two characters), and of the household list searched by 户编号 (first page and
count, as the list page does); then the household page's server time (Django test client, the whole response with
every installed panel).

Usage (from the repository root):
    .venv/bin/python bench/registry_search.py                          # SQLite in a temporary directory
    .venv/bin/python bench/registry_search.py --postgres postgres://postgres@127.0.0.1:5432
    .venv/bin/python bench/registry_search.py --persons 100000         # a quick run
    add --write-doc to append the figures to docs/performance.md
"""

from __future__ import annotations

import random
import time

from registry_common import (
    append_doc,
    bench_parser,
    bulk_registry,
    fresh_database,
    load_note,
    make_county,
    p95,
)

DB_NAME = "fupin_bench_registry_search"
SAMPLES = 200


def build(persons: int, places: list[tuple[str, str, str]], rng: random.Random) -> list[str]:
    """Households and persons by bulk insert; returns the 户编号 list."""
    from fupin.registry.testdata import _GIVEN, _SURNAMES

    def person(number: str, rng: random.Random) -> dict:
        return {"name": rng.choice(_SURNAMES) + "".join(rng.choice(_GIVEN) for _ in range(rng.choice((1, 2))))}

    return bulk_registry(persons, places, rng, person=person, say=print)


def measure(label: str, fn, queries: list[str]) -> tuple[str, float, float]:
    samples = []
    for q in queries:
        t = time.perf_counter()
        fn(q)
        samples.append((time.perf_counter() - t) * 1000)
    return label, p95(samples), sum(samples) / len(samples)


def main() -> None:
    args = bench_parser(__doc__, "persons", 1_000_000).parse_args()
    with fresh_database(args.postgres, DB_NAME) as label:
        run(args, label)


def page_samples(client, codes: list[str]) -> list[float]:
    """Milliseconds to answer each household page."""
    samples = []
    for c in codes:
        t = time.perf_counter()
        response = client.get(f"/households/{c}/")
        samples.append((time.perf_counter() - t) * 1000)
        assert response.status_code == 200, (c, response.status_code)
    return samples


def run(args, label: str) -> None:
    from django.test import Client

    from fupin.core.testing import make_user
    from fupin.geo.models import Division
    from fupin.registry import selectors
    from fupin.registry.models import Household, Person

    rng = random.Random(7)
    places = make_county()
    print(f"{label}: building {args.persons:,} persons")
    t0 = time.perf_counter()
    codes = build(args.persons, places, rng)
    print(f"built in {time.perf_counter() - t0:.0f}s")
    county_user = make_user("bench_county", "city_office", division=Division.objects.get(code="420581000000"))
    village = Division.objects.get(code=places[0][2])
    village_user = make_user("bench_village", "village_team", division=village)

    sample = list(Person.objects.order_by("?").values_list("id_number", "name")[:SAMPLES]) if args.persons < 200_000 \
        else [Person.objects.filter(pk=pk).values_list("id_number", "name").first()
              for pk in rng.sample(range(1, args.persons + 1), SAMPLES)]
    sample = [s for s in sample if s]
    in_village = list(Person.objects.filter(area_code__startswith=village.code).values_list("id_number", "name")[:5000])
    village_sample = rng.sample(in_village, min(SAMPLES, len(in_village)))
    code_sample = rng.sample(codes, SAMPLES)
    village_codes = [c for c in codes if c.startswith(village.code)][:SAMPLES]

    def household_search(user):
        def run(q):
            qs = selectors.household_list(user, q=q, registered_only=False)
            list(qs[:50])
            qs.count()
        return run

    results = []
    for who, user, people, hh_codes in (("county", county_user, sample, code_sample),
                                        ("village", village_user, village_sample, village_codes)):
        def search(q, user=user):
            return selectors.search_persons(user, q)

        for q in people[:5]:  # warm the caches a little
            search(q[0])
        results += [
            (who, *measure("ID number, exact", search, [p[0] for p in people])),
            (who, *measure("ID number, last 4", search, [p[0][-4:] for p in people])),
            (who, *measure("ID number, last 6", search, [p[0][-6:] for p in people])),
            (who, *measure("name, exact", search, [p[1] for p in people])),
            (who, *measure("name, first 2 characters", search, [p[1][:2] for p in people])),
            (who, *measure("household list by 户编号 (page + count)", household_search(user), hh_codes)),
        ]
    for who, what, p95_ms, mean_ms in results:
        print(f"{label} {who:8s} {what:42s} p95 {p95_ms:7.1f} ms   mean {mean_ms:6.1f} ms")

    from fupin.core import extensions

    client = Client()
    client.force_login(county_user)
    page_codes = rng.sample(codes, 60)
    for c in page_codes[:5]:
        client.get(f"/households/{c}/")
    pages = {}
    installed = extensions.registered("registry.household_panel")
    for what, panel_list in (("every installed panel", installed), ("the registry's own sections", [])):
        with extensions.replaced("registry.household_panel", *panel_list):
            samples = page_samples(client, page_codes[5:])
        pages[what] = (p95(samples), sum(samples) / len(samples), len(samples))
        print(f"{label} household page ({what}): p95 {pages[what][0]:.0f} ms, mean {pages[what][1]:.0f} ms "
              f"over {len(samples)} pages")
    persons = Person.objects.count()
    households = Household.objects.count()
    if args.write_doc:
        lines = [f"## Registry search and household page ({label}, bench/registry_search.py, {persons:,} persons in "
                 f"{households:,} households)", "",
                 "| user | search | p95 ms | mean ms |", "| --- | --- | ---: | ---: |"]
        lines += [f"| {who} | {what} | {p:.1f} | {m:.1f} |" for who, what, p, m in results]
        lines += [""] + [f"Household page, server time through the Django test client (county user, {what}): "
                         f"p95 {v[0]:.0f} ms, mean {v[1]:.0f} ms over {v[2]} pages." for what, v in pages.items()]
        lines += ["", f"Measured {load_note()}."]
        append_doc("\n".join(lines))


if __name__ == "__main__":
    main()
