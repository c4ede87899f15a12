"""Background training, off Streamlit's script thread: each run has a worker thread, and trains in a forked child
process (``ui.forked``, the default on Linux) or in that thread (``SGDLAB_TRAIN_IN=thread``; the default where
``fork`` is unsafe).

Either way the run is ``nn.train.train`` — the same loop the command line runs — filling a ``Run`` record that
pages draw live by polling (``st.fragment(run_every=...)``); page navigation neither blocks nor kills it. In a
child process the steps never wait for the GIL while the server builds and sends pages (with Chromium on the same
two cores, that wait made the book's run ~2× slower than on the command line). Workers never call ``st.*``.

A process-wide ``TrainingPool`` (one per server, in ``st.cache_resource``) lets at most K trainings run at once;
the others wait in line (first come, first served) and say which place they have. The pool only holds the jobs
that wait or run, to order them; a visitor's jobs are reachable only from that visitor's session state.
"""

from __future__ import annotations

import ipaddress
import os
import statistics
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from urllib.parse import urlsplit
from typing import Callable

import streamlit as st

from nn.blas import limit_blas_threads
from nn.messages import Message
from nn.train import Run, TrainConfig, train
from ui import jobs
from ui.forked import resume_arguments, resumed_record, train_forked

#: Default for ``SGDLAB_MAX_TRAININGS``. Streamlit Community Cloud gives an app about 0.08-2 CPU cores shared
#: by all its visitors. One training keeps one core busy (the matrices are too small for BLAS to use more), so
#: two at once fill two cores; more would only slice the same cores thinner — every run slower, none sooner —
#: and starve the script threads that draw the pages. Two rather than one so that a single slow run (a
#: numerical-gradient one) cannot make everybody else wait for it.
DEFAULT_MAX_TRAININGS = 2

@dataclass(frozen=True)
class Refresh:
    """How often, in seconds, a page redraws a live run: its progress line, its charts and tables, and the
    sidebar's run line (None: not at all). Each redraw is a Streamlit fragment rerun: it costs the server a
    script run (``RERUN_MS``) and the browser a React pass over the whole page. ``level``: how many times slower
    than the base rates the server's load made them (1, 2, 4…)."""

    status: float | None
    chart: float | None
    sidebar: float | None
    level: int = 1

    def slower(self, factor: int) -> "Refresh":
        def times(x):
            return None if x is None else x * factor

        return Refresh(times(self.status), times(self.chart), times(self.sidebar), self.level * factor)


#: A few times a second for the progress; charts and tables every 2 s (one page watching alone).
FAST = Refresh(status=0.5, chart=2.0, sidebar=2.0)
#: Where the browser shares a small machine with the training (``SGDLAB_REFRESH=gentle``): with Chromium on the
#: same 2 cores as the book's run (benchmarks/app_browser.py) FAST made the run 11.7-18 % slower than on the
#: command line, GENTLE 9-10.5 %.
GENTLE = Refresh(status=1.0, chart=3.0, sidebar=4.0)
#: A finished run, or none: nothing polls.
STILL = Refresh(status=None, chart=None, sidebar=None)
#: A run waiting in line: its page says its place this often (at least), and draws no chart until it starts.
WAITING_S = 8.0
#: The server's CPU milliseconds one rerun of each live fragment costs on the Train page while a run trains, on
#: the safe side: at FAST rates they add up to 31 ms per page and second, where benchmarks/load_test.py --cpu
#: measured 10.75 (2026-12-02, one core, a busy machine; 21.75 before the chart was updated in place).
RERUN_MS = Refresh(status=8.0, chart=25.0, sidebar=5.0)
#: CPU milliseconds per second that all open live pages together may cost the server (0.15 of one core: the
#: trainings keep the rest, and page switches find the server free).
LIVE_BUDGET_MS_PER_S = 150.0
#: The slowest the load may make a training's page: its progress every 0.5 s × 32 = 16 s.
MAX_LEVEL = 32
#: States of the run a page watches: ``run_state``.
RUN_STATES = ("training", "waiting", "done")


def run_state(job) -> str:
    """"training" (or about to), "waiting" (in line), or "done" (finished, stopped, failed; also no job)."""
    if job is None or job.run.done:
        return "done"
    return "waiting" if job.run.status == "pending" and job.place_in_line() else "training"


def cost_ms_per_s(rates: Refresh, cost: Refresh = RERUN_MS) -> float:
    """The server's CPU milliseconds per second one page polling at ``rates`` costs."""
    return sum(c / r for c, r in ((cost.status, rates.status), (cost.chart, rates.chart),
                                  (cost.sidebar, rates.sidebar)) if r)


def load_level(base: Refresh, viewers: int, budget_ms_per_s: float = LIVE_BUDGET_MS_PER_S) -> int:
    """The smallest power of two by which ``viewers`` pages polling at ``base`` must slow down to stay within
    the budget (at most ``MAX_LEVEL``)."""
    need = max(1, viewers) * cost_ms_per_s(base)
    level = 1
    while need / level > budget_ms_per_s and level < MAX_LEVEL:
        level *= 2
    return level


def choose_refresh(state: str, viewers: int = 1, setting: str = "auto",
                   budget_ms_per_s: float = LIVE_BUDGET_MS_PER_S) -> Refresh:
    """The refresh rates of a page whose run is in ``state`` ("training", "waiting", "done") while ``viewers``
    pages in all poll a live run on this server. A training's page starts from ``FAST`` (``GENTLE`` with the
    setting "gentle") and slows down by powers of two as the viewers grow, so that together they stay within
    ``budget_ms_per_s``; a waiting run's page polls its place every ``WAITING_S`` or slower and draws no chart;
    a finished run's page does not poll."""
    if state not in ("training", "waiting"):
        return STILL
    base = GENTLE if (setting or "").strip().lower() == "gentle" else FAST
    level = load_level(base, viewers, budget_ms_per_s)
    if state == "waiting":
        every = max(WAITING_S, base.status * level)
        return Refresh(status=every, chart=None, sidebar=every, level=level)
    return base.slower(level)


def must_redraw_page(shown: Refresh, now: Refresh) -> bool:
    """Whether a fragment drawn with ``shown`` rates must rerun the whole page to take up ``now``'s (a
    fragment's rate is fixed where the page defines it): when the run's state changed (it started, so its chart
    comes; it ended, so nothing polls), when the load asks for slower rates, or for rates 4× faster (not at
    every viewer who comes or goes)."""
    if (shown.status is None) != (now.status is None) or (shown.chart is None) != (now.chart is None):
        return True
    if (shown.chart is None) and (shown.status is not None) and (now.chart is None):  # waiting: slow in any case
        return now.level > shown.level
    return now.level > shown.level or now.level * 4 <= shown.level


class LiveViewers:
    """The pages that poll a live run on this server: each poll says "still here" with its interval, and a
    page counts until it has missed its next two polls. One entry per session (its Train page and sidebar are
    one viewer). Thread-safe; pure apart from the clock."""

    def __init__(self) -> None:
        self._until: dict[str, float] = {}
        self._lock = threading.Lock()

    def beat(self, viewer: str, interval: float | None, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            if interval is None:
                self._until.pop(viewer, None)
            else:
                self._until[viewer] = max(self._until.get(viewer, 0.0), now + max(2.5 * interval, 3.0))

    def count(self, now: float | None = None, including: str | None = None) -> int:
        now = time.monotonic() if now is None else now
        with self._lock:
            for viewer in [v for v, until in self._until.items() if until < now]:
                del self._until[viewer]
            return len(self._until) + (including is not None and including not in self._until)


@st.cache_resource(show_spinner=False)
def live_viewers() -> LiveViewers:
    """The server's one ``LiveViewers``."""
    return LiveViewers()


def _viewer_id() -> str:
    try:
        from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

        ctx = get_script_run_ctx(suppress_warning=True)
        return ctx.session_id if ctx is not None else "outside"
    except Exception:  # noqa: BLE001 - outside a script run
        return "outside"


def refresh(job=None, state: str | None = None) -> Refresh:
    """The refresh rates for the current visitor's page watching ``job`` (or a run in ``state``), from the
    server's load; records this page as a viewer while it polls. ``SGDLAB_REFRESH``: "auto" (the default) or
    "fast" start from ``FAST``, "gentle" from ``GENTLE``."""
    state = state or run_state(job)
    viewers, me = live_viewers(), _viewer_id()
    rates = choose_refresh(state, viewers.count(including=me if state != "done" else None),
                           os.environ.get("SGDLAB_REFRESH", "auto"))
    if rates.status is not None:
        viewers.beat(me, rates.status)
    return rates


def refresh_for(jobs) -> Refresh:
    """The rates of a page that watches several runs: as the liveliest of them."""
    states = {run_state(j) for j in jobs}
    return refresh(state=next((s for s in ("training", "waiting") if s in states), "done"))


def is_loopback(address: object) -> bool:
    """"127.0.0.1", "::1", "::ffff:127.0.0.1", "localhost" → True; other addresses, None, junk → False."""
    if not isinstance(address, str) or not address:
        return False
    try:
        ip = ipaddress.ip_address(address.strip("[]").split("%")[0])
    except ValueError:
        return address.lower() == "localhost"
    return (getattr(ip, "ipv4_mapped", None) or ip).is_loopback


def browser_is_local() -> bool:
    """Whether the current visitor's browser runs on this machine: its connection comes from a loopback
    address (Streamlit reports 127.0.0.1 and ::1 as None, so then the address it opened must be a loopback one).
    False when unknown, e.g. under AppTest."""
    try:
        address = st.context.ip_address
        return is_loopback(address) if address is not None else is_loopback(urlsplit(st.context.url or "").hostname)
    except Exception:  # noqa: BLE001 - outside a script run: not a browser at all
        return False


#: Where runs train: "process" (a forked child, see ``ui.forked``) where ``os.fork`` is safe, else "thread".
TRAIN_MODES = ("process", "thread")


def train_mode_from_env(environ=None) -> str:
    """``SGDLAB_TRAIN_IN`` ("process" or "thread"); the default is "process" on Linux, where forking the server
    is safe, and "thread" elsewhere (macOS's system libraries do not survive a fork of a threaded process)."""
    env = os.environ if environ is None else environ
    value = env.get("SGDLAB_TRAIN_IN", "").strip().lower()
    if value in TRAIN_MODES and (value == "thread" or hasattr(os, "fork")):
        return value
    return "process" if sys.platform.startswith("linux") and hasattr(os, "fork") else "thread"


def max_trainings_from_env(environ=None) -> int:
    env = os.environ if environ is None else environ
    try:
        value = int(env.get("SGDLAB_MAX_TRAININGS", DEFAULT_MAX_TRAININGS))
    except ValueError:
        return DEFAULT_MAX_TRAININGS
    return max(1, value)


class TrainingJob:
    """One run in the making: its record (filled in place by the worker), its thread and its Stop switch."""

    def __init__(self, job_id: int, config: TrainConfig, data, data_source: str, pool: "TrainingPool",
                 resume=None) -> None:
        self.id = job_id
        self._resume = resume  # a stepped run's state (nn.train.Training): the run goes on from it
        if resume is not None and pool.mode == "thread":
            self.run = resume.run  # trained on in this process: into the stepped run's own record
            self.run.status = "pending"
        else:
            self.run = Run(config)
            self.run.data_source = data_source
            if resume is not None:
                resumed_record(self.run, resume)  # its steps show at once, before its turn comes
        self.created_at = time.time()
        self.submitted_perf = time.perf_counter()
        self.ended_perf: float | None = None  # perf_counter() when the worker ended
        self._data = data
        self._pool = pool
        self._stop = threading.Event()
        self.error = ""
        self.waited_for_end = False  # the live view has waited once for this run's end (ui.training_view)
        self.thread = threading.Thread(target=self._work, name=f"sgdlab-train-{job_id}", daemon=True)

    # -- what pages read ------------------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return f"#{self.id} {self.run.name}"

    @property
    def config(self) -> TrainConfig:
        return self.run.config

    @property
    def stopping(self) -> bool:
        return self._stop.is_set() and not self.run.done

    def place_in_line(self) -> int | None:
        """1 for the next to start, 2 after it...; None when not waiting."""
        return self._pool.place_in_line(self)

    def status_text(self) -> str:
        """One line: "waiting — place 2 in line", "training 3,400 of 10,000", "finished: test 94.6%"..."""
        return jobs.status_text(self)

    # -- control --------------------------------------------------------------------------------------------
    def start(self) -> "TrainingJob":
        self.thread.start()
        return self

    def stop(self) -> None:
        """Ask the run to stop; it ends between two iterations, keeping everything recorded."""
        self._stop.set()
        self._pool.wake()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the worker to end; True if it has."""
        self.thread.join(timeout)
        return not self.thread.is_alive()

    def _work(self) -> None:
        if self._pool.blas_threads is not None and self._pool.mode == "thread":
            limit_blas_threads(self._pool.blas_threads)
        run = self.run
        if not self._pool.acquire(self, self._stop):
            run.status, run.reason = "stopped", Message("stopped_waiting")
            self._data = self._resume = None
            self.ended_perf = time.perf_counter()
            return
        try:
            if self._pool.mode == "process":
                train_forked(run.config, self._data, should_stop=self._stop.is_set, run=run,
                             data_source=run.data_source, blas_threads=self._pool.blas_threads,
                             resume=self._resume)
                if run.status == "failed":
                    self.error = run.reason
            else:
                if self._resume is not None:
                    run.status = "running"
                train(run.config, self._data, should_stop=self._stop.is_set, run=run, data_source=run.data_source,
                      **resume_arguments(self._resume))
        except Exception as exc:  # noqa: BLE001 - shown on the page; the worker must not die silently
            self.error = f"{type(exc).__name__}: {exc}"
            if not run.done:
                run.status, run.reason = "failed", Message("failed", error=str(exc))
        finally:
            self._data = self._resume = None  # the shared MNIST arrays are not held longer than needed
            self.ended_perf = time.perf_counter()
            self._pool.release(self)


class TrainingPool:
    """At most ``max_running`` trainings at once; the others wait in line, first come first served."""

    def __init__(self, max_running: int = DEFAULT_MAX_TRAININGS, blas_threads: int | None = 1,
                 mode: str | None = None) -> None:
        self.max_running = max(1, int(max_running))
        self.mode = mode if mode in TRAIN_MODES else train_mode_from_env()
        self.blas_threads = blas_threads  # None: leave OpenBLAS as it is (see limit_blas_threads)
        self._cond = threading.Condition()
        self._waiting: deque[TrainingJob] = deque()
        self._running: set[int] = set()  # id() of running jobs

    def submit(self, job_id: int, config: TrainConfig, data, data_source: str = "", resume=None) -> TrainingJob:
        """Create a job for ``config`` on ``data`` ((x_train, t_train), (x_test, t_test)) and start its thread.
        ``resume``: the core's state of a run stepped so far (the Code page's step-through): the job trains on from
        it, and its history is that of one run of the same seed."""
        problems = config.errors()
        if problems:
            raise ValueError("; ".join(problems))
        job = TrainingJob(job_id, config, data, data_source, self, resume=resume)
        with self._cond:  # join the line here, in the order of submission, not when the worker thread gets going
            self._waiting.append(job)
        return job.start()

    @property
    def running_count(self) -> int:
        with self._cond:
            return len(self._running)

    @property
    def waiting_count(self) -> int:
        with self._cond:
            return len(self._waiting)

    def place_in_line(self, job: TrainingJob) -> int | None:
        with self._cond:
            for place, waiting in enumerate(self._waiting, start=1):
                if waiting is job:
                    return place
        return None

    def acquire(self, job: TrainingJob, stop: threading.Event) -> bool:
        """Wait (in the line ``submit`` put the job in) for a free slot in turn; False if ``stop`` was set."""
        with self._cond:
            if job not in self._waiting:  # a job started without submit()
                self._waiting.append(job)
            try:
                while True:
                    if stop.is_set():
                        return False
                    if self._waiting[0] is job and len(self._running) < self.max_running:
                        self._running.add(id(job))
                        return True
                    self._cond.wait(timeout=0.5)
            finally:
                self._waiting.remove(job)
                self._cond.notify_all()

    def release(self, job: TrainingJob) -> None:
        with self._cond:
            self._running.discard(id(job))
            self._cond.notify_all()

    def wake(self) -> None:
        with self._cond:
            self._cond.notify_all()


@st.cache_resource(show_spinner=False)
def _pool(max_running: int) -> TrainingPool:
    return TrainingPool(max_running)


def pool() -> TrainingPool:
    """The process-wide pool (one per server process and ``SGDLAB_MAX_TRAININGS`` value)."""
    return _pool(max_trainings_from_env())


# -- measuring what the display costs ----------------------------------------------------------------------


def time_direct(config: TrainConfig, data) -> float:
    """Seconds for ``nn.train.train`` called directly, as the command line does (one BLAS thread)."""
    limit_blas_threads(1)
    start = time.perf_counter()
    train(config, data)
    return time.perf_counter() - start


def time_in_app(
    config: TrainConfig,
    data,
    render: Callable[[TrainingJob], object] | None = None,
    poll_seconds: float = FAST.status,
) -> float:
    """Seconds from Start to finished for ``config`` through the app's runner thread, while this thread polls
    it every ``poll_seconds`` and calls ``render(job)`` as a page would (build the figures and serialise them)."""
    job = TrainingPool(1).submit(0, config, data)
    while not job.join(timeout=poll_seconds):  # wakes at once when the run ends
        if render is not None:
            render(job)
    return job.ended_perf - job.submitted_perf


def measure_overhead(
    config: TrainConfig,
    data,
    repeats: int = 3,
    render: Callable[[TrainingJob], object] | None = None,
    poll_seconds: float = FAST.status,
) -> dict:
    """Time ``config`` directly and through the runner with live rendering, interleaved ``repeats`` times.

    ``render`` defaults to what the training page draws while a run trains (``ui.training_view.page_renderer``).
    Returns the lists of seconds, their medians and ``overhead`` = median app / median direct - 1.
    """
    if render is None:
        from ui.training_view import page_renderer

        render = page_renderer()
    direct, app = [], []
    for _ in range(repeats):
        direct.append(time_direct(config, data))
        app.append(time_in_app(config, data, render, poll_seconds))
    median_direct, median_app = statistics.median(direct), statistics.median(app)
    return {
        "direct_s": direct,
        "app_s": app,
        "median_direct_s": median_direct,
        "median_app_s": median_app,
        "overhead": median_app / median_direct - 1,
        "poll_seconds": poll_seconds,
    }
