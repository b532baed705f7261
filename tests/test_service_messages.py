"""Service messages go through gettext: no Chinese string literal in a user-facing position of fupin/ unwrapped.

An AST scan over fupin/ (migrations and tests left out) finds every string literal with a Chinese character that
stands, outside any gettext call, in a place whose text reaches a user: the argument of a `raise` (an exception's
message), a ValidationError, a form's add_error, a `messages.*` call, a row problem of an import report, or a
`message=` / `detail=` / `summary=` / `reason=` / `label=` / `help_text=` / `verbose_name=` keyword. Strings that
are data the code matches or writes (a county's demo names, the header synonyms a department writes, footer words
recognised in files) do not stand in those places, so the scan does not see them; DATA lists the few that do.

PENDING is the backlog of files whose messages are not yet through gettext (issue 14): a file leaves it when it is
converted, and the test fails both on a new offender outside it and on a listed file that has become clean, so the
list only shrinks.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from django.conf import settings

ROOT = Path(settings.BASE_DIR)
CHINESE = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
GETTEXT = {"_", "gettext", "gettext_lazy", "pgettext", "pgettext_lazy", "ngettext", "ngettext_lazy", "npgettext",
           "npgettext_lazy", "gettext_noop", "format_lazy"}
# Calls whose positional arguments are a message a person reads.
MESSAGE_CALLS = {"ValidationError", "add_error", "add_message", "debug", "info", "success", "warning", "error",
                 "HttpResponseBadRequest", "HttpError", "RowProblem", "CommandError", "ServiceError", "PermissionDenied",
                 "Http404"}
MESSAGE_KEYWORDS = {"message", "detail", "summary", "reason", "label", "help_text", "verbose_name", "msg", "ok_message"}

# Data in a message position, with why it is data and not UI (path: literals).
DATA: dict[str, set[str]] = {
    # The demo county's stories: what the demo records as a household's reason or a lost phone, stored as data.
    "fupin/assessment/demo.py": {"家中主要劳动力务工受伤", "家人患重病住院", "房屋受暴雨损坏", "种养业受灾减收"},
    "fupin/mobile/demo.py": {"手机丢失"},
}

# Backlog: files whose user-facing messages are still Chinese literals without gettext (see the module docstring).
# Emptied by issue 14: a message a service stores for later readers is stored by id (fupin/core/i18n.py).
PENDING: set[str] = set()


def _name(func: ast.expr) -> str:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def _unwrapped_chinese(node: ast.AST) -> list[ast.Constant]:
    """The Chinese string constants under node that no gettext call encloses."""
    if isinstance(node, ast.Call) and _name(node.func) in GETTEXT:
        return []
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node] if CHINESE.search(node.value) else []
    found = []
    for child in ast.iter_child_nodes(node):
        found += _unwrapped_chinese(child)
    return found


def offenders(source: str) -> list[tuple[int, str]]:
    """(line, literal) of each Chinese literal in a user-facing position of the source, not through gettext."""
    places: list[ast.AST] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Raise) and node.exc is not None:
            places.append(node.exc)
        elif isinstance(node, ast.Call):
            name = _name(node.func)
            if name in MESSAGE_CALLS:  # a row problem's column and value are the file's own words: its message only
                places += node.args[3:] if name == "RowProblem" else node.args
            elif name == "run_service":  # core/pages.run_service(request, fn, ok_message): the success message only
                places += node.args[2:]
            places += [k.value for k in node.keywords if k.arg in MESSAGE_KEYWORDS]
    return sorted({(c.lineno, c.value) for place in places for c in _unwrapped_chinese(place)})


def _sources() -> dict[str, str]:
    out = {}
    for path in sorted((ROOT / "fupin").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if "/migrations/" in rel or "/tests/" in rel or path.name.startswith("test") or path.name == "testing.py":
            continue
        out[rel] = path.read_text(encoding="utf-8")
    return out


def test_the_scan_sees_an_unwrapped_message():  # positive control
    source = '''
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
def f(x):
    if x:
        raise ValueError(f"数字太大:{x}")
    raise ValidationError(_("已翻译") + "未翻译")
def g(request):
    messages.error(request, "出错了")
    Job(summary="导入完成")
    RowProblem(3, "户编号", "R1", "没有这个户")
    run_service(request, lambda: save(name="户主"), "已保存")
    raise ValueError(_("应为数字"))
'''
    assert [text for _line, text in offenders(source)] == ["数字太大:", "未翻译", "出错了", "导入完成", "没有这个户",
                                                          "已保存"]


def test_no_chinese_service_message_outside_gettext():
    sources = _sources()
    assert len(sources) > 200  # positive control: the scan read the package
    assert PENDING <= set(sources), sorted(PENDING - set(sources))
    found = {}
    for rel, source in sources.items():
        hits = [(line, text) for line, text in offenders(source) if text not in DATA.get(rel, set())]
        if hits:
            found[rel] = hits
    new = {rel: hits[:3] for rel, hits in found.items() if rel not in PENDING}
    assert new == {}, f"Chinese messages without gettext: {new}"
    done = sorted(PENDING - set(found))
    assert done == [], f"converted, remove from PENDING: {done}"


def test_the_converted_modules_stay_converted():
    """The expression language, the form evaluator and the form-definition checks are through gettext."""
    sources = _sources()
    for rel in ("fupin/eligibility/expressions.py", "fupin/surveys/evaluator.py", "fupin/surveys/definitions.py",
                "fupin/eligibility/facts.py"):
        assert offenders(sources[rel]) == [], rel
