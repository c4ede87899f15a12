"""Mini-batch SGD, as in §4.5: draw a mini-batch, compute the gradient, step against it; repeat.

One loop serves the command line, the app and the benchmark. It never prints or draws: it fills a ``Run``
record in place (so another thread can watch it live), reports progress through an optional callback, and
stops between iterations when asked to.
"""

from __future__ import annotations

import math
import os
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Callable

import numpy as np

from nn.functions import CROSS_ENTROPY_EPS, as_label_indices
from nn.messages import Message
from nn.options import DTYPES, GRADIENT_METHODS, OPTIONS, all_problems  # noqa: F401 - the first two: read from here
from nn.two_layer_net import EVAL_CHUNK, PARAM_KEYS, TwoLayerNet

#: Threads that share out an accuracy measurement (70,000 images: 18 times in the book's run).
EVAL_WORKERS = min(2, os.cpu_count() or 1)
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
#: evenly spaced, the first and the latest always kept, at most 24 × 78 KB per run.
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
    snapshots: list[tuple[int, np.ndarray]] = field(default_factory=list)  # (iteration, W1 as float16)
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


class _Buffers:
    """Every array the hot loop writes, allocated once per run (no allocation per step)."""

    def __init__(self, batch: int, n_in: int, n_hidden: int, n_out: int, dtype: np.dtype) -> None:
        self.x_u8 = np.empty((batch, n_in), dtype=np.uint8)
        self.x = np.empty((batch, n_in), dtype=dtype)
        self.z1 = np.empty((batch, n_hidden), dtype=dtype)
        self.tmp1 = np.empty((batch, n_hidden), dtype=dtype)
        self.y = np.empty((batch, n_out), dtype=dtype)
        self.row_max = np.empty((batch, 1), dtype=dtype)
        self.y_t = np.empty(batch, dtype=dtype)
        self.log_t = np.empty(batch, dtype=dtype)
        self.rows = np.arange(batch)
        self.grads = {
            "W1": np.empty((n_in, n_hidden), dtype=dtype),
            "b1": np.empty(n_hidden, dtype=dtype),
            "W2": np.empty((n_hidden, n_out), dtype=dtype),
            "b2": np.empty(n_out, dtype=dtype),
        }


def _gather(x: np.ndarray, idx: np.ndarray, buf: _Buffers, scaled: bool = True) -> np.ndarray:
    """The mini-batch rows ``x[idx]`` as floats in ``buf.x``. uint8 pixels are scaled to [0, 1], or with
    ``scaled=False`` only converted (0-255), for ``_backprop_step(..., pixel_scale=1/255)`` to scale cheaper."""
    if x.dtype == np.uint8:
        np.take(x, idx, axis=0, out=buf.x_u8)
        if scaled:
            np.multiply(buf.x_u8, buf.x.dtype.type(1 / 255), out=buf.x)
        else:
            np.copyto(buf.x, buf.x_u8, casting="unsafe")
    elif x.dtype == buf.x.dtype:
        np.take(x, idx, axis=0, out=buf.x)
    else:
        buf.x[...] = x[idx]
    return buf.x


def _backprop_step(params: dict, x: np.ndarray, t: np.ndarray, buf: _Buffers, scale: float = 1.0,
                   pixel_scale: float = 1.0) -> float:
    """Forward and backward pass in preallocated buffers; returns the batch loss and leaves ``scale`` times the
    gradient in ``buf.grads``. The input is ``pixel_scale * x``: the hot loop passes raw 0-255 pixels with
    ``pixel_scale=1/255`` (scaling 5,000 hidden values instead of 78,400 pixels) and the learning rate as
    ``scale`` (one multiply of the 1,000 output errors instead of one per weight), so the SGD step is a subtraction."""
    W1, b1, W2, b2 = (params[key] for key in PARAM_KEYS)
    g = buf.grads
    n = x.shape[0]
    dt = buf.y.dtype.type
    # forward: z1 = σ(x W1 + b1), y = softmax(z1 W2 + b2)
    z1 = np.dot(x, W1, out=buf.z1)
    if pixel_scale != 1.0:
        z1 *= dt(pixel_scale)
    z1 += b1
    np.negative(z1, out=z1)
    np.exp(z1, out=z1)
    z1 += 1
    np.reciprocal(z1, out=z1)                       # (N, hidden)
    y = np.dot(z1, W2, out=buf.y)
    y += b2
    np.max(y, axis=1, keepdims=True, out=buf.row_max)
    y -= buf.row_max
    np.exp(y, out=y)
    np.sum(y, axis=1, keepdims=True, out=buf.row_max)
    y /= buf.row_max                                # (N, output)
    rows = buf.rows[:n]
    y_t, log_t = buf.y_t[:n], buf.log_t[:n]
    y_t[...] = y[rows, t]                           # the probability of the right digit
    np.add(y_t, CROSS_ENTROPY_EPS, out=log_t)
    # backward: dL/da2 = (y - t) · y_t / (y_t + eps) / N   (the exact gradient of the loss with its epsilon)
    y_t /= log_t
    y_t *= dt(scale / n)
    loss = -float(np.log(log_t, out=log_t).sum()) / n
    y[rows, t] -= 1
    y *= y_t[:, None]
    np.dot(z1.T, y, out=g["W2"])
    np.sum(y, axis=0, out=g["b2"])
    da1 = np.dot(y, W2.T, out=buf.tmp1)             # dL/dz1                   (N, hidden)
    da1 *= z1
    np.subtract(1, z1, out=z1)
    da1 *= z1                                       # dL/da1 = dL/dz1 · z1 (1 - z1)
    np.sum(da1, axis=0, out=g["b1"])
    if pixel_scale != 1.0:
        da1 *= dt(pixel_scale)
    np.dot(x.T, da1, out=g["W1"])                   # (input, hidden)
    return loss


class _Evaluator:
    """Accuracy on a whole data set, a chunk of rows at a time, in buffers allocated once.

    The chunks are shared out to ``workers`` Python threads (NumPy releases the GIL inside its loops and BLAS),
    each with buffers of its own. That spreads the evaluation over the cores without OpenBLAS's own threads,
    which spin while they wait and crawl on cores shared with a server or a browser (see ``nn.blas``).
    uint8 pixels are converted as they are (a plain cast) and the 1/255 goes into a scaled copy of W1.
    """

    def __init__(self, n_in: int, n_hidden: int, n_out: int, dtype: np.dtype, chunk: int = EVAL_CHUNK,
                 workers: int = EVAL_WORKERS) -> None:
        self.chunk = chunk
        self.workers = max(1, workers)
        self.buffers = [
            (np.empty((chunk, n_in), dtype=dtype), np.empty((chunk, n_hidden), dtype=dtype),
             np.empty((chunk, n_out), dtype=dtype))
            for _ in range(self.workers)
        ]
        self.W1_scaled = np.empty((n_in, n_hidden), dtype=dtype)
        self.pool = ThreadPoolExecutor(self.workers, thread_name_prefix="sgdlab-eval") if self.workers > 1 else None

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown()

    def accuracy(self, params: dict, x: np.ndarray, labels: np.ndarray) -> float:
        if len(x) == 0:
            return float("nan")
        W1 = params["W1"]
        if x.dtype == np.uint8:  # (x / 255) W1 = x (W1 / 255): scale 39,200 weights, not 55 million pixels
            W1 = np.multiply(params["W1"], self.W1_scaled.dtype.type(1 / 255), out=self.W1_scaled)
        starts = range(0, len(x), self.chunk)

        def count(worker: int) -> int:
            xb_full, h_full, o_full = self.buffers[worker]
            correct = 0
            # errstate is per thread, so it is set here, in the thread that counts: a diverged net's exp overflows
            with np.errstate(over="ignore", under="ignore", invalid="ignore"):
                for start in starts[worker :: self.workers]:
                    rows = x[start : start + self.chunk]
                    m = len(rows)
                    xb, h, o = xb_full[:m], h_full[:m], o_full[:m]
                    np.copyto(xb, rows, casting="unsafe")
                    np.dot(xb, W1, out=h)
                    h += params["b1"]
                    np.negative(h, out=h)
                    np.exp(h, out=h)
                    h += 1
                    np.reciprocal(h, out=h)
                    np.dot(h, params["W2"], out=o)
                    o += params["b2"]  # softmax is monotonic: the argmax of the scores is the prediction
                    correct += int(np.count_nonzero(o.argmax(axis=1) == labels[start : start + m]))
            return correct

        if self.pool is None:
            return count(0) / len(x)
        return sum(self.pool.map(count, range(self.workers))) / len(x)


#: Niceness of the thread that measures accuracy alongside the steps (Linux: per thread, no privilege needed).
MEASURE_NICENESS = 10


def _yield_to_the_steps() -> None:
    """Lower the priority of this (measuring) thread: the SGD steps are the run's critical path, and on cores
    shared with a browser or a server the scheduler should take time from the measurements, not from them."""
    import threading

    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), MEASURE_NICENESS)
    except (AttributeError, OSError):  # not Linux, or not allowed: the same results, only scheduled differently
        pass


class _Snapshots:
    """W1 at every ``stride``-th accuracy measurement (the stride doubles when the list fills), plus the latest."""

    def __init__(self) -> None:
        self.stride, self.grid = 1, []  # grid: (measurement number, iteration, W1 as float16)

    def keep(self, run: Run, measurement: int, iteration: int, W1: np.ndarray) -> None:
        latest = W1.astype(np.float16)
        if measurement % self.stride == 0:
            self.grid.append((measurement, iteration, latest))
            if len(self.grid) > MAX_SNAPSHOTS - 1:
                self.stride *= 2
                self.grid = [g for g in self.grid if g[0] % self.stride == 0]
        snapshots = [(it, w) for _, it, w in self.grid]
        if self.grid[-1][0] != measurement:
            snapshots.append((iteration, latest))
        run.snapshots = snapshots  # one assignment: a reader in another thread sees the old list or the new one


class _StopRequested(Exception):
    """Raised inside the book's slow numerical gradient when Stop is pressed (the weights are restored)."""


def _numerical_grads(method: str, should_stop: Callable[[], bool] | None):
    if method == "numerical-plain":

        def plain(params, x, t):
            net = TwoLayerNet.from_params(params)
            net.params = params  # perturb the live weights, exactly as the book does
            if should_stop is not None:  # one iteration takes ~17 s: let Stop interrupt it between two losses
                book_loss = net.loss

                def loss(x_, t_):
                    if should_stop():
                        raise _StopRequested
                    return book_loss(x_, t_)

                net.loss = loss
            return net.numerical_gradient(x, t)

        return plain
    from nn.numgrad import fast_numerical_gradient

    return fast_numerical_gradient


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
) -> Run:
    """Train a fresh ``TwoLayerNet`` with mini-batch SGD and return its run record.

    ``data`` is ``((x_train, t_train), (x_test, t_test))`` as ``nn.mnist.load_mnist`` returns it: images uint8
    (scaled here) or floats in [0, 1], flattened or not; labels integer or one-hot. ``callback(run, event)`` is
    called with event "epoch" after each accuracy measurement, "iteration" every ``progress_every`` steps and
    "end" once. ``should_stop()`` is checked before each step. Pass ``run`` to have a record you already hold
    (shown live by another thread) filled in. ``overlap`` measures accuracy in a thread of its own while the
    steps go on (the same numbers, on a copy of the weights; default: when there are two cores or more).
    """
    problems = config.errors()
    if problems:  # before anything is allocated: iters=10**12 or hidden=10**8 is refused, not attempted
        raise ValueError(all_problems(problems))
    overlap = OVERLAP_MEASUREMENTS if overlap is None else overlap
    (x_train, t_train), (x_test, t_test) = data
    rng = np.random.default_rng(config.seed)
    dtype = np.dtype(config.dtype)
    x_test = x_test.reshape(len(x_test), -1)
    t_test = as_label_indices(t_test)
    n_in, n_out = x_test.shape[1], 10
    net = TwoLayerNet(n_in, config.hidden, n_out, config.weight_init_std, rng=rng, dtype=dtype)
    x, t = prepare_training_set(x_train, t_train, config.train_size, rng)
    n = len(x)

    run = run if run is not None else Run(config)
    run.config, run.n_train, run.n_test, run.data_source = config, n, len(x_test), data_source
    if not (isinstance(run.losses, np.ndarray) and run.losses.shape == (config.iters,) and run.losses.flags.writeable):
        run.losses = np.empty(config.iters)  # (an array of the right size given in ``run`` is written in place)
    run.losses.fill(np.nan)
    run.params = net.params
    run.status, run.reason, run.iterations_done, run.epochs, run.snapshots = "running", "", 0, [], []
    run.started_at, run.elapsed_s, run.eval_s = time.time(), 0.0, 0.0

    ipe = iterations_per_epoch(n, config.batch_size)
    buf = _Buffers(config.batch_size, n_in, config.hidden, n_out, dtype)
    evaluator = _Evaluator(n_in, config.hidden, n_out, dtype, workers=1 if overlap else EVAL_WORKERS)
    background = ThreadPoolExecutor(1, thread_name_prefix="sgdlab-measure", initializer=_yield_to_the_steps) \
        if overlap else None
    pending: deque = deque()  # (i, final, weights, future) of measurements not yet recorded
    snapshots = _Snapshots()
    numerical = None if config.gradient == "backprop" else _numerical_grads(config.gradient, should_stop)
    params, grads, lr = net.params, buf.grads, dtype.type(config.lr)
    pixel_scale = 1 / 255 if x.dtype == np.uint8 else 1.0
    divergence_limit = math.inf  # set from the first loss
    start = time.perf_counter()

    def record(i: int, final: bool, accuracies: tuple[float, float], W1: np.ndarray) -> None:
        record = EpochRecord(epoch=round(i / ipe, 6), iteration=i + 1, train_acc=accuracies[0],
                             test_acc=accuracies[1], elapsed_s=0.0, final=final)
        record.elapsed_s = run.elapsed_s = time.perf_counter() - start
        run.epochs.append(record)
        snapshots.keep(run, len(run.epochs) - 1, i + 1, W1)
        if callback:
            callback(run, "epoch")

    def accuracies(weights: dict) -> tuple[float, float]:
        return evaluator.accuracy(weights, x, t), evaluator.accuracy(weights, x_test, t_test)

    def measure(i: int, final: bool = False) -> None:
        """Accuracy after step i: here and now, or (``overlap``) on a copy of the weights in the evaluator's
        thread while the steps go on; its record is filled in by ``settle`` in this thread, in order."""
        if background is None:
            t0 = time.perf_counter()
            result = accuracies(params)
            run.eval_s += time.perf_counter() - t0
            record(i, final, result, params["W1"])
            return
        weights = {key: value.copy() for key, value in params.items()}
        pending.append((i, final, weights, background.submit(accuracies, weights)))
        if len(pending) > MAX_PENDING_MEASUREMENTS:
            settle(wait=True)

    def settle(wait: bool = False, all_: bool = False) -> None:
        """Record finished measurements, oldest first: those done, the oldest one (``wait``) or all (``all_``)."""
        while pending and (wait or all_ or pending[0][3].done()):
            i, final, weights, future = pending.popleft()
            t0 = time.perf_counter()
            result = future.result()
            run.eval_s += time.perf_counter() - t0  # only the time the steps were held up
            record(i, final, result, weights["W1"])
            wait = False

    try:
        with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
            i = -1
            for i in range(config.iters):
                if should_stop is not None and should_stop():
                    run.status, run.reason = "stopped", Message("stopped_after", done=i, total=config.iters)
                    break
                idx = rng.integers(0, n, size=config.batch_size)  # with replacement, like the book
                tb = t[idx]
                if numerical is None:  # lr and 1/255 folded into the step: grads hold lr × the gradient
                    loss = _backprop_step(params, _gather(x, idx, buf, scaled=False), tb, buf, lr, pixel_scale)
                else:
                    xb = _gather(x, idx, buf)
                    loss = net.loss(xb, tb)
                    try:
                        grads = numerical(params, xb, tb)
                        for grad in grads.values():
                            grad *= lr
                    except _StopRequested:  # numerical_gradient has put every weight back exactly
                        run.status = "stopped"
                        run.reason = Message("stopped_during", done=i + 1, total=config.iters)
                        break
                if not math.isfinite(loss):
                    run.status = "diverged"
                    if i > 0 and _saturated(run.losses[0]):
                        run.reason = Message("diverged_std", iteration=i + 1, loss=float(loss),
                                             name="weight_init_std", std=config.weight_init_std)
                    else:
                        run.reason = Message("diverged", iteration=i + 1, loss=float(loss))
                    break
                run.losses[i] = loss
                if loss > divergence_limit and i >= DIVERGENCE_WINDOW:
                    recent = float(run.losses[i + 1 - DIVERGENCE_WINDOW : i + 1].mean())
                    if recent > divergence_limit:
                        run.status = "diverged"
                        if _saturated(run.losses[0]):
                            run.reason = Message("diverged_mean_std", iteration=i + 1, window=DIVERGENCE_WINDOW,
                                                 mean=recent, start=float(run.losses[0]), guess=math.log(10),
                                                 name="weight_init_std", std=config.weight_init_std)
                        else:
                            run.reason = Message("diverged_mean", iteration=i + 1, window=DIVERGENCE_WINDOW,
                                                 mean=recent, guess=math.log(10))
                        run.iterations_done = i + 1
                        break
                elif i == 0:  # the loss of the initial weights, before any step
                    divergence_limit = DIVERGENCE_FACTOR * max(math.log(10), loss)
                for key in PARAM_KEYS:  # step against the gradient (already times lr), in place
                    params[key] -= grads[key]
                run.iterations_done = i + 1
                run.elapsed_s = time.perf_counter() - start
                if math.floor(i / ipe) != math.floor((i - 1) / ipe):  # i = 0, 600, 1200, ...: the book's epochs
                    measure(i)
                if pending and pending[0][3].done():
                    settle()
                if callback and (i + 1) % progress_every == 0:
                    callback(run, "iteration")
            else:
                run.status = "finished"
            last = run.iterations_done - 1
            measured = pending[-1][0] + 1 if pending else (run.epochs[-1].iteration if run.epochs else 0)
            if run.status != "diverged" and last >= 0 and measured != last + 1:
                measure(last, final=True)
            settle(all_=True)
    except Exception as exc:  # keep what was recorded; say what went wrong
        run.status, run.reason = "failed", Message("failed", error=str(exc))
        raise
    finally:
        if background is not None:
            background.shutdown(cancel_futures=True)
        evaluator.close()
        run.elapsed_s = time.perf_counter() - start
        if callback:
            callback(run, "end")
    return run
