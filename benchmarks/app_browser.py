"""The book's run in the real app, watched in Chromium on the same machine, against the command line.

    MNIST_DIR=../shared/data/mnist python -m benchmarks.app_browser [--runs 3]

What a lecturer's laptop does: `streamlit run app.py` and the browser showing the Train page while it trains. Each
round runs `python -m nn train --quiet` and then presses Start on the page (the book's defaults), reading the run's
time from the page ("took 4.1 s"); it also reports the CPU seconds the browser and the server used during the run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time

from benchmarks.appserver import CHROMIUM, CHROMIUM_ARGS, REPO, running_app

FINISHED = "() => /took [\\d.]+ s/.test(document.querySelector('[data-testid=\"stProgress\"]')?.innerText ?? '')"


def cpu_seconds(pids, children: bool = False) -> float:
    """User + system CPU seconds of ``pids`` (with ``children``: plus their ended children's, e.g. the app's
    training processes)."""
    total = 0.0
    for pid in pids:
        try:
            fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        if children:
            total += (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")
    return total


def measure(runs: int = 3) -> dict:
    from playwright.sync_api import sync_playwright

    rounds = []
    with running_app() as (url, server), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
        for _ in range(runs):
            out = subprocess.run([sys.executable, "-m", "nn", "train", "--quiet"], cwd=REPO,
                                 capture_output=True, text=True, check=True).stdout
            cli_s = float(re.search(r"in ([\d.]+) s", out).group(1))
            page.goto(url + "/train")  # a fresh session each round
            page.get_by_role("heading", name="Train the network").wait_for(timeout=60_000)
            chrome = [int(x) for x in subprocess.run(["pgrep", "-f", "chromium"], capture_output=True,
                                                     text=True).stdout.split()]
            chrome_cpu, server_cpu, start = cpu_seconds(chrome), cpu_seconds([server.pid], True), time.time()
            page.get_by_role("button", name="Start").click()
            page.wait_for_function(FINISHED, timeout=180_000)
            text = page.locator("[data-testid='stProgress']").inner_text()
            rounds.append({
                "cli_s": cli_s,
                "app_s": float(re.search(r"took ([\d.]+) s", text).group(1)),
                "browser_cpu_s": round(cpu_seconds(chrome) - chrome_cpu, 1),
                "server_cpu_s": round(cpu_seconds([server.pid], True) - server_cpu, 1),  # with its training
                "wall_s": round(time.time() - start, 1),
            })
        browser.close()
    cli = statistics.median(r["cli_s"] for r in rounds)
    app = statistics.median(r["app_s"] for r in rounds)
    return {"median_cli_s": cli, "median_app_s": app, "overhead_pct": round(100 * (app / cli - 1), 1),
            "rounds": rounds}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.app_browser", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    print(json.dumps(measure(args.runs), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
