"""The per-person cost of sealing an ID number, in CPU microseconds of this process: what a roster import adds per
person (one seal and three blind indexes), what an exact or tail search adds (one or two blind indexes per index key),
and what a read adds (one opening), for AES-256-GCM and SM4-GCM. A micro-measure: run it when the full on/off benchmark
(bench/crypto_fields.py) cannot run; the full one measures pages and imports.

Usage: .venv/bin/python bench/id_crypto_cost.py [--n 20000]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=20_000)
    args = ap.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from fupin.core import crypto

    spec = crypto.generate_spec()
    crypto.add_key(spec, "sm4-gcm", "s1")
    os.environ["FUPIN_KEYS"] = json.dumps(spec)
    import django

    django.setup()
    from django.conf import settings

    settings.FUPIN_KEYS = json.dumps(spec)
    crypto.reset()
    ring = crypto.keyring()
    from fupin.registry.testdata import _id_for

    ids = [_id_for(i) for i in range(args.n)]
    purpose = "registry.person.id_number"

    def cpu_us(fn) -> float:
        c = time.process_time()
        for v in ids:
            fn(v)
        return (time.process_time() - c) * 1e6 / len(ids)

    out = {}
    for kid in ("k1", "s1"):
        ring.active = kid
        sealed = [crypto.encrypt(v, purpose, ring) for v in ids]
        out[f"seal {ring.keys[kid].cipher}"] = cpu_us(lambda v: crypto.encrypt(v, purpose, ring))
        it = iter(sealed)
        out[f"open {ring.keys[kid].cipher}"] = cpu_us(lambda _v, it=it: crypto.decrypt(next(it), purpose, ring))
    out["blind index (HMAC-SHA256), one"] = cpu_us(lambda v: crypto.blind_index(v, purpose, ring=ring))
    out["import: seal + 3 indexes (AES)"] = out["seal aes-256-gcm"] + 3 * out["blind index (HMAC-SHA256), one"]
    for k, v in out.items():
        print(f"{k}: {v:.1f} µs CPU")
    print(f"load average {os.getloadavg()[0]:.1f} / {os.getloadavg()[1]:.1f} (1/5 min), {args.n:,} values")


if __name__ == "__main__":
    main()
