"""The demo county's department data: the 14 extracts written about its own people by the independent generator
(its noise, masked IDs, planted ineligible households and decoys at the generator's rates), imported through the
real importer, then compared — so `make demo` shows findings in grid workers' inboxes, the 部门比对 step, person
pages with linked records and the review queue."""

from __future__ import annotations

import datetime as dt
import random
import tempfile
from pathlib import Path

from django.conf import settings

from fupin.exchange.testcounty import FILE_QUIRKS

# the file quirks the demo's extracts carry: all of them (workbooks split over sheets, footer rows, mixed dates),
# read by the one tabular reader (fupin/core/tabular.py)
DEMO_QUIRKS: tuple[str, ...] = FILE_QUIRKS
RECORDS_PER_PERSON = 0.5  # half the generator's rate (400,000 records for 390,000 people): a quick demo start


def seed_exchange(*, rng: random.Random, scale: float, batch) -> dict:
    from fupin.eligibility.services import compare_run
    from fupin.exchange.services import import_department
    from fupin.exchange.testcounty import write_extracts
    from fupin.exchange.testdata import DIVISIONS_CSV, County, Person
    from fupin.registry.models import Person as RegistryPerson

    rows = (RegistryPerson.objects.filter(id_valid=True, is_alive=True, household__isnull=False)
            .values_list("name", "id_number", "birth_date", "sex", "household__village__name",
                         "household__village__parent__name", "household__poor_code", "household_id",
                         "household__is_registered_poor", "household__poverty_status").order_by("pk"))
    county = County(scale=scale, seed=rng.randrange(1 << 30), divisions_csv=DIVISIONS_CSV)
    by_id: dict[str, Person] = {}
    for name, number, birth, sex, village, town, poor_code, hh_id, is_poor, status in rows.iterator(chunk_size=5000):
        code = poor_code or f"H{hh_id}"
        person = by_id.get(number)
        if person is None:
            person = by_id[number] = Person(name=name, id18=number, birth=birth or dt.date(1970, 1, 1),
                                            sex=sex or "1", town=town or "", village=village or "")
        person.households.append(code)
        if is_poor and status != "4":
            county.target_households.add(code)
    county.people = list(by_id.values())
    if not county.people:
        return {}
    county.used_ids |= set(by_id)
    county.duplicates, county.namesake_pairs = [], []
    n_records = max(140, round(len(county.people) * RECORDS_PER_PERSON))
    county.build_outsiders(max(50, n_records // 3))
    # a folder of its own per seeding: two seedings at once (parallel test workers) never remove each other's files
    base = Path(settings.DATA_DIR) / "demo"
    base.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="department_extracts_", dir=base))
    files, links, findings, decoys, noise = write_extracts(folder, county, n_records=n_records, quirks=DEMO_QUIRKS)
    for source, name in files.items():
        import_department(actor="seed_demo", source_code=source, path=folder / name)
    run = compare_run(actor="seed_demo")
    link = (run.stats or {}).get("link") or {}
    return {"records": len(links), "planted_findings": len(findings), "decoys": len(decoys),
            "masked_ids": noise.get("masked_area", 0) + noise.get("masked_year", 0),
            "findings": sum((run.stats or {}).get("findings_by_rule", {}).values()) if isinstance(
                (run.stats or {}).get("findings_by_rule"), dict) else 0,
            "review_pairs": int(link.get("review_pairs") or 0)}
