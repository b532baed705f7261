"""`fupin stats`: the platform's headline figures, from every app's registered stats provider."""

import json

from fupin.core.management.base import FupinCommand
from fupin.core.stats import collect

LABELS = {
    "towns": "乡镇(街道)",
    "villages": "行政村",
    "communities": "社区",
    "grids": "网格",
    "households": "住户",
    "persons": "人口",
    "poor_households": "建档立卡贫困户",
    "poor_persons": "建档立卡贫困人口",
    "users": "用户",
    "departments": "部门",
    "department_records": "部门数据(当前快照)",
}


class Command(FupinCommand):
    help = "输出平台统计数字;--json 时只输出一个 JSON 对象(便于脚本读取)"
    requires_system_checks: list = []

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="只输出一个 JSON 对象")

    def handle(self, *args, **opts):
        figures = collect()
        if opts["json"]:
            self.stdout.write(json.dumps(figures, ensure_ascii=False, sort_keys=False))
            return
        self.stdout.write("扶贫平台统计")
        keys = [k for k in LABELS if k in figures] + [k for k in figures if k not in LABELS]
        width = max((_width(LABELS.get(k, k)) for k in keys), default=0) + 2
        for key in keys:
            label = LABELS.get(key, key)
            value = figures[key]
            if isinstance(value, dict):
                value = ",".join(f"{k}: {v}" for k, v in value.items()) or "-"
            self.stdout.write(f"  {label}{' ' * (width - _width(label))}{value}")


def _width(text: str) -> int:
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)
