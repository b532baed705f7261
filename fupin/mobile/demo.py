"""Demo data of the phone app on an already seeded county: a few signed-in phones (one revoked as lost), a grid
worker's day of offline work that arrived once when the signal returned (the audit trail shows when each change was
made on the phone and when it reached the server), and one open conflict over a household's phone number for the
village team to resolve. Written through the services (a dozen rows), so each carries its own audit event."""

from __future__ import annotations

import datetime as dt
import uuid

from django.utils import timezone


def seed_mobile(*, rng, scale: float, batch) -> dict:
    from fupin.accounts.models import User
    from fupin.accounts.services import device_token_issue, token_revoke
    from fupin.assistance.models import AssistanceRecord
    from fupin.dispatch.models import MinqingReport
    from fupin.mobile import selectors, services
    from fupin.registry.services import household_update

    worker = User.objects.filter(username="demo_grid_worker").first()
    if worker is None:
        return {}
    phones = 0
    for username, device in (("demo_grid_worker", "网格员的手机"), ("demo_pairing_cadre", "帮扶干部的手机"),
                             ("demo_village_team", "村工作队的平板")):
        user = User.objects.filter(username=username).first()
        if user is not None:
            device_token_issue(actor=user, user=user, device_name=device)
            phones += 1
    lost, _secret = device_token_issue(actor=worker, user=worker, device_name="网格员的旧手机")
    token_revoke(actor=worker, token=lost, reason="手机丢失")

    households = list(selectors.slice_households(worker).order_by("id")[:3])
    if not households:
        return {"devices": phones}
    made = timezone.now() - dt.timedelta(hours=5)
    changes = 0
    for i, hh in enumerate(households):
        answer = services.change_apply(actor=worker, change={
            "uuid": str(uuid.UUID(int=rng.getrandbits(128), version=4)), "kind": "visit",
            "made_at": (made + dt.timedelta(minutes=40 * i)).isoformat(),
            "data": {"household": str(hh.uuid), "occurred_on": timezone.localdate().isoformat(),
                     "content": ["入户走访,核对家庭收入和务工情况", "了解孩子上学和助学金落实情况",
                                 "查看危房改造进度,拍照留存"][i]}})
        changes += answer["status"] == "applied"
        # the rows the services wrote belong to the seeding like every demo row
        AssistanceRecord.objects.filter(uuid=answer["result"].get("record")).update(batch=batch)
    report = services.change_apply(actor=worker, change={
        "uuid": str(uuid.UUID(int=rng.getrandbits(128), version=4)), "kind": "minqing",
        "made_at": (made + dt.timedelta(hours=2)).isoformat(),
        "data": {"household": str(households[0].uuid), "category": "infrastructure",
                 "content": "组里通户路下雨后塌方,老人出行不便"}})
    MinqingReport.objects.filter(uuid=report["result"].get("report")).update(batch=batch)

    team = User.objects.filter(username="demo_village_team").first() or worker
    hh = households[-1]
    base_version, base_phone = hh.version, hh.phone
    household_update(actor=team, household=hh, phone="139" + "".join(str(rng.randrange(10)) for _ in range(8)))
    services.change_apply(actor=worker, change={
        "uuid": str(uuid.UUID(int=rng.getrandbits(128), version=4)), "kind": "household",
        "base_version": base_version, "made_at": (made + dt.timedelta(hours=3)).isoformat(),
        "data": {"household": str(hh.uuid), "fields": {"phone": "137" + "".join(str(rng.randrange(10)) for _ in range(8))},
                 "base": {"phone": base_phone}}})
    return {"devices": phones, "changes": changes + 2}
