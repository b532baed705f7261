"""Demo data of the dispatch app on an already seeded county: a year of work orders, pins with joint plans, 民情.

`seed_dispatch(rng=..., scale=..., batch=...)` is a bulk write (rows carry the batch; the caller records the batch's
one audit event). It simulates each order's life over the past year with the same deadlines and routing rules the
services use, so the county shows orders in every state: most solved and confirmed (the bulletin's "3,000+ problems
solved" at scale 1), some returned and sent on, some late and escalated, a few still waiting. Orders that are
overdue today are escalated at the end by the ordinary nightly step (which posts to the heads' inboxes).

About 0.8 orders per registered poor household, 1 % of them pinned (most with a joint plan of 2-4 items), and 0.4
民情 reports per household, 9 in 10 answered.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict

from django.core.management.color import no_style
from django.db import connection, models
from django.utils import timezone

from fupin.dispatch import defaults, routing
from fupin.dispatch.choices import (
    AnswerWay,
    Category,
    Channel,
    EventKind,
    Origin,
    PlanStatus,
    ReportStatus,
    State,
    Urgency,
)
from fupin.dispatch.models import (
    HouseholdPin,
    JointPlan,
    JointPlanItem,
    MinqingReport,
    WorkOrder,
    WorkOrderEvent,
    WorkOrderType,
)

ORDERS_PER_POOR_HOUSEHOLD = 0.8
PIN_SHARE = 0.01
REPORTS_PER_POOR_HOUSEHOLD = 0.4
DAYS = 365
BULK = 2000

TITLES = {
    "medical": [("住院费用报销(大病救助)", "已纳入大病保险和医疗救助,报销{n}元"), ("办理慢性病证", "慢性病证已办理,门诊按规定报销"),
                ("家庭医生签约", "已与村卫生室签约家庭医生,每月随访"), ("新农合参保补缴", "已代缴新农合个人部分")],
    "education": [("子女学费减免", "已落实学费减免和生活补助{n}元"), ("申请雨露计划补助", "雨露计划补助已发放"),
                  ("高中助学金", "已纳入国家助学金,每学期{n}元")],
    "housing": [("危房改造", "纳入危房改造计划,补助{n}元,已竣工验收"), ("房屋漏雨维修", "已安排维修,屋面已翻盖"),
                ("危房鉴定", "已鉴定为D级危房并列入改造计划")],
    "social_security": [("申请低保", "经审核已纳入农村低保,月保障金{n}元"), ("特困供养申请", "已纳入特困供养"),
                        ("临时救助", "已发放临时救助金{n}元")],
    "employment": [("外出务工介绍", "已推荐到园区企业就业"), ("参加技能培训", "已参加电工/家政培训并取证"),
                   ("公益性岗位", "已安排村保洁公益性岗位")],
    "industry": [("柑橘种苗扶持", "已发放种苗并安排技术指导"), ("养殖产业补助", "已发放养殖补助{n}元"),
                 ("加入合作社", "已加入专业合作社并分红")],
    "credit": [("扶贫小额信贷", "已发放5万元免抵押免担保贷款,财政贴息"), ("贷款贴息申请", "已落实贴息{n}元")],
    "disability": [("办理残疾人证", "已办理残疾人证并享受两项补贴"), ("辅助器具申请", "已配发轮椅")],
    "land": [("土地确权纠纷", "已调解并完成确权登记"), ("林权证办理", "林权证已办理")],
    "relocation": [("易地扶贫搬迁", "已纳入易地扶贫搬迁安置点")],
    "hukou": [("户口迁移", "户口已迁入并更新信息"), ("补办身份证", "身份证已补办")],
    "other": [("饮水困难", "已接通自来水"), ("通户道路硬化", "通户路已硬化"), ("生活困难", "已协调发放生活物资")],
}
RETURN_REASONS = ["不属本部门职责,建议转民政局办理", "材料不全,请补充户口簿和身份证复印件", "该户已享受同类政策,不能重复",
                  "需乡镇先行核实情况后再推送", "地址信息有误,无法联系到农户"]
REPORT_TEXTS = {
    Category.POLICY: ["询问产业奖补政策怎么申请", "不清楚教育资助的标准", "想了解小额信贷的条件"],
    Category.LIVING: ["家中老人无人照料,生活困难", "冬季取暖困难", "家庭收入下降,生活拮据"],
    Category.MEDICAL: ["住院费用自付部分负担重", "慢性病用药报销比例低", "村卫生室缺医少药"],
    Category.EDUCATION: ["孩子上高中学费困难", "上学路远,希望安排寄宿"],
    Category.HOUSING: ["房屋墙体开裂,担心安全", "危房改造补助尚未到位"],
    Category.EMPLOYMENT: ["希望就近务工", "想参加技能培训"],
    Category.INDUSTRY: ["柑橘销路不畅", "养殖缺技术指导"],
    Category.CREDIT: ["贷款手续繁琐", "想申请扶贫小额信贷"],
    Category.INFRASTRUCTURE: ["组里道路未硬化,雨天难行", "自来水水压不足", "电压不稳"],
    Category.IDENTIFICATION: ["认为自家应纳入贫困户", "对评议结果有异议"],
    Category.DISPUTE: ["与邻居宅基地纠纷", "土地流转租金未付"],
    Category.CADRE_CONDUCT: ["帮扶干部很少来访", "反映村干部办事拖拉"],
    Category.OTHER: ["希望安装路灯", "反映垃圾清运不及时"],
}
CATEGORY_WEIGHTS = {
    Category.POLICY: 16, Category.LIVING: 14, Category.MEDICAL: 14, Category.EDUCATION: 7, Category.HOUSING: 9,
    Category.EMPLOYMENT: 8, Category.INDUSTRY: 7, Category.CREDIT: 5, Category.INFRASTRUCTURE: 9,
    Category.IDENTIFICATION: 3, Category.DISPUTE: 3, Category.CADRE_CONDUCT: 2, Category.OTHER: 3,
}
ANSWERS = ["已上门解释政策,农户表示理解", "已协调相关部门办理,结果已告知农户", "已纳入下月民情分析会研究,先行电话告知",
           "已现场查看并答复处理意见", "已推送部门办理,办结后回访农户"]
PIN_REASONS = ["户主患重病长期住院,家中无劳力", "重度残疾,独居无人照料", "房屋为D级危房且无力改造", "因灾房屋倒塌,生活无着",
               "孤寡老人,无收入来源", "子女多人上学,因学返贫风险高"]


class _Ids:
    """Explicit primary keys for one model (the rows are bulk written and point to each other)."""

    def __init__(self, model: type[models.Model]):
        self.next = (model.objects.aggregate(m=models.Max("pk"))["m"] or 0) + 1

    def take(self) -> int:
        value = self.next
        self.next += 1
        return value


def _rng(rng) -> random.Random:
    if isinstance(rng, random.Random):
        return rng
    if hasattr(rng, "integers"):  # a numpy Generator
        return random.Random(int(rng.integers(0, 2**31)))
    return random.Random(2016)


class _World:
    """What the simulation reads once: households, senders, department handlers, types, rules, needs."""

    def __init__(self):
        from fupin.accounts.models import User
        from fupin.dispatch.services import active_rules
        from fupin.org.models import Department
        from fupin.registry.models import Household

        self.households = list(Household.objects.filter(is_registered_poor=True, dissolved_on__isnull=True)
                               .values("pk", "area_code", "village_id", "grid_id", "main_cause", "head_name")
                               .order_by("pk"))
        self.types = {t.code: t for t in WorkOrderType.objects.filter(is_active=True)}
        self.rules = active_rules()
        self.departments = {d.pk: d for d in Department.objects.filter(is_active=True)}
        self.handlers: dict[int, list[int]] = defaultdict(list)
        for pk, dept in User.objects.filter(department__isnull=False, is_active=True).values_list("pk", "department"):
            self.handlers[dept].append(pk)
        self.grid_worker: dict[int, int] = {}
        for pk, grid in (User.objects.filter(role="grid_worker", grid__isnull=False, is_active=True)
                         .order_by("pk").values_list("pk", "grid")):
            self.grid_worker.setdefault(grid, pk)
        self.town_staff: dict[str, int] = {}
        for pk, code in (User.objects.filter(role="town_staff", division__isnull=False, is_active=True)
                         .order_by("pk").values_list("pk", "division__code")):
            self.town_staff.setdefault(code[:9], pk)
        self.user_names = dict(User.objects.filter(pk__in={*self.grid_worker.values(), *self.town_staff.values(),
                                                           *[u for us in self.handlers.values() for u in us]})
                               .values_list("pk", "display_name"))
        self.needs = self._needs()

    def _needs(self) -> dict[int, list[dict]]:
        """Plan measures and visit records of the assistance app (when present) to link some orders to."""
        out: dict[int, list[dict]] = defaultdict(list)
        try:
            from fupin.assistance.models import AssistanceRecord, Measure
        except ImportError:
            return out
        for pk, hid, kind, title in Measure.objects.order_by("pk").values_list("pk", "household_id", "kind",
                                                                                "title")[:20000]:
            out[hid].append({"source_type": "assistance.measure", "source_id": str(pk), "title": title,
                             "origin": Origin.MEASURE, "type": defaults.MEASURE_KIND_TYPE.get(kind)})
        for pk, hid, needs in (AssistanceRecord.objects.exclude(needs="").order_by("pk")
                               .values_list("pk", "household_id", "needs")[:20000]):
            out[hid].append({"source_type": "assistance.assistancerecord", "source_id": str(pk),
                             "title": needs[:60], "origin": Origin.RECORD, "type": None})
        return out

    def sender_for(self, hh: dict) -> int | None:
        return self.grid_worker.get(hh["grid_id"]) or self.town_staff.get(hh["area_code"][:9])

    def route(self, type_code: str, hh: dict) -> int | None:
        chosen = routing.route(self.rules, routing.Facts(order_type=type_code, cause=hh["main_cause"] or "",
                                                         area_code=hh["area_code"]))
        return chosen.department if chosen else None

    def rule_for(self, type_code: str, hh: dict) -> routing.Rule | None:
        return routing.route(self.rules, routing.Facts(order_type=type_code, cause=hh["main_cause"] or "",
                                                       area_code=hh["area_code"]))


class _Builder:
    def __init__(self, rng: random.Random, batch, now: dt.datetime):
        self.rng, self.batch, self.now = rng, batch, now
        self.w = _World()
        self.order_ids, self.report_ids = _Ids(WorkOrder), _Ids(MinqingReport)
        self.plan_ids = _Ids(JointPlan)
        self.orders: list[WorkOrder] = []
        self.events: list[WorkOrderEvent] = []

    # one order's life -----------------------------------------------------------------------------------------

    def _event(self, order: WorkOrder, kind: str, at: dt.datetime, *, actor: int | None, frm: str = "", to: str = "",
               note: str = "", department: int | None = None, data: dict | None = None) -> None:
        if at > self.now:
            return
        self.events.append(WorkOrderEvent(order_id=order.pk, at=at, kind=kind, from_state=frm, to_state=to,
                                          actor_id=actor, actor_name=self.w.user_names.get(actor, "") if actor else
                                          "system", department_id=department or order.department_id,
                                          note=note, data=data or {}))

    def order(self, hh: dict, *, pushed_at: dt.datetime, type_code: str, title: str, origin: str, source=None,
              due_date: dt.date | None = None, department: int | None = None, urgency: str = Urgency.NORMAL,
              stall: bool = False, live: bool = True, sender: int | None = None) -> WorkOrder | None:
        """Build one order and its events, living its life from `pushed_at` until now."""
        from fupin.dispatch.services import deadlines_for

        kind = self.w.types.get(type_code) or self.w.types.get("other")
        if kind is None:
            return None
        rule = None
        if department is None:
            rule = self.w.rule_for(kind.code, hh)
            if rule is None:
                return None
            department = rule.department
        sender = sender or self.w.sender_for(hh)
        accept_due, due = deadlines_for(kind, pushed_at, due_date)
        pk = self.order_ids.take()
        o = WorkOrder(
            pk=pk, number=f"GD{timezone.localtime(pushed_at):%Y%m%d}{pk:05d}", title=title[:200],
            description=f"{hh['head_name']}户:{title}", order_type=kind, urgency=urgency, household_id=hh["pk"],
            village_id=hh["village_id"], area_code=hh["area_code"], place="", origin=origin,
            department_id=department, routing_rule_id=rule.id if rule else None,
            routing_note=routing.explain(rule)[:200], sender_id=sender, state=State.PUSHED, pushed_at=pushed_at,
            accept_due_at=accept_due, due_at=due, batch=self.batch)
        if source:
            o.source_type, o.source_id, o.source_repr = source
        self._event(o, EventKind.PUSH, pushed_at, actor=sender, to=State.PUSHED, note=o.routing_note)
        if live:
            self._live(o, kind, stall=stall)
        self.orders.append(o)
        return o

    def scripted(self, hh: dict, target: str, *, type_code: str = "other", sender: int | None = None
                 ) -> WorkOrder | None:
        """An order that is in `target` state today (so that a small county still shows every state)."""
        now, day = self.now, dt.timedelta(days=1)
        kind = self.w.types.get(type_code) or self.w.types.get("other") or next(iter(self.w.types.values()))
        starts = {State.PUSHED: 1, State.ACCEPTED: 2, State.IN_PROGRESS: 5, State.RESOLVED: 6, State.RETURNED: 2,
                  State.CONFIRMED: 20, State.CLOSED: 30, State.CANCELLED: 10, "overdue": kind.accept_days + 8}
        pushed_at = now - starts[target] * day
        o = self.order(hh, pushed_at=pushed_at, type_code=kind.code, title=rng_title(self.rng, kind.code),
                       origin=Origin.MANUAL, live=False, sender=sender)
        if o is None or target in (State.PUSHED, "overdue"):
            return o
        handler = self._handler(o.department_id)
        if target in (State.RETURNED, State.CANCELLED):
            back = pushed_at + dt.timedelta(hours=5)
            self._event(o, EventKind.RETURN, back, actor=handler, frm=State.PUSHED, to=State.RETURNED,
                        note=RETURN_REASONS[0])
            o.state, o.returned_at, o.return_reason = State.RETURNED, back, RETURN_REASONS[0]
            if target == State.CANCELLED:
                self._event(o, EventKind.CANCEL, back + 2 * day, actor=o.sender_id, frm=State.RETURNED,
                            to=State.CANCELLED, note="农户问题已通过其他途径解决")
                o.state, o.closed_at = State.CANCELLED, back + 2 * day
            return o
        t = pushed_at + dt.timedelta(hours=3)
        self._event(o, EventKind.ACCEPT, t, actor=handler, frm=State.PUSHED, to=State.ACCEPTED)
        o.state, o.accepted_at, o.handler_id, o.accept_seconds = State.ACCEPTED, t, handler, 3 * 3600
        if target == State.ACCEPTED:
            return o
        self._event(o, EventKind.START, t + day, actor=handler, frm=State.ACCEPTED, to=State.IN_PROGRESS)
        o.state, o.started_at = State.IN_PROGRESS, t + day
        if target == State.IN_PROGRESS:
            return o
        resolved = pushed_at + 4 * day
        resolution = (TITLES.get(kind.code) or TITLES["other"])[0][1].format(n=1000)
        self._event(o, EventKind.RESOLVE, resolved, actor=handler, frm=State.IN_PROGRESS, to=State.RESOLVED,
                    note=resolution)
        o.state, o.resolved_at, o.resolution = State.RESOLVED, resolved, resolution
        o.resolve_seconds = int((resolved - pushed_at).total_seconds())
        if target == State.RESOLVED:
            return o
        self._event(o, EventKind.CONFIRM, resolved + 2 * day, actor=o.sender_id, frm=State.RESOLVED,
                    to=State.CONFIRMED, note="农户对办理结果满意", data={"satisfaction": 5})
        o.state, o.confirmed_at, o.satisfaction = State.CONFIRMED, resolved + 2 * day, 5
        if target == State.CLOSED:
            self._event(o, EventKind.CLOSE, resolved + 4 * day, actor=o.sender_id, frm=State.CONFIRMED,
                        to=State.CLOSED)
            o.state, o.closed_at = State.CLOSED, resolved + 4 * day
        return o

    def _handler(self, department: int) -> int | None:
        handlers = self.w.handlers.get(department)
        return self.rng.choice(handlers) if handlers else None

    def _escalate_history(self, o: WorkOrder, kind: WorkOrderType, deadline: dt.datetime, done_at: dt.datetime):
        """An order finished late: it was escalated at the deadline (and to the city office if very late)."""
        if done_at <= deadline:
            return
        o.was_overdue = True
        level = 1
        self._event(o, EventKind.ESCALATE, deadline, actor=None, frm=o.state, to=o.state,
                    note="超期督办(一级)", data={"level": 1})
        second = deadline + dt.timedelta(days=kind.escalate_days)
        if done_at > second:
            level = 2
            self._event(o, EventKind.ESCALATE, second, actor=None, frm=o.state, to=o.state,
                        note="超期督办(二级)", data={"level": 2})
        o.escalation_level, o.escalated_at = level, (second if level == 2 else deadline)

    def _live(self, o: WorkOrder, kind: WorkOrderType, *, stall: bool) -> None:
        rng, now = self.rng, self.now
        t = o.pushed_at
        # a few orders are sent back and on to another department first
        if rng.random() < 0.07:
            back = t + dt.timedelta(hours=rng.uniform(2, 60))
            reason = rng.choice(RETURN_REASONS)
            if back > now:
                return
            self._event(o, EventKind.RETURN, back, actor=self._handler(o.department_id), frm=State.PUSHED,
                        to=State.RETURNED, note=reason)
            o.state, o.returned_at, o.return_reason = State.RETURNED, back, reason
            if rng.random() < 0.25:  # still with the sender, or withdrawn
                later = back + dt.timedelta(days=rng.uniform(1, 5))
                if later < now and rng.random() < 0.5:
                    self._event(o, EventKind.CANCEL, later, actor=o.sender_id, frm=State.RETURNED,
                                to=State.CANCELLED, note="农户问题已通过其他途径解决")
                    o.state, o.closed_at = State.CANCELLED, later
                return
            t = back + dt.timedelta(hours=rng.uniform(2, 48))
            if t > now:
                return
            choices = [d for d in self.w.departments if d != o.department_id and self.w.handlers.get(d)]
            new = rng.choice(choices) if choices else o.department_id
            self._event(o, EventKind.REROUTE, t, actor=o.sender_id, frm=State.RETURNED, to=State.PUSHED,
                        department=new, data={"department": self.w.departments[new].code})
            from fupin.dispatch.services import deadlines_for

            o.department_id, o.routing_rule_id, o.routing_note = new, None, "退回后由发起人改派"
            o.pushed_at, o.state, o.returned_at = t, State.PUSHED, None
            o.accept_due_at, o.due_at = deadlines_for(kind, t, None)
        if stall:  # left waiting: these become today's overdue orders
            return
        late_accept = rng.random() < 0.08
        accept_at = t + dt.timedelta(hours=rng.uniform(kind.accept_days * 24 * 1.1, kind.accept_days * 24 * 3)
                                     if late_accept else rng.expovariate(1 / 14) + 0.5)
        if accept_at > now:
            return
        handler = self._handler(o.department_id)
        self._escalate_history(o, kind, o.accept_due_at, accept_at)
        self._event(o, EventKind.ACCEPT, accept_at, actor=handler, frm=State.PUSHED, to=State.ACCEPTED)
        o.state, o.accepted_at, o.handler_id = State.ACCEPTED, accept_at, handler
        o.accept_seconds = int((accept_at - t).total_seconds())
        o.escalation_level = 0
        span = (o.due_at - t).total_seconds() / 86400
        late = rng.random() < 0.1
        resolve_at = t + dt.timedelta(days=rng.uniform(span * 1.05, span * 1.8) if late
                                      else rng.uniform(span * 0.15, span * 0.95))
        start_at = accept_at + (resolve_at - accept_at) * rng.uniform(0.05, 0.4)
        if start_at < now:
            self._event(o, EventKind.START, start_at, actor=handler, frm=State.ACCEPTED, to=State.IN_PROGRESS)
            o.state, o.started_at = State.IN_PROGRESS, start_at
        if resolve_at > now:
            return
        self._escalate_history(o, kind, o.due_at, resolve_at)
        titles = TITLES.get(kind.code) or TITLES["other"]
        resolution = next((r for t_, r in titles if t_ in o.title), titles[0][1]).format(n=rng.randrange(5, 60) * 100)
        self._event(o, EventKind.RESOLVE, resolve_at, actor=handler, frm=o.state, to=State.RESOLVED, note=resolution)
        o.state, o.resolved_at, o.resolution = State.RESOLVED, resolve_at, resolution
        o.resolve_seconds = int((resolve_at - t).total_seconds())
        confirm_at = resolve_at + dt.timedelta(days=rng.uniform(0.2, 8))
        if confirm_at > now:
            return
        if rng.random() < 0.04:  # the household says it is not solved: back to the department once
            self._event(o, EventKind.REOPEN, confirm_at, actor=o.sender_id, frm=State.RESOLVED,
                        to=State.IN_PROGRESS, note="回访发现问题尚未完全解决")
            confirm_at += dt.timedelta(days=rng.uniform(3, 15))
            if confirm_at > now:
                o.state, o.resolved_at, o.resolve_seconds = State.IN_PROGRESS, None, None
                return
            self._event(o, EventKind.RESOLVE, confirm_at - dt.timedelta(days=1), actor=handler,
                        frm=State.IN_PROGRESS, to=State.RESOLVED, note=resolution)
        score = rng.choices([5, 4, 3, 2, 1], weights=[62, 26, 8, 3, 1])[0]
        self._event(o, EventKind.CONFIRM, confirm_at, actor=o.sender_id, frm=State.RESOLVED, to=State.CONFIRMED,
                    note="农户对办理结果满意" if score >= 4 else "农户基本满意", data={"satisfaction": score})
        o.state, o.confirmed_at, o.satisfaction = State.CONFIRMED, confirm_at, score
        close_at = confirm_at + dt.timedelta(days=rng.uniform(0, 12))
        if close_at > now or rng.random() < 0.15:
            return
        self._event(o, EventKind.CLOSE, close_at, actor=o.sender_id, frm=State.CONFIRMED, to=State.CLOSED)
        o.state, o.closed_at = State.CLOSED, close_at


def _inbox(b: _Builder, batch) -> None:
    """The inbox items the services would have posted for the orders still waiting on someone (same dedupe keys, so
    that acting on the order later closes them)."""
    from fupin.inbox.models import InboxItem

    items = []
    for o in b.orders:
        url = f"/dispatch/orders/{o.uuid}/"
        common = {"kind": "work_order", "url": url, "object_type": "dispatch.workorder", "object_id": str(o.pk),
                  "area_code": o.area_code, "batch": batch}
        if o.state == State.PUSHED:
            for user in b.w.handlers.get(o.department_id, []):
                items.append(InboxItem(user_id=user, title=f"新工单待受理:{o.title}"[:200],
                                       due_date=timezone.localtime(o.accept_due_at).date(),
                                       dedupe_key=f"dispatch:{o.uuid}:dept", **common))
        elif o.state == State.RESOLVED and o.sender_id:
            items.append(InboxItem(user_id=o.sender_id, title=f"工单已办结,请确认:{o.title}"[:200],
                                   body=o.resolution[:300], dedupe_key=f"dispatch:{o.uuid}:confirm", **common))
        elif o.state == State.RETURNED and o.sender_id:
            items.append(InboxItem(user_id=o.sender_id, title=f"工单被退回:{o.title}"[:200], body=o.return_reason,
                                   dedupe_key=f"dispatch:{o.uuid}:returned", **common))
    InboxItem.objects.bulk_create(items, batch_size=BULK)


def _moment(rng: random.Random, now: dt.datetime, *, max_days: float = DAYS, min_days: float = 0) -> dt.datetime:
    """A working-hours moment in the past `max_days` days (more of them recent than long ago is not needed)."""
    day = now - dt.timedelta(days=rng.uniform(min_days, max_days))
    local = timezone.localtime(day).replace(hour=rng.randint(8, 17), minute=rng.randrange(60), second=0,
                                            microsecond=0)
    return min(local, now - dt.timedelta(minutes=5))


SHOWCASE = [State.PUSHED, State.ACCEPTED, State.IN_PROGRESS, State.RESOLVED, State.RESOLVED, State.RETURNED,
            State.CONFIRMED, State.CLOSED]


def _showcase(b: _Builder, rng: random.Random) -> None:
    """Orders in every state for households of each demo grid worker's grid (poor ones first, else any resident),
    pushed by that worker, so that logging in as demo_grid_worker shows orders to confirm and to re-route."""
    from fupin.accounts.models import User
    from fupin.registry.models import Household

    for user in User.objects.filter(username__startswith="demo_", role="grid_worker", grid__isnull=False):
        hhs = list(Household.objects.filter(grid=user.grid, dissolved_on__isnull=True)
                   .order_by("-is_registered_poor", "pk")
                   .values("pk", "area_code", "village_id", "grid_id", "main_cause", "head_name")[:len(SHOWCASE)])
        for i, target in enumerate(SHOWCASE if hhs else []):
            hh = hhs[i % len(hhs)]
            type_code = defaults.CAUSE_TYPE.get(hh["main_cause"] or "") or rng.choice(["medical", "housing", "other"])
            b.scripted(hh, target, type_code=type_code, sender=user.pk)


def rng_title(rng: random.Random, type_code: str) -> str:
    return rng.choice(TITLES.get(type_code) or TITLES["other"])[0]


def _type_for(rng: random.Random, hh: dict, types: dict) -> str:
    from_cause = defaults.CAUSE_TYPE.get(hh["main_cause"] or "")
    if from_cause and rng.random() < 0.55:
        return from_cause
    weighted = [("medical", 20), ("education", 12), ("housing", 12), ("social_security", 14), ("employment", 12),
                ("industry", 12), ("credit", 8), ("disability", 4), ("land", 2), ("relocation", 1), ("hukou", 2),
                ("other", 6)]
    weighted = [(c, w) for c, w in weighted if c in types]
    return rng.choices([c for c, _ in weighted], weights=[w for _, w in weighted])[0]


def seed_dispatch(*, rng, scale: float = 1.0, batch=None, now: dt.datetime | None = None) -> dict:
    """Write the dispatch demo for the registered poor households of the database (see module docstring).

    Loads the default work order types and routing rules first. The number of orders follows the number of poor
    households (so `scale` is already in it); `scale` is reported only. Returns counts.
    """
    from fupin.dispatch.services import dispatch_setup_defaults, escalate_overdue

    rng = _rng(rng)
    now = now or timezone.now()
    dispatch_setup_defaults(actor=getattr(batch, "actor", None) or "system")
    b = _Builder(rng, batch, now)
    households = b.w.households
    if not households or not b.w.rules:
        return {"work_orders": 0, "pinned": 0, "joint_plans": 0, "minqing_reports": 0, "scale": scale}

    # work orders from needs over the past year
    n_orders = round(len(households) * ORDERS_PER_POOR_HOUSEHOLD)
    for _ in range(n_orders):
        hh = rng.choice(households)
        pushed_at = _moment(rng, now)
        needs = b.w.needs.get(hh["pk"])
        source = None
        if needs and rng.random() < 0.5:
            need = rng.choice(needs)
            type_code = need["type"] or _type_for(rng, hh, b.w.types)
            title, origin = need["title"] or rng.choice(TITLES[type_code])[0], need["origin"]
            source = (need["source_type"], need["source_id"], need["title"][:200])
        else:
            type_code = _type_for(rng, hh, b.w.types)
            title = rng.choice(TITLES.get(type_code) or TITLES["other"])[0]
            origin = rng.choices([Origin.MANUAL, Origin.RECORD, Origin.MEASURE], weights=[5, 3, 2])[0]
        recent = (now - pushed_at).days < 40
        b.order(hh, pushed_at=pushed_at, type_code=type_code, title=title, origin=origin, source=source,
                urgency=Urgency.URGENT if rng.random() < 0.1 else Urgency.NORMAL,
                stall=recent and rng.random() < 0.12)

    # a small county still shows every state, and some orders overdue today
    present = {o.state for o in b.orders}
    for target in [*(s for s in State.values if s not in present), "overdue"]:
        if target == "overdue" and any(o.overdue_at(now) for o in b.orders):
            continue
        b.scripted(rng.choice(households), target)

    # the demo grid workers' own grids show the whole cycle: to confirm, returned, in progress ...
    _showcase(b, rng)

    # pinned households with joint plans
    n_pins = max(3, round(len(households) * PIN_SHARE))
    weighted = [h for h in households if h["main_cause"] in ("1", "2")] or households
    chosen = {h["pk"]: h for h in rng.sample(weighted, min(len(weighted), n_pins))}
    pins, plans, items = [], [], []
    dept_by_code = {d.code: pk for pk, d in b.w.departments.items()}
    for hh in chosen.values():
        pinned_at = _moment(rng, now, max_days=300, min_days=20)
        pin = HouseholdPin(household_id=hh["pk"], area_code=hh["area_code"], reason=rng.choice(PIN_REASONS),
                           pinned_by_id=b.w.sender_for(hh), pinned_at=pinned_at, batch=batch)
        if rng.random() < 0.15:
            pin.unpinned_at = pinned_at + dt.timedelta(days=rng.uniform(60, 200))
            if pin.unpinned_at < now:
                pin.unpinned_by_id, pin.unpin_reason = pin.pinned_by_id, "困难已解决,转入常规帮扶"
            else:
                pin.unpinned_at = None
        pins.append(pin)
        if rng.random() > 0.85:
            continue
        plan_at = pinned_at + dt.timedelta(days=rng.uniform(1, 10))
        plan = JointPlan(pk=b.plan_ids.take(), household_id=hh["pk"], area_code=hh["area_code"],
                         title=f"{hh['head_name']}户协同帮扶方案", created_by_id=pin.pinned_by_id, batch=batch,
                         note=pin.reason)
        plan.pin_obj, plan.created = pin, plan_at
        plans.append(plan)
        projects = rng.sample([("medical", "大病救助与家庭医生签约", "weiji"), ("housing", "危房改造", "zhujian"),
                               ("social_security", "纳入低保/特困供养", "minzheng"),
                               ("employment", "安排公益性岗位", "renshe"), ("industry", "产业扶持", "nongye"),
                               ("education", "子女教育资助", "jiaoyu"), ("disability", "残疾人两项补贴", "canlian")],
                              rng.randint(2, 4))
        for pos, (type_code, project, dept_code) in enumerate(projects, start=1):
            department = dept_by_code.get(dept_code)
            if department is None:
                continue
            deadline = timezone.localtime(plan_at).date() + dt.timedelta(days=rng.randint(20, 90))
            order = b.order(hh, pushed_at=plan_at, type_code=type_code, title=f"协同帮扶:{project}",
                            origin=Origin.JOINT_PLAN, source=("dispatch.jointplan", str(plan.pk), plan.title),
                            due_date=deadline, department=department, urgency=Urgency.URGENT)
            if order is None:
                continue
            items.append(JointPlanItem(plan_id=plan.pk, position=pos, project=project, department_id=department,
                                       responsible_person=b.w.user_names.get(b._handler(department), "") or "",
                                       deadline=deadline, area_code=hh["area_code"], work_order_id=order.pk,
                                       evidence="见工单办理结果及附件" if order.state in (State.CONFIRMED, State.CLOSED)
                                       else "", batch=batch))

    # 民情 reports, most answered, some turned into orders
    reports = []
    n_reports = round(len(households) * REPORTS_PER_POOR_HOUSEHOLD)
    categories = list(CATEGORY_WEIGHTS)
    for _ in range(n_reports):
        hh = rng.choice(households)
        at = _moment(rng, now)
        category = rng.choices(categories, weights=[CATEGORY_WEIGHTS[c] for c in categories])[0]
        channel = rng.choices([Channel.GRID_WORKER, Channel.HOUSEHOLD, Channel.VILLAGE_TEAM, Channel.HOTLINE],
                              weights=[45, 30, 15, 10])[0]
        pk = b.report_ids.take()
        r = MinqingReport(pk=pk, number=f"MQ{timezone.localtime(at):%Y%m%d}{pk:05d}", channel=channel,
                          category=category, urgency=Urgency.URGENT if rng.random() < 0.12 else Urgency.NORMAL,
                          village_id=hh["village_id"], area_code=hh["area_code"], household_id=hh["pk"],
                          reporter_name=hh["head_name"] if channel == Channel.HOTLINE else "",
                          content=rng.choice(REPORT_TEXTS[category]), reported_at=at,
                          recorded_by_id=b.w.sender_for(hh), batch=batch)
        age = (now - at).days
        if rng.random() < 0.15 and category in defaults.CATEGORY_TYPE:
            order = b.order(hh, pushed_at=at + dt.timedelta(hours=rng.uniform(1, 72)),
                            type_code=defaults.CATEGORY_TYPE[category],
                            title=f"民情:{Category(category).label}:{r.content}"[:200], origin=Origin.MINQING,
                            source=("dispatch.minqingreport", str(pk), f"{r.number} {r.content}"[:200]))
            if order is not None:
                r.status = ReportStatus.IN_HAND
        if age > 10 or rng.random() < 0.5:
            if rng.random() < 0.93:
                r.status = ReportStatus.ANSWERED
                r.answer = rng.choice(ANSWERS)
                r.answer_way = rng.choice(AnswerWay.values)
                r.answered_at = min(now, at + dt.timedelta(days=rng.uniform(0.5, 9)))
                r.answered_by_id = r.recorded_by_id
        reports.append(r)

    # write
    WorkOrder.objects.bulk_create(b.orders, batch_size=BULK)
    WorkOrderEvent.objects.bulk_create(b.events, batch_size=BULK)
    HouseholdPin.objects.bulk_create(pins, batch_size=BULK)
    pin_ids = {p.household_id: p.pk for p in HouseholdPin.objects.filter(household_id__in=list(chosen))}
    finished = {o.pk for o in b.orders if o.state in (State.CONFIRMED, State.CLOSED)}
    cancelled = {o.pk for o in b.orders if o.state == State.CANCELLED}
    by_plan: dict[int, list[int]] = defaultdict(list)
    for item in items:
        by_plan[item.plan_id].append(item.work_order_id)
    for plan in plans:
        plan.pin_id = pin_ids.get(plan.household_id)
        live = [o for o in by_plan.get(plan.pk, []) if o not in cancelled]
        if live and all(o in finished for o in live):
            plan.status = PlanStatus.DONE
            plan.completed_at = max(o.closed_at or o.confirmed_at for o in b.orders if o.pk in live)
    JointPlan.objects.bulk_create(plans, batch_size=BULK)
    for plan in plans:  # created_at is auto_now_add: set the plan's real date afterwards
        JointPlan.objects.filter(pk=plan.pk).update(created_at=plan.created)
    JointPlanItem.objects.bulk_create(items, batch_size=BULK)
    MinqingReport.objects.bulk_create(reports, batch_size=BULK)
    statements = connection.ops.sequence_reset_sql(no_style(), [WorkOrder, JointPlan, MinqingReport])
    if statements:
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)
    _inbox(b, batch)
    escalated = escalate_overdue(actor="system", now=now)
    states = defaultdict(int)
    for o in b.orders:
        states[o.state] += 1
    return {
        "scale": scale, "work_orders": len(b.orders), "work_order_events": len(b.events), "states": dict(states),
        "solved": sum(states[s] for s in (State.RESOLVED, State.CONFIRMED, State.CLOSED)),
        "pinned": sum(1 for p in pins if p.unpinned_at is None), "joint_plans": len(plans),
        "joint_plan_items": len(items), "minqing_reports": len(reports),
        "minqing_answered": sum(1 for r in reports if r.status == ReportStatus.ANSWERED), "escalated_now": escalated,
    }
