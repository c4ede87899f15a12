"""Fixtures for the browser tests: `streamlit run app.py` on a free local port, and Debian's Chromium driven
by Playwright (never `playwright install`). The app runs offline: downloads off, mirrors on a closed port."""

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def app_url():
    port = _free_port()
    env = dict(os.environ, SGDLAB_OFFLINE="1", SGDLAB_MIRRORS=f"http://127.0.0.1:{_free_port()}/",
               STREAMLIT_BROWSER_GATHER_USAGE_STATS="false")
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.address", "127.0.0.1",
         "--server.port", str(port), "--server.headless", "true", "--server.fileWatcherType", "none"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                pytest.fail(f"streamlit did not start:\n{log.read().decode(errors='replace')[-3000:]}")
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        log.close()


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
