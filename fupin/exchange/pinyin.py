"""Toneless pinyin of Chinese names, for homophones (王晓明 / 王小明 → wangxiaoming).

One reading per character (the dictionary's first), so the same character always gives the same syllable on both
sides of a comparison; a table lookup per character keeps 400,000 names well under a second.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=1)
def _readings() -> dict[int, str]:
    """pypinyin's character table, loaded from its module file: importing the package would also load (and train)
    its phrase dictionaries, a second of start-up that names do not need."""
    import importlib.util

    spec = importlib.util.find_spec("pypinyin")
    path = Path(spec.origin).parent / "pinyin_dict.py"
    module_spec = importlib.util.spec_from_file_location("_fupin_pinyin_dict", path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module.pinyin_dict


_CHAR_CACHE: dict[str, str] = {}


def _char(ch: str) -> str:
    p = _CHAR_CACHE.get(ch)
    if p is None:
        readings = _readings().get(ord(ch))
        if readings:
            first = readings.split(",")[0]
            p = "".join(c for c in unicodedata.normalize("NFD", first) if not unicodedata.combining(c))
            p = p.replace("ü", "v").lower()
        else:
            p = ch
        _CHAR_CACHE[ch] = p
    return p


def name_pinyin(name: str | None) -> str:
    """name_pinyin("王晓明") == "wangxiaoming"; characters without a reading are kept as they are."""
    if not name:
        return ""
    cache = _CHAR_CACHE
    return "".join(cache.get(ch) or _char(ch) for ch in name)


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
