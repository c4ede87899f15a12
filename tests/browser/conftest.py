"""Fixtures for the browser tests: `streamlit run app.py` on a free local port, and Debian's Chromium driven
by Playwright (never `playwright install`). The app runs offline: downloads off, mirrors on a closed port."""

import os
from pathlib import Path

import pytest

from tests.browser.streamlit_server import streamlit_server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


@pytest.fixture(scope="session")
def app_url():
    # a laptop's server: long runs ask for a confirmation rather than being refused (the hosted limits have a
    # server of their own: test_limits_browser.py)
    with streamlit_server("app.py", env={"SGDLAB_MAX_RUN_MINUTES": "off"}) as url:
        yield url


@pytest.fixture(scope="module")  # one Playwright per module: a test module that starts its own still can
def browser():
    required = os.environ.get("SGDLAB_REQUIRE_BROWSER") == "1"  # CI: a missing browser is a failure
    if not Path(CHROMIUM).exists():
        (pytest.fail if required else pytest.skip)(f"{CHROMIUM} is not installed (apt-get install -y chromium)")
    try:
        import playwright.sync_api as playwright
    except ImportError:
        (pytest.fail if required else pytest.skip)("playwright is not installed (pip install -r requirements-dev.txt)")
    # launch() starts Chromium with a fresh, temporary user-data dir of its own (Playwright refuses an explicit
    # --user-data-dir there) and deletes it on close: no profile, cache or cookies carry over between runs.
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    yield pg
    context.close()
