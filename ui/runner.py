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

Bounded work (``Limits``, each an environment setting read by ``limits_from_env``; the README's "Limits for a
hosted server"):

- a run's estimated time is capped (``SGDLAB_MAX_RUN_MINUTES``; the page refuses it: ``ui.limits``);
- one training at a time per session: a session's further runs wait in the session's own line (``submit(...,
  after=its previous live job)``) and join the server's line only when that one has ended;
- the server's line has a maximum length (``SGDLAB_MAX_QUEUE``): ``submit`` raises ``LineFull`` instead of
  starting anything;
- a run whose sessions are all gone (``Runtime.is_active_session``: the browser's websocket closed, not
  reconnected) for ``SGDLAB_ABANDON_GRACE_S`` is stopped by the pool's watchdog thread, and its slot freed.

Timed fragments: every ``st.fragment(run_every=...)`` that draws a live run is called alone inside an
``st.container()`` that the full run draws. Under load (30 pages on one core) one page in a class of 30 died with
Streamlit's "Bad delta path index 2 (should be between [0, 1])" right after Start: when timed fragments' requests
arrive during a full run, Streamlit drops the full run's queued deltas for those fragments, the column they shared
shrinks, and a fragment then writes past its end (Streamlit 1.67's frontend throws, and the page no longer updates).
In a box of its own a fragment always writes at index 0 of a box that exists.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import math
import os
import statistics
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from urllib.parse import urlsplit
from typing import Callable

import streamlit as st

from nn.blas import limit_blas_threads
from nn.messages import Message
from nn.train import Run, TrainConfig, lower_this_thread, train
from ui import jobs
from ui.forked import resume_arguments, resumed_record, train_forked

#: Default for ``SGDLAB_MAX_TRAININGS``. Streamlit Community Cloud gives an app about 0.08-2 CPU cores shared
#: by all its visitors. One training keeps one core busy (the matrices are too small for BLAS to use more), so
#: two at once fill two cores; more would only slice the same cores thinner — every run slower, none sooner —
#: and starve the script threads that draw the pages. Two rather than one so that a single slow run (a
#: numerical-gradient one) cannot make everybody else wait for it.
DEFAULT_MAX_TRAININGS = 2
#: Default for ``SGDLAB_MAX_RUN_MINUTES``: a run's estimated time at most. The book's run takes seconds, the
#: overfitting preset and a sweep's run less; the book's numerical loop (14 days) is what this stops. On one's own
#: computer, raise it (or "off").
DEFAULT_MAX_RUN_MINUTES = 10.0
#: Default for ``SGDLAB_MAX_QUEUE``: runs waiting in the server's line at most (not counting the ones training).
#: A class of 30 starting the book's run at once fits: 2 train, 28 wait, each ~6 s alone on a core.
DEFAULT_MAX_QUEUE = 30
#: Default for ``SGDLAB_ABANDON_GRACE_S``: how long a run's page may be gone (closed, or disconnected without
#: coming back) before the run is stopped. Streamlit itself keeps a disconnected session for 2 minutes.
DEFAULT_ABANDON_GRACE_S = 120.0
#: How much nicer than the server's threads a training runs (its worker thread, and so the forked child or the
#: measuring thread it starts): the script runs that draw every visitor's pages come first, the trainings take
#: the rest. A server's reruns are short and few (a tenth of a core for a class of ten), so the trainings lose
#: little; without it a page switch waited its turn beside two trainings (a third of the core).
TRAINING_NICENESS = 10
#: Words that switch a limit off.
OFF_WORDS = ("off", "none", "no", "unlimited")

log = logging.getLogger(__name__)

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
#: The run next in line: its page looks this often, so that the student sees it start within a second (one page
#: per server at a time: 8 ms of CPU a second).
NEXT_UP_S = 1.0
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


def waiting_refresh(waiting: int = 1, budget_ms_per_s: float = LIVE_BUDGET_MS_PER_S) -> Refresh:
    """The rates of a page whose run waits in line, while ``waiting`` such pages in all poll: its place every
    ``WAITING_S``, no chart, slower only when they would take more than half the budget (about 90 of them)."""
    base = Refresh(status=WAITING_S, chart=None, sidebar=WAITING_S)
    return base.slower(load_level(base, waiting, budget_ms_per_s / 2))


def choose_refresh(state: str, viewers: int = 1, setting: str = "auto",
                   budget_ms_per_s: float = LIVE_BUDGET_MS_PER_S, waiting: int = 0,
                   next_up: bool = False) -> Refresh:
    """The refresh rates of a page whose run is in ``state`` ("training", "waiting", "done") while ``viewers``
    pages in all poll a training run on this server and ``waiting`` pages a run waiting in line.

    A waiting run's page polls its place every ``WAITING_S`` and draws no chart (``waiting_refresh``), every
    ``NEXT_UP_S`` when its run is ``next_up`` (first in line); a
    training's page starts from ``FAST`` (``GENTLE`` with the setting "gentle") and slows down by powers of two
    as its viewers grow, so that they stay within what the waiting pages leave of ``budget_ms_per_s`` (a class
    of 30 with 2 runs training and 28 waiting: the two at ``FAST``, as if alone); a finished run's page does not
    poll."""
    if state == "waiting":
        rates = waiting_refresh(max(1, waiting), budget_ms_per_s)
        return Refresh(NEXT_UP_S, None, rates.sidebar, rates.level) if next_up else rates
    if state != "training":
        return STILL
    base = GENTLE if (setting or "").strip().lower() == "gentle" else FAST
    waiting_cost = max(0, waiting) * cost_ms_per_s(waiting_refresh(waiting, budget_ms_per_s))
    left = max(budget_ms_per_s / 4, budget_ms_per_s - waiting_cost)
    return base.slower(load_level(base, viewers, left))


def must_redraw_page(shown: Refresh, now: Refresh) -> bool:
    """Whether a fragment drawn with ``shown`` rates must rerun the whole page to take up ``now``'s (a
    fragment's rate is fixed where the page defines it): when the run's state changed (it started, so its chart
    comes; it ended, so nothing polls), when the load asks for slower rates, or for rates 4× faster (not at
    every viewer who comes or goes)."""
    if (shown.status is None) != (now.status is None) or (shown.chart is None) != (now.chart is None):
        return True
    if (shown.chart is None) and (shown.status is not None) and (now.chart is None):  # waiting: slow in any case
        return now.level > shown.level or now.status < shown.status  # (or its run is next: it looks more often)
    return now.level > shown.level or now.level * 4 <= shown.level


class LiveViewers:
    """The pages that poll a live run on this server: each poll says "still here" with its interval and the
    state of the run it watches ("training" or "waiting"), and a page counts until it has missed its next two
    polls. One entry per session (its Train page and sidebar are one viewer). Thread-safe; pure apart from the
    clock."""

    def __init__(self) -> None:
        self._until: dict[str, tuple[float, str]] = {}
        self._lock = threading.Lock()

    def beat(self, viewer: str, interval: float | None, now: float | None = None, state: str = "training") -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            if interval is None:
                self._until.pop(viewer, None)
                return
            until, was = self._until.get(viewer, (0.0, state))
            until = now + max(2.5 * interval, 3.0) if was != state else max(until, now + max(2.5 * interval, 3.0))
            self._until[viewer] = (until, state)

    def count(self, now: float | None = None, including: str | None = None, state: str | None = None) -> int:
        """Pages polling (those watching a run in ``state``, or all), counting ``including`` among them."""
        now = time.monotonic() if now is None else now
        with self._lock:
            for viewer in [v for v, (until, _) in self._until.items() if until < now]:
                del self._until[viewer]
            counted = {v for v, (_, s) in self._until.items() if state is None or s == state}
            return len(counted | ({including} if including is not None else set()))


@st.cache_resource(show_spinner=False)
def live_viewers() -> LiveViewers:
    """The server's one ``LiveViewers``."""
    return LiveViewers()


def refresh(job=None, state: str | None = None) -> Refresh:
    """The refresh rates for the current visitor's page watching ``job`` (or a run in ``state``), from the
    server's load; records this page as a viewer while it polls. ``SGDLAB_REFRESH``: "auto" (the default) or
    "fast" start from ``FAST``, "gentle" from ``GENTLE``."""
    state = state or run_state(job)
    from ui.state import session_id  # looked up at each call (its parameter "state" shadows the module name)

    viewers, me = live_viewers(), session_id() or "outside"
    rates = choose_refresh(state, viewers.count(including=me if state == "training" else None, state="training"),
                           os.environ.get("SGDLAB_REFRESH", "auto"),
                           waiting=viewers.count(including=me if state == "waiting" else None, state="waiting"),
                           next_up=state == "waiting" and job is not None and job.place_in_line() == 1)
    if rates.status is not None:
        viewers.beat(me, rates.status, state=state)
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


@dataclass(frozen=True)
class Limits:
    """The server's limits (None: no limit), and what was wrong with the settings given (English, for the log)."""

    max_run_minutes: float | None = DEFAULT_MAX_RUN_MINUTES
    max_queue: int | None = DEFAULT_MAX_QUEUE
    abandon_grace_s: float | None = DEFAULT_ABANDON_GRACE_S
    problems: tuple[str, ...] = field(default=(), compare=False)

    @property
    def max_run_seconds(self) -> float | None:
        return None if self.max_run_minutes is None else 60.0 * self.max_run_minutes


def _setting(env, name: str, default, kind, minimum: float, off_at_zero: bool, problems: list):
    """One limit: a number (``kind`` int or float) ≥ ``minimum``, or an off word (None); "0" is off when
    ``off_at_zero``. Anything else: the default, and a line in ``problems``."""
    raw = env.get(name)
    if raw is None or not str(raw).strip():
        return default
    text = str(raw).strip().lower()
    if text in OFF_WORDS:
        return None
    try:
        value = kind(float(text)) if kind is int and float(text).is_integer() else kind(text)
    except (TypeError, ValueError, OverflowError):
        value = None
    if value is None or not math.isfinite(value) or value < minimum:
        what = "a whole number" if kind is int else "a number"
        problems.append(f"{name}={raw!r} is not {what} of at least {minimum:g} (or \"off\"): using {default}")
        return default
    if off_at_zero and value == 0:
        return None
    return value


def limits_from_env(environ=None) -> Limits:
    """``SGDLAB_MAX_RUN_MINUTES`` (minutes of estimated time per run; "0" or "off": no cap),
    ``SGDLAB_MAX_QUEUE`` (runs waiting in the server's line; "0": none may wait; "off": no limit) and
    ``SGDLAB_ABANDON_GRACE_S`` (seconds; "0": stop at once; "off": never stop an abandoned run). A bad value
    means the default, and ``problems`` says so (``limits()`` logs it once); never an exception."""
    env = os.environ if environ is None else environ
    problems: list[str] = []
    minutes = _setting(env, "SGDLAB_MAX_RUN_MINUTES", DEFAULT_MAX_RUN_MINUTES, float, 0, True, problems)
    queue = _setting(env, "SGDLAB_MAX_QUEUE", DEFAULT_MAX_QUEUE, int, 0, False, problems)
    grace = _setting(env, "SGDLAB_ABANDON_GRACE_S", DEFAULT_ABANDON_GRACE_S, float, 0, False, problems)
    return Limits(minutes, queue, grace, tuple(problems))


_logged: set[str] = set()  # the settings problems already logged (server-wide: about the server, not a visitor)


def limits(environ=None) -> Limits:
    """The limits in force (read from the environment each time: cheap), each bad setting logged once."""
    found = limits_from_env(environ)
    for problem in found.problems:
        if problem not in _logged:
            _logged.add(problem)
            log.warning("SGD Lab: %s", problem)
    return found


class LineFull(Exception):
    """The server's line is full: nothing was started. ``waiting``: runs in line; ``running``: training;
    ``wait_s``: roughly when a place frees (None when unknown)."""

    def __init__(self, waiting: int, running: int, wait_s: float | None) -> None:
        super().__init__(f"the line is full: {waiting} waiting, {running} training")
        self.waiting, self.running, self.wait_s = waiting, running, wait_s


def session_is_active(session_id: str) -> bool | None:
    """Whether Streamlit's session ``session_id`` still has its browser connected (a closed tab's websocket closes
    at once; a reload is a new session). None when unknown: no Streamlit server (AppTest, the command line)."""
    try:
        from streamlit import runtime

        if not runtime.exists():
            return None
        return bool(runtime.get_instance().is_active_session(session_id))
    except Exception:  # noqa: BLE001 - Streamlit's internals moved: never stop a run on a guess
        return None


class TrainingJob:
    """One run in the making: its record (filled in place by the worker), its thread and its Stop switch."""

    def __init__(self, job_id: int, config: TrainConfig, data, data_source: str, pool: "TrainingPool",
                 resume=None, after: "TrainingJob | None" = None, owner: str | None = None,
                 estimate_s: float | None = None) -> None:
        self.id = job_id
        self.after = after  # the session's run before this one: this one waits in the session's line until it ends
        self.owners: set[str] = {owner} if owner else set()  # the Streamlit sessions that show it (claim())
        self.estimate_s = estimate_s  # its estimated seconds alone (the line's wait is told from them)
        self.abandoned = False  # stopped by the pool because every session that showed it was gone
        self.gone_since: float | None = None  # monotonic time its sessions were first seen gone (the watchdog)
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

    @property
    def ended(self) -> bool:
        """The worker has ended (the run is done and its slot, if it had one, is free)."""
        return self.ended_perf is not None

    def waiting_for(self) -> "TrainingJob | None":
        """The session's earlier run this one waits for in the session's own line (None: its turn there came).
        A run stopped while it waited passes the wait on to the one before it."""
        earlier = self.after
        while earlier is not None:
            if not earlier.ended:
                return earlier
            earlier = earlier.after
        return None

    def in_session_line(self) -> bool:
        """Waiting in its session's own line: an earlier run of the session has not ended yet."""
        return self.run.status == "pending" and self.waiting_for() is not None

    def status_text(self) -> str:
        """One line: "waiting — place 2 in line", "training 3,400 of 10,000", "finished: test 94.6%"..."""
        from ui.i18n import t

        if self.abandoned and self.run.done:
            return t("limits.stopped_closed", done=f"{self.run.iterations_done:,}",
                     total=f"{self.run.config.iters:,}")
        if self.run.status == "pending" and self.after is not None and not self.stopping:
            earlier = self.waiting_for()
            if earlier is not None:
                return t("limits.after_yours", run=f"#{earlier.id}")
            if self.place_in_line() is None:  # its turn in the session's line came, and the server's line is full
                return t("limits.waiting_for_room")
        return jobs.status_text(self)

    def claim(self, session_id: str | None) -> None:
        """Session ``session_id`` shows this run too (a reload that adopted it): it is abandoned only once every
        session that showed it is gone."""
        if session_id:
            self.owners.add(session_id)
            self.gone_since = None

    def abandon(self) -> None:
        """Stop the run because nobody can see it any more (the watchdog)."""
        self.abandoned = True
        self.stop()

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
        lower_this_thread(TRAINING_NICENESS)
        if self._pool.blas_threads is not None and self._pool.mode == "thread":
            limit_blas_threads(self._pool.blas_threads)
        run = self.run
        if not self._pool.acquire(self, self._stop):
            run.status, run.reason = "stopped", Message("stopped_waiting")
            self._data = self._resume = None  # ``after`` stays: the runs after it wait on for the one before
            self.ended_perf = time.perf_counter()
            self._pool.log_end(self)
            self._pool.forget(self)
            return
        self.after = None  # its turn came: the session's previous run is not held any longer
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
            self._pool.log_end(self)
            self._pool.forget(self)


class TrainingPool:
    """At most ``max_running`` trainings at once; the others wait in line, first come first served, at most
    ``max_queue`` of them (None: no limit). A session's further runs wait in the session's own line first
    (``submit(after=...)``). With ``grace_s`` (None: never), a watchdog thread stops a run once ``is_active`` has
    said False for every session that showed it for ``grace_s`` seconds (checked every ``watch_every`` s)."""

    def __init__(self, max_running: int = DEFAULT_MAX_TRAININGS, blas_threads: int | None = 1,
                 mode: str | None = None, max_queue: int | None = None, grace_s: float | None = None,
                 is_active: Callable[[str], bool | None] = session_is_active, watch_every: float = 0.5,
                 run_log: str | None = None) -> None:
        self.max_running = max(1, int(max_running))
        self.mode = mode if mode in TRAIN_MODES else train_mode_from_env()
        self.blas_threads = blas_threads  # None: leave OpenBLAS as it is (see limit_blas_threads)
        self.max_queue = None if max_queue is None else max(0, int(max_queue))
        self.grace_s = None if grace_s is None else max(0.0, float(grace_s))
        self._is_active = is_active
        self.watch_every = watch_every
        self._cond = threading.Condition()
        self._waiting: deque[TrainingJob] = deque()
        self._running: set[int] = set()  # id() of running jobs
        self._live: dict[int, TrainingJob] = {}  # id() → every job not ended (in a session's line, waiting, running)
        self._watchdog: threading.Thread | None = None
        self.run_log = run_log
        self._log_lock = threading.Lock()  # the run log's lines, one at a time (the scheduling lock stays free)

    def submit(self, job_id: int, config: TrainConfig, data, data_source: str = "", resume=None,
               after: TrainingJob | None = None, owner: str | None = None,
               estimate_s: float | None = None) -> TrainingJob:
        """Create a job for ``config`` on ``data`` ((x_train, t_train), (x_test, t_test)) and start its thread.
        ``resume``: the core's state of a run stepped so far (the Code page's step-through): the job trains on from
        it, and its history is that of one run of the same seed.

        ``after``: the session's previous run, if it has not ended: the new one waits for it in the session's own
        line, then joins the server's line. ``owner``: the Streamlit session that shows it (see ``claim``).
        ``estimate_s``: its estimated seconds (to tell a visitor refused by a full line when to come back).

        Raises ``LineFull`` (nothing started) when the job would join the server's line now and it is full."""
        problems = config.errors()
        if problems:
            raise ValueError("; ".join(problems))
        if after is not None and after.ended and after.waiting_for() is None:
            after = None
        job = TrainingJob(job_id, config, data, data_source, self, resume=resume, after=after, owner=owner,
                          estimate_s=estimate_s)
        with self._cond:  # join the line here, in the order of submission, not when the worker thread gets going
            if after is None:
                if self._line_full():
                    raise LineFull(*self._line_lengths(), self._wait_seconds())
                self._waiting.append(job)
            self._live[id(job)] = job
        self._ensure_watchdog()
        return job.start()

    def _line_full(self) -> bool:
        """(With the lock held.) A new run would have to wait, and the line already holds ``max_queue`` waiting
        ones (a job just submitted is in ``_waiting`` until its thread takes a free slot: counted as running)."""
        return self.max_queue is not None and len(self._waiting) + len(self._running) >= self.max_running + self.max_queue

    def _line_lengths(self) -> tuple[int, int]:
        """(With the lock held.) (waiting, training), a job about to take a free slot counted as training."""
        total = len(self._waiting) + len(self._running)
        training = min(total, self.max_running)
        return total - training, training

    def _wait_seconds(self) -> float | None:
        """(With the lock held.) Roughly when a place in the line frees: the soonest estimated end of the runs
        training (a job not started yet counts its whole estimate). None when one of them has no estimate."""
        ends = []
        for job in self._live.values():
            if id(job) in self._running or (job in self._waiting and job.run.status == "pending" and
                                            len(self._running) < self.max_running):
                if job.estimate_s is None:
                    return None
                ends.append(max(0.0, job.estimate_s - job.run.elapsed_s))
        return min(ends, default=None)

    def line_full(self) -> tuple[int, int, float | None] | None:
        """(waiting, running, seconds) when a new run would be refused now, else None."""
        with self._cond:
            if not self._line_full():
                return None
            return self._line_lengths() + (self._wait_seconds(),)

    @property
    def running_count(self) -> int:
        with self._cond:
            return len(self._running)

    @property
    def waiting_count(self) -> int:
        with self._cond:
            return len(self._waiting)

    @property
    def live_count(self) -> int:
        """Jobs not ended: in a session's line, in the server's line, or training."""
        with self._cond:
            return len(self._live)

    def place_in_line(self, job: TrainingJob) -> int | None:
        with self._cond:
            for place, waiting in enumerate(self._waiting, start=1):
                if waiting is job:
                    return place
        return None

    def acquire(self, job: TrainingJob, stop: threading.Event) -> bool:
        """Wait in the session's line (until ``job.after`` has ended and the server's line has a place), then in
        the server's line (where ``submit`` put a job with no ``after``) for a free slot in turn; False if ``stop``
        was set."""
        with self._cond:
            if job not in self._waiting:
                while job.after is not None and (job.waiting_for() is not None or self._line_full()):
                    if stop.is_set():
                        return False
                    self._cond.wait(timeout=0.5)
                self._waiting.append(job)  # after its session's previous run, or a job started without submit()
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

    def log_end(self, job: TrainingJob) -> None:
        """With ``run_log`` (``SGDLAB_RUN_LOG``, a file path), append one JSON line for a run that has ended: its
        name, how it ended, and when (Unix time) it was submitted, started training and ended; for an operator
        who wants to know what the server did, and for benchmarks/load_test.py to tell the server's times from
        what the students' browsers showed. No session ids. Never raises."""
        if not self.run_log:
            return
        run = job.run
        line = {"run": job.name, "status": run.status, "iterations": run.iterations_done,
                "submitted": round(job.created_at, 3), "started": round(run.started_at, 3) if run.started_at else None,
                "ended": round(time.time(), 3), "took": round(run.elapsed_s, 3), "abandoned": job.abandoned}
        try:
            with self._log_lock, open(self.run_log, "a", encoding="utf-8") as f:
                f.write(json.dumps(line) + "\n")
        except OSError as exc:
            log.warning("SGDLAB_RUN_LOG: cannot write %s: %s", self.run_log, exc)

    def forget(self, job: TrainingJob) -> None:
        """The job's worker has ended: the pool holds it no longer (and the runs after it may go on)."""
        with self._cond:
            self._live.pop(id(job), None)
            self._cond.notify_all()

    def wake(self) -> None:
        with self._cond:
            self._cond.notify_all()

    # -- abandoned runs ---------------------------------------------------------------------------------------
    def _ensure_watchdog(self) -> None:
        if self.grace_s is None:
            return
        with self._cond:
            if self._watchdog is not None and self._watchdog.is_alive():
                return
            self._watchdog = threading.Thread(target=self._watch, name="sgdlab-watchdog", daemon=True)
            self._watchdog.start()

    def _watch(self) -> None:
        """Every ``watch_every`` s, stop the runs nobody can see any more; ends when no job is left (the next
        ``submit`` starts it again)."""
        while True:
            with self._cond:
                live = list(self._live.values())
                if not live:
                    self._watchdog = None
                    return
            self.check_abandoned(live)
            time.sleep(self.watch_every)

    def check_abandoned(self, live: list[TrainingJob] | None = None, now: float | None = None) -> list[TrainingJob]:
        """Stop every live job whose sessions have all been gone for ``grace_s``; returns the jobs stopped now. A
        job with no owner, or a session whose state is unknown (None), counts as seen."""
        if self.grace_s is None:
            return []
        if live is None:
            with self._cond:
                live = list(self._live.values())
        now = time.monotonic() if now is None else now
        stopped = []
        for job in live:
            if job.abandoned or job.ended:
                continue
            answers = [self._is_active(owner) for owner in list(job.owners)]
            if not answers or any(a is not False for a in answers):
                job.gone_since = None
                continue
            if job.gone_since is None:
                job.gone_since = now
            if now - job.gone_since >= self.grace_s:
                job.abandon()
                stopped.append(job)
        return stopped


@st.cache_resource(show_spinner=False)
def _pool(max_running: int, max_queue: int | None, grace_s: float | None, run_log: str | None) -> TrainingPool:
    return TrainingPool(max_running, max_queue=max_queue, grace_s=grace_s, run_log=run_log)


def pool() -> TrainingPool:
    """The process-wide pool (one per server process and ``SGDLAB_MAX_TRAININGS``, ``SGDLAB_MAX_QUEUE``,
    ``SGDLAB_ABANDON_GRACE_S`` and ``SGDLAB_RUN_LOG`` values)."""
    found = limits()
    return _pool(max_trainings_from_env(), found.max_queue, found.abandon_grace_s,
                 os.environ.get("SGDLAB_RUN_LOG") or None)


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
