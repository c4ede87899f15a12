"""Training runs: the book's loop (``nn.sgd``) driven to the end, or one step at a time, into a ``Run`` record.

``nn.sgd.sgd`` is §4.5's loop as the slide writes it. This module runs it for the command line, the app and the
benchmark, and adds around it, as hooks between its steps, what a long run needs: Stop (checked before each
step), progress callbacks, divergence checks, W1 snapshots, and accuracy measured on a second core while the
steps go on. It never prints or draws: it fills a ``Run`` record in place (so another thread can watch it live).

The fast path is behind the book's interfaces, not in a second loop: the network is a ``FastTwoLayerNet``
(``nn.fast_net``: its ``gradient`` reuses buffers and takes uint8 pixels as they are) and accuracy is measured
by an ``AccuracyMeter`` (``nn.meter``) through the network's own forward pass.

A run can be taken one SGD step at a time, with the same numbers as in one go (for the app's step-through)::

    state = start(config, data)                  # the run's state: network, rng, data, record, state.i = 0
    s = step(state)                              # one step: s.i, s.batch_mask, s.loss, s.grad, s.epoch
    for _ in range(9): step(state)               # state.i == 10; state.run holds 10 losses
    run = train(config, data, resume=state)      # the rest in one go: the same losses, accuracies and weights
    assert run is state.run                      # as train(config, data) with the same seed

The state holds plain arrays, a ``numpy.random.Generator`` and the record: it can be pickled, or inherited by a
forked process, and continued there.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Callable

import numpy as np

from nn.fast_net import FastTwoLayerNet, LossNotFinite
from nn.functions import Stopped, as_label_indices
from nn.messages import Message
from nn.meter import EVAL_WORKERS, AccuracyMeter
from nn.options import DTYPES, GRADIENT_METHODS, OPTIONS, all_problems  # noqa: F401 - the first two: read from here
from nn.sgd import Step, sgd
from nn.two_layer_net import TwoLayerNet

#: Measure accuracy on a second core while the SGD steps go on (see ``train(overlap=...)``); at most this many
#: measurements wait to be recorded before the steps wait for them (a run of 300 images measures every 3 steps).
OVERLAP_MEASUREMENTS = EVAL_WORKERS > 1
MAX_PENDING_MEASUREMENTS = 2
#: A run has diverged when its loss, averaged over this many iterations, exceeds ``DIVERGENCE_FACTOR`` times the
#: larger of ln 10 (the loss of a uniform guess over ten digits) and the loss of its initial weights. With the epsilon inside
#: the log the loss is capped at -ln(1e-7) ≈ 16.1, so a too-large learning rate shows up as a sigmoid net stuck at
#: ≈ 14 rather than as NaN; both stop the run.
DIVERGENCE_WINDOW = 10
#: W1 is kept (as float16, enough for pictures) at every accuracy measurement, to watch the hidden units form. A run
#: with more epochs than this (300 images: an epoch every 3 steps) keeps every other one whenever the list fills up:
#: evenly spaced, the first and the latest always kept, at most 24 × 78 KB per run. b1, W2 and b2 are kept with
#: each (``Snapshot.rest``, ~1 KB more), for the loss landscape (``nn.landscape``).
MAX_SNAPSHOTS = 24
DIVERGENCE_FACTOR = 2.5
#: The initial weights are too large when their loss, before any step, is above this many times that of a uniform
#: guess (ln 10): their sigmoid units are saturated (the book's std 0.01 scores 2.31, std 0.6 about 5, std 1 about
#: 7, std 10 about 14). A divergence of such a run names the init std as well as the learning rate, and
#: ``start_note`` says so whatever the run's end: beyond a loss of 16.1 / DIVERGENCE_FACTOR ≈ 6.4 (std ≳ 0.8) the
#: divergence limit is above the capped loss and cannot be reached, so such a run is never called diverged.
SATURATED_START = 2.0
ACTIVATIONS = ("sigmoid",)



@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run; the defaults are the book's (§4.5), from ``nn.options``."""

    iters: int = OPTIONS["iters"].default  # 10,000
    batch_size: int = OPTIONS["batch_size"].default  # 100
    lr: float = OPTIONS["lr"].default  # 0.1
    hidden: int = OPTIONS["hidden"].default  # 50
    weight_init_std: float = OPTIONS["weight_init_std"].default  # 0.01
    activation: str = "sigmoid"
    train_size: int | None = OPTIONS["train_size"].default  # None: the whole training set
    seed: int = OPTIONS["seed"].default  # 0
    gradient: str = OPTIONS["gradient"].default  # "backprop", "numerical" (nn.numgrad), "numerical-plain" (the book)
    dtype: str = OPTIONS["dtype"].default  # "float32": chosen by measurement, see benchmarks/

    def errors(self) -> list[str]:
        """Every problem with these values, one sentence per option that ``nn.options`` does not allow (empty
        when the config is valid), each a coded ``nn.messages.Message``: "iters must be in 1 – 1,000,000, got 0"."""
        problems = []
        for option in OPTIONS.values():
            try:
                option.check(getattr(self, option.name), exact=True)
            except ValueError as exc:
                problems.append(exc.args[0])
        if self.activation not in ACTIVATIONS:
            problems.append(Message("option_choice", name="activation", choices=", ".join(ACTIVATIONS),
                                    value=self.activation))
        return problems

    def label(self) -> str:
        """A short name built from the settings, e.g. ``lr 0.1 · batch 100 · 10k it · 300 imgs``."""
        parts = [f"lr {self.lr:g}", f"batch {self.batch_size}", f"{_short_count(self.iters)} it"]
        if self.train_size is not None:
            parts.append(f"{_short_count(self.train_size)} imgs")
        if self.hidden != 50:
            parts.append(f"hidden {self.hidden}")
        if self.weight_init_std != 0.01:
            parts.append(f"std {self.weight_init_std:g}")
        if self.gradient != "backprop":
            parts.append(self.gradient)
        if self.seed != 0:
            parts.append(f"seed {self.seed}")
        return " · ".join(parts)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "TrainConfig":
        """A config from a dict (a saved model's JSON, say); unknown keys are ignored."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in names})

    def replace(self, **changes) -> "TrainConfig":
        return replace(self, **changes)


def _short_count(n: int) -> str:
    return f"{n // 1000}k" if n >= 1000 and n % 1000 == 0 else f"{n:,}"


def iterations_per_epoch(train_size: int, batch_size: int) -> float:
    """The book's ``max(train_size / batch_size, 1)``: 600.0 for 60,000 images in batches of 100."""
    return max(train_size / batch_size, 1.0)


@dataclass
class EpochRecord:
    """Accuracy on the full training and test sets after ``iteration`` SGD steps."""

    epoch: float  # iterations done / iterations per epoch, minus the book's first step (0 for the first line)
    iteration: int  # SGD steps done when it was measured
    train_acc: float
    test_acc: float
    elapsed_s: float  # seconds since the start of the run
    final: bool = False  # the extra measurement at the end of a run that did not end on an epoch


@dataclass
class Run:
    """A run record: filled in place while training runs, complete when ``status`` is no longer "running"."""

    config: TrainConfig
    n_train: int = 0
    n_test: int = 0
    data_source: str = ""
    status: str = "pending"  # pending → running → finished | stopped | diverged | failed
    reason: str = ""  # why a run ended early, in one sentence (an nn.messages.Message)
    losses: np.ndarray = field(default_factory=lambda: np.zeros(0))
    iterations_done: int = 0
    epochs: list[EpochRecord] = field(default_factory=list)
    params: dict[str, np.ndarray] = field(default_factory=dict)
    snapshots: list[tuple[int, np.ndarray]] = field(default_factory=list)  # (iteration, W1 as float16: a Snapshot, b1 W2 b2 alongside)
    started_at: float = 0.0  # time.time()
    elapsed_s: float = 0.0
    eval_s: float = 0.0  # of which spent measuring accuracy

    @property
    def name(self) -> str:
        return self.config.label()

    @property
    def iters_per_epoch(self) -> float:
        return iterations_per_epoch(self.n_train or 1, self.config.batch_size)

    @property
    def done(self) -> bool:
        return self.status in ("finished", "stopped", "diverged", "failed")

    @property
    def iterations_per_second(self) -> float:
        train_s = self.elapsed_s - self.eval_s
        return self.iterations_done / train_s if train_s > 0 else 0.0

    @property
    def last(self) -> EpochRecord | None:
        """The latest accuracy measurement, if any."""
        return self.epochs[-1] if self.epochs else None

    def loss_frame(self):
        """Per-iteration loss as a DataFrame (iteration, epoch, loss)."""
        import pandas as pd

        n = self.iterations_done
        iteration = np.arange(1, n + 1)
        return pd.DataFrame(
            {"iteration": iteration, "epoch": iteration / self.iters_per_epoch, "loss": self.losses[:n].copy()}
        )

    def accuracy_frame(self):
        """Per-epoch accuracies as a DataFrame (epoch, iteration, train_acc, test_acc, gap, elapsed_s, final)."""
        import pandas as pd

        frame = pd.DataFrame(
            [asdict(e) for e in list(self.epochs)],
            columns=["epoch", "iteration", "train_acc", "test_acc", "elapsed_s", "final"],
        )
        frame.insert(4, "gap", frame["train_acc"] - frame["test_acc"])
        return frame

    def network(self) -> TwoLayerNet:
        """A network with (a copy of) this run's current weights."""
        return TwoLayerNet.from_params(self.params)


Callback = Callable[[Run, str], None]



def lower_this_thread(by: int) -> None:
    """Make the calling thread ``by`` nicer than it is (at most 19; Linux keeps niceness per thread, raising it
    needs no privilege, and threads and forked children it starts inherit it). Elsewhere, or where it is not
    allowed, nothing changes: the same results, only scheduled differently."""
    try:
        me = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, me, min(19, os.getpriority(os.PRIO_PROCESS, me) + by))
    except (AttributeError, OSError):
        pass


class Snapshot(np.ndarray):
    """One entry of ``Run.snapshots``: W1 as float16 (the array itself, so whatever reads the W1 pictures, the
    hidden-units page, the model file, the forked child's relay, reads it as before) with the rest of the weights
    at the same moment alongside, ``rest``: b1, W2 and b2 as float16 (~1 KB for the book's net), or None (a file
    saved before they were kept). ``nn.landscape`` walks the run's path through weight space with them.

    They travel with the array: pickled (the forked child sends its snapshots through a pipe), and in its views.
    """

    rest: dict[str, np.ndarray] | None

    @classmethod
    def of(cls, W1: np.ndarray, params: dict[str, np.ndarray] | None = None) -> Snapshot:
        """A float16 copy of ``W1`` and, from ``params``, of b1, W2 and b2."""
        snap = np.array(W1, dtype=np.float16).view(cls)
        snap.rest = None if params is None else {k: np.array(params[k], dtype=np.float16) for k in ("b1", "W2", "b2")}
        return snap

    def __array_finalize__(self, obj) -> None:
        self.rest = getattr(obj, "rest", None)

    def __reduce__(self):
        constructor, args, state = super().__reduce__()
        return constructor, args, (state, self.rest)

    def __setstate__(self, state) -> None:
        array_state, self.rest = state
        super().__setstate__(array_state)


def snapshot_params(W1: np.ndarray) -> dict[str, np.ndarray] | None:
    """All four weight arrays of a ``Run.snapshots`` entry (float16), or None when it holds W1 only."""
    rest = getattr(W1, "rest", None)
    if not rest:
        return None
    return {"W1": np.asarray(W1), **rest}


class _Snapshots:
    """W1 at every ``stride``-th accuracy measurement (the stride doubles when the list fills), plus the latest."""

    def __init__(self) -> None:
        self.stride, self.grid = 1, []  # grid: (measurement number, iteration, W1 as float16)

    def keep(self, run: Run, measurement: int, iteration: int, W1: np.ndarray,
             params: dict[str, np.ndarray] | None = None) -> None:
        latest = Snapshot.of(W1, params)
        if measurement % self.stride == 0:
            self.grid.append((measurement, iteration, latest))
            if len(self.grid) > MAX_SNAPSHOTS - 1:
                self.stride *= 2
                self.grid = [g for g in self.grid if g[0] % self.stride == 0]
        snapshots = [(it, w) for _, it, w in self.grid]
        if self.grid[-1][0] != measurement:
            snapshots.append((iteration, latest))
        run.snapshots = snapshots  # one assignment: a reader in another thread sees the old list or the new one


def _saturated(first_loss: float) -> bool:
    """Whether the loss of the initial weights (the first iteration's) says they are too large: ``SATURATED_START``."""
    return math.isfinite(first_loss) and first_loss > SATURATED_START * math.log(10)


def start_note(run: Run) -> Message | None:
    """A sentence on a run whose initial weights were too large (their loss far above guessing's, see
    ``SATURATED_START``), whatever its end, unless its reason already says so; None for any other run."""
    if run.iterations_done < 1 or not _saturated(float(run.losses[0])):
        return None
    if getattr(run.reason, "code", "") in ("diverged_std", "diverged_mean_std"):
        return None
    return Message("saturated_start", name="weight_init_std", std=run.config.weight_init_std,
                   book=OPTIONS["weight_init_std"].default, start=float(run.losses[0]), guess=math.log(10))


def prepare_training_set(
    x_train: np.ndarray, t_train: np.ndarray, train_size: int | None, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """The training images and integer labels a run uses: all, or a random subset of ``train_size``."""
    labels = as_label_indices(t_train)
    x = x_train.reshape(len(x_train), -1)
    if train_size is None or train_size >= len(x):
        return x, labels
    keep = np.sort(rng.choice(len(x), size=train_size, replace=False))
    return x[keep], labels[keep]


# -- a run, between two steps -------------------------------------------------------------------------------


@dataclass
class Training:
    """A run that has been started and not yet finished: all that the next step needs (``start`` makes it).

    Plain arrays, a ``numpy.random.Generator`` and the run record: picklable, and inherited whole by a forked
    process. ``i`` is the number of SGD steps done, so the next step is iteration ``i`` of the book's loop.
    """

    config: TrainConfig
    run: Run
    network: FastTwoLayerNet
    rng: np.random.Generator
    x_train: np.ndarray  # the images the run draws from (all, or its random subset), flattened
    t_train: np.ndarray  # their labels, as integers
    x_test: np.ndarray
    t_test: np.ndarray
    i: int = 0
    snapshots: _Snapshots = field(default_factory=_Snapshots)

    def loop(self, measure: Callable, should_stop: Callable[[], bool] | None = None, until: int | None = None):
        """The book's loop (``nn.sgd.sgd``) from step ``i`` on, to ``until`` (default: the run's end)."""
        config = self.config
        return sgd(self.network, self.x_train, self.t_train, self.x_test, self.t_test, rng=self.rng,
                   iters_num=config.iters if until is None else until, batch_size=config.batch_size,
                   learning_rate=config.lr, gradient=config.gradient, start=self.i, measure=measure,
                   should_stop=should_stop)


def start(config: TrainConfig, data, *, run: Run | None = None, data_source: str = "") -> Training:
    """A fresh run of ``config`` on ``data``, before its first step: the network initialised from the seed, the
    training subset drawn, the record (``run``, or a new one) reset and marked running.

    ``data`` is ``((x_train, t_train), (x_test, t_test))`` as ``nn.mnist.load_mnist`` returns it: images uint8
    (used as they are) or floats in [0, 1], flattened or not; labels integer or one-hot. A bad config raises
    ``ValueError`` before anything is allocated or touched (iters=10**12 or hidden=10**8 is refused, not tried).
    """
    problems = config.errors()
    if problems:
        raise ValueError(all_problems(problems))
    (x_train, t_train), (x_test, t_test) = data
    rng = np.random.default_rng(config.seed)
    x_test = x_test.reshape(len(x_test), -1)
    t_test = as_label_indices(t_test)
    network = FastTwoLayerNet(x_test.shape[1], config.hidden, 10, config.weight_init_std, rng=rng,
                              dtype=np.dtype(config.dtype),
                              numerical="plain" if config.gradient == "numerical-plain" else "fast")
    x, t = prepare_training_set(x_train, t_train, config.train_size, rng)

    run = run if run is not None else Run(config)
    run.config, run.n_train, run.n_test, run.data_source = config, len(x), len(x_test), data_source
    if not (isinstance(run.losses, np.ndarray) and run.losses.shape == (config.iters,) and run.losses.flags.writeable):
        run.losses = np.empty(config.iters)  # (an array of the right size given in ``run`` is written in place)
    run.losses.fill(np.nan)
    run.params = network.params
    run.status, run.reason, run.iterations_done, run.epochs, run.snapshots = "running", "", 0, [], []
    run.started_at, run.elapsed_s, run.eval_s = time.time(), 0.0, 0.0
    return Training(config, run, network, rng, x, t, x_test, t_test)


# -- the hooks around the loop ------------------------------------------------------------------------------


class _Measurements:
    """The loop's ``measure`` hook, and the record of every measurement, in order.

    In turn: measure now (the ``AccuracyMeter`` shares the images out to the cores) and hand the accuracies back
    to the loop. ``overlap``: measure a copy of the weights in a thread of its own while the steps go on (the
    same numbers); ``settle`` records the results in this thread, oldest first, as they come in.
    """

    def __init__(self, state: Training, overlap: bool, clock: Callable[[], float],
                 callback: Callback | None = None) -> None:
        self.state, self.clock, self.callback = state, clock, callback
        self.meter = AccuracyMeter(workers=1 if overlap else EVAL_WORKERS)
        # The measuring thread runs at the steps' priority: niced 10 it starved beside other trainings and the
        # steps waited for it (the overfitting preset beside two trainings on two cores: 23.3 s, against 13.0 s).
        self.background = ThreadPoolExecutor(1, thread_name_prefix="sgdlab-measure") if overlap else None
        self.pending: deque = deque()  # (i, final, network copy, future) of measurements not yet recorded

    def __enter__(self) -> _Measurements:
        return self

    def __exit__(self, *exc) -> None:
        if self.background is not None:
            self.background.shutdown(cancel_futures=True)
        self.meter.close()

    def accuracies(self, network: TwoLayerNet) -> tuple[float, float]:
        s = self.state
        return self.meter.accuracy(network, s.x_train, s.t_train), self.meter.accuracy(network, s.x_test, s.t_test)

    def __call__(self, network: TwoLayerNet, i: int, final: bool = False) -> tuple[float, float] | None:
        """Accuracy after step i: returned (in turn), or None and recorded later (``overlap``)."""
        if self.background is None:
            t0 = time.perf_counter()
            result = self.accuracies(network)
            self.state.run.eval_s += time.perf_counter() - t0
            return result
        copy = TwoLayerNet.from_params(network.params)
        self.pending.append((i, final, copy, self.background.submit(self.accuracies, copy)))
        if len(self.pending) > MAX_PENDING_MEASUREMENTS:
            self.settle(wait=True)
        return None

    def record(self, i: int, final: bool, accuracies: tuple[float, float], params: dict[str, np.ndarray]) -> EpochRecord:
        run = self.state.run
        record = EpochRecord(epoch=round(i / run.iters_per_epoch, 6), iteration=i + 1, train_acc=accuracies[0],
                             test_acc=accuracies[1], elapsed_s=0.0, final=final)
        record.elapsed_s = run.elapsed_s = self.clock()
        run.epochs.append(record)
        self.state.snapshots.keep(run, len(run.epochs) - 1, i + 1, params["W1"], params)
        if self.callback:
            self.callback(run, "epoch")
        return record

    def settle(self, wait: bool = False, everything: bool = False) -> None:
        """Record finished measurements, oldest first: those done, the oldest one (``wait``) or all."""
        while self.pending and (wait or everything or self.pending[0][3].done()):
            i, final, copy, future = self.pending.popleft()
            t0 = time.perf_counter()
            result = future.result()
            self.state.run.eval_s += time.perf_counter() - t0  # only the time the steps were held up
            self.record(i, final, result, copy.params)
            wait = False

    def last_measured(self) -> int:
        """Steps done when the latest measurement (recorded or pending) was taken; 0 when none was."""
        if self.pending:
            return self.pending[-1][0] + 1
        return self.state.run.epochs[-1].iteration if self.state.run.epochs else 0


def _clock(run: Run) -> Callable[[], float]:
    """Seconds of this run's work: those of earlier calls (``run.elapsed_s``) plus those since now."""
    zero = time.perf_counter() - run.elapsed_s
    return lambda: time.perf_counter() - zero


def _divergence_limit(run: Run) -> float:
    """The loss above which a run has diverged: ``DIVERGENCE_FACTOR`` times the larger of ln 10 and its first."""
    return DIVERGENCE_FACTOR * max(math.log(10), float(run.losses[0])) if run.iterations_done else math.inf


def _diverged(state: Training, step: Step, limit: float) -> Message | None:
    """Why the run has diverged after this step, or None: its loss and the mean of the last
    ``DIVERGENCE_WINDOW`` losses are both above ``limit`` (``_divergence_limit``)."""
    losses, i = state.run.losses, step.i
    if step.loss <= limit or i < DIVERGENCE_WINDOW:  # (before the mean: nearly every step stops here)
        return None
    first = float(losses[0])  # the loss of the initial weights, before any step
    recent = float(losses[i + 1 - DIVERGENCE_WINDOW : i + 1].mean())
    if recent <= limit:
        return None
    if _saturated(first):
        return Message("diverged_mean_std", iteration=i + 1, window=DIVERGENCE_WINDOW, mean=recent, start=first,
                       guess=math.log(10), name="weight_init_std", std=state.config.weight_init_std)
    return Message("diverged_mean", iteration=i + 1, window=DIVERGENCE_WINDOW, mean=recent, guess=math.log(10))


def _not_finite(state: Training, loss: float) -> Message:
    """The reason of a run whose next step's loss is NaN or infinite (the step was not taken)."""
    i = state.i
    if i > 0 and _saturated(state.run.losses[0]):
        return Message("diverged_std", iteration=i + 1, loss=float(loss), name="weight_init_std",
                       std=state.config.weight_init_std)
    return Message("diverged", iteration=i + 1, loss=float(loss))


def _take_steps(state: Training, until: int, measurements: _Measurements, clock: Callable[[], float], *,
                callback: Callback | None = None, should_stop: Callable[[], bool] | None = None,
                progress_every: int = 100) -> Step | None:
    """Drive the loop from step ``state.i`` to ``until``, with the hooks between two steps: Stop, the record of
    each step, divergence, progress. Returns the last step taken (None if none was)."""
    run, config = state.run, state.config
    loop = state.loop(measurements, should_stop, until)
    last, limit = None, _divergence_limit(run)
    with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
        while state.i < until:
            if should_stop is not None and should_stop():
                run.status, run.reason = "stopped", Message("stopped_after", done=state.i, total=config.iters)
                break
            try:
                step = next(loop)
            except Stopped:  # inside the book's numerical gradient, which has put every weight back exactly
                run.status = "stopped"
                run.reason = Message("stopped_during", done=state.i + 1, total=config.iters)
                break
            except LossNotFinite as exc:  # raised before the update: the weights are the last good ones
                run.status, run.reason = "diverged", _not_finite(state, exc.loss)
                break
            state.i = step.i + 1
            run.losses[step.i] = step.loss
            run.iterations_done = state.i
            run.elapsed_s = clock()
            last = step
            if step.accuracy is not None:
                step.epoch = measurements.record(step.i, False, step.accuracy, state.network.params)
            measurements.settle()
            if step.i == 0:
                limit = _divergence_limit(run)
            reason = _diverged(state, step, limit)
            if reason is not None:
                run.status, run.reason = "diverged", reason
                break
            if callback and state.i % progress_every == 0:
                callback(run, "iteration")
    return last


def _finish(state: Training, measurements: _Measurements) -> None:
    """The end of a run: "finished" if it ran all its steps, and accuracy measured for its last weights unless
    that was done already (or the run diverged)."""
    run = state.run
    if run.status == "running" and state.i >= state.config.iters:
        run.status = "finished"
    last = run.iterations_done - 1
    if run.status != "diverged" and last >= 0 and measurements.last_measured() != last + 1:
        result = measurements(state.network, last, final=True)
        if result is not None:
            measurements.record(last, True, result, state.network.params)
    measurements.settle(everything=True)


# -- the API ------------------------------------------------------------------------------------------------


def step(state: Training) -> Step | None:
    """Take the next SGD step of a started run (``start``), exactly as ``train`` would take it, and say what it
    did: ``step.i``, ``step.batch_mask`` (and ``x_batch``, ``t_batch``), ``step.loss``, ``step.grad`` (overwritten
    by the next step: copy it to keep it) and, when the book measures accuracy after it, ``step.epoch`` (an
    ``EpochRecord``, also appended to ``state.run.epochs``). The run's last step also finishes it, as ``train``
    does. Returns None when no step could be taken: the run has diverged (a NaN loss; ``state.run.reason``).
    """
    run = state.run
    if run.done or state.i >= state.config.iters:
        raise ValueError(f"the run is over ({run.status}, {state.i:,} of {state.config.iters:,} steps)")
    clock = _clock(run)
    try:
        with _Measurements(state, overlap=False, clock=clock) as measurements:
            taken = _take_steps(state, state.i + 1, measurements, clock)
            if run.done or state.i >= state.config.iters:
                _finish(state, measurements)
    except Exception as exc:
        run.status, run.reason = "failed", Message("failed", error=str(exc))
        raise
    finally:
        run.elapsed_s = clock()
    return taken


def train(
    config: TrainConfig,
    data,
    *,
    callback: Callback | None = None,
    should_stop: Callable[[], bool] | None = None,
    run: Run | None = None,
    progress_every: int = 100,
    data_source: str = "",
    overlap: bool | None = None,
    resume: Training | None = None,
) -> Run:
    """Train a fresh ``TwoLayerNet`` with mini-batch SGD (``nn.sgd``) and return its run record.

    ``data`` is ``((x_train, t_train), (x_test, t_test))`` (see ``start``). ``callback(run, event)`` is called
    with event "epoch" after each accuracy measurement, "iteration" every ``progress_every`` steps and "end"
    once. ``should_stop()`` is checked before each step. Pass ``run`` to have a record you already hold (shown
    live by another thread) filled in. ``overlap`` measures accuracy in a thread of its own while the steps go
    on (the same numbers, on a copy of the weights; default: when there are two cores or more).

    ``resume``: a run started (``start``) and perhaps stepped (``step``): it goes on from its step ``state.i``,
    into its own record, with its own data (``data`` is not used), to the same end as if it had been trained in
    one go. ``config`` must be the one it was started with.
    """
    if resume is None:
        state = start(config, data, run=run, data_source=data_source)
    else:
        state = resume
        if config != state.config or (run is not None and run is not state.run):
            raise ValueError("resume a run with the config it was started with, into its own record")
        if state.run.done:
            raise ValueError(f"the run is over ({state.run.status})")
        state.run.started_at = time.time() - state.run.elapsed_s  # time spent between two steps is not the run's
    overlap = OVERLAP_MEASUREMENTS if overlap is None else overlap
    run = state.run
    clock = _clock(run)
    try:
        with _Measurements(state, overlap, clock, callback) as measurements:
            _take_steps(state, config.iters, measurements, clock, callback=callback, should_stop=should_stop,
                        progress_every=progress_every)
            _finish(state, measurements)
    except Exception as exc:  # keep what was recorded; say what went wrong
        run.status, run.reason = "failed", Message("failed", error=str(exc))
        raise
    finally:
        run.elapsed_s = clock()
        if callback:
            callback(run, "end")
    return run
