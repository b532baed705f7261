from pathlib import Path

from fupin.core.idnumber import IdKind
from fupin.core.management.base import FupinCommand
from fupin.core.tabular import ReadReport
from fupin.exchange.services import import_department


class Command(FupinCommand):
    help = "导入一个部门的数据文件(CSV/xlsx)为该数据源的当前快照;旧快照保留可查"

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--source", required=True, help="数据源代码,如 vehicle、business、property、payroll")
        parser.add_argument("--mapping", default=None, help="已保存的列对应关系名称")
        parser.add_argument("--sheet", default=None,
                            help="只读取这张工作表(名称或从1起的序号);不填则读取表头相同的所有工作表")
        parser.add_argument("--accept-missing", action="store_true",
                            help="文件缺少已发布规则要读的列时仍导入:这些规则对本数据源不作比对,已有比对发现原样保留")

    def handle(self, *args, **opts):
        snap = import_department(actor=self.system_actor(), source_code=opts["source"], path=Path(opts["file"]),
                                 mapping_name=opts["mapping"], sheet=opts["sheet"],
                                 accept_missing=opts["accept_missing"])
        kinds = snap.id_kinds or {}
        stats = ",".join(f"{IdKind.LABELS[k]}{kinds.get(k, 0)}" for k in IdKind.ALL)
        self.stdout.write(f"{snap.source.name}({snap.source.code})导入完成:共{snap.row_count}行,"
                          f"有问题{snap.problem_count}行,无法读取{snap.unreadable_count}行;证件号码:{stats}")
        report = ReadReport(sheets=snap.sheets, skipped=snap.skipped)
        for line in report.sheet_lines() + report.skipped_lines():
            self.stdout.write(f"  {line}")
        for field, value, count in snap.not_understood[:50]:
            self.stdout.write(f"  不能识别的值:「{field}」为「{value}」的{count}行(请在「取值对应」页补充)")
        for row, where, _val, problem in snap.problems[:50]:
            self.stdout.write(f"  {where}第{row}行:{problem}")
        if snap.problem_count > 50:
            self.stdout.write(f"  ……另有{snap.problem_count - 50}行有问题,见「部门数据」页的导入详情")
