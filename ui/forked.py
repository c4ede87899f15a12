"""Train in a forked child process, filling the parent's ``Run`` record live (no Streamlit here).

Why: a training thread inside the Streamlit server needs Python's GIL ~40 times per SGD step, and every time the
server's script threads are busy building and sending a page (a Plotly figure, a table) it waits for it. A child
process has its own interpreter: the server's drawing competes with it for cores only, not for a lock.

How the parent sees the run live, with no copying of MNIST (the child inherits the read-only arrays through
``fork``'s copy-on-write):

- the per-iteration losses and a small header (iterations done, seconds, a Stop flag) live in an anonymous
  shared memory map created before the fork: the child's ``nn.train.train`` writes the losses straight into it;
- everything else (each accuracy measurement with its W1 picture, and at the end the status, reason and weights)
  comes over a pipe (pickled: the reason, an ``nn.messages.Message``, keeps its code), and a relay loop in the
  parent (the job's worker thread) puts it into the parent's ``Run``.

Where ``os.fork`` is missing or unsafe (Windows; macOS, whose system libraries do not survive a fork of a
threaded process) ``ui.runner`` trains in a thread instead: see ``ui.runner.train_mode_from_env``.
"""

from __future__ import annotations

import gc
import mmap
import os
import signal
import time
import warnings
from multiprocessing import Pipe
from typing import Callable

import numpy as np

from nn.blas import limit_blas_threads
from nn.messages import Message
from nn.train import Run, TrainConfig, train

# the shared header: float64 slots
_ITERATIONS, _ELAPSED, _STOP, _EVAL = range(4)
_HEADER = 4
#: The child publishes its iteration count this often (~7 ms at the book's speed).
PROGRESS_EVERY = 25
#: A W1 picture that is only "the latest" (not one the run keeps for good) is sent at most this often.
LATEST_SNAPSHOT_SECONDS = 0.5
#: How often the parent copies the header into the record and passes Stop on.
RELAY_SECONDS = 0.05


def fork() -> int:
    """``os.fork()``, without the warning Python ≥ 3.12 gives for forking a threaded process (the server has
    threads; the child only trains or measures and exits through ``os._exit``: see the module doc)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return os.fork()


def train_forked(
    config: TrainConfig,
    data,
    *,
    run: Run,
    should_stop: Callable[[], bool] | None = None,
    data_source: str = "",
    blas_threads: int | None = 1,
    resume=None,
) -> Run:
    """Like ``nn.train.train(config, data, run=run, should_stop=..., data_source=..., resume=...)``, but the steps
    run in a forked child; returns when the child has ended, with ``run`` complete. Raises ``ValueError`` for a bad
    config (before forking), as ``train`` does.

    ``resume``: the core's state of a run already stepped some way (the Code page's step-through). The child
    inherits it with the fork (nothing is pickled) and trains on from it; the parent's record starts with its
    steps so far (losses, accuracy lines, W1 pictures), and the child sends only what comes after."""
    problems = config.errors()
    if problems:
        raise ValueError("; ".join(problems))
    (x_train, _), (x_test, _) = data
    shared = mmap.mmap(-1, 8 * (_HEADER + config.iters))
    header = np.frombuffer(shared, dtype=np.float64, count=_HEADER)
    losses = np.frombuffer(shared, dtype=np.float64, offset=8 * _HEADER, count=config.iters)
    losses.fill(np.nan)
    n_train = len(x_train) if config.train_size is None else min(config.train_size, len(x_train))
    run.config, run.n_train, run.n_test, run.data_source = config, n_train, len(x_test), data_source
    run.losses, run.iterations_done, run.epochs, run.snapshots = losses, 0, [], []
    run.started_at, run.elapsed_s, run.eval_s, run.reason = time.time(), 0.0, 0.0, ""
    if resume is not None:
        resumed_record(run, resume)  # the steps done so far, into the shared losses
        header[_ITERATIONS] = run.iterations_done
    reader, writer = Pipe(duplex=False)
    parent = os.getpid()
    pid = fork()
    if pid == 0:  # the child: never return into the server's code
        code = 1
        try:
            reader.close()
            code = _child(config, data, header, losses, writer, data_source, blas_threads, parent, resume)
        finally:
            os._exit(code)
    writer.close()
    run.status = "running"
    try:
        _relay(run, header, reader, should_stop)
    finally:
        reader.close()
        exit_code = _reap(pid)
        if not run.done:
            run.status = "failed"
            run.reason = Message("process_died", status=exit_code)
        if run.status == "failed":  # the child sent no end: its last published count is what was done
            run.iterations_done = int(header[_ITERATIONS])
        run.losses = losses.copy()  # a private copy; the shared map goes when its last view does
    return run


def resume_arguments(resume) -> dict:
    """The keyword arguments that make ``nn.train.train`` go on from a stepped run's state (none for a fresh run)."""
    return {} if resume is None else {"resume": resume}


def resumed_record(run: Run, resume) -> Run:
    """Fill ``run`` with what the stepped run ``resume`` (``nn.train.Training``) has done so far: its losses (into
    ``run.losses`` in place when it is an array of the planned length, e.g. the shared map), accuracy lines and W1
    pictures."""
    stepped = resume.run
    done = int(stepped.iterations_done)
    if not (isinstance(run.losses, np.ndarray) and run.losses.shape == (run.config.iters,)
            and run.losses.flags.writeable):
        run.losses = np.full(run.config.iters, np.nan)
    run.losses[:done] = stepped.losses[:done]
    run.iterations_done = done
    run.epochs = list(stepped.epochs)
    run.snapshots = list(stepped.snapshots)
    run.n_train, run.n_test = stepped.n_train, stepped.n_test
    return run


def _relay(run: Run, header: np.ndarray, reader, should_stop: Callable[[], bool] | None) -> None:
    """Copy the child's progress into ``run`` until it has sent its end (or died)."""
    pictures: dict[int, np.ndarray] = dict(run.snapshots)  # a resumed run's pictures so far (else none)
    while True:
        if should_stop is not None and should_stop():
            header[_STOP] = 1.0
        try:
            ready = reader.poll(RELAY_SECONDS)
            message = reader.recv() if ready else None
        except (EOFError, OSError):
            return
        run.elapsed_s, run.eval_s = float(header[_ELAPSED]), float(header[_EVAL])
        run.iterations_done = int(header[_ITERATIONS])
        if message is None:
            continue
        kind, body = message
        if kind == "epoch":
            record, kept, new_pictures = body
            pictures.update(new_pictures)
            run.epochs.append(record)
            run.snapshots = [(it, pictures[it]) for it in kept if it in pictures]
        elif kind == "end":
            kept, new_pictures = body.pop("snapshots")
            pictures.update(new_pictures)
            run.snapshots = [(it, pictures[it]) for it in kept if it in pictures]
            for key, value in body.items():
                setattr(run, key, value)
            return


def _reap(pid: int) -> int:
    try:
        _, status = os.waitpid(pid, 0)
    except ChildProcessError:
        return 0
    return os.waitstatus_to_exitcode(status)


def _close_inherited_files(keep: int) -> None:
    """Close the server's files and sockets in the child (all but stdio and ``keep``): a child still training
    must not hold the server's port after the server has gone."""
    try:
        fds = [int(name) for name in os.listdir("/proc/self/fd")]
    except OSError:
        return
    for fd in fds:
        if fd > 2 and fd != keep:
            try:
                os.close(fd)
            except OSError:
                pass


def _child(config, data, header, losses, writer, data_source, blas_threads, parent: int, resume=None) -> int:
    gc.disable()  # the few objects training makes die by reference counting; a collection would touch (and so
    # copy) every page of the server's heap this process shares
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C in the server's terminal is for the server; the child
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # sees the server go (below) and ends
    _close_inherited_files(keep=writer.fileno())
    if blas_threads is not None:
        limit_blas_threads(blas_threads)
    sent: set[int] = set()
    last_latest = [0.0]

    def pictures(run: Run, everything: bool) -> dict[int, np.ndarray]:
        new = {it: w for it, w in run.snapshots if it not in sent}
        latest = run.snapshots[-1][0] if run.snapshots else None
        now = time.perf_counter()
        if not everything and latest in new and len(new) == 1 and now - last_latest[0] < LATEST_SNAPSHOT_SECONDS:
            return {}  # only "the latest" changed, and it was sent a moment ago
        last_latest[0] = now
        sent.update(new)
        return new

    def publish(run: Run) -> None:
        header[_ITERATIONS], header[_ELAPSED], header[_EVAL] = run.iterations_done, run.elapsed_s, run.eval_s

    def callback(run: Run, event: str) -> None:
        publish(run)
        if event == "epoch":
            kept = [it for it, _ in run.snapshots]
            writer.send(("epoch", (run.epochs[-1], kept, pictures(run, everything=False))))

    next_look = [0.0]

    def should_stop() -> bool:  # Stop pressed, or the server gone (looked at twice a second)
        if header[_STOP] != 0.0:
            return True
        now = time.monotonic()
        if now > next_look[0]:
            next_look[0] = now + 0.5
            if os.getppid() != parent:
                header[_STOP] = 1.0
        return header[_STOP] != 0.0

    if resume is not None:  # the stepped run's state, inherited with the fork: it goes on into its own record,
        run = resume.run  # whose losses now live in the shared map
        losses[: run.iterations_done] = run.losses[: run.iterations_done]
        run.losses = losses
        sent.update(it for it, _ in run.snapshots)  # the parent has these pictures already (resumed_record)
    else:
        run = Run(config)
        run.losses = losses
    try:
        train(config, data, callback=callback, should_stop=should_stop, run=run,
              progress_every=PROGRESS_EVERY, data_source=data_source, **resume_arguments(resume))
    except Exception:  # noqa: BLE001 - train() has put status "failed" and the reason in the record
        pass
    publish(run)
    end = {
        "status": run.status if run.done else "failed",
        "reason": run.reason,
        "iterations_done": run.iterations_done,
        "elapsed_s": run.elapsed_s,
        "eval_s": run.eval_s,
        "params": run.params,
    }
    end["snapshots"] = ([it for it, _ in run.snapshots], pictures(run, everything=True))
    try:
        writer.send(("end", end))
        writer.close()
    except OSError:  # the server has gone
        return 1
    return 0
