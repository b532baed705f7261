"""Nothing imports upward: core ← geo, org, accounts ← registry, inbox ← capabilities ← web, api, demo
(docs/architecture.md).

Every `import` and `from ... import` of every module under fupin/ counts, at module level or inside a function (a lazy
import is still a dependency). Same-tier imports are allowed, but two capabilities may not depend on each other (a
cycle), however indirectly. What is not application code is placed explicitly:
- migrations are generated and left out;
- test support (`tests/` packages and `testing.py` modules) builds whole counties across tiers, so its own imports
  are not checked; no application module may import it;
- an app's demo seeding (`<app>/demo.py`, `seed_*_demo` commands) is part of the demo tier: `fupin.demo` drives it.
"""

from __future__ import annotations

import ast
import functools
from collections import defaultdict
from pathlib import Path

FUPIN = Path(__file__).resolve().parent.parent / "fupin"

TIERS: dict[str, int] = {
    "core": 0,
    "geo": 1, "org": 1, "accounts": 1,
    "registry": 2, "inbox": 2,
    # capabilities: every other app (tier 3)
    "web": 4, "api": 4, "demo": 4,
}
CAPABILITY = 3
TIER_NAMES = {0: "core", 1: "geo/org/accounts", 2: "registry/inbox", 3: "capabilities", 4: "web/api/demo"}

# (importing module, imported module prefix) -> why it is allowed for now. Keep this short; each entry is a debt.
KNOWN: dict[tuple[str, str], str] = {
    ("fupin.exchange.registry_copy", "fupin.eligibility"): "hcmp, hlink3: the registry copy reads text_col (moved here from linkage)",
    ("fupin.exchange.services", "fupin.eligibility"): "hcmp: the exchange↔eligibility public API",
}


def _module_name(path: Path) -> str:
    rel = path.relative_to(FUPIN.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_test_support(module: str) -> bool:
    parts = module.split(".")
    return "tests" in parts or parts[-1] == "testing"


def _tier(module: str) -> int:
    parts = module.split(".")
    if len(parts) < 2 or not (FUPIN / parts[1]).is_dir():  # fupin, fupin.cli: the entry points
        return 4
    app = parts[1]
    if parts[-1] == "demo" or (parts[-1].startswith("seed_") and parts[-1].endswith("_demo")):
        return 4
    return TIERS.get(app, CAPABILITY)


def _imports(path: Path, module: str) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            out.append((node.lineno, target))
    return [(line, t) for line, t in out if t.startswith("fupin.")]


def _modules() -> list[tuple[Path, str]]:
    return [(p, _module_name(p)) for p in sorted(FUPIN.rglob("*.py")) if "migrations" not in p.parts]


@functools.cache
def _edges() -> tuple[tuple[str, int, str], ...]:
    """Every import edge of the application code, parsed once per test process (four tests read them)."""
    return tuple((module, line, target) for path, module in _modules() if not _is_test_support(module)
                 for line, target in _imports(path, module))


def _known(module: str, target: str) -> bool:
    return any(module == m and (target == t or target.startswith(t + ".")) for m, t in KNOWN)


def test_nothing_imports_upward():
    upward = []
    for module, line, target in _edges():
        if module.split(".")[1:2] == target.split(".")[1:2] or _known(module, target):
            continue
        if _tier(target) > _tier(module):
            upward.append(f"{module}:{line} imports {target} ({TIER_NAMES[_tier(module)]} → "
                          f"{TIER_NAMES[_tier(target)]})")
    assert not upward, "upward imports (see docs/architecture.md):\n" + "\n".join(upward)


def test_no_two_capabilities_depend_on_each_other():
    """Capabilities share a tier; none may depend on another that depends back on it, however indirectly (geo, org
    and accounts are one foundation tier whose pages use each other's models, so the rule is for capabilities)."""
    graph: dict[str, set[str]] = defaultdict(set)
    for module, _line, target in _edges():
        a, b = module.split(".")[1], target.split(".")[1]
        if (FUPIN / a).is_dir() and a != b and not _known(module, target) and _tier(module) == _tier(target) == CAPABILITY:
            graph[a].add(b)
    cycles = []
    for a, targets in graph.items():
        for b in targets:
            if _reaches(graph, b, a) and f"{b} ↔ {a}" not in cycles:
                cycles.append(f"{a} ↔ {b}")
    assert not cycles, f"apps that depend on each other: {cycles}"


def _reaches(graph: dict[str, set[str]], start: str, goal: str) -> bool:
    seen, todo = set(), [start]
    while todo:
        node = todo.pop()
        if node == goal:
            return True
        if node not in seen:
            seen.add(node)
            todo.extend(graph.get(node, ()))
    return False


def test_no_application_module_imports_test_support():
    offenders = [f"{m}:{line} imports {t}" for m, line, t in _edges() if _is_test_support(t)]
    assert not offenders, offenders


def test_known_exceptions_are_still_needed():
    """An exception nobody needs any more is removed from KNOWN (the list only shrinks)."""
    used = {(m, t) for m, t in KNOWN for module, _line, target in _edges()
            if module == m and (target == t or target.startswith(t + "."))}
    assert used == set(KNOWN), f"no longer needed: {set(KNOWN) - used}"


def test_the_sweep_sees_upward_imports():
    """Positive control: the parser finds both kinds of import, and the tiers put them upward."""
    source = "import fupin.web.views\n\ndef f():\n    from fupin.registry.models import Household\n"
    path = FUPIN / "core" / "_layering_probe.py"
    path.write_text(source, encoding="utf-8")
    try:
        found = _imports(path, "fupin.core._layering_probe")
    finally:
        path.unlink()
    assert found == [(1, "fupin.web.views"), (4, "fupin.registry.models")]
    assert all(_tier(t) > _tier("fupin.core._layering_probe") for _line, t in found)
    assert _tier("fupin.assistance.demo") == 4 and _tier("fupin.assistance.services") == CAPABILITY
    assert _is_test_support("fupin.core.testing") and _is_test_support("fupin.registry.tests.conftest")
