import random
import time

from django.db import transaction
from django.utils.translation import gettext as _

from fupin.assistance.demo import seed_assistance
from fupin.assistance.models import HouseholdPairing
from fupin.core.errors import ServiceError
from fupin.core.management.base import FupinCommand
from fupin.core.services import batch_finish, batch_start


class Command(FupinCommand):
    help = ("在已建好的演示县上生成帮扶演示数据:结对帮扶、对口帮扶、一村一策与一户一法、享受政策、一年的帮扶日志和代办,"
            "并计算跟踪警示灯")

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=2016, help="随机种子(默认2016)")
        parser.add_argument("--scale", type=float, default=1.0, help="规模(只作记录,户数取自数据库)")

    def handle(self, *args, **opts):
        if HouseholdPairing.objects.exists():
            raise ServiceError(_("The database already has pairings; the assistance demo data is made only once"))
        started = time.monotonic()
        with transaction.atomic():
            batch = batch_start(kind="seed_assistance", actor=self.system_actor())
            result = seed_assistance(rng=random.Random(f"{opts['seed']}/assistance"), scale=opts["scale"],
                                     batch=batch)
            lights = result.pop("lights")
            batch_finish(batch, actor=self.system_actor(), rows=sum(result.values()), summary=result)
        self.stdout.write(self.style.SUCCESS(
            f"帮扶演示数据已生成:帮扶责任人{result.get('Cadre', 0)}名,结对{result.get('HouseholdPairing', 0)}户,"
            f"帮扶日志{result.get('AssistanceRecord', 0)}条,代办{result.get('Errand', 0)}件;"
            f"警示灯 绿{lights['green']} 黄{lights['yellow']} 红{lights['red']}(用时{time.monotonic() - started:.1f}秒)"))
