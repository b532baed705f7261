"""What a form definition is, how it is checked, and how answers are cleaned and validated against it.

A definition is JSON (what FormVersion.definition holds and what `forms_data/*.json` ship)::

    {"sections": [{"key": "income", "title": "经济收入", "items": [
        {"key": "income_wages", "label": "工资性收入", "type": "number", "unit": "元", "min": 0,
         "registry_field": "income_wages"},
        {"key": "work_months", "label": "务工时间", "type": "number", "unit": "月", "min": 0, "max": 12,
         "visible_if": "income_wages > 0", "required": true,
         "validations": [{"rule": "work_months * 100 <= income_wages", "message": "务工收入与务工时间不符"}]}]}]}

Item types: text, number (`decimals`: 0 for whole numbers), date, choice and multi (from a code list `code_list`
or inline `options` [[code, label], ...]), boolean, table (repeating rows with `columns`, e.g. the household
members), gps ({"lng", "lat"}), photo (a stored file path). Conditions (`visible_if`, `required_if`) and validation
rules (`validations[].rule`, which must hold) are expressions of the rule language (fupin.eligibility.expressions)
over the item keys; inside a table, a row's columns and the form's items are both visible. `registry_field` binds an
item to the registry: Household fields on the household form, Person fields on the member table's columns,
VillageProfile fields on the village form; `registry_read` only fills the answer from the registry (a member's
relationship to the head changes through the registry's own services, not through a form).
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _

from fupin.eligibility.expressions import ExpressionError
from fupin.surveys import evaluator

TYPES = ("text", "number", "date", "choice", "multi", "boolean", "table", "gps", "photo")
TYPE_LABELS = {"text": "文字", "number": "数字", "date": "日期", "choice": "单选", "multi": "多选", "boolean": "是/否",
               "table": "表格(多行)", "gps": "GPS定位", "photo": "照片"}
KEY = re.compile(r"^[A-Za-z_\u3400-\u9fff][A-Za-z0-9_\u3400-\u9fff]*$")
TRUE_TEXT = {"1", "true", "是", "yes", "y", "on", "有", "√"}
FALSE_TEXT = {"0", "false", "否", "no", "n", "off", "无", "×"}


def empty() -> dict:
    return {"sections": []}


def sections(defn: dict) -> list[dict]:
    return list((defn or {}).get("sections") or [])


def items(defn: dict) -> Iterator[dict]:
    """The top-level items of a definition, in order."""
    for s in sections(defn):
        yield from s.get("items") or []


def item_map(defn: dict) -> dict[str, dict]:
    return {it["key"]: it for it in items(defn) if it.get("key")}


def tables(defn: dict) -> list[dict]:
    return [it for it in items(defn) if it.get("type") == "table"]


def item_count(defn: dict) -> int:
    return sum(1 for _ in items(defn))


def copy_definition(defn: dict) -> dict:
    return copy.deepcopy(defn or empty())


# Checking a definition -----------------------------------------------------------------------------------------

def check_definition(defn: dict, *, registry_fields: set[str] | None = None,
                     column_registry_fields: set[str] | None = None, code_lists: set[str] | None = None
                     ) -> list[str]:
    """Problems of a definition, in Chinese (empty: the definition is sound)."""
    problems: list[str] = []
    if not isinstance(defn, dict) or not isinstance(defn.get("sections"), list):
        return [_("定义必须是含有 sections 列表的对象")]
    top_keys: list[str] = []
    for s in defn["sections"]:
        if not isinstance(s, dict) or not str(s.get("title") or "").strip():
            problems.append(_("每个分类都要有名称"))
            continue
        for it in s.get("items") or []:
            top_keys.append(str(it.get("key") or ""))
    dup = {k for k in top_keys if top_keys.count(k) > 1}
    if dup:
        problems.append(_("题目代码重复:%(keys)s") % {"keys": "、".join(sorted(dup))})
    names = set(top_keys)
    for it in items(defn):
        problems += _check_item(it, names, registry_fields, code_lists, in_table=False,
                                column_registry_fields=column_registry_fields)
    return problems


def _check_item(it: dict, names: set[str], registry_fields, code_lists, *, in_table: bool,
                column_registry_fields) -> list[str]:
    out: list[str] = []
    key = str(it.get("key") or "")
    label = str(it.get("label") or key)
    where = _("题目「%(label)s」") % {"label": label}
    if not KEY.match(key) or "__" in key:
        out.append(_("%(where)s的代码「%(key)s」不合格:只能用字母、汉字、数字和下划线,且不以数字开头") % {"where": where, "key": key})
    if not str(it.get("label") or "").strip():
        out.append(_("题目「%(key)s」没有题目名称") % {"key": key})
    kind = it.get("type")
    if kind not in TYPES:
        out.append(_("%(where)s的类型「%(kind)s」未知(可用:%(types)s)") % {"where": where, "kind": kind, "types": "、".join(TYPES)})
        return out
    if kind in ("choice", "multi"):
        if not it.get("code_list") and not it.get("options"):
            out.append(_("%(where)s是选择题,要指定代码表或选项") % {"where": where})
        if it.get("code_list") and code_lists is not None and it["code_list"] not in code_lists:
            out.append(_("%(where)s的代码表「%(list)s」不存在") % {"where": where, "list": it["code_list"]})
    if kind == "table":
        if in_table:
            out.append(_("%(where)s:表格里不能再套表格") % {"where": where})
        cols = it.get("columns") or []
        if not cols:
            out.append(_("%(where)s是表格,至少要有一列") % {"where": where})
        col_keys = [str(c.get("key") or "") for c in cols]
        if len(set(col_keys)) != len(col_keys):
            out.append(_("%(where)s的列代码重复") % {"where": where})
        for c in cols:
            out += _check_item(c, names | set(col_keys), column_registry_fields, code_lists, in_table=True,
                               column_registry_fields=None)
    for bound in ("min", "max"):
        if it.get(bound) not in (None, "") and evaluator.to_number(it.get(bound)) is None:
            out.append((_("%(where)s的最小值不是数字") if bound == "min" else _("%(where)s的最大值不是数字")) % {"where": where})
    for attr, what in (("visible_if", _("%(where)s的显示条件")), ("required_if", _("%(where)s的必填条件"))):
        if it.get(attr):
            out += _check_expr(it[attr], names, what % {"where": where})
    for v in it.get("validations") or []:
        if not isinstance(v, dict) or not v.get("rule"):
            out.append(_("%(where)s的校验规则不完整") % {"where": where})
            continue
        out += _check_expr(v["rule"], names, _("%(where)s的校验规则") % {"where": where})
    rf = it.get("registry_field")
    if rf and registry_fields is not None and rf not in registry_fields:
        out.append(_("%(where)s绑定的户籍字段「%(field)s」不存在或不能由表单修改") % {"where": where, "field": rf})
    return out


def _check_expr(text: str, names: set[str], where: str) -> list[str]:
    try:
        evaluator.check(str(text), names)
    except ExpressionError as exc:
        return [_("%(where)s有误:%(error)s") % {"where": where, "error": exc.message}]
    return []


# Cleaning and validating answers -------------------------------------------------------------------------------

def _num(text: Any) -> float | int | None:
    if text is None or (isinstance(text, str) and not text.strip()):
        return None
    if isinstance(text, bool):
        raise ValueError
    try:
        d = Decimal(str(text).strip().replace(",", "").replace(",", ""))
    except InvalidOperation as exc:
        raise ValueError from exc
    if not d.is_finite():
        raise ValueError
    return int(d) if d == d.to_integral_value() else float(d)


def _options(it: dict, code_options) -> list[tuple[str, str]]:
    if it.get("options"):
        return [(str(c), str(lab)) for c, lab in it["options"]]
    return code_options(it.get("code_list") or "")


def _code(value: Any, opts: list[tuple[str, str]]) -> str:
    text = evaluator.to_text(value).strip()
    for c, _label in opts:
        if text == c:
            return c
    for c, lab in opts:
        if text == lab:
            return c
    raise ValueError


def clean_value(it: dict, raw: Any, code_options) -> Any:
    """The stored form of one answer, or ValueError with a Chinese message."""
    kind = it.get("type")
    if kind == "table":
        raise TypeError("tables are cleaned row by row")
    if raw is None or (isinstance(raw, str) and not raw.strip()) or (isinstance(raw, list) and not raw):
        return [] if kind == "multi" else None
    if kind == "text":
        return str(raw).strip()
    if kind == "number":
        try:
            n = _num(raw)
        except ValueError:
            raise ValueError(_("应为数字")) from None
        if it.get("decimals") == 0 and n is not None and not float(n).is_integer():
            raise ValueError(_("应为整数"))
        return n
    if kind == "date":
        d = evaluator.to_date(raw)
        if d is None:
            raise ValueError(_("日期格式应为 年-月-日"))
        return d.isoformat()
    if kind == "boolean":
        if isinstance(raw, bool):
            return raw
        t = str(raw).strip().lower()
        if t in TRUE_TEXT:
            return True
        if t in FALSE_TEXT:
            return False
        raise ValueError(_("应为「是」或「否」"))
    if kind == "choice":
        try:
            return _code(raw, _options(it, code_options))
        except ValueError:
            raise ValueError(_("「%(value)s」不在可选项中") % {"value": raw}) from None
    if kind == "multi":
        parts = raw if isinstance(raw, list) else re.split(r"[,,、;;\s]+", str(raw).strip())
        opts = _options(it, code_options)
        out = []
        for p in parts:
            if evaluator.is_blank(p):
                continue
            try:
                c = _code(p, opts)
            except ValueError:
                raise ValueError(_("「%(value)s」不在可选项中") % {"value": p}) from None
            if c not in out:
                out.append(c)
        return out
    if kind == "gps":
        if isinstance(raw, dict):
            lng, lat = raw.get("lng"), raw.get("lat")
        else:
            bits = re.split(r"[,,\s]+", str(raw).strip())
            if len(bits) != 2:
                raise ValueError(_("定位应为「经度,纬度」"))
            lng, lat = bits
        lng_n, lat_n = evaluator.to_number(lng), evaluator.to_number(lat)
        if lng_n is None or lat_n is None or not (-180 <= lng_n <= 180 and -90 <= lat_n <= 90):
            raise ValueError(_("定位的经纬度不合理"))
        return {"lng": round(lng_n, 6), "lat": round(lat_n, 6)}
    if kind == "photo":
        return str(raw).strip()
    raise ValueError(_("未知题型%(kind)s") % {"kind": kind})


def _apply_rules(it: dict, value: Any, scope: dict, today: dt.date) -> str | None:
    """The first problem of one visible answer (required, range, validation rules), or None."""
    required = bool(it.get("required"))
    if it.get("required_if"):
        required = required or evaluator.truthy(evaluator.compile_expr(it["required_if"], today=today)(scope))
    if evaluator.is_blank(value):
        return _("必填") if required and it.get("type") != "table" else None
    if it.get("type") == "number":
        lo, hi = evaluator.to_number(it.get("min")), evaluator.to_number(it.get("max"))
        if lo is not None and value < lo:
            return _("不能小于%(min)s") % {"min": it["min"]}
        if hi is not None and value > hi:
            return _("不能大于%(max)s") % {"max": it["max"]}
    for rule in it.get("validations") or []:
        try:
            ok = evaluator.compile_expr(rule["rule"], today=today)(scope)
        except (ExpressionError, ArithmeticError, RecursionError, TypeError, ValueError):
            # a published rule stored before the language refused it at save time: named, not a server error
            return _("校验规则无法计算,请联系表单管理员修改:%(rule)s") % {"rule": str(rule["rule"])[:60]}
        if not evaluator.truthy(ok):
            return str(rule.get("message") or _("不满足校验规则:%(rule)s") % {"rule": rule["rule"]})
    return None


def visible(it: dict, scope: dict, today: dt.date | None = None) -> bool:
    cond = it.get("visible_if")
    return True if not cond else evaluator.truthy(evaluator.compile_expr(cond, today=today)(scope))


def validate_answers(defn: dict, raw: dict, code_options, *, today: dt.date | None = None
                     ) -> tuple[dict, dict[str, str]]:
    """Clean the raw answers (texts from a page or a sheet, or JSON values) and check them.

    Returns (values, errors): values keyed by item key (tables as lists of row dicts, hidden items left out);
    errors keyed by item key, or "table.3.column" for a table cell (rows numbered from 1), in Chinese.
    """
    today = today or evaluator._today()
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    tops = list(items(defn))
    for it in tops:
        key = it["key"]
        if it["type"] == "table":
            rows = []
            for i, row in enumerate(raw.get(key) or [], start=1):
                clean_row = {k: v for k, v in row.items() if k.startswith("_")}  # row identity (_person)
                for col in it.get("columns") or []:
                    try:
                        clean_row[col["key"]] = clean_value(col, row.get(col["key"]), code_options)
                    except ValueError as exc:
                        errors[f"{key}.{i}.{col['key']}"] = str(exc)
                        clean_row[col["key"]] = None
                rows.append(clean_row)
            values[key] = rows
            continue
        try:
            values[key] = clean_value(it, raw.get(key), code_options)
        except ValueError as exc:
            errors[key] = str(exc)
            values[key] = None
    for it in tops:
        key = it["key"]
        if not visible(it, values, today):
            values.pop(key, None)
            errors = {k: v for k, v in errors.items() if k != key and not k.startswith(f"{key}.")}
            continue
        if key in errors:
            continue
        problem = _apply_rules(it, values.get(key), values, today)
        if problem:
            errors[key] = problem
        if it["type"] == "table":
            for i, row in enumerate(values.get(key) or [], start=1):
                scope = {**values, **row}
                for col in it.get("columns") or []:
                    cell = f"{key}.{i}.{col['key']}"
                    if cell in errors:
                        continue
                    if not visible(col, scope, today):
                        row.pop(col["key"], None)
                        continue
                    problem = _apply_rules(col, row.get(col["key"]), scope, today)
                    if problem:
                        errors[cell] = problem
    return values, errors


def display_value(it: dict, value: Any, code_options) -> str:
    """An answer as a person reads it (labels for codes, 是/否, units)."""
    if evaluator.is_blank(value):
        return ""
    kind = it.get("type")
    if kind in ("choice", "multi"):
        labels = dict(_options(it, code_options))
        vals = value if isinstance(value, list) else [value]
        return "、".join(labels.get(str(v), str(v)) for v in vals)
    if kind == "boolean":
        return "是" if value else "否"
    if kind == "gps" and isinstance(value, dict):
        return f"{value.get('lng')},{value.get('lat')}"
    text = evaluator.to_text(value) or ""
    return f"{text} {it['unit']}" if it.get("unit") and kind == "number" else text
