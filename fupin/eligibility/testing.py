"""Objects of the comparison for the scoping sweep (tests/test_scoping_sweep.py): a department record for the
village's household, linked, and the finding and 四看四算 assessment a comparison makes of it.

Each call re-imports the vehicle extract with the earlier villages' rows kept, so every village keeps its finding."""

from __future__ import annotations

import csv
import tempfile
from pathlib import Path


def sweep_objects(*, village, grid, actor) -> None:
    from fupin.core.testing import make_household
    from fupin.eligibility.services import compare_run
    from fupin.exchange.public import Snapshot, import_department

    hh = make_household(village, grid=grid, head=f"{village.name[0]}有车", members=2, poor_code=f"EL{village.code}",
                        is_registered_poor=True, poverty_status="0", attribute="1", main_cause="1")
    head = hh.members.get(relationship="户主")
    rows = []
    current = Snapshot.objects.filter(source__code="vehicle", is_current=True).first()
    if current is not None:
        rows = [[r.data.get("机动车所有人", r.name), r.id_number, "小型轿车", "正常", "80000"]
                for r in current.records.order_by("row_number")]
    rows.append([head.name, head.id_number, "小型轿车", "正常", "80000"])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "vehicle.csv"
        with open(path, "w", encoding="utf-8-sig", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["序号", "车主", "身份证明号码", "车辆类型", "机动车状态", "购置价格"])
            writer.writerows([i, *r] for i, r in enumerate(rows, start=1))
        import_department(actor=actor, source_code="vehicle", path=path)
    compare_run(actor=actor)
