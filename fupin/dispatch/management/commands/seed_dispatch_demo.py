"""`fupin seed_dispatch_demo`: a year of work orders, pinned households with joint plans and 民情 reports on a county
that is already seeded (`fupin seed_demo`)."""

import json
import random
import time

from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _

from fupin.core.errors import ServiceError
from fupin.core.management.base import FupinCommand
from fupin.core.services import batch_finish, batch_start


class Command(FupinCommand):
    help = "在已生成的演示县上生成工单(过去一年各状态)、置顶户与协同帮扶方案、民情及答复"

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=2016, help="随机种子(默认2016)")
        parser.add_argument("--scale", type=float, default=1.0, help="仅记录;工单数随建档立卡户数而定")

    def handle(self, *args, **opts):
        from fupin.dispatch.demo import seed_dispatch
        from fupin.dispatch.models import WorkOrder
        from fupin.registry.models import Household

        if not Household.objects.filter(is_registered_poor=True).exists():
            raise ServiceError(_("The database has no registered poor households: run fupin seed_demo first"))
        if WorkOrder.objects.exists():
            raise ServiceError(_("The database already has work orders; the demo work orders are made only once"))
        started = time.monotonic()
        with translation.override("zh-hans"), transaction.atomic():
            batch = batch_start(kind="seed_dispatch_demo", actor=self.system_actor())
            result = seed_dispatch(rng=random.Random(opts["seed"]), scale=opts["scale"], batch=batch)
            rows = result["work_orders"] + result["work_order_events"] + result["minqing_reports"] + result["pinned"]
            batch_finish(batch, actor=self.system_actor(), rows=rows, summary={
                k: v for k, v in result.items() if isinstance(v, (int, float))})
        self.stdout.write(json.dumps(result, ensure_ascii=False, default=str))
        self.stdout.write(self.style.SUCCESS(
            f"演示工单已生成:工单{result['work_orders']}件(已解决{result['solved']}件),置顶户{result['pinned']}户,"
            f"协同帮扶方案{result['joint_plans']}个,民情{result['minqing_reports']}件"
            f"(已答复{result['minqing_answered']}件);用时{time.monotonic() - started:.1f}秒"))
