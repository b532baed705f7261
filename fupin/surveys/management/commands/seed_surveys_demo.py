import random
import time

from django.db import transaction

from fupin.core.management.base import FupinCommand
from fupin.core.services import batch_finish, batch_start
from fupin.surveys.demo import seed_surveys


class Command(FupinCommand):
    help = ("在已建好的演示县上生成采集表演示数据:户级、村级、市级采集表,户级和村级表的第2版,"
            "每个建档立卡户和每个村2016年(第1版)与2017年(第2版)的填报,埋设若干真实的数据质量问题,并做一次数据质量检查")

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=2016, help="随机种子(默认2016)")
        parser.add_argument("--scale", type=float, default=1.0, help="规模(只作记录,户数取自数据库)")
        parser.add_argument("--no-check", action="store_true", help="不做数据质量检查")

    def handle(self, *args, **opts):
        started = time.monotonic()
        with transaction.atomic():
            batch = batch_start(kind="seed_surveys", actor=self.system_actor())
            result = seed_surveys(rng=random.Random(f"{opts['seed']}/surveys"), scale=opts["scale"], batch=batch)
            batch_finish(batch, actor=self.system_actor(), rows=result["Response"], summary=result)
        planted = "、".join(f"{k} {v}" for k, v in result["planted"].items())
        self.stdout.write(f"采集表填报{result['Response']}份;埋设的数据质量问题:{planted}")
        if not opts["no_check"]:
            from fupin.quality.services import run_checks

            run = run_checks(trigger="seed")
            self.stdout.write(f"数据质量检查:发现{run.open_total}处问题(用时{run.seconds}秒)")
        self.stdout.write(self.style.SUCCESS(f"采集表演示数据已生成(用时{time.monotonic() - started:.1f}秒)"))
