"""A class on one small server: N browser sessions each train the book's run at once, one more browses meanwhile.

    MNIST_DIR=../shared/data/mnist python -m benchmarks.load_test --sessions 10
    MNIST_DIR=../shared/data/mnist python -m benchmarks.load_test --sessions 10 30 --abandon 10
    MNIST_DIR=../shared/data/mnist python -m benchmarks.load_test --cpu        # CPU per open page (train/wait/idle)

Not a test: it reports, it asserts nothing. The server (``streamlit run app.py``, offline) is pinned to core 0 with
``taskset`` (its training processes inherit that core) and, where a cgroup can be made (``systemd-run --scope -p
MemoryMax=1G``), limited to 1 GB; this process, Playwright and Debian's Chromium are pinned to the other cores.

``--sessions N``: N browser contexts open Train (each with its own seed in the link, ``?seed=<i>``, so that its run's
name says whose it is) and press Start within a few seconds; one more context switches pages in the sidebar
meanwhile (click → the new page's title visible). Reported per N: runs finished, Start → finished as the student
sees it (median, p95, max), the wait in line (Start → "training" on the page), page-switch latency (p50, p95,
max), peak memory of the server with its training processes (PSS summed over the process tree, sampled twice a
second: shared pages counted once, as a memory cgroup counts them; the RSS sum, which counts the training
processes' copy-on-write MNIST once each, is in the raw figures), exceptions shown on pages, "Connecting" banners, and runs a session saw that it did not start.

``--abandon N``: N sessions press Start and close their pages at once; a newcomer then presses Start. Reported: the
time from the close until the newcomer's run trains (with ``SGDLAB_ABANDON_GRACE_S`` set to ``--grace``).

``--cpu``: the server's own CPU time (not its training processes') per open page and second, while the page's run
trains, waits in line, or is finished, each minus the same server's cost with the same runs and no page open.

Results: a Markdown table on stdout and the raw figures in ``benchmarks/results/load-<time>.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable

from benchmarks.appserver import CHROMIUM, CHROMIUM_ARGS, REPO, _wait_for

RESULTS_DIR = Path(__file__).resolve().parent / "results"
TICK = os.sysconf("SC_CLK_TCK")
#: The cores this process may use before ``_pin_browser_side`` gives the browsers all but the first: the server's
#: pin is decided from these (read after the pin, the process sees only the browsers' cores and pinned nothing).
CORES = sorted(os.sched_getaffinity(0))
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")

#: Sidebar link → the title the page shows (English).
BROWSE = [("Train", "Train the network"), ("Loss curves", "Loss curves"), ("Overfitting check", "Overfitting check"),
          ("Home", "SGD Lab")]

#: What one look at a session's page reads: the run's heading, its progress line, errors and disconnects.
LOOK = """() => {
    const heads = [...document.querySelectorAll('h4')].map(h => h.innerText).filter(s => s.startsWith('#'));
    const progress = document.querySelector('[data-testid="stProgress"]')?.innerText ?? '';
    const widget = document.querySelector('[data-testid="stStatusWidget"]')?.innerText ?? '';
    const dialog = [...document.querySelectorAll('[role="dialog"]')].map(d => d.innerText).join(' ');
    const table = [...document.querySelectorAll('[data-testid="stDataFrame"]')].length;
    return {heads, progress, connecting: /Connecting|Connection error|接続/.test(widget + ' ' + dialog),
            exceptions: document.querySelectorAll('[data-testid="stException"]').length,
            charts: document.querySelectorAll('[data-testid="stPlotlyChart"]').length, table};
}"""


# -- the server and what it costs -----------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children_of() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            ppid = int(Path(f"/proc/{entry.name}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        kids.setdefault(ppid, []).append(int(entry.name))
    return kids


def tree(pid: int) -> list[int]:
    """``pid`` and all its descendants."""
    kids, out, todo = _children_of(), [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def rss_bytes(pids) -> int:
    total = 0
    for pid in pids:
        try:
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_SIZE
        except (OSError, IndexError, ValueError):
            pass
    return total


def pss_bytes(pids) -> int:
    """The proportional set size summed over ``pids``: each page shared by k of them counted 1/k in each, so the
    forked training processes' copy-on-write MNIST arrays count once. Close to what a memory cgroup charges; the
    RSS sum counts shared pages once per process and overstates it."""
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1]) * 1024
                    break
        except (OSError, IndexError, ValueError):
            pass
    return total


def own_cpu_s(pid: int) -> float:
    """User + system CPU seconds of ``pid`` itself (all its threads; not its children's)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


class MemorySampler:
    """The server's process tree's summed PSS (``pss_bytes``) and RSS, twice a second, in a thread."""

    def __init__(self, pid: int, every: float = 0.5) -> None:
        self.pid, self.every, self.samples = pid, every, []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            pids = tree(self.pid)
            self.samples.append((time.time(), pss_bytes(pids), rss_bytes(pids)))
            self._stop.wait(self.every)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def peak_mib(self, since: float = 0.0, rss: bool = False) -> float:
        values = [sample[2 if rss else 1] for sample in self.samples if sample[0] >= since]
        return round(max(values) / 2**20, 1) if values else float("nan")

    def last_mib(self) -> float:
        return round(self.samples[-1][1] / 2**20, 1) if self.samples else float("nan")


def _limits() -> tuple[list[str], str]:
    """The command prefix that pins the server to core 0 (and caps it at 1 GB where a cgroup can be made)."""
    prefix, notes = [], []
    if shutil.which("systemd-run") and subprocess.run(
            ["systemd-run", "--scope", "--quiet", "-p", "MemoryMax=1G", "true"], capture_output=True).returncode == 0:
        prefix += ["systemd-run", "--scope", "--quiet", "-p", "MemoryMax=1G"]
        notes.append("memory capped at 1 GB (systemd-run scope)")
    else:
        notes.append("no 1 GB cap: no cgroup can be made here (no systemd, /sys/fs/cgroup read-only)")
    if shutil.which("taskset") and len(CORES) > 1:
        prefix += ["taskset", "-c", str(CORES[0])]
        notes.append(f"server pinned to core {CORES[0]}, browsers to the others")
    else:
        notes.append("server not pinned: one core in all, shared with the browsers")
    return prefix, "; ".join(notes)


@contextlib.contextmanager
def server(app_dir: Path, env: dict | None = None):
    """(url, pid of the Python server process, note) of ``app_dir``'s app, pinned and capped; stopped after."""
    prefix, note = _limits()
    port = _free_port()
    RESULTS_DIR.mkdir(exist_ok=True)
    log = open(RESULTS_DIR / f"server-{port}.log", "w")  # a pipe nobody reads would stop the server once full
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [*prefix, sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
         "--server.address", "127.0.0.1", "--server.port", str(port), "--browser.gatherUsageStats", "false",
         "--server.fileWatcherType", "none", "--server.runOnSave", "false"],
        cwd=app_dir, env={**os.environ, "SGDLAB_OFFLINE": "1", **(env or {})},
        stdout=subprocess.DEVNULL, stderr=log, text=True, start_new_session=True,
    )
    try:
        _wait_for(url, 120)
        # systemd-run/taskset exec the Python process: it is proc itself, or its only child
        pid = next(p for p in tree(proc.pid) if "streamlit" in Path(f"/proc/{p}/cmdline").read_text())
        yield url, pid, f"{note} (the server's cores: {sorted(os.sched_getaffinity(pid))})"
    finally:
        os.killpg(proc.pid, 15)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
        log.close()


def _pin_browser_side() -> None:
    if len(CORES) > 1:
        os.sched_setaffinity(0, CORES[1:])  # Playwright's driver and Chromium inherit it


def _pct(values, q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, max(0, round(q * (len(values) - 1))))]


def say(*what) -> None:
    print(time.strftime("%H:%M:%S"), *what, file=sys.stderr, flush=True)


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


# -- one student -----------------------------------------------------------------------------------------------


class Student:
    """One browser context: opens Train with its own seed, presses Start, watches until its run is finished."""

    def __init__(self, browser, url: str, seed: int, query: str = "") -> None:
        self.browser, self.url, self.seed, self.query = browser, url, seed, query
        self.context = self.page = None
        self.clicked = self.training_at = self.finished_at = None
        self.took_s = None
        self.exceptions = self.connecting = self.page_errors = 0
        self.foreign: set[str] = set()
        self.error = ""
        self.max_charts_waiting = 0
        self.page_error_texts: list[str] = []
        self.last_text = ""  # the progress line last read (what an unfinished run's page said at the end)
        self.seen_at: dict[str, float] = {}  # "waiting", "training", "finished" → first seen, seconds after Start

    async def open(self) -> None:
        self.context = await self.browser.new_context(viewport={"width": 1280, "height": 800})
        self.page = await self.context.new_page()
        self.page.on("pageerror", self._page_error)
        await self.page.goto(f"{self.url}/train?seed={self.seed}{self.query}", timeout=180_000)
        await self.page.get_by_role("button", name="Start").wait_for(timeout=180_000)

    async def start(self) -> None:
        button = self.page.get_by_role("button", name="Start", exact=True)
        await button.wait_for(timeout=180_000)  # the page may be redrawn meanwhile (a crowded server: slowly)
        if await button.is_disabled(timeout=180_000):  # a long run asks for a confirmation first
            await self.page.get_by_text("Yes, train for").first.click(timeout=60_000)
            end = time.perf_counter() + 120
            while await button.is_disabled() and time.perf_counter() < end:
                await asyncio.sleep(0.5)
        await button.click(timeout=120_000)
        self.clicked = time.perf_counter()

    def _page_error(self, error) -> None:
        self.page_errors += 1
        if len(self.page_error_texts) < 3:
            self.page_error_texts.append(f"seed {self.seed}, {self.phase()}: {str(error)[:200]}")

    def phase(self) -> str:
        return "before Start" if self.clicked is None else "after Start"

    async def look(self) -> dict:
        seen = await self.page.evaluate(LOOK)
        mine = f"seed {self.seed}"
        for head in seen["heads"]:
            if not head.rstrip().endswith(mine) and not any(f.startswith(head + " (") for f in self.foreign):
                address = self.page.url.split("?", 1)[-1] if "?" in self.page.url else ""
                self.foreign.add(f"{head} (on the page of seed {self.seed}, {self.phase()}; its address: "
                                 f"?{address})")
        self.exceptions = max(self.exceptions, seen["exceptions"])
        self.connecting += bool(seen["connecting"])
        return seen

    async def watch(self, deadline: float, every: float = 1.0) -> None:
        import re

        try:
            while time.perf_counter() < deadline:
                seen = await self.look()
                text = seen["progress"]
                self.last_text = text
                now = time.perf_counter()
                for word in ("waiting", "training", "finished"):
                    if word in text and word not in self.seen_at and self.clicked is not None:
                        self.seen_at[word] = round(now - self.clicked, 1)
                if self.training_at is None and ("training" in text or "finished" in text):
                    self.training_at = now
                if "waiting" in text:
                    self.max_charts_waiting = max(self.max_charts_waiting, seen["charts"])
                if "finished" in text:
                    self.finished_at = now
                    found = re.search(r"took ([\d.]+) s", text)
                    self.took_s = float(found.group(1)) if found else None
                    return
                await asyncio.sleep(every)
        except Exception as exc:  # noqa: BLE001 - a benchmark reports
            self.error = f"{type(exc).__name__}: {exc}".splitlines()[0]

    async def close(self) -> None:
        if self.context is not None:
            with contextlib.suppress(Exception):
                await self.context.close()


async def _browse(browser, url: str, stop: asyncio.Event, latencies: list, problems: dict,
                  ready: Callable[[], None] = lambda: None) -> None:
    """A visitor who switches pages in the sidebar every 2 s: latency = click → the new page's title visible."""
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    page = await context.new_page()
    page.on("pageerror", lambda _: problems.__setitem__("page_errors", problems.get("page_errors", 0) + 1))
    try:
        await page.goto(url + "/", timeout=180_000)
        await page.locator("h1", has_text="SGD Lab").first.wait_for(timeout=180_000)
        ready()
        i = 0
        while not stop.is_set():
            label, title = BROWSE[i % len(BROWSE)]
            i += 1
            began = time.perf_counter()
            try:
                await page.locator('[data-testid="stSidebarNav"] a', has_text=label).first.click(timeout=60_000)
                await page.locator("h1", has_text=title).first.wait_for(timeout=60_000)
                latencies.append(time.perf_counter() - began)
            except Exception:  # noqa: BLE001
                problems["timeouts"] = problems.get("timeouts", 0) + 1
            seen = await page.evaluate(LOOK)
            problems["exceptions"] = max(problems.get("exceptions", 0), seen["exceptions"])
            problems["connecting"] = problems.get("connecting", 0) + bool(seen["connecting"])
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), 2.0)
    finally:
        await context.close()


#: The browsing visitor's niceness: a student on a computer of their own, whose browser does not wait behind the
#: class's N browser tabs, which share this machine's other core (below 0 needs root: else it runs at 0, and the
#: report says so).
VISITOR_NICENESS = -10


async def _visit(browser, url: str, out: Path) -> None:
    """The visitor process's work (``--visitor``): browse until SIGTERM, then write what it saw to ``out``."""
    latencies, problems, stop = [], {}, asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await _browse(browser, url, stop, latencies, problems, ready=lambda: print("ready", flush=True))
    out.write_text(json.dumps({"latencies": latencies, "problems": problems,
                               "niceness": os.getpriority(os.PRIO_PROCESS, 0)}))


class Visitor:
    """The browsing visitor in a process and a Chromium of its own, at ``VISITOR_NICENESS``: the page-switch
    latency is the server's (and the visitor's own page's), not that of 30 tabs taking turns on one core."""

    def __init__(self, url: str) -> None:
        self.out = RESULTS_DIR / f".visitor-{os.getpid()}.json"
        self.out.unlink(missing_ok=True)
        self.proc = subprocess.Popen(
            ["nice", "-n", str(VISITOR_NICENESS), sys.executable, "-m", "benchmarks.load_test", "--visitor", url,
             "--visitor-out", str(self.out)],
            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)

    async def ready(self) -> None:
        line = await asyncio.to_thread(self.proc.stdout.readline)
        if line.strip() != "ready":
            raise RuntimeError(f"the browsing visitor did not start (exit {self.proc.poll()})")

    async def stop(self) -> dict:
        self.proc.send_signal(signal.SIGTERM)
        await asyncio.to_thread(self.proc.wait, 120)
        seen = json.loads(self.out.read_text()) if self.out.exists() else {"latencies": [], "problems": {}}
        self.out.unlink(missing_ok=True)
        return seen


async def _class(browser, url: str, n: int, timeout_s: float, sampler: MemorySampler) -> dict:
    students = [Student(browser, url, seed=i + 1) for i in range(n)]
    opened = time.perf_counter()
    await asyncio.gather(*(s.open() for s in students))
    opened_s = time.perf_counter() - opened
    visitor = Visitor(url)
    await visitor.ready()
    began = time.perf_counter()
    began_wall = time.time()
    await asyncio.gather(*(s.start() for s in students))
    say(f"class of {n}: all pressed Start")
    starts_spread = max(s.clicked for s in students) - min(s.clicked for s in students)
    deadline = began + timeout_s
    await asyncio.gather(*(s.watch(deadline) for s in students))
    seen = await visitor.stop()
    latencies, problems = seen["latencies"], seen["problems"]
    last_end = max((s.finished_at for s in students if s.finished_at), default=None)
    for s in students:
        await s.close()
    await asyncio.sleep(3.0)
    done = [s for s in students if s.finished_at]
    to_finish = [s.finished_at - s.clicked for s in done]
    waits = [s.training_at - s.clicked for s in students if s.training_at]
    return {
        "sessions": n,
        "open_s": round(opened_s, 1),
        "starts_within_s": round(starts_spread, 1),
        "finished": len(done),
        "finish_s": [round(x, 1) for x in to_finish],
        "finish_median_s": round(statistics.median(to_finish), 1) if to_finish else None,
        "finish_p95_s": round(_pct(to_finish, 0.95), 1) if to_finish else None,
        "finish_max_s": round(max(to_finish), 1) if to_finish else None,
        "last_finished_after_s": round(last_end - began, 1) if last_end else None,
        "took_median_s": round(statistics.median([s.took_s for s in done if s.took_s]), 2)
        if any(s.took_s for s in done) else None,
        "wait_median_s": round(statistics.median(waits), 1) if waits else None,
        "wait_max_s": round(max(waits), 1) if waits else None,
        "switch_count": len(latencies),
        "switch_p50_s": round(_pct(latencies, 0.5), 2),
        "switch_p95_s": round(_pct(latencies, 0.95), 2),
        "switch_max_s": round(max(latencies), 2) if latencies else None,
        "switch_timeouts": problems.get("timeouts", 0),
        "visitor_niceness": seen.get("niceness"),
        "peak_mib": sampler.peak_mib(began_wall),
        "peak_rss_sum_mib": sampler.peak_mib(began_wall, rss=True),
        "after_mib": sampler.last_mib(),
        "exceptions": sum(s.exceptions for s in students) + problems.get("exceptions", 0),
        "page_errors": sum(s.page_errors for s in students) + problems.get("page_errors", 0),
        "connecting": sum(s.connecting for s in students) + problems.get("connecting", 0),
        "foreign_runs_seen": sorted({h for s in students for h in s.foreign}),
        "charts_on_waiting_pages": max(s.max_charts_waiting for s in students),
        "watch_errors": [s.error for s in students if s.error][:3],
        "timelines": [{"seed": s.seed, **s.seen_at, "took": s.took_s} for s in students],
        "page_error_texts": [e for s in students for e in s.page_error_texts][:5],
        "not_finished": [{"seed": s.seed, "clicked": s.clicked is not None, "last": s.last_text[:160],
                          "error": s.error} for s in students if not s.finished_at],
        "load_average": load_average(),
    }


async def _abandon(browser, url: str, n: int, grace: float, timeout_s: float) -> dict:
    """``n`` sessions press Start and close; newcomer A presses Start at once (its run trains when the abandoned
    ones have been stopped: within the grace period?), newcomer B once the grace period has passed (does it start
    at once?)."""
    students = [Student(browser, url, seed=i + 1) for i in range(n)]
    await asyncio.gather(*(s.open() for s in students))
    await asyncio.gather(*(s.start() for s in students))
    await asyncio.sleep(2.0)  # the Start reached the server
    for s in students:
        await s.close()
    closed = time.perf_counter()
    say(f"abandon: {n} closed")
    first, second = Student(browser, url, seed=n + 1), Student(browser, url, seed=n + 2)
    await asyncio.gather(first.open(), second.open())
    await first.start()
    await first.watch(closed + timeout_s, every=0.25)
    await asyncio.sleep(max(0.0, closed + grace + 2.0 - time.perf_counter()))
    await second.start()
    await second.watch(time.perf_counter() + timeout_s, every=0.25)
    for s in (first, second):
        await s.close()

    def since(s: Student, t0: float | None) -> float | None:
        return round(s.training_at - t0, 1) if s.training_at and t0 else None

    return {
        "abandoned": n, "grace_s": grace,
        "newcomer_trains_after_close_s": since(first, closed),
        "newcomer_wait_after_start_s": since(first, first.clicked),
        "later_newcomer_wait_after_start_s": since(second, second.clicked),
        "timeout_s": timeout_s, "load_average": load_average(),
    }


async def _with_browser(work):
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            return await work(browser)
        finally:
            await browser.close()


def server_side(run_log: Path) -> dict:
    """What the server did (``SGDLAB_RUN_LOG``: one line per ended run; an app without it writes none): each
    run's Start → finished and wait in line as the server saw them (from the moment its Start reached the
    server), and how long the whole class took from the first Start to the last run's end. The students' pages
    show the same ends later when their browsers lag (here: N tabs on one core)."""
    if not run_log.exists():
        return {}
    runs = [json.loads(line) for line in run_log.read_text().splitlines() if line.strip()]
    done = [r for r in runs if r["status"] == "finished"]
    if not done:
        return {"server_runs_finished": 0}
    spans = [r["ended"] - r["submitted"] for r in done]
    waits = [r["started"] - r["submitted"] for r in done if r["started"]]
    return {
        "server_runs_finished": len(done),
        "server_finish_median_s": round(statistics.median(spans), 1),
        "server_finish_p95_s": round(_pct(spans, 0.95), 1),
        "server_finish_max_s": round(max(spans), 1),
        "server_wait_median_s": round(statistics.median(waits), 1) if waits else None,
        "server_took_median_s": round(statistics.median(r["took"] for r in done), 2),
        "server_class_s": round(max(r["ended"] for r in done) - min(r["submitted"] for r in runs), 1),
    }


def run_class(app_dir: Path, n: int, timeout_s: float, env: dict) -> dict:
    run_log = RESULTS_DIR / f".runs-{os.getpid()}-{n}.jsonl"
    run_log.unlink(missing_ok=True)
    with server(app_dir, {**env, "SGDLAB_RUN_LOG": str(run_log)}) as (url, pid, note), \
            MemorySampler(pid) as sampler:
        time.sleep(2.0)
        idle = sampler.last_mib()
        result = asyncio.run(_with_browser(lambda b: _class(b, url, n, timeout_s, sampler)))
        result.update(idle_mib=idle, limits=note, server_cpu_s=round(own_cpu_s(pid), 1))
    result.update(server_side(run_log))
    run_log.unlink(missing_ok=True)
    return result


def run_abandon(app_dir: Path, n: int, grace: float, timeout_s: float, env: dict) -> dict:
    with server(app_dir, {**env, "SGDLAB_ABANDON_GRACE_S": str(grace)}) as (url, pid, note):
        result = asyncio.run(_with_browser(lambda b: _abandon(b, url, n, grace, timeout_s)))
        result["limits"] = note
        return result


# -- CPU per open page ---------------------------------------------------------------------------------------


def cpu_over(pid: int, seconds: float) -> float:
    """The server's own CPU seconds over the next ``seconds``."""
    before = own_cpu_s(pid)
    time.sleep(seconds)
    return own_cpu_s(pid) - before


async def _measure_cpu(browser, url: str, pid: int, pages: int, window: float) -> dict:
    async def window_cpu() -> float:
        return await asyncio.to_thread(cpu_over, pid, window)

    async def until(students, word: str, limit: float = 120.0) -> None:
        end = time.perf_counter() + limit
        while time.perf_counter() < end:
            texts = [(await s.look())["progress"] for s in students]
            if all(word in t for t in texts):
                return
            await asyncio.sleep(1.0)

    long_run = "&iters=100000"
    out = {"pages": pages, "window_s": window}
    # 1. Two sessions train (the pool's two slots), their pages open; then the same with their pages closed
    trainers = [Student(browser, url, seed=i + 1, query=long_run) for i in range(2)]
    await asyncio.gather(*(s.open() for s in trainers))
    await asyncio.gather(*(s.start() for s in trainers))
    await until(trainers, "training")
    await asyncio.sleep(3.0)
    say("cpu: 2 pages training")
    training = await window_cpu()
    # 2. ``pages`` sessions wait in line behind them (the trainers' pages closed: their runs go on)
    for s in trainers:
        await s.close()
    waiters = [Student(browser, url, seed=10 + i) for i in range(pages)]  # the book's run: no confirmation
    for s in waiters:
        await s.open()
        await s.start()
    await until(waiters, "waiting")
    await asyncio.sleep(3.0)
    say(f"cpu: {pages} pages waiting")
    waiting = await window_cpu()
    charts = max([(await s.look())["charts"] for s in waiters])
    for s in waiters:
        await s.close()
    await asyncio.sleep(3.0)
    say("cpu: no page")
    base = await window_cpu()  # the same runs training and waiting, no page open
    # 3. finished runs: ``pages`` sessions whose short run has ended
    # (the long runs still go on: the base above is their cost without pages)
    out.update(
        training_ms_per_page_s=round(1000 * (training - base) / 2 / window, 2),
        waiting_ms_per_page_s=round(1000 * (waiting - base) / pages / window, 2),
        base_ms_per_s=round(1000 * base / window, 1),
        charts_on_a_waiting_page=charts,
    )
    return out


async def _measure_idle(browser, url: str, pid: int, pages: int, window: float) -> dict:
    base = await asyncio.to_thread(cpu_over, pid, window)
    students = [Student(browser, url, seed=1 + i, query="&iters=100") for i in range(pages)]
    for s in students:
        await s.open()
        await s.start()
    await asyncio.gather(*(s.watch(time.perf_counter() + 120) for s in students))
    await asyncio.sleep(3.0)
    say(f"cpu: {pages} pages finished")
    finished = await asyncio.to_thread(cpu_over, pid, window)
    return {"finished_ms_per_page_s": round(1000 * (finished - base) / pages / window, 2),
            "finished_of": sum(bool(s.finished_at) for s in students)}


def run_cpu(app_dir: Path, pages: int, window: float, env: dict) -> dict:
    env = {**env, "SGDLAB_ABANDON_GRACE_S": "100000", "SGDLAB_MAX_TRAININGS": "2"}
    with server(app_dir, env) as (url, pid, note):
        result = asyncio.run(_with_browser(lambda b: _measure_cpu(b, url, pid, pages, window)))
    with server(app_dir, env) as (url, pid, note):
        result.update(asyncio.run(_with_browser(lambda b: _measure_idle(b, url, pid, pages, window))))
    result.update(limits=note, load_average=load_average())
    return result


# -- report ----------------------------------------------------------------------------------------------------


def markdown(results: dict) -> str:
    lines, server_notes = [], []
    classes = results.get("classes", [])
    if classes:
        lines += ["| sessions | runs finished | Start → finished median / p95 / max | wait in line median / max "
                  "| page switch p50 / p95 / max | memory, PSS: idle → peak → after (peak RSS sum) | exceptions | disconnects "
                  "| others' runs seen | load avg |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
        for r in classes:
            if "server_class_s" in r:  # the server's own times (SGDLAB_RUN_LOG), beside what the pages showed
                server_notes.append(
                    f"{r['sessions']} sessions, as the server saw them: {r['server_runs_finished']} runs finished, "
                    f"Start → finished {r['server_finish_median_s']} / {r['server_finish_p95_s']} / "
                    f"{r['server_finish_max_s']} s (median / p95 / max), wait in line {r['server_wait_median_s']} s "
                    f"(median), a run trained {r['server_took_median_s']} s (median), the last ended "
                    f"{r['server_class_s']} s after the first Start reached the server.")
            lines.append(
                f"| {r['sessions']} | {r['finished']}/{r['sessions']} | {r['finish_median_s']} / {r['finish_p95_s']} / "
                f"{r['finish_max_s']} s | {r['wait_median_s']} / {r['wait_max_s']} s | {r['switch_p50_s']} / "
                f"{r['switch_p95_s']} / {r['switch_max_s']} s ({r['switch_count']}, {r['switch_timeouts']} timed out) "
                f"| {r['idle_mib']} → {r['peak_mib']} → {r['after_mib']} MiB ({r.get('peak_rss_sum_mib')}) "
                f"| {r['exceptions']} "
                f"| {r['connecting']} | {len(r['foreign_runs_seen'])} | {r['load_average']} |")
    if server_notes:
        lines += [""] + server_notes
    if "abandon" in results:
        a = results["abandon"]
        lines += ["", f"Abandonment: {a['abandoned']} sessions pressed Start and closed (grace {a['grace_s']} s); "
                      f"a newcomer's run trained {a['newcomer_trains_after_close_s']} s after the close "
                      f"(waited {a['newcomer_wait_after_start_s']} s after its Start; gave up after {a['timeout_s']} s); "
                      f"a newcomer who pressed Start after the grace period waited "
                      f"{a['later_newcomer_wait_after_start_s']} s (Start → \"training\" on its page)."]
    if "cpu" in results:
        c = results["cpu"]
        lines += ["", "| server CPU per open page | training | waiting in line | finished |", "|---|---|---|---|",
                  f"| ms per second | {c['training_ms_per_page_s']} | {c['waiting_ms_per_page_s']} "
                  f"| {c['finished_ms_per_page_s']} |",
                  "", f"({c['pages']} waiting pages, 2 training, windows of {c['window_s']} s; charts on a waiting "
                      f"page: {c['charts_on_a_waiting_page']}; server base with those runs and no page: "
                      f"{c['base_ms_per_s']} ms/s; load avg {c['load_average']})"]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.load_test", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, nargs="*", default=[], help="class sizes, e.g. 10 30")
    parser.add_argument("--timeout", type=float, default=300, help="seconds a class may take before it is cut off")
    parser.add_argument("--abandon", type=int, default=0, help="sessions that start and close (0: skip)")
    parser.add_argument("--grace", type=float, default=15, help="SGDLAB_ABANDON_GRACE_S for --abandon")
    parser.add_argument("--abandon-timeout", type=float, default=120)
    parser.add_argument("--cpu", action="store_true", help="measure the server's CPU per open page")
    parser.add_argument("--pages", type=int, default=6, help="waiting / finished pages for --cpu")
    parser.add_argument("--window", type=float, default=20, help="seconds of each --cpu window")
    parser.add_argument("--app-dir", type=Path, default=REPO, help="the app to serve (e.g. a checkout of a base)")
    parser.add_argument("--label", default="", help="a name for the results file")
    parser.add_argument("--visitor", metavar="URL", help=argparse.SUPPRESS)  # the browsing visitor's process
    parser.add_argument("--visitor-out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.visitor:
        asyncio.run(_with_browser(lambda b: _visit(b, args.visitor, args.visitor_out)))
        return 0
    if not (args.sessions or args.abandon or args.cpu):
        args.sessions = [10]
    if not os.path.exists(CHROMIUM):
        print(f"{CHROMIUM} is missing (apt-get install -y chromium)", file=sys.stderr)
        return 1
    _pin_browser_side()
    # stopped by `timeout` or kill: unwind, so that the server (its own process group) and Chromium are stopped
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    env = {"MNIST_DIR": os.environ.get("MNIST_DIR", str(REPO.parent / "shared" / "data" / "mnist"))}
    results: dict = {"app_dir": str(args.app_dir), "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                     "load_average_before": load_average(), "classes": []}
    for n in args.sessions:
        results["classes"].append(run_class(args.app_dir, n, args.timeout, env))
        print(json.dumps(results["classes"][-1]), file=sys.stderr, flush=True)
    if args.abandon:
        results["abandon"] = run_abandon(args.app_dir, args.abandon, args.grace, args.abandon_timeout, env)
        print(json.dumps(results["abandon"]), file=sys.stderr, flush=True)
    if args.cpu:
        results["cpu"] = run_cpu(args.app_dir, args.pages, args.window, env)
        print(json.dumps(results["cpu"]), file=sys.stderr, flush=True)
    RESULTS_DIR.mkdir(exist_ok=True)
    name = time.strftime("load-%Y%m%d-%H%M%S") + (f"-{args.label}" if args.label else "") + ".json"
    (RESULTS_DIR / name).write_text(json.dumps(results, indent=1))
    print(markdown(results))
    print(f"\n(raw: benchmarks/results/{name})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
