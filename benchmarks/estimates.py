"""Time estimates against the clock: each of the app's estimates next to the run it estimates, alone and with two
trainings running beside it; and how long the first visit to Train takes on a fresh server.

    MNIST_DIR=../shared/data/mnist python -m benchmarks.estimates              # about 6 minutes
    MNIST_DIR=../shared/data/mnist python -m benchmarks.estimates --repeats 3 --skip-plain
    python -m benchmarks.estimates --only first-visit

How: the machine's speeds are measured as a fresh server measures them (``ui.estimate.measure_in_child``: a
forked child, one BLAS thread, CPU time), once, with nothing else running. Each case is then trained through the
app's runner (``ui.runner.time_in_app``: a forked child per run, as Start does) ``--repeats`` times; its wall time
from Start to finished is compared with ``ui.analysis.estimate_seconds`` for the same config. "Beside two" runs
the same cases while two other processes train the book's run over and over (one BLAS thread each, as the
runner's children), and the estimate is told so (``alongside=2``). Each estimate is the one the page gives at
Start, from the trainings beside it (``--count-load``: or the machine's 1-minute load average if more, as
``SGDLAB_ESTIMATE_LOAD=1`` makes the page do); the table shows the estimate without the load too, and the load. Medians; ratio = estimate / actual (1.00 is exact; the goal is
0.70–1.30).

The first visit: a new Python process (a fresh server: no ``st.cache_resource`` yet) opens the app with AppTest,
then Train; the time of Train's first script run is reported, median over ``--visits`` processes.
Timing goals are reported here, never asserted in the test suite.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from nn.blas import limit_blas_threads
from nn.mnist import load_dataset
from nn.train import TrainConfig, lower_this_thread, train

REPO = Path(__file__).resolve().parent.parent

#: The four cases of issue 16: the book's run, the two other presets, and the numerical gradients (per step).
CASES = {
    "book run (10,000 it, accuracy on 70,000 × 18)": TrainConfig(),
    "quick look (1,000 it)": TrainConfig(iters=1_000),
    "overfitting (1,500 it on 300 images: 501 measurements)": TrainConfig(iters=1_500, train_size=300),
    "numerical gradient, fast: 20 steps": TrainConfig(iters=20, gradient="numerical"),
    "numerical gradient, the book's loop: 1 step": TrainConfig(iters=1, gradient="numerical-plain"),
}


def _busy(data, stop) -> None:
    """A training beside the measured one: the book's run over and over, as a runner's child trains it (one BLAS
    thread, ``ui.runner.TRAINING_NICENESS``: at nice 0 it would take the core from the niced run it stands for)."""
    from ui.runner import TRAINING_NICENESS

    lower_this_thread(TRAINING_NICENESS)
    limit_blas_threads(1)
    while not stop.is_set():
        train(TrainConfig(iters=2_000), data)


class Beside:
    """``count`` trainings running in other processes while the ``with`` block runs."""

    def __init__(self, data, count: int) -> None:
        self.data, self.count = data, count

    def __enter__(self):
        ctx = multiprocessing.get_context("fork")
        self.stop = ctx.Event()
        self.procs = [ctx.Process(target=_busy, args=(self.data, self.stop), daemon=True) for _ in range(self.count)]
        for p in self.procs:
            p.start()
        time.sleep(1.0)  # under way
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        for p in self.procs:
            p.join(30)
            if p.is_alive():
                p.terminate()


def measure_cases(data, speeds, cases: dict, repeats: int, alongside: int, count_load: bool = False,
                  plain_repeats: int = 1) -> list[dict]:
    """Each case ``repeats`` times through the app's runner; before each run, the estimate the page would give at
    Start (``alongside`` trainings; with ``count_load``, the machine's load if more: ``ui.estimate.threads_beside``)."""
    from ui.analysis import estimate_seconds
    from ui.estimate import machine_load, threads_beside
    from ui.runner import time_in_app

    (x_train, _), (x_test, _) = data
    rows = []
    for name, config in cases.items():
        estimates, plain, actual, loads, cpu = [], [], [], [], []
        parts = estimate_seconds(config, len(x_train), len(x_test), speeds)
        for _ in range(plain_repeats if config.gradient == "numerical-plain" else repeats):
            loads.append(machine_load())
            beside = threads_beside(alongside, loads[-1]) if count_load else alongside
            estimates.append(estimate_seconds(config, len(x_train), len(x_test), speeds, alongside=beside)["total"])
            plain.append(estimate_seconds(config, len(x_train), len(x_test), speeds, alongside=alongside)["total"])
            before = resource.getrusage(resource.RUSAGE_CHILDREN)  # the run's forked child, once reaped
            actual.append(time_in_app(config, data))
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
        row = {"case": name, "alongside": alongside, "estimate": statistics.median(estimates),
               "estimate_no_load": statistics.median(plain), "actual": actual, "median": statistics.median(actual),
               "load": statistics.median(loads), "work": parts["steps"] + parts["evaluation"],
               "cpu": statistics.median(cpu)}
        row["ratio"] = row["estimate"] / row["median"]
        rows.append(row)
        print(f"  {name}, beside {alongside}: estimate {row['estimate']:.2f} s (without the load "
              f"{row['estimate_no_load']:.2f} s), actual {row['median']:.2f} s "
              f"({', '.join(f'{a:.2f}' for a in actual)}), ratio {row['ratio']:.2f}, load {row['load']:.1f}; "
              f"CPU: model {row['work']:.2f} s, used {row['cpu']:.2f} s",
              flush=True)
    return rows


def _fmt(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def table(rows: list[dict]) -> str:
    lines = ["| case | trainings beside it | load avg | estimate at Start | actual, median | runs (s) | "
             "estimate / actual | CPU work: model / used |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        runs = ", ".join(f"{a:.2f}" for a in r["actual"])
        ok = "" if 0.7 <= r["ratio"] <= 1.3 else " ✗"
        lines.append(f"| {r['case']} | {r['alongside']} | {r['load']:.1f} | {_fmt(r['estimate'])} | "
                     f"{_fmt(r['median'])} | {runs} | {r['ratio']:.2f}{ok} | "
                     f"{_fmt(r['work'])} / {_fmt(r['cpu'])} ({r['work'] / r['cpu']:.2f}) |")
    return "\n".join(lines)


# -- the first visit ---------------------------------------------------------------------------------------------

_VISIT = r"""
import sys, time
from streamlit.testing.v1 import AppTest
at = AppTest.from_file(sys.argv[1], default_timeout=120)
at.run()
start = time.perf_counter()
at.switch_page("pages/train.py").run()
took = time.perf_counter() - start
assert not at.exception, [e.value for e in at.exception]
print(f"{took:.4f}")
"""


def first_visit(repo: Path, visits: int) -> list[float]:
    """Seconds of Train's first script run in ``visits`` fresh processes (AppTest; home opened first, as a visitor
    does, so that MNIST is loaded: what is timed is what Train adds)."""
    times = []
    for _ in range(visits):
        out = subprocess.run([sys.executable, "-c", _VISIT, str(repo / "app.py")], cwd=repo, capture_output=True,
                             text=True, env={**os.environ, "SGDLAB_OFFLINE": "1", "PYTHONPATH": str(repo)},
                             timeout=600)
        if out.returncode != 0:
            raise RuntimeError(out.stderr[-2000:])
        times.append(float(out.stdout.strip().splitlines()[-1]))
    return times


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.estimates", description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs of each case (the median is compared)")
    parser.add_argument("--plain-repeats", type=int, default=1, help="runs of the book's loop (a step: 17-40 s)")
    parser.add_argument("--skip-plain", action="store_true", help="leave out the book's loop (20-40 s a run)")
    parser.add_argument("--only", choices=("estimates", "first-visit"), help="one half only")
    parser.add_argument("--count-load", action="store_true", help="estimates count the machine's load average")
    parser.add_argument("--visits", type=int, default=5, help="fresh processes for the first visit")
    parser.add_argument("--repo", type=Path, default=REPO, help="the app to time the first visit of")
    args = parser.parse_args(argv)

    if args.only != "first-visit":
        from ui.estimate import measure_in_child

        data = load_dataset(allow_download=False)
        if not data.is_full:
            print(f"warning: {data.describe()}: set MNIST_DIR to full MNIST", file=sys.stderr)
        tuple_data = data.as_tuple()
        t0 = time.perf_counter()
        speeds = measure_in_child(tuple_data)
        print(f"measured in {time.perf_counter() - t0:.2f} s (wall): {speeds}", flush=True)
        cases = {k: v for k, v in CASES.items() if not (args.skip_plain and v.gradient == "numerical-plain")}
        rows = measure_cases(tuple_data, speeds, cases, args.repeats, alongside=0, count_load=args.count_load,
                            plain_repeats=args.plain_repeats)
        print("\n" + table(rows), flush=True)  # so far: the runs beside two trainings take long on a busy machine
        with Beside(tuple_data, 2):
            rows += measure_cases(tuple_data, speeds, cases, args.repeats, alongside=2, count_load=args.count_load,
                                 plain_repeats=args.plain_repeats)
        print()
        print(table(rows))
    if args.only != "estimates":
        times = first_visit(args.repo, args.visits)
        print(f"\nfirst visit to Train ({args.repo}): median {statistics.median(times):.2f} s "
              f"({', '.join(f'{t:.2f}' for t in times)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
