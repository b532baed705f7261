from pathlib import Path

from fupin.core.management.base import FupinCommand
from fupin.geo.services import import_boundaries


class Command(FupinCommand):
    help = "按代码为区划或网格挂接边界(GeoJSON,属性 code;crs 为 GCJ-02 时自动转为 WGS-84)"

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--crs", choices=["wgs84", "gcj02"], default=None)

    def handle(self, *args, **opts):
        result = import_boundaries(actor=self.system_actor(), path=Path(opts["file"]), crs=opts["crs"])
        self.stdout.write(f"边界挂接完成:{result['attached']}个")
