"""The book's run in the real app, watched in Chromium on the same machine, against the command line.

    MNIST_DIR=../shared/data/mnist python -m benchmarks.app_browser [--rounds 8]

What a lecturer's laptop does: `streamlit run app.py` and the browser showing the Train page while it trains. One
server per refresh setting (``SGDLAB_REFRESH``: "auto", what a visitor gets, and "fast", twice a second whatever
the machine), each with its own Chromium page. Each round runs `python -m nn train --quiet` and then presses
Start on each page (the book's defaults), reading the run's time from the page ("took 4.1 s"), and the CPU
seconds the browser and the server (with its training process) used meanwhile. The first round is a warm-up and
is not counted; ratios are taken against the command-line run of the same round, so that a shared machine's
slow minutes touch both sides.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import statistics
import subprocess
import sys
import time

from benchmarks.appserver import CHROMIUM, CHROMIUM_ARGS, REPO, running_app

FINISHED = "() => /took [\\d.]+ s/.test(document.querySelector('[data-testid=\"stProgress\"]')?.innerText ?? '')"
SETTINGS = ("auto", "fast")


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


def _chromium_pids() -> list[int]:
    out = subprocess.run(["pgrep", "-f", "chromium"], capture_output=True, text=True).stdout
    return [int(x) for x in out.split()]


def _cli_seconds() -> float:
    out = subprocess.run([sys.executable, "-m", "nn", "train", "--quiet"], cwd=REPO,
                         capture_output=True, text=True, check=True).stdout
    return float(re.search(r"in ([\d.]+) s", out).group(1))


def _app_round(page, url: str, server) -> dict:
    page.goto(url + "/train")  # a fresh session each round
    page.get_by_role("heading", name="Train the network").wait_for(timeout=60_000)
    time.sleep(1.0)  # let the page settle: its first drawing is not part of the run
    chrome, server_cpu, start = _chromium_pids(), cpu_seconds([server.pid], True), time.time()
    chrome_cpu = cpu_seconds(chrome)
    page.get_by_role("button", name="Start").click()
    # not every frame: innerText 60 times a second would cost the browser more than the page does
    page.wait_for_function(FINISHED, polling=1000, timeout=180_000)
    text = page.locator("[data-testid='stProgress']").inner_text()
    return {
        "app_s": float(re.search(r"took ([\d.]+) s", text).group(1)),
        "browser_cpu_s": round(cpu_seconds(chrome) - chrome_cpu, 1),
        "server_cpu_s": round(cpu_seconds([server.pid], True) - server_cpu, 1),  # with its training
        "wall_s": round(time.time() - start, 1),
    }


def measure(rounds: int = 8, settings=SETTINGS) -> dict:
    from playwright.sync_api import sync_playwright

    table = []
    with contextlib.ExitStack() as stack, sync_playwright() as p:
        servers = {s: stack.enter_context(running_app({"SGDLAB_REFRESH": s})) for s in settings}
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        pages = {s: browser.new_context(viewport={"width": 1280, "height": 800}).new_page() for s in settings}
        for i in range(rounds + 1):
            row = {"cli_s": _cli_seconds()}
            for s in settings:
                url, server = servers[s]
                row[s] = _app_round(pages[s], url, server)
            if i:  # the first round warms up the pages and the server
                table.append(row)
            print(json.dumps(row), file=sys.stderr, flush=True)
        browser.close()
    cli = statistics.median(r["cli_s"] for r in table)
    summary = {"rounds": len(table), "median_cli_s": cli, "per_round": table}
    for s in settings:
        app = statistics.median(r[s]["app_s"] for r in table)
        ratio = statistics.median(r[s]["app_s"] / r["cli_s"] for r in table)
        summary[s] = {
            "median_app_s": app,
            "overhead_pct": round(100 * (ratio - 1), 1),  # median of the per-round ratios
            "browser_cpu_s": statistics.median(r[s]["browser_cpu_s"] for r in table),
        }
    return summary


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.app_browser", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=8, help="rounds counted (after one warm-up round)")
    parser.add_argument("--settings", default=",".join(SETTINGS), help="SGDLAB_REFRESH values to compare")
    args = parser.parse_args(argv)
    result = measure(args.rounds, tuple(s.strip() for s in args.settings.split(",") if s.strip()))
    print(json.dumps({k: v for k, v in result.items() if k != "per_round"}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
