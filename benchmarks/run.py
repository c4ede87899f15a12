"""SGD Lab's benchmark: every speed and memory target of the project, measured side by side in one invocation.

    MNIST_DIR=../shared/data/mnist python -m benchmarks.run            # the full set (about 4 minutes)
    MNIST_DIR=../shared/data/mnist python -m benchmarks.run --quick    # fewer repetitions (about 1.5 minutes)
    python -m benchmarks.run --only book numgrad                       # some sections

Each measurement has a warm-up, several repetitions and reports the median (and min/max); each target is a ratio
against a baseline measured in the same invocation, so a busy, shared machine slows both sides alike. Results are
printed as a table and written to ``benchmarks/results/<time>.json`` and ``.csv`` so two versions can be compared.
Timing assertions live here, never in the test suite.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from nn.blas import limit_blas_threads
from nn.mnist import load_dataset, one_hot
from nn.train import TrainConfig, train
from nn.two_layer_net import PARAM_KEYS, TwoLayerNet

RESULTS_DIR = Path(__file__).resolve().parent / "results"


@dataclass
class Row:
    section: str
    what: str
    median: float
    unit: str = "s"
    runs: list[float] = field(default_factory=list)
    note: str = ""


@dataclass
class Target:
    name: str
    value: float
    goal: str
    met: bool


def timed(fn, repeats: int, warmup: int = 1):
    """Median, all times and the last result of ``fn()`` over ``repeats`` runs after ``warmup`` untimed ones."""
    result = None
    for _ in range(warmup):
        result = fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times, result


def relative_difference(a: dict, b: dict) -> float:
    """Largest over the keys of max|a - b| / max(max|a|, max|b|): the relative difference of whole arrays."""
    worst = 0.0
    for key in PARAM_KEYS:
        scale = max(np.abs(a[key]).max(), np.abs(b[key]).max())
        worst = max(worst, float(np.abs(a[key] - b[key]).max() / scale) if scale else 0.0)
    return worst


class Bench:
    def __init__(self, args) -> None:
        self.args = args
        self.rows: list[Row] = []
        self.targets: list[Target] = []
        self.data = load_dataset(data_dir=args.data_dir, allow_download=False)
        if not self.data.is_full:
            print(f"warning: {self.data.describe()}: set MNIST_DIR to full MNIST for meaningful numbers", file=sys.stderr)

    def row(self, section, what, median, runs=(), unit="s", note=""):
        self.rows.append(Row(section, what, median, unit, [round(r, 6) for r in runs], note))

    def target(self, name, value, goal, met):
        self.targets.append(Target(name, float(value), goal, bool(met)))

    # --- the book's run -------------------------------------------------------------------------------------
    def book(self) -> None:
        reps = 2 if self.args.quick else 3
        d = self.data
        default_threads = limit_blas_threads(1)  # as `python -m nn train` and the app's runner train
        trainer_median, trainer_runs, run = timed(lambda: train(TrainConfig(), d.as_tuple()), reps)
        if default_threads is not None:
            limit_blas_threads(default_threads)  # the book's script runs with NumPy's defaults
        self.row("book run", "project trainer (float32, int labels, in place)", trainer_median, trainer_runs,
                 note=f"test acc {run.last.test_acc:.4f}")

        x_train = d.x_train.astype(np.float32) / 255  # the book's load_mnist(normalize=True, one_hot_label=True)
        x_test = d.x_test.astype(np.float32) / 255
        t_train = one_hot(d.t_train).astype(np.float64)  # the book's one-hot labels are float64
        t_test = one_hot(d.t_test).astype(np.float64)
        from benchmarks.book_style import train_book_style

        def book_run():
            net, *_ = train_book_style(x_train, t_train, x_test, t_test)
            return net.accuracy(x_test, t_test)  # its accuracy after the last step, like the trainer's final one

        book_median, book_runs, book_acc = timed(book_run, reps, warmup=0)
        limit_blas_threads(1)
        self.row("book run", "book style (float64, one-hot, new arrays)", book_median, book_runs,
                 note=f"test acc {book_acc:.4f}")
        speedup = book_median / trainer_median
        self.row("book run", "speed-up", speedup, unit="×")
        self.target("book run: trainer vs book style", speedup, "≥ 3.5×", speedup >= 3.5)
        gap = abs(run.last.test_acc - book_acc) * 100
        self.target("book run: |test acc difference| (points)", gap, "≤ 0.3", gap <= 0.3)

    # --- one SGD step ----------------------------------------------------------------------------------------
    def step(self) -> None:
        """The gradient of one mini-batch of 100 MNIST images (uint8, as stored), the book's float32 net: the
        book's ``TwoLayerNet.gradient`` (new arrays) against ``FastTwoLayerNet.gradient`` (buffers), and a whole
        step of ``nn.sgd`` (draw, gradient, update), one BLAS thread as the trainer runs."""
        from nn.fast_net import FastTwoLayerNet
        from nn.sgd import sgd

        default_threads = limit_blas_threads(1)
        rng = np.random.default_rng(0)
        x, t = self.data.x_train.reshape(len(self.data.x_train), -1), self.data.t_train.astype(np.intp)
        batches = [rng.choice(len(x), 100) for _ in range(200)]
        book = TwoLayerNet(784, 50, 10, rng=0, dtype=np.float32)
        fast = FastTwoLayerNet.from_params(book.params)
        reps = 5 if self.args.quick else 9

        def per_step(gradient):
            return lambda: [gradient(x[mask], t[mask]) for mask in batches]

        book_median, book_runs, _ = timed(per_step(book.gradient), reps)
        fast_median, fast_runs, _ = timed(per_step(fast.gradient), reps)
        n = len(batches)
        self.row("SGD step", "TwoLayerNet.gradient, batch 100 (per step)", book_median / n, [r / n for r in book_runs])
        self.row("SGD step", "FastTwoLayerNet.gradient, batch 100 (per step)", fast_median / n,
                 [r / n for r in fast_runs])
        self.row("SGD step", "speed-up", book_median / fast_median, unit="×")

        def loop():
            net = FastTwoLayerNet.from_params(book.params)
            with np.errstate(all="ignore"):
                for _ in sgd(net, x, t, x[:0], t[:0], rng=np.random.default_rng(1), iters_num=n,
                             measure=lambda network, i: None):
                    pass

        loop_median, loop_runs, _ = timed(loop, reps)
        self.row("SGD step", "nn.sgd loop: draw + gradient + update (per step)", loop_median / n,
                 [r / n for r in loop_runs])
        if default_threads is not None:
            limit_blas_threads(default_threads)

    # --- the numerical gradient ----------------------------------------------------------------------------
    def numgrad(self) -> None:
        from nn.numgrad import fast_numerical_gradient

        rng = np.random.default_rng(1)
        idx = rng.choice(len(self.data.x_train), 100, replace=False)
        x = self.data.x_train[idx].astype(np.float64) / 255
        t = self.data.t_train[idx]
        net = TwoLayerNet(784, 50, 10, rng=2)
        fast_median, fast_runs, fast = timed(lambda: fast_numerical_gradient(net.params, x, t), 5 if self.args.quick else 7)
        self.row("numerical gradient", "fast (structure of the net), batch 100", fast_median, fast_runs)
        reps = 1 if self.args.quick else 3
        plain_median, plain_runs, plain = timed(lambda: net.numerical_gradient(x, t), reps, warmup=0)
        self.row("numerical gradient", "plain element-by-element loop, batch 100", plain_median, plain_runs,
                 note="79,520 loss evaluations")
        ratio = plain_median / fast_median
        self.row("numerical gradient", "speed-up", ratio, unit="×")
        diff = relative_difference(fast, plain)
        self.row("numerical gradient", "largest relative difference fast vs plain", diff, unit="")
        self.target("numerical gradient: fast vs plain", ratio, "≥ 200×", ratio >= 200)
        self.target("numerical gradient: relative difference", diff, "≤ 1e-6", diff <= 1e-6)
        est = fast_median * 1000
        self.row("numerical gradient", "1,000 training iterations (estimate)", est,
                 note="the seed's loop with the numerical gradient")

    # --- loading MNIST -------------------------------------------------------------------------------------
    def load(self) -> None:
        from nn.mnist import cache_path, write_cache

        with tempfile.TemporaryDirectory() as tmp:
            arrays = {k: getattr(self.data, k) for k in ("x_train", "t_train", "x_test", "t_test")}
            write_cache(cache_path(tmp), arrays, origin="benchmark")
            saved = os.environ.pop("MNIST_DIR", None)
            try:
                median, runs, loaded = timed(lambda: load_dataset(cache_dir=tmp, allow_download=False), 5)
            finally:
                if saved is not None:
                    os.environ["MNIST_DIR"] = saved
            assert loaded.source == "cache"
            self.row("load MNIST", "load_dataset from the cache (.npz, uint8)", median, runs)
        if self.args.data_dir or os.environ.get("MNIST_DIR"):
            median, runs, _ = timed(lambda: load_dataset(data_dir=self.args.data_dir, allow_download=False), 3)
            self.row("load MNIST", "load_dataset from the IDX .gz directory", median, runs)

    # --- one drawn digit -----------------------------------------------------------------------------------
    def draw(self) -> None:
        try:
            from nn.preprocess import preprocess_drawing
        except ImportError:
            self.row("draw", "preprocess + predict one digit", float("nan"), note="nn.preprocess not available")
            return
        canvas = np.zeros((280, 280), dtype=np.uint8)
        canvas[60:230, 130:150] = 255  # a "1"
        net = TwoLayerNet(784, 50, 10, rng=0, dtype=np.float32)
        median, runs, _ = timed(lambda: net.predict(preprocess_drawing(canvas)), 50, warmup=3)
        self.row("draw", "preprocess 280×280 canvas + predict", median, runs)

    # --- the app's runner ----------------------------------------------------------------------------------
    def app(self) -> None:
        try:
            from ui.runner import measure_overhead
        except ImportError:
            self.row("app", "training in the app's runner", float("nan"), note="ui.runner not available")
            return
        # interleaved direct / in-app pairs, the app's side polled and drawn as the training page does
        result = measure_overhead(TrainConfig(), self.data.as_tuple(), repeats=2 if self.args.quick else 3)
        self.row("app", "book run, called directly (command line)", result["median_direct_s"], result["direct_s"])
        self.row("app", "book run, app runner + live page rendering", result["median_app_s"], result["app_s"],
                 note=f"polled every {result['poll_seconds']} s")
        overhead = result["overhead"] * 100
        self.row("app", "overhead", overhead, unit="%")
        self.target("app runner overhead vs command line", overhead, "≤ 10 %", overhead <= 10)

    # --- memory --------------------------------------------------------------------------------------------
    def memory(self) -> None:
        try:
            from benchmarks.memory import measure_app_memory
        except ImportError as exc:
            self.row("memory", "app process", float("nan"), note=f"not measured: {exc}")
            return
        result = measure_app_memory(sessions=3)
        if "error" in result:
            self.row("memory", "app process", float("nan"), unit="MB", note=result["error"])
            return
        self.row("memory", "app with MNIST + 1 finished run (RSS)", result["first_mb"], unit="MB")
        self.row("memory", "each further session with a finished run", result["per_session_mb"], unit="MB",
                 note=f"over {result['sessions']} sessions")
        self.target("memory: app with one run", result["first_mb"], "< 400 MB", result["first_mb"] < 400)
        self.target("memory: per further session", result["per_session_mb"], "< 30 MB", result["per_session_mb"] < 30)

    # --- report --------------------------------------------------------------------------------------------
    def report(self) -> int:
        print()
        print(f"{'section':<20} {'measurement':<52} {'median':>12}  runs (min – max)")
        for r in self.rows:
            value = "n/a" if r.median != r.median else _fmt(r.median, r.unit)
            runs = (f"{len(r.runs)} runs, {_fmt(min(r.runs), r.unit)} – {_fmt(max(r.runs), r.unit)}"
                    if r.runs else "")
            print(f"{r.section:<20} {r.what:<52} {value:>12}  {runs}{'  — ' + r.note if r.note else ''}")
        print()
        print(f"{'target':<52} {'value':>12} {'goal':>10}  met")
        for t in self.targets:
            print(f"{t.name:<52} {t.value:>12.4g} {t.goal:>10}  {'yes' if t.met else 'NO'}")
        RESULTS_DIR.mkdir(exist_ok=True)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        meta = {"time": stamp, "python": platform.python_version(), "numpy": np.__version__,
                "cpus": os.cpu_count(), "data": self.data.describe(), "quick": self.args.quick}
        json_path = RESULTS_DIR / f"{stamp}.json"
        json_path.write_text(json.dumps({"meta": meta, "rows": [asdict(r) for r in self.rows],
                                         "targets": [asdict(t) for t in self.targets]}, indent=1))
        with open(RESULTS_DIR / f"{stamp}.csv", "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["section", "what", "median", "unit", "runs", "note"])
            for r in self.rows:
                writer.writerow([r.section, r.what, r.median, r.unit, " ".join(map(str, r.runs)), r.note])
        print(f"\nresults: {json_path} (and .csv)")
        return 0 if all(t.met for t in self.targets) else 1


def _fmt(value: float, unit: str) -> str:
    if unit == "s":
        if value < 0.001:
            return f"{value * 1e6:.1f} µs"
        return f"{value * 1000:.2f} ms" if value < 1 else f"{value:.2f} s"
    if unit == "":
        return f"{value:.2e}"
    return f"{value:.1f} {unit}"


SECTIONS = ("book", "step", "numgrad", "load", "draw", "app", "memory")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", help="full MNIST (default: $MNIST_DIR)")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, help="run only these sections")
    args = parser.parse_args(argv)
    bench = Bench(args)
    for section in args.only or SECTIONS:
        print(f"running: {section} …", flush=True)
        getattr(bench, section)()
    return bench.report()


if __name__ == "__main__":
    sys.exit(main())
