"""The extension registry (fupin/core/extensions.py): no dead point, every registration resolves and comes from its
app's hooks.py, a wrong registration fails at once, docs/architecture.md lists every point."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest
from django.test import RequestFactory

from fupin.core import extensions as ext

ROOT = Path(__file__).resolve().parent.parent

# the registration functions kept for branches written before the registry (each calls ext.register)
DEPRECATED = {"register_panel", "register_list_ordering", "register_filter", "register_household_attribute",
              "register_indicator", "register_popup_section", "register_figure_provider", "register_derived_figure",
              "register_section", "condition_provider", "register_card_section", "register_assessment_provider",
              "register_findings_provider", "finding_provider", "register_household_panel",
              "register_need_adapter", "register_field_reader"}


def test_every_point_has_a_registration():
    dead = [point for point in ext.POINTS if not ext.registered(point)]
    assert not dead, f"extension points nobody registers (remove them): {dead}"


def test_every_registration_resolves():
    """Each registration's callables are callable, and a named function is what its module holds under its name
    (the finding provider's fallback once named a function that did not exist)."""
    checked = 0
    for point in ext.POINTS:
        for item in ext.registered(point):
            for name, fn in item.callables().items():
                assert callable(fn), (point, item.ident, name)
                qualname = getattr(fn, "__qualname__", "")
                if "<" in qualname or not getattr(fn, "__module__", None):  # a lambda or a closure
                    continue
                target = importlib.import_module(fn.__module__)
                for part in qualname.split("."):
                    target = getattr(target, part)
                assert target is fn, (point, item.ident, name)
                checked += 1
    assert checked > 50


def test_apps_register_from_their_hooks():
    by = {(point, item.ident): ext.registered_by(point, item.ident) for point in ext.POINTS
          for item in ext.registered(point)}
    assert by[("core.job", "quality.run")] == "fupin.quality.hooks"
    elsewhere = [(key, module) for key, module in by.items()
                 if not module.endswith(".hooks") and ".tests." not in module and module != "test"]
    assert not elsewhere, elsewhere


def test_no_application_module_uses_the_deprecated_registration_functions():
    """They stay only until the branches written before the registry are merged; move each call to ext.register
    in the app's hooks.py (docs/architecture.md, "Extension points")."""
    callers = []
    for path in sorted((ROOT / "fupin").rglob("*.py")):
        if "tests" in path.parts or "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "attr", None) or getattr(node.func, "id", None)
                if name in DEPRECATED:
                    callers.append(f"{path.relative_to(ROOT)}:{node.lineno} {name}")
    assert not callers, callers


def test_docs_list_every_point():
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    missing = [point for point in ext.POINTS if f"`{point}`" not in text]
    assert not missing, missing


def test_a_registration_to_an_unknown_point_fails():
    with pytest.raises(ext.ExtensionError, match="not a registration of a declared extension point"):
        ext.register(("maps.popup_section", lambda household, user: None))

    class Undeclared(ext.PopupSection):
        point = "maps.popup_sections"  # a typo

    with pytest.raises(ext.ExtensionError):
        ext.register(Undeclared(fn=lambda household, user: None))
    with pytest.raises(ext.ExtensionError, match="unknown extension point"):
        ext.registered("maps.popup_sections")


def test_a_registration_of_the_wrong_shape_fails():
    with pytest.raises(ext.ExtensionError, match="callable"):
        ext.PopupSection(fn="fupin.funds.integration.map_popup")
    with pytest.raises(ext.ExtensionError, match="non-empty string"):
        ext.HouseholdPanel(key="", fn=lambda request, household: None)
    with pytest.raises(ext.ExtensionError, match="integer"):
        ext.NightlyStep(name="x", fn=lambda: None, order="1")
    with pytest.raises(ext.ExtensionError, match="chart"):
        ext.Figure("x.y", "x", chart="donut")
    with pytest.raises(ext.ExtensionError, match="Figure objects"):
        ext.FigureProvider("x", compute=lambda ctx: [], figures=[("x.y", "x")])
    with pytest.raises(ext.ExtensionError, match="describe"):
        ext.LightCondition(fn=lambda ids, today: {}, describe={})


def test_two_registrations_under_one_key_fail_and_an_equal_one_is_kept_once():
    existing = ext.lookup("core.job", "quality.run")
    assert ext.register(existing) is existing  # importing a hooks module twice changes nothing
    assert [j.kind for j in ext.registered("core.job")].count("quality.run") == 1
    with pytest.raises(ext.ExtensionError, match="registered twice"):
        ext.register(ext.JobHandler(kind="quality.run", fn=lambda job, progress: None))
    assert ext.lookup("core.job", "quality.run") is existing


def test_the_system_check_finds_what_needs_every_app():
    assert ext.check() == []  # the installed apps are consistent
    broken = (ext.Indicator("probe", "probe", figure="no.such.figure"),
              ext.HouseholdPanel(key="probe", template="no/such/template.html", fn=lambda request, household: {}),
              ext.FigureProvider("probe", compute=lambda ctx: [], figures=[ext.Figure("probe.n", "n", section="nope")]))
    with ext.added(*broken):
        ids = sorted(e.id for e in ext.check())
    assert ids == ["fupin.E010", "fupin.E011", "fupin.E012"]
    assert ext.check() == []


def test_a_broken_panel_fails_the_page_instead_of_vanishing():
    from fupin.registry import panels

    def broken(request, household):
        raise RuntimeError("panel bug")

    request = RequestFactory().get("/")
    with ext.replaced("registry.household_panel", ext.HouseholdPanel(key="broken", fn=broken)):
        with pytest.raises(RuntimeError, match="panel bug"):
            panels.render_panels(request, household=None)


def test_one_panel_convention_with_or_without_a_template():
    from fupin.registry import panels

    rows = ext.HouseholdPanel(key="rows", order=2, fn=lambda request, household: {
        "title": "标题", "rows": [("项", "<值>")], "url": "/x/"})
    nothing = ext.HouseholdPanel(key="nothing", order=1, fn=lambda request, household: None)
    with ext.replaced("registry.household_panel", rows, nothing):
        out = panels.render_panels(RequestFactory().get("/"), household=None)
    assert [p["key"] for p in out] == ["rows"] and out[0]["title"] == "标题"
    assert "&lt;值&gt;" in out[0]["html"] and 'href="/x/"' in out[0]["html"]
