"""`fupin audit verify|seal|archive`: the audit trail's hash chain (see fupin/core/audit_chain.py)."""

import json

from django.core.management.base import CommandError
from django.utils.translation import gettext as _

from fupin.core import audit_chain
from fupin.core.management.base import FupinCommand


class Command(FupinCommand):
    help = "审计记录哈希链:verify 校验(发现改动返回3)、seal 封存、archive 归档超过保存期的记录"

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["verify", "seal", "archive"])
        parser.add_argument("--archives", action="store_true", help="verify: also re-check every archive file")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, **opts):
        if opts["action"] == "seal":
            self.stdout.write(f"已封存{audit_chain.seal_pending()}条审计记录")
            return
        if opts["action"] == "archive":
            try:
                result = audit_chain.archive_expired()
            except ValueError as exc:
                raise CommandError(str(exc), returncode=2) from exc
            self.stdout.write(f"已归档{result['archived']}条审计记录" + (f":{result['file']}" if result.get("file") else ""))
            return
        result = audit_chain.verify(archives=opts["archives"])
        if opts["json"]:
            self.stdout.write(json.dumps({"ok": result.ok, "checked": result.checked, "first_seq": result.first_seq,
                                          "last_seq": result.last_seq, "unsealed": result.unsealed,
                                          "problems": result.problems}, ensure_ascii=False))
        else:
            self.stdout.write(f"已校验{result.checked}条审计记录(序号{result.first_seq}–{result.last_seq})")
            for problem in result.problems[:100]:
                self.stdout.write(f"  {problem}")
        if not result.ok:
            raise CommandError(_("The audit trail's hash chain did not verify"), returncode=3)
        if not opts["json"]:
            self.stdout.write("哈希链完整")
