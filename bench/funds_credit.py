"""Benchmark of the micro-credit computations and the bank-statement import at 50,000 loans over 36 months.

Measures
1. the nightly overdue detection (`services.mark_overdue`, without the work orders and lights it triggers) and the
   interest subsidies of all 12 quarters of the 36 months (`services.compute_subsidies`): target ≤ 5 s together;
   writing the 12 quarters' subsidy rows (`subsidies_compute`) is reported apart;
2. a bank statement of 100,000 rows (xlsx, a title row above a header with the banks' own column names) imported
   with `imports.import_statement`: target ≤ 10 s;
3. the funds overview page (/funds/) for a county user, median of 20 requests: target ≤ 200 ms.

Usage (from the repository root):
    .venv/bin/python bench/funds_credit.py                 # SQLite in a temporary directory
    .venv/bin/python bench/funds_credit.py --postgres      # database fupin_bench_funds on postgres://postgres@127.0.0.1
    .venv/bin/python bench/funds_credit.py --loans 5000 --rows 10000   # a quick run
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PG_SERVER = "postgres://postgres@127.0.0.1:5432"
PG_DB = os.environ.get("FUPIN_BENCH_PG_DB", "fupin_bench_funds")

from registry_common import setup_database  # noqa: E402  (bench/ is the script's folder)


def build(n_loans: int, today: dt.date, rng: random.Random) -> dict:
    """n poor households with one borrower each, n loans disbursed over the 36 months before today, quarterly
    interest paid, principal at maturity (2 % of the matured loans never repay)."""
    from fupin.core.bulk import insert_rows, uuid7
    from fupin.core.testing import make_county_tree, make_id
    from fupin.funds import engine, services
    from fupin.funds.models import Loan, Repayment
    from fupin.registry.models import Household, Person

    tree = make_county_tree()
    villages = [tree["va1"], tree["va2"], tree["vb1"]]
    rule = services.credit_rule_create(actor="bench", valid_from=dt.date(2015, 1, 1), ceiling=50000,
                                       max_term_months=36, rate_short="4.35", rate_long="4.75", subsidy_share="1")
    bank = services.bank_create(actor="bench", code="bank", name="测试银行")
    fund = services.risk_fund_create(actor="bench", bank=bank, multiple=10, bank_share="0.5")
    services.fund_deposit(actor="bench", fund=fund, amount=n_loans * 5000, on=dt.date(2015, 1, 1))
    insert_rows(Household, [{"village_id": villages[i % 3].pk, "area_code": villages[i % 3].code,
                             "head_name": f"户主{i}", "poor_code": f"P{i:07d}", "is_registered_poor": True,
                             "size": 1, "uuid": uuid7(), "version": 1} for i in range(n_loans)])
    hh = list(Household.objects.order_by("pk").values_list("pk", "area_code"))
    insert_rows(Person, [{"household_id": pk, "area_code": area, "name": f"户主{i}", "relationship": "户主",
                          "id_number": make_id(rng=rng), "uuid": uuid7(), "version": 1}
                         for i, (pk, area) in enumerate(hh)])
    people = dict(Person.objects.values_list("household_id", "pk"))
    start = engine.add_months(today.replace(day=1), -36)
    loans = []
    for i, (pk, area) in enumerate(hh):
        term = rng.choice((12, 24, 36))
        disbursed = start + dt.timedelta(days=rng.randrange(36 * 30))
        loans.append({"number": f"XD{i:08d}", "household_id": pk, "person_id": people[pk], "area_code": area,
                      "bank_id": bank.pk, "rule_id": rule.pk, "amount": Decimal(rng.choice((10000, 20000, 50000))),
                      "term_months": term, "purpose": "养殖", "rate": Decimal("4.75") if term > 12 else Decimal("4.35"),
                      "subsidy_share": Decimal(1), "state": "disbursed", "applied_on": disbursed,
                      "disbursed_on": disbursed, "due_on": engine.add_months(disbursed, term),
                      "uuid": uuid7(), "version": 1})
    repayments = []
    for row in loans:
        for plan in engine.schedule(row["amount"], row["rate"], row["disbursed_on"], row["term_months"]):
            if plan["due_on"] >= today:
                break
            if plan["principal"] and rng.random() < 0.02:
                break  # the defaulters
            repayments.append((row["number"], plan["due_on"], plan["principal"], plan["interest"]))
            row["principal_repaid"] = row.get("principal_repaid", Decimal(0)) + plan["principal"]
        if row.get("principal_repaid", 0) >= row["amount"]:
            row["state"], row["closed_on"] = "repaid", row["due_on"]
    insert_rows(Loan, loans)
    ids = dict(Loan.objects.values_list("number", "pk"))
    areas = dict(Loan.objects.values_list("pk", "area_code"))
    insert_rows(Repayment, [{"loan_id": ids[n], "area_code": areas[ids[n]], "paid_on": d, "principal": p,
                             "interest": i, "uuid": uuid7(), "version": 1} for n, d, p, i in repayments])
    return {"bank": bank, "loans": len(loans), "repayments": len(repayments), "start": start}


def statement(path: Path, n_rows: int, today: dt.date) -> Path:
    from openpyxl import Workbook

    from fupin.funds.models import Loan

    open_loans = list(Loan.objects.filter(state__in=["disbursed", "overdue"]).values_list("number", flat=True))
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("流水")
    ws.append(["测试银行扶贫小额信贷还款流水"])
    ws.append(["借据号", "客户名称", "记账日期", "实还本金", "实还利息", "交易流水号"])
    for i in range(n_rows):
        ws.append([open_loans[i % len(open_loans)], "户主", today.isoformat(), "0.00", "12.50", f"LS{i:08d}"])
    wb.save(path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--loans", type=int, default=50000)
    parser.add_argument("--rows", type=int, default=100000)
    args = parser.parse_args()
    label = setup_database(PG_SERVER if args.postgres else None, PG_DB, debug_env=True)
    from django.db import connection
    from django.test import Client

    from fupin.core.testing import make_user
    from fupin.funds import engine, imports, services

    today = services.today()
    rng = random.Random(2016)
    t = time.perf_counter()
    built = build(args.loans, today, rng)
    print(f"{label}: built {built['loans']} loans, {built['repayments']} repayments in {time.perf_counter() - t:.1f} s")

    periods = [engine.period_of(engine.add_months(built["start"], 3 * k)) for k in range(12)]
    t0, c0 = time.perf_counter(), time.process_time()
    overdue = services.mark_overdue(on=today, actor="bench", notify=False)
    t1, c1 = time.perf_counter(), time.process_time()
    rows = sum(len(r) for r in services.compute_subsidies_for(periods).values())
    t2, c2 = time.perf_counter(), time.process_time()
    print(f"1. overdue detection: {t1 - t0:.2f} s wall, {c1 - c0:.2f} s CPU ({overdue['newly_overdue']} newly "
          f"overdue); subsidies of {len(periods)} quarters ({rows} loan-quarters): {t2 - t1:.2f} s wall, "
          f"{c2 - c1:.2f} s CPU; together {t2 - t0:.2f} s wall, {c2 - c0:.2f} s CPU (target ≤ 5 s)")
    t3 = time.perf_counter()
    for p in periods:
        services.subsidies_compute(actor="bench", period=p)
    print(f"   computing and writing the {len(periods)} quarters' subsidy rows: {time.perf_counter() - t3:.2f} s")

    path = statement(Path(tempfile.mkdtemp()) / "statement.xlsx", args.rows, today)
    t4, c4 = time.perf_counter(), time.process_time()
    result = imports.import_statement(actor="bench", bank=built["bank"], path=path)
    print(f"2. bank statement of {result['rows']} rows (xlsx) imported in {time.perf_counter() - t4:.2f} s wall, "
          f"{time.process_time() - c4:.2f} s CPU (target ≤ 10 s)")

    from fupin.core.testing import make_county_tree  # noqa: F401  (the tree exists already)
    from fupin.geo.models import Division

    user = make_user("bench_office", "city_office", division=Division.objects.get(level="county"))
    client = Client()
    client.force_login(user)
    client.get("/funds/")
    for url in ("/funds/", "/dashboard/"):
        if url == "/dashboard/":
            from fupin.dashboards.services import refresh_snapshots

            refresh_snapshots()
        client.get(url)
        times, cpu = [], []
        for _ in range(20):
            t, c = time.perf_counter(), time.process_time()
            assert client.get(url).status_code == 200
            times.append((time.perf_counter() - t) * 1000)
            cpu.append((time.process_time() - c) * 1000)
        print(f"3. {url}: median {statistics.median(times):.0f} ms wall ({statistics.median(cpu):.0f} ms CPU), "
              f"max {max(times):.0f} ms (target ≤ 200 ms)")
    print(f"load: {open('/proc/loadavg').read().strip()} · {connection.vendor}")


if __name__ == "__main__":
    main()
