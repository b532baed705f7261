"""Shared fixtures. The network is blocked in tests except for loopback (the browser tests' live server)."""

import os
import shutil
import socket

import pytest

_real_connect = socket.socket.connect


def _guarded_connect(self, address):
    host = address[0] if isinstance(address, tuple) else address
    if isinstance(host, str) and not (host.startswith("127.") or host in ("localhost", "::1", "")) and "/" not in host:
        raise RuntimeError(f"network access blocked in tests: {address}")
    return _real_connect(self, address)


@pytest.fixture(autouse=True, scope="session")
def _block_network():
    socket.socket.connect = _guarded_connect
    yield
    socket.socket.connect = _real_connect


@pytest.fixture(autouse=True)
def _fresh_read_cache():
    """The per-process read cache (fupin/core/readcache.py) holds answers of the previous test's database."""
    from fupin.core import readcache

    readcache.clear()
    yield


@pytest.fixture(autouse=True)
def _default_language():
    """Every test starts in the default language (zh-Hans): a request in English activates English for the thread
    (LocaleMiddleware), and a later test calling a service directly would otherwise get English messages."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture
def county(db):
    from fupin.core.testing import make_county_tree

    return make_county_tree()


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium through Playwright; skipped with a notice when absent (a failure where it is required)."""
    if not CHROMIUM:
        if os.environ.get("FUPIN_REQUIRE_BROWSER") == "1":
            pytest.fail("Chromium is required here (FUPIN_REQUIRE_BROWSER=1) but is not installed")
        pytest.skip("NOTICE: browser test skipped: Chromium is not installed (apt-get install chromium)")
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu",
                                                               "--disable-background-networking"])
        yield b
        b.close()


@pytest.fixture
def page(browser):
    ctx = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 860})
    pg = ctx.new_page()
    yield pg
    ctx.close()


@pytest.fixture
def artifacts_dir():
    path = os.path.join(os.path.dirname(__file__), "test-artifacts")
    os.makedirs(path, exist_ok=True)
    return path



# The longest tests (pytest --durations=150 on SQLite, 2026-12-04), started first: xdist hands tests out in
# collection order, so a long test collected last keeps one worker busy after the other has finished. Whole files
# are named where their tests share a module fixture, so that it is still built once. pytest-django orders the
# tests as Django does (in a transaction, then transactional ones, which empty the tables after them, then those
# without a database); a long test moves to the very front unless it is transactional: those move to the front of
# their part only. An entry that no longer matches is harmless (the test keeps its place).
LONG_TESTS = [
    "fupin/eligibility/tests/test_spark_engine.py::test_spark_and_duckdb_give_the_same_links_findings_and_scores",
    "tests/test_scoping_sweep.py::test_every_role_route_and_method_is_scoped",
    "tests/test_crash.py::test_sigkill_at_random_points_leaves_no_partial_work",
    "fupin/core/tests/test_production.py::test_sigterm_to_serve_stops_gunicorn_and_the_worker",
    "tests/e2e/test_role_menus.py::test_every_menu_item_of_each_role",
    "tests/test_api_fuzz.py::test_openapi_fuzz",
    "tests/test_english_interface.py::test_every_menu_page_of_each_role_is_english",
    "tests/e2e/test_procedures.py::test_identification_then_exit_in_the_browser",
    "tests/test_catalogue.py",
    "tests/test_scope_checks.py::test_no_own_scope_check_outside_core",
    "fupin/assistance/tests/test_demo.py",
    "tests/test_layering.py",
    "fupin/core/tests/test_search.py::test_no_app_searches_people_by_its_own_rule",
    "tests/test_extensions.py::test_no_application_module_uses_the_deprecated_registration_functions",
    "fupin/core/tests/test_production.py::test_check_deploy_is_clean_in_production_settings",
    "fupin/geo/tests/test_responsible.py::test_nobody_else_decides_who_answers",
    "fupin/demo/tests/test_seed.py::test_seed_demo_builds_the_county",
    "fupin/demo/tests/test_world.py::test_same_seed_same_geography",
    "fupin/assessment/tests/test_demo.py::test_demo_county_is_assessed",
]


def _long_rank(nodeid: str) -> int:
    for rank, prefix in enumerate(LONG_TESTS):
        if nodeid == prefix or nodeid.startswith(prefix + "::") or nodeid.startswith(prefix + "["):
            return rank
    return len(LONG_TESTS)


def _django_order(item) -> int:
    """pytest-django's order (Django's): database tests in a transaction 0, transactional ones 1, the others 2."""
    marker = item.get_closest_marker("django_db")
    fixtures = getattr(item, "fixturenames", [])
    transactional = bool(marker and (marker.kwargs.get("transaction") or marker.kwargs.get("reset_sequences")
                                     or (marker.args and marker.args[0])))
    if transactional or "transactional_db" in fixtures or "live_server" in fixtures:
        return 1
    return 0 if marker or "db" in fixtures else 2


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """Long tests first (a stable sort, the same in every xdist worker), after pytest-django's own ordering: a
    transactional one stays after every test in a transaction (it empties the tables, data migrations' rows too)."""
    def key(item):
        order, rank = _django_order(item), _long_rank(item.nodeid)
        if rank < len(LONG_TESTS) and order != 1:
            return (0, rank)
        return (1 + order, rank)

    items.sort(key=key)
