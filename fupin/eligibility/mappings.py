"""Value mappings: what a department's status and category values mean, so that rules read `正常`, not `A-正常`.

One mapping per (rule set, source, field) — `ValueMapping` rows, data that is edited in a draft and released with
it. The defaults ship as data (`value_mappings.json`, loaded with the default rule pack). This module is the one
place that decides what a value maps to (`Resolver`); the comparison, the snapshot report and the mapping page all
use it. A value that is not blank and that no mapping knows is *not understood* (不能识别): the comparison leaves
every rule that reads it undecided for that record and lists it, never counting it as "does not match".
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

from fupin.exchange.public import MAPPABLE_ROLES

__all__ = ["MAPPABLE_ROLES", "Resolver", "default_mappings", "norm_value", "not_understood", "presets",
           "resolvers_for"]

DEFAULTS_PATH = Path(__file__).resolve().with_name("value_mappings.json")

_FULLWIDTH = {i: i - 0xFEE0 for i in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
_SPACE = re.compile(r"\s+")
_CODE_LABEL = re.compile(r"^([A-Z0-9]{1,3})\s*[-:._/、]?\s*(\D.*)$")  # A-正常, A正常, 1:在职
_LABEL_CODE = re.compile(r"^(.+?)\(([A-Z0-9]{1,3})\)$")  # 正常(A)


def norm_value(value: object) -> str:
    """A value as looked up: full-width forms half-width, no spaces, letters upper-case."""
    if value is None:
        return ""
    return _SPACE.sub("", str(value).translate(_FULLWIDTH)).upper()


@cache
def _defaults() -> dict:
    return json.loads(DEFAULTS_PATH.read_text(encoding="utf-8"))


def default_mappings() -> list[dict]:
    """[{"source", "field", "description", "values"}] shipped with the default rule pack."""
    return [dict(m) for m in _defaults()["mappings"]]


def presets() -> dict[str, dict[str, str]]:
    """Ready-made value lists (是/否/1/0/Y/N ...) a county may start a mapping from."""
    return dict(_defaults().get("presets", {}))


class Resolver:
    """Maps one field's values: exact (normalised) value, a value that already is a mapped value, then a value
    written as code and label (A-正常, 正常(A)) by its label and then its code."""

    def __init__(self, values: dict[str, str]):
        self.values = dict(values)
        self.table = {norm_value(k): v for k, v in values.items()}
        for target in set(values.values()):
            if target:
                self.table.setdefault(norm_value(target), target)

    def __call__(self, raw: object) -> tuple[bool, str]:
        """(understood, mapped value); a blank value is understood as blank."""
        n = norm_value(raw)
        if not n:
            return True, ""
        if n in self.table:
            return True, self.table[n]
        m = _CODE_LABEL.match(n) or _LABEL_CODE.match(n)
        if m:
            code, label = (m.group(1), m.group(2)) if m.re is _CODE_LABEL else (m.group(2), m.group(1))
            for part in (label, code):
                if part in self.table:
                    return True, self.table[part]
        return False, ""


def resolvers_for(mappings) -> dict[tuple[str, str], Resolver]:
    """(source, field) → Resolver for ValueMapping rows (or dicts with source/field/values)."""
    out = {}
    for m in mappings:
        source = m["source"] if isinstance(m, dict) else m.source_code
        field = m["field"] if isinstance(m, dict) else m.field
        out[(source, field)] = Resolver(m["values"] if isinstance(m, dict) else m.values)
    return out


def not_understood(source_code: str, counts: dict, resolvers: dict[tuple[str, str], Resolver]) -> list[list]:
    """[[field, value, rows], ...] of a snapshot's values that the mappings of its source do not know."""
    out = []
    for (source, field), resolver in sorted(resolvers.items()):
        if source != source_code:
            continue
        for value, n in sorted((counts.get(field) or {}).items(), key=lambda kv: (-kv[1], kv[0])):
            if not resolver(value)[0]:
                out.append([field, value, n])
    return out
