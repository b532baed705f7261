"""`fupin export_roster FILE [--division CODE] [--all]`: the registry in the roster layout (xlsx or csv), which
`fupin import_roster` reads back."""

from pathlib import Path

from django.core.management.base import CommandError
from django.utils.translation import gettext as _

from fupin.core.management.base import FupinCommand
from fupin.registry import exporter, selectors


class Command(FupinCommand):
    help = "导出建档立卡花名册(xlsx或csv,格式与导入相同)"

    def add_arguments(self, parser):
        parser.add_argument("file", help="输出文件(.xlsx 或 .csv)")
        parser.add_argument("--division", default="", help="只导出该区划(代码前缀)内的户")
        parser.add_argument("--all", action="store_true", help="包括未建档立卡的常住户")
        parser.add_argument("--user", help="按该用户的管辖范围导出(并按其权限遮挡证件号码)")

    def handle(self, *args, **opts):
        from fupin.accounts.models import User

        path = Path(opts["file"])
        if path.suffix.lower() not in (".xlsx", ".csv"):
            raise CommandError(_("The output file must be .xlsx or .csv"), returncode=2)
        if opts.get("user"):
            user = User.objects.filter(username=opts["user"]).first()
            if user is None:
                raise CommandError(_("No such user: %(user)s") % {"user": opts["user"]}, returncode=2)
        else:
            user = User(is_superuser=True, username="system")  # the whole registry, full ID numbers
        qs = selectors.household_list(user, area_prefix=opts["division"] or None, registered_only=not opts["all"])
        rows = exporter.export_rows(user, qs)
        if path.suffix.lower() == ".xlsx":
            n = exporter.write_xlsx(path, rows)
        else:
            n = 0
            with open(path, "w", encoding="utf-8", newline="") as fh:
                for i, line in enumerate(exporter.csv_lines(rows)):
                    fh.write(line)
                    n = i
        self.stdout.write(f"已导出{n}行到{path}")
