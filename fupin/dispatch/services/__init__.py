"""Writes of the dispatch app, one module per aggregate; each change is one keyword-only service taking `actor`,
atomic, audited. Services take an optional `now` so that the demo can write a past year and tests can freeze time.

- setup: work order types and routing rules (and routing a need to a department)
- orders: work orders — who is who, the state machine (TRANSITIONS), creation, needs from other apps, transitions,
  escalation of overdue orders
- pins: pinned households (重点关注)
- plans: joint plans over several departments
- minqing: 民情 reports, their answers and the orders they lead to

`from fupin.dispatch.services import X` keeps working for every public name below.
"""

from fupin.dispatch.services.minqing import (  # noqa: F401
    minqing_answer,
    minqing_classify,
    minqing_report_create,
    minqing_spawn_order,
)
from fupin.dispatch.services.orders import (  # noqa: F401
    MAX_ATTACHMENT_BYTES,
    TRANSITIONS,
    NeedAdapter,
    Transition,
    allowed_actions,
    check_transition,
    deadlines_for,
    department_handlers,
    escalate_overdue,
    is_department_handler,
    is_department_head,
    is_sender_side,
    is_supervisor,
    need_facts,
    overdue_q,
    register_need_adapter,
    work_order_act,
    work_order_attach,
    work_order_comment,
    work_order_create,
    work_order_from_need,
    work_orders_accept,
)
from fupin.dispatch.services.pins import (  # noqa: F401
    household_pin,
    household_unpin,
)
from fupin.dispatch.services.plans import (  # noqa: F401
    FINISHED_ORDER_STATES,
    joint_plan_add_item,
    joint_plan_create,
    joint_plan_item_evidence,
)
from fupin.dispatch.services.setup import (  # noqa: F401
    RULE_FIELDS,
    active_rules,
    dispatch_setup_defaults,
    engine_rule,
    order_type_for,
    order_type_update,
    route_need,
    routing_rule_create,
    routing_rule_update,
    type_for_department,
)
