"""Fixtures several test modules share; pytest finds them here without an import. None is autouse: a module that
wants one for every test says so with ``pytestmark = pytest.mark.usefixtures(...)``. Plain helpers live in
tests/helpers.py; the browser tests' own fixtures in tests/browser/conftest.py."""

import functools
import http.server
import os
import socket
import threading
from pathlib import Path

import pytest


@pytest.fixture
def offline(monkeypatch, tmp_path_factory):
    """Never the internet: downloads off and mirrors pointing at a closed local port. MNIST_DIR, when the
    environment sets it (CI does), is used; otherwise the app runs on its embedded sample."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("SGDLAB_OFFLINE", "1")
    monkeypatch.setenv("SGDLAB_MIRRORS", f"http://127.0.0.1:{port}/")


@pytest.fixture
def run_app_py_on_every_rerun(monkeypatch):
    """AppTest resets ``PagesManager.uses_pages_directory`` before each run, and since our pages live in
    ``pages/`` it then takes the app for an old-style (v1) multipage app and runs a page script *without*
    app.py on every rerun after the first (no sidebar, no ``keep_widgets``). ``streamlit run`` does not:
    ``st.navigation`` turns that mode off for good on the first run. Make AppTest do the same."""
    from streamlit.runtime.scriptrunner import script_runner

    def run_main_script(main_script_path):
        source = Path(main_script_path).read_text()
        exec(compile(source, str(main_script_path), "exec"), {"__name__": "__main__", "__file__": str(main_script_path)})

    monkeypatch.setattr(script_runner, "_mpa_v1", run_main_script)


@pytest.fixture
def mnist_mirror():
    """A local HTTP mirror serving the genuine MNIST .gz files from MNIST_DIR."""
    mnist_dir = os.environ.get("MNIST_DIR")
    if not mnist_dir:
        pytest.skip("set MNIST_DIR to the genuine MNIST files (e.g. ../shared/data/mnist)")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=mnist_dir)
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture
def stop_all():
    """Jobs a test started: stopped and ended at its end, whatever happened."""
    started = []
    yield started
    for job in started:
        job.stop()
    for job in started:
        job.join(5)
