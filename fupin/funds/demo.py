"""The funds demo for the demo county: the bulletin's credit figures and a project library.

At scale 1: a 10,000,000 yuan risk-compensation fund at two banks (1:10), about 100,000,000 yuan lent to 4,807
members of poor households over the last three years, quarterly interest paid, principal repaid at maturity, a few
loans overdue (their subsidies suspended, a work order each, the household's light turned) and one settled from the
fund; fund sources of three years, projects in every state of the library with beneficiaries, notices, allocations,
payments and assets sharing income. Counts follow `scale` (never fewer than a handful, so a small demo shows every
state). Loans, repayments and subsidies are written in bulk through `fupin.core.bulk.insert_rows`; projects,
banks, rules and the overdue path go through the services.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from django.utils import timezone

from fupin.funds import engine, services
from fupin.funds.choices import LoanState, ProjectState

BORROWERS = 4807
FUND_YUAN = 10_000_000
BANKS = [("nongshang", "宜都农商银行", Decimal("0.6")), ("youchu", "邮储银行宜都支行", Decimal("0.4"))]
AMOUNTS = [(10000, 0.40), (20000, 0.30), (30000, 0.18), (50000, 0.12)]
TERMS = [(12, 0.3), (24, 0.3), (36, 0.4)]
PURPOSES = ["柑橘种植", "生猪养殖", "茶叶种植", "山羊养殖", "农家乐", "蔬菜大棚", "中药材种植", "家禽养殖"]
ENTERPRISES = ["宜都市红花柑橘专业合作社", "宜都市五峰茶业有限公司", "宜都市聂河生猪养殖合作社"]
PROJECT_KINDS = ["industry", "infrastructure", "housing", "education", "health", "employment", "relocation"]
PROJECT_NAMES = {"industry": "柑橘产业基地", "infrastructure": "通组公路硬化", "housing": "危房改造",
                 "education": "村小学改造", "health": "村卫生室建设", "employment": "扶贫车间",
                 "relocation": "易地搬迁安置点"}
ACTOR = "demo"


def _pick(rng: random.Random, table):
    x, acc = rng.random(), 0.0
    for value, weight in table:
        acc += weight
        if x < acc:
            return value
    return table[-1][0]


def seed_funds(*, rng: random.Random, scale: float, batch) -> dict:
    from fupin.funds.models import CreditRule

    if CreditRule.objects.exists():
        return {"skipped": 1}
    today = services.today()
    rule = services.credit_rule_create(actor=ACTOR, valid_from=dt.date(2014, 1, 1), ceiling=50000,
                                       max_term_months=36, rate_short="4.35", rate_long="4.75", subsidy_share="1",
                                       note="鄂政办发〔2015〕扶贫小额信贷实施意见(演示)")
    banks = _banks(scale, today)
    loans = _loans(rng, scale, today, rule, banks, batch)
    projects = _projects(rng, scale, today)
    return {**loans, **projects}


def _banks(scale: float, today: dt.date) -> list:
    from fupin.org.models import Department

    dept = Department.objects.filter(code="jinrong").first()
    out = []
    start = engine.add_months(today.replace(day=1), -42)
    for code, name, share in BANKS:
        bank = services.bank_create(actor=ACTOR, code=code, name=name, department=dept if code == "nongshang" else None)
        fund = services.risk_fund_create(actor=ACTOR, bank=bank, multiple=10, bank_share="0.5")
        services.fund_deposit(actor=ACTOR, fund=fund, amount=engine.money(Decimal(FUND_YUAN) * share * Decimal(str(scale))),
                              on=start, note="县财政存入信贷扶贫风险补偿基金")
        out.append((bank, fund, share))
    return out


def _loans(rng: random.Random, scale: float, today: dt.date, rule, banks, batch) -> dict:
    from fupin.core.bulk import insert_rows, uuid7
    from fupin.funds.models import Loan, LoanStep, Repayment, Subsidy
    from fupin.registry.models import Household, Person

    target = max(6, round(BORROWERS * scale))
    households = list(Household.objects.filter(is_registered_poor=True, dissolved_on__isnull=True)
                      .order_by("pk").values_list("pk", "area_code"))
    rng.shuffle(households)
    households = households[:target]
    members: dict[int, list[int]] = {}
    for pk, hh in Person.objects.filter(household_id__in=[h for h, _a in households]).order_by("pk").values_list(
            "pk", "household_id"):
        members.setdefault(hh, []).append(pk)
    heads = {hh: people[0] for hh, people in members.items()}
    start = engine.add_months(today.replace(day=1), -40)
    span = (today - dt.timedelta(days=40) - start).days
    overdue_n = max(3, round(15 * scale))
    loans, now = [], timezone.now()

    def new_loan(number: int, hid: int, person: int, area: str, disbursed: dt.date) -> dict:
        bank, _fund, _share = banks[0] if rng.random() < 0.6 else banks[1]
        amount = Decimal(_pick(rng, AMOUNTS))
        term = _pick(rng, TERMS)
        due = engine.add_months(disbursed, term)
        use = "enterprise" if rng.random() < 0.15 else "household"
        return {"number": f"XD{disbursed.year}{number:06d}", "household_id": hid, "person_id": person,
                      "area_code": area, "bank_id": bank.pk, "rule_id": rule.pk, "amount": amount,
                      "term_months": term, "purpose": rng.choice(PURPOSES), "use": use,
                      "enterprise": rng.choice(ENTERPRISES) if use == "enterprise" else "",
                      "rate": engine.rate_for(term, rule.rate_short, rule.rate_long),
                      "subsidy_share": rule.subsidy_share, "state": LoanState.DISBURSED,
                      "applied_on": disbursed - dt.timedelta(days=rng.randint(15, 40)), "disbursed_on": disbursed,
                      "due_on": due, "principal_repaid": Decimal(0), "interest_paid": Decimal(0),
                      "uuid": uuid7(), "version": 1, "batch_id": batch.pk if batch else None}

    for i, (hid, area) in enumerate(households):
        if hid in heads:
            loans.append(new_loan(i + 1, hid, heads[hid], area, start + dt.timedelta(days=rng.randrange(span))))
    # the borrowers who fall behind: loans that came due a few weeks to a few months ago
    matured = [row for row in loans if row["due_on"] < today - dt.timedelta(days=5)]
    rng.shuffle(matured)
    defaulters = {row["number"] for row in matured[:overdue_n]}
    repayments: list[dict] = []

    def repay(row: dict) -> None:
        late = row["number"] in defaulters
        cursor = row["disbursed_on"]
        stop = min(today, row["due_on"])
        for plan in engine.schedule(row["amount"], row["rate"], row["disbursed_on"], row["term_months"]):
            if plan["due_on"] > stop or (late and plan["due_on"] > engine.add_months(row["due_on"], -6)):
                break
            principal = plan["principal"] if plan["due_on"] >= row["due_on"] else Decimal(0)
            repayments.append({"loan_number": row["number"], "paid_on": plan["due_on"], "principal": principal,
                               "interest": plan["interest"]})
            row["principal_repaid"] += principal
            row["interest_paid"] += plan["interest"]
            cursor = plan["due_on"]
        if row["principal_repaid"] >= row["amount"]:
            row["state"], row["closed_on"] = LoanState.REPAID, cursor

    for row in loans:
        repay(row)
    # Fewer poor households than borrowers (4,491 against 4,807 at scale 1): another member of a household whose
    # loan was repaid in full renews it (续贷), so the household never has two open loans.
    renewals = []
    latest = today - dt.timedelta(days=40)
    for row in loans:
        if len(loans) + len(renewals) >= target:
            break
        others = members.get(row["household_id"], [])[1:]
        if row["state"] != LoanState.REPAID or not others or row["closed_on"] + dt.timedelta(days=10) > latest:
            continue
        on = row["closed_on"] + dt.timedelta(days=rng.randint(10, max(10, min(60, (latest - row["closed_on"]).days))))
        renewal = new_loan(len(households) + len(renewals) + 1, row["household_id"], others[0], row["area_code"], on)
        renewal["renewal_of"] = row["number"]
        repay(renewal)
        renewals.append(renewal)
    insert_rows(Loan, loans)
    ids = dict(Loan.objects.filter(number__in=[r["number"] for r in loans]).values_list("number", "pk"))
    for renewal in renewals:
        renewal["renewal_of_id"] = ids[renewal.pop("renewal_of")]
    insert_rows(Loan, renewals)
    loans += renewals
    ids.update(Loan.objects.filter(number__in=[r["number"] for r in renewals]).values_list("number", "pk"))
    areas = {r["number"]: r["area_code"] for r in loans}
    insert_rows(Repayment, [{"loan_id": ids[r.pop("loan_number")], "area_code": areas[n], "bank_ref": "",
                             "uuid": uuid7(), "version": 1, "batch_id": batch.pk if batch else None, **r}
                            for r in repayments for n in [r["loan_number"]]])
    steps = []
    for row in loans:
        for state, day in ((LoanState.APPLIED, row["applied_on"]), (LoanState.DISBURSED, row["disbursed_on"])):
            steps.append(LoanStep(loan_id=ids[row["number"]], area_code=row["area_code"], at=now, to_state=state,
                                  action="apply" if state == LoanState.APPLIED else "approve", actor_name=ACTOR,
                                  note=f"{day}"))
    LoanStep.objects.bulk_create(steps, batch_size=2000)
    # overdue through the nightly step's own service (subsidy suspended, work order, light), then last year's
    # subsidies, then one loan settled from the fund
    result = services.mark_overdue(on=today, actor=ACTOR)
    periods = [engine.period_of(engine.add_months(today.replace(day=1), -3 * k)) for k in range(1, 5)]
    for period in periods:
        rows = services.compute_subsidies(period)
        insert_rows(Subsidy, [{**r, "period": period, "uuid": uuid7(), "version": 1,
                               "batch_id": batch.pk if batch else None} for r in rows])
    lists = 0
    for period in periods[1:]:
        try:
            services.payable_list_create(actor=ACTOR, period=period)
            lists += 1
        except services.ServiceError:
            pass
    claims = 0
    wait = int(services.conf.get("claim_after_days"))
    victim = (Loan.objects.filter(state=LoanState.OVERDUE, due_on__lte=today - dt.timedelta(days=wait))
              .order_by("due_on").first())
    if victim is None:  # make one loan old enough to be settled
        victim = Loan.objects.filter(state=LoanState.OVERDUE).order_by("due_on").first()
        if victim is not None:
            Loan.objects.filter(pk=victim.pk).update(due_on=today - dt.timedelta(days=wait + 30),
                                                     overdue_since=today - dt.timedelta(days=wait + 29))
    if victim is not None:
        claim = services.claim_create(actor=ACTOR, loan=victim, claimed_on=today)
        services.recovery_record(actor=ACTOR, claim=claim, amount=engine.money(claim.loss / 10), on=today)
        claims = 1
    lent = sum((r["amount"] for r in loans), Decimal(0))
    return {"loans": len(loans), "lent_yuan": int(lent), "repayments": len(repayments),
            "overdue": result["overdue"], "work_orders": result["work_orders"], "payable_lists": lists,
            "claims": claims}


def _projects(rng: random.Random, scale: float, today: dt.date) -> dict:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from fupin.geo.models import Division
    from fupin.registry.models import Household

    year = today.year
    sources = []
    for y in (year - 2, year - 1, year):
        for kind, name, amount in (("central", "中央财政专项扶贫资金", 30_000_000), ("provincial", "省级财政专项扶贫资金", 15_000_000),
                                   ("county", "县级财政扶贫资金", 10_000_000),
                                   ("integrated", "统筹整合涉农资金", 40_000_000), ("donation", "社会帮扶捐赠资金", 3_000_000)):
            sources.append(services.source_create(
                actor=ACTOR, year=y, kind=kind, name=f"{y}年{name}", document_no=f"宜财农发〔{y}〕{len(sources) + 1}号",
                amount=engine.money(Decimal(amount) * Decimal(str(max(scale, 0.01)))), received_on=dt.date(y, 3, 1)))
    villages = list(Division.objects.filter(level="village", is_poor_village=True).order_by("code")) or \
        list(Division.objects.filter(level="village").order_by("code"))
    n = max(len(ProjectState) * 2, round(80 * scale))
    states = [s.value for s in ProjectState]
    counts = {s: 0 for s in states}
    notices = assets = 0
    for i in range(n):
        village = villages[i % len(villages)]
        kind = PROJECT_KINDS[i % len(PROJECT_KINDS)]
        final = states[i % len(states)]
        households = list(Household.objects.filter(village=village, is_registered_poor=True).order_by("pk")[:12])
        if not households:
            continue
        p_year = year - (2 if states.index(final) >= 5 else 1 if states.index(final) >= 3 else 0)
        budget = engine.money(Decimal(rng.randrange(20, 300)) * 10000 * Decimal(str(max(scale, 0.01))))
        project = services.project_create(
            actor=ACTOR, name=f"{village.name}{PROJECT_NAMES[kind]}", kind=kind, year=p_year, division=village,
            responsible_unit=f"{village.parent.name}人民政府" if village.parent else "县扶贫办",
            budget={"integrated": budget * Decimal("0.7"), "central": budget * Decimal("0.3")},
            targets=[{"indicator": "带动贫困户", "value": f"{len(households)}户"},
                     {"indicator": "户均增收", "value": f"{rng.randrange(8, 30) * 100}元/年"}],
            mechanism="贫困户务工获得工资收入,项目收益按股分红",
            start_date=dt.date(p_year, 3, 1), end_date=dt.date(p_year, 11, 30))
        counts[final] += 1
        if final == ProjectState.RESERVE:
            continue
        project = services.project_advance(actor=ACTOR, project=project, to_state=ProjectState.APPRAISAL)
        for hh in households:
            services.beneficiary_add(actor=ACTOR, project=project, household=hh,
                                     how=rng.choice(["wages", "dividend", "industry"]),
                                     expected_yuan=rng.randrange(5, 30) * 100)
        if final == ProjectState.APPRAISAL:
            continue
        notice_start = today - dt.timedelta(days=400 if states.index(final) >= 3 else 5)
        services.notice_create(actor=ACTOR, project=project, kind="project", level="village", start_date=notice_start,
                               end_date=notice_start + dt.timedelta(days=10))
        notices += 1
        project = services.project_advance(actor=ACTOR, project=project, to_state=ProjectState.NOTICE)
        if final == ProjectState.NOTICE:
            continue
        project = services.project_advance(actor=ACTOR, project=project, to_state=ProjectState.LIBRARY,
                                           on=today)
        source = next(s for s in sources if s.year == p_year and s.kind == "integrated")
        allocation = services.allocation_create(actor=ACTOR, source=source, project=project,
                                                amount=min(engine.money(budget * Decimal("0.7")),
                                                           services.source_balance(source)),
                                                allocated_on=notice_start + dt.timedelta(days=15))
        if final == ProjectState.LIBRARY:
            continue
        project = services.project_advance(actor=ACTOR, project=project, to_state=ProjectState.IMPLEMENTATION)
        paid_on = notice_start + dt.timedelta(days=60)
        payment = services.payment_create(
            actor=ACTOR, allocation=allocation, amount=engine.money(budget * Decimal("0.35")), paid_on=paid_on,
            payee=f"{village.name}股份经济合作社", purpose="工程进度款", voucher_no=f"记{p_year}-{i + 1:04d}",
            voucher=SimpleUploadedFile(f"voucher-{i}.txt", "演示凭证".encode()))
        notice = services.notice_create(actor=ACTOR, project=project, kind="fund_use", payment=payment,
                                        start_date=paid_on + dt.timedelta(days=1),
                                        end_date=paid_on + dt.timedelta(days=12))
        services.notice_post(actor=ACTOR, notice=notice, posted_on=paid_on + dt.timedelta(days=1),
                             place=f"{village.name}村务公开栏",
                             photo=SimpleUploadedFile(f"board-{i}.txt", "演示照片".encode()))
        notices += 1
        if final == ProjectState.IMPLEMENTATION:
            continue
        project = services.project_advance(actor=ACTOR, project=project, to_state=ProjectState.ACCEPTED)
        if final == ProjectState.ACCEPTED:
            continue
        asset = services.asset_create(actor=ACTOR, project=project, name=project.name, owner=f"{village.name}村民委员会",
                                      manager=f"{village.name}股份经济合作社", value=engine.money(budget),
                                      handed_over_on=dt.date(p_year, 12, 20))
        for y in range(p_year + 1, year):
            services.asset_income_distribute(actor=ACTOR, asset=asset, year=y,
                                             total=engine.money(budget * Decimal("0.05")))
        assets += 1
    return {"projects": sum(counts.values()), "notices": notices, "assets": assets, "fund_sources": len(sources)}
