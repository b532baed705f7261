"""Everything that depends on the passage of time (snapshots, warning lights, escalations, quality checks).

Cron it once a night: `fupin nightly`. Each capability registers its steps with fupin.core.nightly.nightly_step.
"""

import json
import time

from fupin.core.management.base import FupinCommand
from fupin.core.nightly import run_refreshers, steps


class Command(FupinCommand):
    help = "运行夜间任务(快照、预警灯、超期升级、数据质量检查等)"

    def add_arguments(self, parser):
        parser.add_argument("--only", nargs="*", help="run only these steps")
        parser.add_argument("--list", action="store_true", help="list the registered steps")

    def handle(self, *args, **opts):
        if opts["list"]:
            for name in steps():
                self.stdout.write(name)
            return
        started = time.monotonic()
        results = run_refreshers(nightly=True, only=opts["only"])
        for name, result in results.items():
            self.stdout.write(f"{name}: {json.dumps(result, ensure_ascii=False, default=str)}")
        self.stdout.write(f"夜间任务完成:{len(results)}项,用时{time.monotonic() - started:.1f}秒")
