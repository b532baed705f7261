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
