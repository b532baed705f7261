"""Re-sealing under the active keys: after a new key is made active (`fupin crypto newkey`), and for values or files
written before encryption was turned on.

Rows are found in SQL (a sealed column not under the active key id, or a blind index not under the active index key)
and re-sealed in batches, each batch its own transaction, in primary-key order: a run stopped half way leaves every
row readable (old values open with their own key) and the next run picks up the rows still to do. `updated_at` and
`version` are not touched: a re-sealed row has not changed.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from django.apps import apps as global_apps
from django.conf import settings
from django.db import connections, router, transaction

from fupin.core import crypto, filestore
from fupin.core.bulk import update_rows
from fupin.core.fields import blind_fields, encrypted_fields

BATCH = 2000


def encrypted_models(apps=global_apps) -> list:
    return [m for m in apps.get_models() if encrypted_fields(m) or blind_fields(m)]


def _stale_where(model, ring: crypto.Keyring, conn) -> tuple[str, list]:
    qn = conn.ops.quote_name
    conds, params = [], []
    for f in encrypted_fields(model):
        col = qn(f.column)
        conds.append(f"({col} IS NOT NULL AND {col} <> '' AND {col} NOT LIKE %s)")
        params.append(f"{crypto.PREFIX}{ring.active}$%")
    for f in blind_fields(model):
        col = qn(f.column)
        conds.append(f"({col} <> '' AND {col} NOT LIKE %s)")
        params.append(f"{ring.index_active}$%")
    return " OR ".join(conds), params


def stale_count(model, ring: crypto.Keyring | None = None) -> int:
    ring = ring or crypto.keyring()
    conn = connections[router.db_for_write(model)]
    where, params = _stale_where(model, ring, conn)
    return model._base_manager.extra(where=[where], params=params).count()  # noqa: S610 - our column names


def reseal_model(model, *, batch: int = BATCH, ring: crypto.Keyring | None = None,
                 progress: Callable[[str, int], None] | None = None, limit: int | None = None) -> int:
    """Re-seal every row of `model` not yet under the active keys; return how many rows were written."""
    ring = ring or crypto.keyring()
    enc, blind = encrypted_fields(model), blind_fields(model)
    if not enc and not blind:
        return 0
    db = router.db_for_write(model)
    conn = connections[db]
    where, params = _stale_where(model, ring, conn)
    names = [f.name for f in enc] + [f.name for f in blind]
    sources = {f.source for f in blind} - {f.name for f in enc}
    manager = model._base_manager.db_manager(db)
    done = 0
    last = None
    while limit is None or done < limit:
        with transaction.atomic(using=db):
            qs = manager.extra(where=[where], params=params).order_by("pk")  # noqa: S610 - our column names
            if last is not None:
                qs = qs.filter(pk__gt=last)
            step = batch if limit is None else min(batch, limit - done)
            pks = list(qs.values_list("pk", flat=True)[:step])
            if not pks:
                break
            objs = list(manager.filter(pk__in=pks).only(*names, *sources).order_by("pk"))
            for o in objs:
                for f in blind:
                    setattr(o, f.attname, f.index_of(getattr(o, f.source)))
            attnames = [f.attname for f in enc] + [f.attname for f in blind]
            update_rows(model, attnames, ((o.pk, *(getattr(o, a) for a in attnames)) for o in objs))
        done += len(pks)
        last = pks[-1]
        if progress:
            progress(model._meta.label, done)
    return done


def reseal_all(*, batch: int = BATCH, progress=None, apps=global_apps) -> dict[str, int]:
    return {m._meta.label: reseal_model(m, batch=batch, progress=progress) for m in encrypted_models(apps)}


def status(apps=global_apps) -> dict[str, dict[str, int]]:
    """Per sealed column: how many values each key id holds ("plain" for values not yet sealed)."""
    out: dict[str, dict[str, int]] = {}
    for model in encrypted_models(apps):
        for f in encrypted_fields(model):
            counts: dict[str, int] = {}
            conn = connections[router.db_for_write(model)]
            qn = conn.ops.quote_name
            with conn.cursor() as cur:
                cur.execute(f"SELECT {qn(f.column)} FROM {qn(model._meta.db_table)} "  # noqa: S608 - our names
                            f"WHERE {qn(f.column)} IS NOT NULL AND {qn(f.column)} <> ''")
                for (value,) in cur.fetchall():
                    kid = crypto.key_id(value) or "plain"
                    counts[kid] = counts.get(kid, 0) + 1
            out[f"{model._meta.label_lower}.{f.name}"] = counts
    return out


# Files --------------------------------------------------------------------------------------------------------------

def file_roots() -> list[Path]:
    return [Path(settings.MEDIA_ROOT), Path(settings.FUPIN_RAW_DIR)]


def _file_kid(path: Path) -> str:
    with open(path, "rb") as fh:
        if fh.read(len(crypto.MAGIC)) != crypto.MAGIC:
            return ""
        fh.read(4)
        return fh.read(10).split(b"$", 1)[0].decode("ascii", "replace")


def reseal_files(roots: list[Path] | None = None, ring: crypto.Keyring | None = None) -> int:
    """Seal the plain files and re-seal those under an older key in the stored-file and raw-file folders (phone
    photo parts in progress are left: they become sealed photos or are discarded)."""
    ring = ring or crypto.keyring()
    done = 0
    for root in roots or file_roots():
        if not root.exists():
            continue
        for dirpath, _dirs, files in os.walk(root):
            for name in files:
                path = Path(dirpath) / name
                if name.endswith(".part") or name.startswith("."):
                    continue
                if _file_kid(path) == ring.active:
                    continue
                data = filestore.read_plain(path)
                filestore.write_sealed(path, [data])
                done += 1
    return done
