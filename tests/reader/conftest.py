"""Fixtures for tests of the *built* site (docs/_build/html).

These tests need ``make -C docs html`` first. Without a build they are skipped
with a reason, except when ``GRADCOURSE_REQUIRE_SITE=1`` (set by ``.ci/run``),
where a missing build or browser is an error.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SITE = Path(os.environ.get("GRADCOURSE_SITE", REPO / "docs" / "_build" / "html"))
CHROMIUM = os.environ.get("GRADCOURSE_CHROMIUM", "/usr/bin/chromium")
REQUIRED = os.environ.get("GRADCOURSE_REQUIRE_SITE") == "1"


def pytest_collection_modifyitems(items):
    for item in items:
        if Path(str(item.fspath)).parent == Path(__file__).parent:
            item.add_marker(pytest.mark.site)


def _missing(reason: str):
    if REQUIRED:
        pytest.fail(reason + " (GRADCOURSE_REQUIRE_SITE=1)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def site() -> Path:
    if not (SITE / "index.html").exists():
        _missing(f"no built site at {SITE}: run `make -C docs html` first")
    return SITE


EDITIONS = {"es": "", "en": "en/"}  # the Spanish site at the root, the English one in en/


@pytest.fixture(scope="session", params=list(EDITIONS))
def edition(request, site) -> str:
    """Each edition's folder inside the site, as a prefix of its pages' paths: "" or "en/"."""
    prefix = EDITIONS[request.param]
    if not (site / prefix / "index.html").exists():
        _missing(f"no {request.param} edition at {site / prefix}: run `make -C docs html` first")
    return prefix


@pytest.fixture(scope="session")
def server(site):
    """Serve the site on 127.0.0.1 (a free port) for the session; yields its base URL."""
    handler = functools.partial(_QuietHandler, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest output readable
        pass


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium driven by Playwright (no downloaded browser)."""
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        _missing(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("playwright is not installed (pip install -e '.[test]')")
    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run", "--disable-sync"],
        )
        yield b
        b.close()


AXE = Path(os.environ.get("GRADCOURSE_AXE", REPO / "node_modules" / "axe-core" / "axe.min.js"))


@pytest.fixture(scope="session")
def axe_source() -> str:
    """axe-core's script (npm ci installs it into node_modules/; nothing from a CDN)."""
    if not AXE.exists():
        _missing(f"axe-core not found at {AXE}: run `npm ci` in the repository root")
    return AXE.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def laptop_sweep(site, server, browser, axe_source):
    """Every page visited once at 1366 px, light mode, axe-core included (tests/reader/sweep.py)."""
    from .sweep import LAPTOP, sweep

    return sweep(browser, server, site, LAPTOP, axe_source)


@pytest.fixture(scope="session")
def phone_sweep(site, server, browser):
    """Every page visited once at 390 px, as a phone (tests/reader/sweep.py)."""
    from .sweep import PHONE, sweep

    return sweep(browser, server, site, PHONE)
