"""No view, selector or service outside fupin/core decides by itself whether a place lies in a user's jurisdiction:
they ask `scoping.require` (writes), `scoping.covers` / `scoping.overlaps` (what a page offers or opens) or
`scoping.narrowed` (the prefix a page looks at), so the rule (a code prefix) lives in one place.

The sweep finds `x.startswith(p)` or `p.startswith(x)` where `p` is the user's jurisdiction prefix: `scope_prefix(...)`,
`.jurisdiction_prefix`, a name assigned from either in the same function, or a module function that returns one.
"""

from __future__ import annotations

import ast

from fupin.core.testing import sweep_app_modules


def _sources(tree: ast.AST) -> set[str]:
    """scope_prefix, and the module's own functions that return a jurisdiction prefix (wrappers of it)."""
    names = {"scope_prefix"}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and any(
            isinstance(r, ast.Return) and r.value is not None and _is_prefix(r.value, {"scope_prefix"})
            for r in ast.walk(node)
        ):
            names.add(node.name)
    return names


def _is_prefix(node: ast.AST, sources: set[str]) -> bool:
    for n in ast.walk(node):
        if isinstance(n, ast.Call) and getattr(n.func, "id", getattr(n.func, "attr", None)) in sources:
            return True
        if isinstance(n, ast.Attribute) and n.attr == "jurisdiction_prefix":
            return True
        if (
            isinstance(n, ast.Constant) and n.value == "jurisdiction_prefix"
        ):  # getattr(user, "jurisdiction_prefix")
            return True
    return False


def own_scope_checks(source: str) -> list[int]:
    tree = ast.parse(source)
    sources = _sources(tree)
    found: set[int] = set()
    scopes = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))] + [tree]
    for scope in scopes:
        names = {
            t.id
            for n in ast.walk(scope)
            if isinstance(n, ast.Assign) and _is_prefix(n.value, sources)
            for t in n.targets
            if isinstance(t, ast.Name)
        }
        for n in ast.walk(scope):
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "startswith":
                for part in (n.func.value, *n.args):
                    if _is_prefix(part, sources) or (isinstance(part, ast.Name) and part.id in names):
                        found.add(n.lineno)
    return sorted(found)


def test_no_own_scope_check_outside_core():
    assert sweep_app_modules(own_scope_checks, skip=("fupin/core/",)) == {}


def test_sweep_finds_each_form():
    """Positive control: the forms the views used before they asked scoping."""
    assert own_scope_checks(
        "def v(request, code):\n"
        "    prefix = scope_prefix(request.user)\n"
        "    if not (code.startswith(prefix) or prefix.startswith(code)):\n"
        "        raise Http404\n"
    ) == [3]
    assert own_scope_checks(
        "def may(user, area):\n"
        "    prefix = getattr(user, 'jurisdiction_prefix', None)\n"
        "    return prefix is not None and area.startswith(prefix)\n"
    ) == [3]
    assert own_scope_checks("ok = [u for u in qs if area.startswith(u.jurisdiction_prefix)]\n") == [1]
    assert own_scope_checks(
        "def _prefix(user):\n    return scope_prefix(user)\n\ndef t(user, c):\n    p = _prefix(user)\n    return c.startswith(p)\n"
    ) == [6]
    assert own_scope_checks("def f(code, p):\n    return code.startswith(p)\n") == []  # not a jurisdiction


# "Is this user county-wide?" is `scoping.county_wide(user)`: a length test of a jurisdiction prefix anywhere else is
# the rule (6 digits make a county) written again.


def own_county_tests(source: str) -> list[int]:
    """Lines comparing `len(<something named ...prefix...>)` with the county's length (6, or PREFIX_LENGTH["county"]).
    Other levels are other questions (the phone's slice asks for a village or smaller)."""
    found = set()
    for n in ast.walk(ast.parse(source)):
        if not isinstance(n, ast.Compare):
            continue
        sides = [n.left, *n.comparators]
        lengths = [s for s in sides if isinstance(s, ast.Call) and getattr(s.func, "id", None) == "len" and s.args
                   and "prefix" in ast.unparse(s.args[0])]
        bounds = [s for s in sides if (isinstance(s, ast.Constant) and s.value in (6, 7))
                  or ast.unparse(s).replace('"', "'") == "PREFIX_LENGTH['county']"]
        if lengths and bounds:
            found.add(n.lineno)
    return sorted(found)


def test_no_own_county_wide_test_outside_core():
    assert sweep_app_modules(own_county_tests, skip=("fupin/core/scoping.py",)) == {}


def test_county_sweep_finds_each_form():
    """Positive control: the four forms interop, exchange, accounts and privacy used before `county_wide`."""
    assert own_county_tests("ok = prefix is not None and len(prefix) <= 6\n") == [1]
    assert own_county_tests("if prefix and len(prefix) <= PREFIX_LENGTH['county']:\n    pass\n") == [1]
    assert own_county_tests("x = len(actor.jurisdiction_prefix or '-' * 9) > PREFIX_LENGTH['county']\n") == [1]
    assert own_county_tests("y = 6 >= len(viewer.jurisdiction_prefix or 'x' * 12)\n") == [1]
    assert own_county_tests("z = len(code) <= 6\n") == []  # a code's length, not a jurisdiction's
    assert own_county_tests("v = len(prefix) >= PREFIX_LENGTH['village']\n") == []  # another level
