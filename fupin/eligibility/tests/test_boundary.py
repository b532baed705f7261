"""The comparison reads the linkage through one module: fupin.exchange.public (issue 14, item 5).

Every import in fupin/eligibility (its tests aside: they may build data with the exchange's test helpers) that
names fupin.exchange must name fupin.exchange.public. Checked on the syntax tree, so an import inside a function
counts as much as one at the top."""

import ast
from pathlib import Path

import fupin.eligibility

ROOT = Path(fupin.eligibility.__file__).resolve().parent
ALLOWED = {"fupin.exchange.public"}
MOVING: set[str] = set()  # (fupin.exchange.bulk moved to fupin.core.bulk: nothing is on its way out now)


def exchange_imports(tree: ast.AST) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolved against fupin.eligibility, never the exchange
                continue
            module = node.module or ""
            # `from fupin import exchange` / `from fupin.exchange import models` name modules through the alias
            names = [f"{module}.{a.name}" for a in node.names] if module in ("fupin", "fupin.exchange") else [module]
        else:
            continue
        for name in names:
            if name == "fupin.exchange" or name.startswith("fupin.exchange."):
                found.append((node.lineno, name))
    return found


def modules() -> list[Path]:
    return [p for p in ROOT.rglob("*.py") if "tests" not in p.relative_to(ROOT).parts]


def test_eligibility_imports_only_the_public_module_of_the_exchange():
    offending = []
    for path in modules():
        for line, name in exchange_imports(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if name not in ALLOWED | MOVING:
                offending.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
    assert not offending, "\n".join(offending)


def test_the_check_sees_every_form_of_import():
    """Positive control: each way of reaching into the exchange is caught, the public module is not."""
    code = """
import fupin.exchange.models
from fupin.exchange.linkage import load_links
from fupin.exchange import cache
from fupin import exchange
def f():
    from fupin.exchange.selectors import county_wide
from fupin.exchange.public import Source
from fupin.exchange import public
"""
    names = sorted(n for _, n in exchange_imports(ast.parse(code)))
    assert names == ["fupin.exchange", "fupin.exchange.cache", "fupin.exchange.linkage", "fupin.exchange.models",
                     "fupin.exchange.public", "fupin.exchange.public", "fupin.exchange.selectors"]
    assert len([n for n in names if n not in ALLOWED]) == 5
    # and the package is really scanned: the services module uses the public module
    assert any(p.name == "services.py" for p in modules())
    scanned = {n for p in modules() for _, n in exchange_imports(ast.parse(p.read_text(encoding="utf-8")))}
    assert "fupin.exchange.public" in scanned
