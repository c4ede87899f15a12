"""Memory of the real app: a `streamlit run app.py` server, visited by several browser sessions that each train.

    MNIST_DIR=../shared/data/mnist python -m benchmarks.memory [--sessions 3]

Reads the server's resident set size (VmRSS of the server process) after the first visitor's run has finished
(full MNIST loaded once, one finished run) and after each further visitor's finished run. Drives Debian's
Chromium through Playwright, as the browser tests do.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from benchmarks.appserver import CHROMIUM, CHROMIUM_ARGS, running_app


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def _train_one_session(browser, url: str, timeout_s: float = 180):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.goto(url + "/train")
    page.get_by_role("button", name="Start").click(timeout=60_000)
    page.get_by_text("finished: test", exact=False).first.wait_for(timeout=timeout_s * 1000)
    # the session stays open (its runs stay in the server's memory) until the context closes
    return context


def measure_app_memory(sessions: int = 3) -> dict:
    """{"first_mb", "per_session_mb", "sessions", "rss_mb": [...]}, or {"error": "..."} when it cannot run."""
    if not os.path.exists(CHROMIUM):
        return {"error": f"{CHROMIUM} is missing (apt-get install -y chromium)"}
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return {"error": "playwright is not installed (pip install -r requirements-dev.txt)"}
    contexts, readings = [], []
    try:
        with running_app() as (url, server), sync_playwright() as p:  # launch(): a fresh, temporary profile
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for _ in range(sessions):
                contexts.append(_train_one_session(browser, url))
                time.sleep(1.0)  # let the last reruns settle
                readings.append(rss_mb(server.pid))
            for context in contexts:
                context.close()
            browser.close()
    except Exception as exc:  # a benchmark reports, it does not crash
        return {"error": f"{type(exc).__name__}: {exc}".splitlines()[0]}
    per_session = (readings[-1] - readings[0]) / (len(readings) - 1) if len(readings) > 1 else float("nan")
    return {"first_mb": round(readings[0], 1), "per_session_mb": round(per_session, 1),
            "sessions": len(readings), "rss_mb": [round(r, 1) for r in readings]}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.memory", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=3)
    args = parser.parse_args(argv)
    result = measure_app_memory(args.sessions)
    print(json.dumps(result, indent=1))
    return 1 if "error" in result else 0


if __name__ == "__main__":
    sys.exit(main())
