"""What one refresh of the Train page's live chart costs the server, before and after the in-place figure.

    python -m benchmarks.live_chart [--repeats 30]

A run of the book's 10,000 iterations, half done and all done (60,000 images: 100 accuracy measurements). For
each: CPU milliseconds (``time.process_time``, median of ``repeats``) of the chart's part of a refresh as
``st.plotly_chart`` marshals it (``plotly.tools.return_figure_from_figure_or_data``, ``plotly.io.to_json`` and the
md5 of the spec for the element's id), for a figure built anew each time with 2,000 points and the spec serialised
twice (as before), and for the ``ui.figures.LiveLossFigure`` updated in place (400 points); and the accuracy
table and printout that come with it. CPU time, not wall time: a busy machine slows it less.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
import time

import numpy as np


def _cpu_ms(fn, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return round(1000 * statistics.median(times), 2)


def _run(done: int):
    from nn.train import Run, TrainConfig

    run = Run(TrainConfig())
    run.status, run.iterations_done, run.n_train, run.n_test = "running", done, 60_000, 10_000
    rng = np.random.default_rng(0)
    run.losses = np.full(10_000, np.nan)
    run.losses[:done] = 2.3 * np.exp(-np.arange(done) / 1_500) + 0.2 + 0.1 * rng.random(done)
    return run


def measure(repeats: int = 30) -> dict:
    import plotly.io as pio
    import plotly.tools

    from ui import figures
    from ui.training_view import accuracy_table
    from ui.stepper import printout

    def marshal(fig) -> int:
        spec = pio.to_json(plotly.tools.return_figure_from_figure_or_data(fig, validate_figure=True), validate=False)
        hashlib.md5(spec.encode()).hexdigest()
        return len(spec)

    out = {}
    for done in (5_000, 10_000):
        run = _run(done)

        def before():
            fig = figures.live_loss_figure(run.losses, done, 10_000, name="#1 lr 0.1", max_points=2_000)
            fig.to_plotly_json()  # render_payload did this before st.plotly_chart did it again
            return marshal(fig)

        live = figures.LiveLossFigure()

        def after():
            return marshal(live.figure(run.losses, done, 10_000, name="#1 lr 0.1"))

        out[f"{done}_iterations"] = {
            "before_ms": _cpu_ms(before, repeats), "before_spec_bytes": before(),
            "after_ms": _cpu_ms(after, repeats), "after_spec_bytes": after(),
            "table_and_printout_ms": _cpu_ms(lambda: (accuracy_table(run), printout(run)), repeats),
        }
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.live_chart", description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args(argv)
    print(json.dumps(measure(args.repeats), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
