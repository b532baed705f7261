"""Text messages for overdue and escalated work orders: the responsible people's phones hear of it whether or not
they ever log in. Hooked to the work order's escalation (an audited change), queued in its transaction."""

from __future__ import annotations

from django.utils import timezone

from fupin.core.audit import Change


def _phones_for(order, level: int) -> list[tuple[str, str]]:
    """(name, phone) of who answers for the order: its handler and its department's head; at level 2 also the
    county poverty office."""
    from fupin.geo import responsible

    people = [u for u in (order.handler, order.department.head if order.department_id else None) if u is not None]
    if level >= 2:
        county = responsible.county_code(order.area_code)
        people += responsible.users(responsible.county_office([county]).get(county, []))
    seen, out = set(), []
    for u in people:
        if u.phone and u.phone not in seen and u.is_active:
            seen.add(u.phone)
            out.append((u.get_full_name() or u.get_username(), u.phone))
    return out


def on_changes(changes: list[Change]) -> None:
    from fupin.dispatch.models import WorkOrder
    from fupin.interop.sms import queue_sms

    for change in changes:
        if change.action != "dispatch.workorder.escalate":
            continue
        order = (WorkOrder.objects.select_related("handler", "department__head")
                 .filter(pk=change.object_id).first())
        if order is None:
            continue
        level = int((change.after or {}).get("escalation_level") or 1)
        purpose = "work_order_overdue" if level == 1 else "work_order_escalated"
        deadline = f"{timezone.localtime(order.due_at):%Y-%m-%d}" if order.due_at else ""
        params = {"order": order.number or "", "title": order.title[:20], "deadline": deadline, "level": str(level)}
        text = (f"【精准扶贫工单督办】工单{order.number}「{order.title[:20]}」已超期"
                + ("(期限" + deadline + "),请尽快办理。" if level == 1 else ",已升级二级督办,请立即办理。"))
        for name, phone in _phones_for(order, level):
            queue_sms(phone=phone, purpose=purpose, params=params, text=text, area_code=order.area_code,
                      recipient=name, dedupe_key=f"dispatch.escalate.{order.pk}.{level}.{phone}")
