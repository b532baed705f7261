from django.core.management.base import CommandError
from django.utils.translation import gettext as _

from fupin.core.i18n import join_list
from fupin.core.management.base import FupinCommand
from fupin.exchange.testcounty import FILE_QUIRKS
from fupin.exchange.testdata import make_county


class Command(FupinCommand):
    help = "生成一个带噪声的测试县:建档立卡花名册、14个部门数据文件和真值文件 truth.json"

    def add_arguments(self, parser):
        parser.add_argument("outdir")
        parser.add_argument("--scale", type=float, default=1.0, help="规模(1 = 宜都:约39万人、40万条部门记录)")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--divisions", default=None, help="区划CSV(默认为项目自带的演示县区划 fupin/demo/fixtures)")
        parser.add_argument("--style", choices=["new", "regression"], default="new",
                            help="new:独立生成器(形近字、方言、脱敏证件号等);regression:旧生成器(用于对照旧数字)")
        parser.add_argument("--quirks", default=",".join(FILE_QUIRKS),
                            help="文件格式问题,逗号分隔:sheets(分多个工作表)、footers(合计/制表人行)、dates(多种日期写法);"
                                 "空字符串表示不加")

    def handle(self, *args, **opts):
        quirks = tuple(q for q in opts["quirks"].split(",") if q.strip())
        bad = set(quirks) - set(FILE_QUIRKS)
        if bad:
            raise CommandError(_("Unknown file problems: %(bad)s (available: %(quirks)s)")
                               % {"bad": join_list(sorted(bad)), "quirks": join_list(FILE_QUIRKS)}, returncode=2)
        summary = make_county(opts["outdir"], scale=opts["scale"], seed=opts["seed"], divisions_csv=opts["divisions"],
                              style=opts["style"], quirks=quirks if opts["style"] == "new" else None)
        self.stdout.write(f"已生成:花名册{summary['people']}人,部门记录{summary['records']}条,"
                          f"应发现问题{summary['findings']}条 → {opts['outdir']}")
        self.stdout.write("噪声:" + ",".join(f"{k}={v}" for k, v in sorted(summary["noise"].items())))
