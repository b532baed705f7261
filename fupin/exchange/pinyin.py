"""Toneless pinyin of Chinese names, for homophones (王晓明 / 王小明 → wangxiaoming).

One reading per character (the dictionary's first), so the same character always gives the same syllable on both
sides of a comparison; a table lookup per character keeps 400,000 names well under a second.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache


@lru_cache(maxsize=1)
def _table() -> dict[int, str]:
    from pypinyin.pinyin_dict import pinyin_dict

    table = {}
    for code, readings in pinyin_dict.items():
        first = readings.split(",")[0]
        plain = "".join(c for c in unicodedata.normalize("NFD", first) if not unicodedata.combining(c))
        table[code] = plain.replace("ü", "v").lower()
    return table


def name_pinyin(name: str | None) -> str:
    """name_pinyin("王晓明") == "wangxiaoming"; characters without a reading are kept as they are."""
    if not name:
        return ""
    table = _table()
    return "".join(table.get(ord(ch), ch) for ch in name)


def names_pinyin(names) -> list[str]:
    """The pinyin of many names at once (repeated names computed once)."""
    cache: dict[str, str] = {}
    out = []
    for n in names:
        if n is None:
            out.append(None)
            continue
        p = cache.get(n)
        if p is None:
            p = cache[n] = name_pinyin(n)
        out.append(p)
    return out
