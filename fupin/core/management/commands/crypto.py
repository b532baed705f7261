"""`fupin crypto status|rotate|newkey|generate`: the keys of the encryption at rest (fupin/core/crypto.py)."""

import json
import os
from pathlib import Path

from django.conf import settings
from django.core.management.base import CommandError
from django.utils.translation import gettext as _

from fupin.core import crypto, rotation
from fupin.core.management.base import FupinCommand


class Command(FupinCommand):
    help = ("静态加密密钥:status 各密钥加密的数据量;rotate 按当前密钥重新加密(分批、可中断后续做);"
            "newkey 在密钥文件中加一把新密钥并设为当前;generate 生成新的密钥文件")

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["status", "rotate", "newkey", "generate"])
        parser.add_argument("--batch", type=int, default=rotation.BATCH, help="rotate: rows per transaction")
        parser.add_argument("--files", action="store_true", help="rotate: also re-seal stored and raw files")
        parser.add_argument("--cipher", choices=sorted(crypto.CIPHERS), default=None,
                            help="newkey/generate: aes-256-gcm (default) or sm4-gcm")
        parser.add_argument("--index", action="store_true", help="newkey: a new blind-index key instead")
        parser.add_argument("--out", help="generate: the key file to write (refuses to overwrite)")

    def handle(self, *args, **opts):
        action = opts["action"]
        cipher = opts["cipher"] or getattr(settings, "FUPIN_CIPHER", crypto.DEFAULT_CIPHER)
        if action == "generate":
            out = Path(opts["out"] or "")
            if not opts["out"] or out.exists():
                raise CommandError(_("Give with --out the path of a key file that does not exist yet"))
            crypto.write_keyfile(out, crypto.generate_spec(cipher))
            self.stdout.write(f"已生成密钥文件 {out}(算法 {cipher});请设置 FUPIN_KEYS_FILE={out} 并备份到安全处")
            return
        try:
            ring = crypto.keyring()
        except crypto.KeyringError as exc:
            raise CommandError(str(exc)) from exc
        if action == "status":
            self.stdout.write(f"当前数据密钥 {ring.active}({ring.active_key.cipher}),当前索引密钥 {ring.index_active}")
            self.stdout.write(json.dumps(rotation.status(), ensure_ascii=False, indent=1))
            return
        if action == "newkey":
            path = self._keyfile()
            spec = json.loads(path.read_text())
            if opts["index"]:
                n = len(spec["index_keys"]) + 1
                while f"i{n}" in spec["index_keys"]:
                    n += 1
                kid = f"i{n}"
                spec["index_keys"][kid] = crypto._b64e(os.urandom(32))
                spec["index_active"] = kid
            else:
                kid = crypto.add_key(spec, cipher)
            crypto.Keyring(spec)  # refuse to write a keyring that would not load
            crypto.write_keyfile(path, spec)
            crypto.reset()
            self.stdout.write(f"已加入并启用密钥 {kid};旧密钥保留用于读取旧数据。请运行 fupin crypto rotate 重新加密")
            return

        def progress(label, n):
            self.stdout.write(f"  {label}: {n}")

        counts = rotation.reseal_all(batch=opts["batch"], progress=progress)
        self.stdout.write(f"已按密钥 {ring.active}/{ring.index_active} 重新加密:"
                          + ",".join(f"{k} {v}行" for k, v in counts.items()))
        if opts["files"]:
            self.stdout.write(f"已重新加密文件 {rotation.reseal_files()} 个")

    def _keyfile(self) -> Path:
        if getattr(settings, "FUPIN_KEYS", ""):
            raise CommandError(_("The keys come from the environment variable FUPIN_KEYS: add the new key where the keys are managed, then update the variable"))
        path = Path(getattr(settings, "FUPIN_KEYS_FILE", "") or Path(settings.DATA_DIR) / "keys" / "fupin-keys.json")
        if not path.exists():
            raise CommandError(_("The key file does not exist: %(path)s") % {"path": path})
        return path
