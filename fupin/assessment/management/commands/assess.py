"""`fupin assess --period 2016 [--out scores.json]`: score every subject of the county for a period."""

import json

from django.core.management.base import BaseCommand, CommandError

from fupin.core.errors import ServiceError


class Command(BaseCommand):
    help = "按已发布的考评方案计算考评期内每个乡镇、村、帮扶单位、干部、网格员和部门的得分与排名"

    def add_arguments(self, parser):
        parser.add_argument("--period", required=True, help="考评期:2016、2016H1 或 2016H2")
        parser.add_argument("--out", help="把结果写成 JSON 文件")

    def handle(self, *args, period, out=None, **options):
        from fupin.assessment.services import assess_run

        try:
            run, result = assess_run(actor="fupin assess", period=period)
        except ServiceError as exc:
            raise CommandError(exc.message) from exc
        subjects = [{k: s[k] for k in ("kind", "code", "name", "score", "rank", "grade", "indicators", "parts")}
                    for s in result["subjects"]]
        data = {"period": result["period"], "subjects": subjects}
        if out:
            with open(out, "w", encoding="utf-8") as fh:
                json.dump(data, fh, ensure_ascii=False, indent=1)
        counts = run.stats.get("subjects", {})
        self.stdout.write(f"考评期 {result['period']}:共 {len(subjects)} 个对象(" +
                          "、".join(f"{k} {v}" for k, v in counts.items()) + f"),用时 {run.stats.get('seconds')} 秒")
