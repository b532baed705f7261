from pathlib import Path

from fupin.core.management.base import FupinCommand
from fupin.geo.services import import_divisions


class Command(FupinCommand):
    help = "导入行政区划(CSV/xlsx:code,parent,name,level,urban_rural_class,lng_gcj02,lat_gcj02,full_name)"

    def add_arguments(self, parser):
        parser.add_argument("file")

    def handle(self, *args, **opts):
        result = import_divisions(actor=self.system_actor(), path=Path(opts["file"]))
        self.stdout.write(f"区划导入完成:共{result['rows']}行,新增{result['created']},更新{result['updated']}")
