from pathlib import Path

from fupin.core.management.base import FupinCommand
from fupin.exchange.services import import_department


class Command(FupinCommand):
    help = "导入一个部门的数据文件(CSV/xlsx)为该数据源的当前快照;旧快照保留可查"

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--source", required=True, help="数据源代码,如 vehicle、business、property、payroll")
        parser.add_argument("--mapping", default=None, help="已保存的列对应关系名称")
        parser.add_argument("--accept-missing", action="store_true",
                            help="文件缺少已发布规则要读的列时仍导入:这些规则对本数据源不作比对,已有比对发现原样保留")

    def handle(self, *args, **opts):
        snap = import_department(actor=self.system_actor(), source_code=opts["source"], path=Path(opts["file"]),
                                 mapping_name=opts["mapping"], accept_missing=opts["accept_missing"])
        stats = ",".join(f"{k}={v}" for k, v in sorted(snap.id_stats.items()))
        self.stdout.write(f"{snap.source.name}({snap.source.code})导入完成:共{snap.row_count}行,"
                          f"有问题{snap.problem_count}行,无法读取{snap.unreadable_count}行;证件号码:{stats}")
        for row, _col, _val, problem in snap.problems[:50]:
            self.stdout.write(f"  第{row}行:{problem}")
        if snap.problem_count > 50:
            self.stdout.write(f"  ……另有{snap.problem_count - 50}行有问题,见「部门数据」页的导入详情")
