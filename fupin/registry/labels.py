"""Code lists as the application reads them: the county's CodeList/CodeItem rows, else the starting lists in codes.py.

Households and persons store codes; pages and exports show labels; imports accept either (and a few spellings seen
in real rosters, e.g. 汉 for 汉族, 本人 for 户主, 因病致贫 for 因病).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from fupin.registry import codes

_BUILTIN = {key: dict(items) for key, (_name, items) in codes.CODE_LISTS.items()}

# Spellings seen in rosters that are neither the code nor the label.
ALIASES: dict[str, dict[str, str]] = {
    "relationship": {"本人": "户主", "妻": "配偶", "妻子": "配偶", "夫": "配偶", "丈夫": "配偶", "子": "之子", "儿子": "之子",
                     "长子": "之子", "次子": "之子", "女": "之女", "女儿": "之女", "长女": "之女", "次女": "之女", "儿媳": "之儿媳",
                     "女婿": "之女婿", "孙子": "之孙子", "孙女": "之孙女", "父亲": "之父", "母亲": "之母", "父": "之父",
                     "母": "之母", "外孙子": "之外孙子", "外孙女": "之外孙女"},
    "sex": {"男性": "1", "女性": "2", "M": "1", "F": "2"},
    "attribute": {"一般户": "1", "低保户": "2", "五保户": "4", "特困户": "3", "特困供养户": "3"},
    "status": {"已脱贫": "1", "脱贫": "1", "预脱贫户": "2"},
    "standard": {"国家": "national", "省定": "provincial", "市定": "municipal", "国定标准": "national"},
    "political": {"党员": "1", "团员": "3", "预备党员": "2"},
    "dilapidated": {"无": "", "不是": "", "否": ""},
}
YES = {"是", "有", "1", "Y", "y", "√", "yes", "true", "True", "参加", "已参加", "享受"}
NO = {"否", "无", "0", "N", "n", "×", "no", "false", "False", "未参加", "不享受", ""}
_SPLIT = re.compile(r"[、,，;；/|\s]+")


@dataclass
class CodeTables:
    """Every code list with code→label and text→code lookups; build once per request or import."""

    lists: dict[str, list[tuple[str, str]]]
    colors: dict[str, dict[str, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._labels = {k: dict(items) for k, items in self.lists.items()}
        self._codes: dict[str, dict[str, str]] = {}
        for key, items in self.lists.items():
            table: dict[str, str] = {}
            for code, label in items:
                table[label] = code
                table[code] = code
                if key == "ethnicity" and label.endswith("族"):
                    table[label[:-1]] = code
                if key == "cause":
                    table[label + "致贫"] = code
            for alias, code in ALIASES.get(key, {}).items():
                table.setdefault(alias, code)
            self._codes[key] = table

    def lookup(self, key: str) -> dict[str, str]:
        """Text (code, label or alias) → code for one list: the importer's hot path reads this directly."""
        return self._codes.get(key, {})

    def label(self, key: str, code: object) -> str:
        """The label of a code; an unknown code is shown as it stands."""
        if code in (None, ""):
            return ""
        return self._labels.get(key, {}).get(str(code), str(code))

    def shown(self, key: str, code: object) -> str:
        """The label a page shows: a built-in label in the user's language (codes.ENGLISH's messages), a
        label the county changed or added as the county wrote it. Imports and exports keep `label`."""
        label = self.label(key, code)
        message = codes.ENGLISH.get(key, {}).get(str(code))
        if message is not None and label == _BUILTIN.get(key, {}).get(str(code)):
            return str(message)
        return label

    def shown_choices(self, key: str) -> list[tuple[str, str]]:
        return [(code, self.shown(key, code)) for code, _label in self.lists.get(key, [])]

    def labels(self, key: str, codes_: list | None) -> str:
        return "、".join(self.label(key, c) for c in (codes_ or []))

    def shown_many(self, key: str, codes_: list | None) -> str:
        """Several codes as a page shows them (`shown` each, joined by the language's list separator)."""
        from fupin.core.i18n import join_list

        return join_list(self.shown(key, c) for c in (codes_ or []))

    def code(self, key: str, text: object) -> str | None:
        """The code for a code or label as typed; None when the list does not know it."""
        text = str(text or "").strip()
        if not text:
            return ""
        table = self._codes.get(key, {})
        if text in table:
            return table[text]
        if key == "ethnicity" and text.isdigit() and len(text) == 1:
            return table.get("0" + text)
        if key == "schooling" and text.isdigit() and len(text) == 1:
            return table.get("0" + text)
        return None

    def codes(self, key: str, text: object) -> tuple[list[str], list[str]]:
        """Several codes in one cell (健康状况 '长期慢性病、残疾'): (known codes, unknown pieces)."""
        known, unknown = [], []
        for piece in _SPLIT.split(str(text or "").strip()):
            if not piece:
                continue
            c = self.code(key, piece)
            if c is None:
                unknown.append(piece)
            elif c not in known:
                known.append(c)
        return known, unknown

    def choices(self, key: str) -> list[tuple[str, str]]:
        return list(self.lists.get(key, []))

    def color(self, key: str, code: str) -> str:
        return self.colors.get(key, {}).get(code, "")


def default_tables() -> CodeTables:
    """The starting lists of codes.py (used when the database has no CodeList of that key)."""
    return CodeTables({k: list(items) for k, (_, items) in codes.CODE_LISTS.items()},
                      colors={"status": dict(codes.STATUS_COLORS)})


def code_tables() -> CodeTables:
    """The lists as the county keeps them (one query); lists absent from the database come from codes.py."""
    from fupin.core.models import CodeItem

    lists = {k: list(items) for k, (_, items) in codes.CODE_LISTS.items()}
    colors: dict[str, dict[str, str]] = {"status": dict(codes.STATUS_COLORS)}
    from_db: dict[str, list[tuple[str, str]]] = {}
    for key, code, label, color in (CodeItem.objects.filter(is_active=True)
                                    .order_by("code_list__key", "order", "code")
                                    .values_list("code_list__key", "code", "label", "color")):
        from_db.setdefault(key, []).append((code, label))
        if color:
            colors.setdefault(key, {})[code] = color
    lists.update(from_db)
    return CodeTables(lists, colors=colors)


def yes_no(text: object) -> bool | None:
    """'是'/'否' and friends as a boolean; None when the cell says neither."""
    t = str(text if text is not None else "").strip()
    if t in YES:
        return True
    if t in NO:
        return False if t else None
    return None
