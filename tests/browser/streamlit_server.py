"""`streamlit run SCRIPT` on a free local port for a browser test module, as conftest's ``app_url`` does for
app.py (same flags, same health check), for tests that need a small app of their own."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def streamlit_server(script: str | Path, env: dict[str, str] | None = None, timeout: float = 60) -> Iterator[str]:
    """Run ``script`` (a path relative to the repository, or absolute) and yield its URL; stop it afterwards.

    The repository is the working directory and on ``PYTHONPATH`` (``streamlit run`` puts only the script's own
    directory on ``sys.path``), so a script under tests/ can import ``ui`` and ``nn``.
    """
    port = free_port()
    full_env = dict(os.environ, SGDLAB_OFFLINE="1", SGDLAB_MIRRORS=f"http://127.0.0.1:{free_port()}/",
                    STREAMLIT_BROWSER_GATHER_USAGE_STATS="false")
    full_env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    full_env.update(env or {})
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(script), "--server.address", "127.0.0.1",
         "--server.port", str(port), "--server.headless", "true", "--server.fileWatcherType", "none"],
        cwd=ROOT, env=full_env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
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
