"""Test helpers: load a generated roster straight into the registry tables (bulk, no importer needed)."""

from __future__ import annotations

import json
from pathlib import Path

from fupin.core import idnumber
from fupin.core.tabular import TableSpec, read_table

STATUS_CODES = {"未脱贫": "0", "已脱贫(享受政策)": "1", "已脱贫(不再享受政策)": "4", "返贫": "3", "预脱贫": "2"}
ROSTER_SPEC = TableSpec(columns={h: [] for h in ("乡镇", "行政村", "户编号", "姓名", "与户主关系", "证件号码", "性别",
                                                 "贫困户属性", "主要致贫原因", "脱贫状态")},
                        required=["户编号", "姓名", "证件号码"])


def load_roster(path: str | Path) -> int:
    """Households and persons of a generated roster, written with bulk_create (people listed twice stay twice)."""
    from fupin.geo.models import Division
    from fupin.registry.models import Household, Person

    villages = {(v.parent.name, v.name): v for v in Division.objects.filter(level="village").select_related("parent")}
    _, rows = read_table(path, ROSTER_SPEC)
    by_code: dict[str, list[dict]] = {}
    for _, r in rows:
        by_code.setdefault(str(r["户编号"]), []).append(r)
    households = []
    for code, members in by_code.items():
        first = members[0]
        village = villages[(first["乡镇"], first["行政村"])]
        head = next((m for m in members if m["与户主关系"] == "户主"), first)
        households.append(Household(poor_code=code, village=village, area_code=village.code, head_name=head["姓名"],
                                    size=len(members), is_registered_poor=True, attribute=first["贫困户属性"],
                                    main_cause=first["主要致贫原因"],
                                    poverty_status=STATUS_CODES.get(first["脱贫状态"], first["脱贫状态"])))
    Household.objects.bulk_create(households, batch_size=2000)
    hh = dict(Household.objects.filter(poor_code__in=list(by_code)).values_list("poor_code", "id"))
    persons = []
    for code, members in by_code.items():
        for m in members:
            try:
                number = idnumber.normalise(m["证件号码"])
                info = idnumber.info(number)
                ids = {"id_number": number, "id_valid": True, "birth_date": info.birth_date, "sex": info.sex}
            except idnumber.IdNumberError:
                ids = {"id_number": idnumber.clean(m["证件号码"]), "id_valid": False}
            persons.append(Person(household_id=hh[code], area_code=villages[(m["乡镇"], m["行政村"])].code,
                                  relationship=m["与户主关系"], name=m["姓名"], **ids))
    Person.objects.bulk_create(persons, batch_size=5000)
    return len(persons)


def truth(outdir: str | Path) -> dict:
    return json.loads((Path(outdir) / "truth.json").read_text(encoding="utf-8"))
