"""`fupin import_roster FILE [--dry-run]`: import the national poverty roster (xlsx or csv, one row per member)."""

from pathlib import Path

from django.core.management.base import CommandError
from django.utils.translation import gettext as _

from fupin.core.management.base import FupinCommand
from fupin.registry.importer import import_roster


class Command(FupinCommand):
    help = "导入建档立卡花名册(xlsx或csv,每名成员一行;--dry-run只检查不写入)"

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--dry-run", action="store_true", help="只检查,不写入数据库")
        parser.add_argument("--user", help="以该用户名义导入(记入审计;并限于其管辖范围)")
        parser.add_argument("--limit", type=int, default=200, help="报告中最多列出的问题数")

    def handle(self, *args, **opts):
        path = Path(opts["file"])
        if not path.exists():
            raise FileNotFoundError(2, "No such file", str(path))
        actor, scope_user = self.system_actor(), None
        if opts.get("user"):
            from fupin.accounts.models import User

            scope_user = User.objects.filter(username=opts["user"]).first()
            if scope_user is None:
                raise CommandError(_("No such user: %(user)s") % {"user": opts["user"]}, returncode=2)
            actor = scope_user
        result = import_roster(actor=actor, path=path, dry_run=opts["dry_run"], scope_user=scope_user)
        self.stdout.write(result.report(limit=opts["limit"]))
        if result.batch_id:
            self.stdout.write(f"批次:{result.batch_id};用时{result.seconds:.1f}秒;问题清单:/households/problems/?batch={result.batch_id}")
        else:
            self.stdout.write(f"用时{result.seconds:.1f}秒")
