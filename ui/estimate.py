"""How fast this machine trains: measured once per server process, in the background, for the time estimates.

``measure_speeds(data)`` times each piece of a run as the trainer runs it (``nn.train``: the ``nn.sgd`` loop with a
``FastTwoLayerNet`` on uint8 pixels, one BLAS thread, accuracy through an ``AccuracyMeter``), in **CPU seconds of
one thread** (``time.thread_time``), the median of a few repetitions: about 0.3 s of CPU in all. CPU time, not wall
time, so that the figure is the work and not the moment: a measurement taken while two trainings share the cores
(or while the page that asked for it is being built) counts the same as one taken on an idle machine. How long
that work takes in wall time, with how many trainings on how many cores, is the model's job
(``ui.analysis.estimate_seconds``).

``SpeedProbe`` runs the measurement once, off the page: in a forked child process where forking is safe (as the
trainings run, ``ui.forked``: one BLAS thread, its own interpreter, so the pages being built never wait for it;
``os.nice`` lowers its priority below the trainings'), else in a daemon thread. Until it is done ``current()``
answers with ``ui.analysis.PROVISIONAL_SPEEDS``, conservative built-in figures. No Streamlit here: the page keeps
one probe per process in ``st.cache_resource`` (``ui.training_view.speeds``).
"""

from __future__ import annotations

import os
import pickle
import signal
import statistics
import sys
import threading
import time
from typing import Callable

import numpy as np

from nn.meter import available_cores
from ui.analysis import PROVISIONAL_SPEEDS, Speeds

#: Niceness of the measuring child: the trainings (``ui.runner.TRAINING_NICENESS``, 10) come first.
PROBE_NICENESS = 15
#: Repetitions of each timed piece (the median is kept).
REPEATS = 3


def _median_time(fn: Callable[[], object], repeats: int = REPEATS, timer: Callable[[], float] = time.thread_time) -> float:
    times = []
    for _ in range(max(1, repeats)):
        start = timer()
        fn()
        times.append(timer() - start)
    return statistics.median(times)


def machine_load() -> float:
    """How many threads wanted a core on this machine lately: the 1-minute load average (0 where unknown). It
    counts what the pool does not know about: other programs, the server's own page runs, a browser."""
    try:
        return float(os.getloadavg()[0])
    except (AttributeError, OSError):
        return 0.0


def threads_beside(alongside: int, load: float) -> int:
    """The threads a new run will share the cores with: the trainings beside it, or the machine's load if that is
    more (a load that includes those trainings: it was read before the run starts)."""
    return max(max(0, int(alongside)), int(round(load)))


def measure_speeds(data, repeats: int = REPEATS, timer: Callable[[], float] = time.thread_time) -> Speeds:
    """Time the pieces of a run of the book's net (hidden 50, float32, batch 100) on ``data``
    ((x_train, t_train), (x_test, t_test)), in CPU seconds of this thread. Run it with one BLAS thread, as the
    trainer runs (``nn.blas.limit_blas_threads``): a BLAS thread's work would not be counted."""
    from nn.fast_net import FastTwoLayerNet
    from nn.functions import as_label_indices, numerical_gradient
    from nn.meter import AccuracyMeter
    from nn.numgrad import fast_numerical_gradient
    from nn.sgd import sgd

    (x_train, t_train), (x_test, t_test) = data
    x = np.asarray(x_train).reshape(len(x_train), -1)
    labels = as_label_indices(t_train)
    rng = np.random.default_rng(0)
    net = FastTwoLayerNet(x.shape[1], 50, 10, 0.01, rng=rng, dtype=np.float32)
    batch = rng.choice(len(x), size=min(100, len(x)), replace=False)
    xb, tb = x[batch], labels[batch]

    # backprop: the trainer's own loop (draw from all images, gradient, update), no accuracy measured
    steps = 40

    def loop() -> None:
        with np.errstate(all="ignore"):
            for _ in sgd(net, x, labels, x[:0], labels[:0], rng=np.random.default_rng(1), iters_num=steps,
                         measure=lambda network, i: None):
                pass

    loop()  # warm-up: the workspace's buffers are made on the first step
    backprop = _median_time(loop, repeats, timer) / steps

    # accuracy: what one measurement costs per image, through the meter the trainer uses (one worker)
    x_eval = np.asarray(x_test).reshape(len(x_test), -1)[:4000]
    t_eval = as_label_indices(t_test)[:4000]
    with AccuracyMeter(workers=1) as meter:
        meter.accuracy(net, x_eval, t_eval)
        eval_image = _median_time(lambda: meter.accuracy(net, x_eval, t_eval), repeats, timer) / len(x_eval)

    # the fast numerical gradient of every parameter (float64, as nn.numgrad computes), one step's worth
    numerical = _median_time(lambda: fast_numerical_gradient(net.params, xb, tb), max(1, repeats - 1), timer)

    # the book's loop: two losses of the batch per parameter, on the training net itself (float32), on b1
    def book_loop() -> None:
        numerical_gradient(lambda _: net.loss(xb, tb), net.params["b1"][:25])

    plain_param = _median_time(book_loop, repeats, timer) / 25
    return Speeds(backprop_step_s=backprop, numerical_step_s=numerical, plain_param_s=plain_param,
                  eval_image_s=eval_image, cores=available_cores(), provisional=False)


def measure_in_child(data, niceness: int = PROBE_NICENESS, timeout: float = 120.0) -> Speeds:
    """``measure_speeds(data)`` in a forked child (one BLAS thread, ``niceness``), its result sent back through a
    pipe; the child inherits ``data`` (no copy). Raises ``RuntimeError`` when the child gives no answer."""
    from multiprocessing import Pipe

    from nn.blas import limit_blas_threads

    reader, writer = Pipe(duplex=False)
    from ui.forked import fork

    pid = fork()
    if pid == 0:  # the child: never return into the server's code
        code = 1
        try:
            reader.close()
            try:
                os.nice(niceness)
            except OSError:
                pass
            limit_blas_threads(1)
            writer.send_bytes(pickle.dumps(measure_speeds(data)))
            writer.close()
            code = 0
        finally:
            os._exit(code)
    writer.close()
    try:
        if not reader.poll(timeout):
            os.kill(pid, signal.SIGKILL)  # stuck (a lock held at the fork?): the built-in figures stay
            raise RuntimeError("the speed measurement gave no answer")
        return pickle.loads(reader.recv_bytes())
    except EOFError as exc:
        raise RuntimeError("the speed measurement ended without an answer") from exc
    finally:
        reader.close()
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass


def measure_in_thread(data) -> Speeds:
    """``measure_speeds(data)`` in this thread, with one BLAS thread for the whole process (as the thread-mode
    trainer sets it anyway, ``ui.runner``)."""
    from nn.blas import limit_blas_threads

    limit_blas_threads(1)
    return measure_speeds(data)


def default_measure(data) -> Speeds:
    """In a child process where ``fork`` is safe (Linux), else in this thread."""
    if sys.platform.startswith("linux") and hasattr(os, "fork"):
        return measure_in_child(data)
    return measure_in_thread(data)


class SpeedProbe:
    """One measurement of this machine, taken in a daemon thread on first need; ``current()`` never waits."""

    def __init__(self, measure: Callable[[], Speeds], provisional: Speeds = PROVISIONAL_SPEEDS) -> None:
        self._measure = measure
        self._provisional = provisional
        self._speeds: Speeds | None = None
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.error = ""
        self.took_s: float | None = None  # wall seconds the measurement took
        self.done = threading.Event()

    def start(self) -> SpeedProbe:
        """Start the measurement (once; later calls do nothing)."""
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name="sgdlab-speed-probe", daemon=True)
                self._thread.start()
        return self

    def _work(self) -> None:
        start = time.perf_counter()
        try:
            self._speeds = self._measure()
        except Exception as exc:  # noqa: BLE001 - the built-in figures stay; the page must not break
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            self.took_s = time.perf_counter() - start
            self.done.set()

    def current(self) -> Speeds:
        """The measured speeds, or the provisional ones while the measurement runs (or if it failed); starts the
        measurement if it has not started."""
        self.start()
        return self._speeds if self._speeds is not None else self._provisional

    def wait(self, timeout: float | None = None) -> bool:
        self.start()
        return self.done.wait(timeout)
