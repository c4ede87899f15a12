"""The live views a class can afford (issue 16 §0): a waiting run's page shows its place in line and no chart; a
training's page its chart; a finished one's polls nothing. The refresh policy itself: tests/test_runner.py."""

from __future__ import annotations

import numpy as np
import plotly.io as pio

from nn.train import Run, TrainConfig
from tests.app_helpers import APP, FakeJob, _texts, give_jobs
from streamlit.testing.v1 import AppTest
from ui import figures


class WaitingJob(FakeJob):
    waited_for_end = False

    def place_in_line(self):
        return 3


def _train_page_with(job) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    give_jobs(at, [job])
    at.switch_page("pages/train.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_a_waiting_runs_page_shows_its_place_in_line_and_no_chart():
    run = Run(TrainConfig(iters=10_000))
    run.status = "pending"
    at = _train_page_with(WaitingJob(1, run))
    line = at.get("progress")[0].proto.text
    assert "waiting — place 3 in line" in line
    assert not at.get("plotly_chart")  # no chart, no accuracy table while it waits
    assert not at.dataframe or all("epoch" not in d.value.columns for d in at.dataframe)
    assert "appear here when it starts" in _texts(at)


def test_a_training_runs_page_draws_its_chart():
    run = Run(TrainConfig(iters=10_000))
    run.status, run.iterations_done, run.n_train = "running", 500, 60_000
    run.losses = np.full(10_000, np.nan)
    run.losses[:500] = np.linspace(2.3, 0.5, 500)
    job = FakeJob(1, run)
    job.waited_for_end = False
    job.join = lambda timeout=None: False
    at = _train_page_with(job)
    assert "training 500 of 10,000" in at.get("progress")[0].proto.text
    assert len(at.get("plotly_chart")) == 1


def test_the_live_figure_is_updated_in_place_with_the_same_result_as_a_new_one():
    losses = np.full(10_000, np.nan)
    live = figures.LiveLossFigure()
    first = live.figure(losses, 0, 10_000, name="#1")
    for done in (10, 2_000, 10_000):
        losses[:done] = 2.3 * np.exp(-np.arange(done) / 1_500) + 0.2
        updated = live.figure(losses, done, 10_000, name="#1")
        fresh = figures.live_loss_figure(losses, done, 10_000, name="#1", max_points=figures.LIVE_POINTS)
        if done > 10:
            assert updated is first  # the same figure object, new points
        assert pio.to_json(updated, validate=False) == pio.to_json(fresh, validate=False)  # what the browser gets
        first = updated
        assert len(updated.data[0].x) <= figures.LIVE_POINTS
