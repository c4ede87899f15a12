"""Sweeps (Compare settings): the grid of runs, the session cap, the figures, and the page in AppTest — a 2 × 2
sweep of short runs finishes and draws 4 small multiples and a heat map; Stop the sweep stops the live ones."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from nn.train import Run, TrainConfig
from tests.app_helpers import APP, FakeJob, _open, give_jobs, jobs_of, session_of
from ui import settings, state, sweeps

BASE = TrainConfig(iters=100)


# -- the grid ----------------------------------------------------------------------------------------------------


def test_a_two_option_grid_is_every_combination_row_by_row():
    cells = sweeps.grid(BASE, "lr", [0.1, 0.001, 10], "batch_size", [100, 10])
    assert len(cells) == 6
    assert [(c.i, c.j) for c in cells] == [(0, 0), (1, 0), (2, 0), (0, 1), (1, 1), (2, 1)]
    assert [(c.config.lr, c.config.batch_size) for c in cells] == [
        (0.001, 10), (0.1, 10), (10.0, 10), (0.001, 100), (0.1, 100), (10.0, 100)]
    assert [c.label for c in cells[:2]] == ["lr 0.001 · batch 10", "lr 0.1 · batch 10"]
    assert all(c.config.replace(lr=0.1, batch_size=100) == BASE for c in cells)  # nothing else changes
    assert all(not c.config.errors() for c in cells)


def test_a_one_option_grid_and_its_labels():
    cells = sweeps.grid(BASE, "train_size", [60_000, 300, 300, 1000], n_train=6000)
    assert [c.label for c in cells] == ["images 300", "images 1,000", "images 60,000"]  # sorted, once each
    assert [c.config.train_size for c in cells] == [300, 1000, None]  # more than loaded: all of them
    assert [c.label for c in sweeps.grid(BASE, "weight_init_std", [0.01, 1])] == ["std 0.01", "std 1"]
    assert isinstance(sweeps.grid(BASE, "batch_size", [10.0])[0].config.batch_size, int)


def test_a_grid_refuses_the_same_option_twice_and_unknown_ones():
    with pytest.raises(ValueError):
        sweeps.grid(BASE, "lr", [0.1], "lr", [1])
    with pytest.raises(ValueError):
        sweeps.grid(BASE, "seed", [1])


def test_the_cap_counts_live_runs_only():
    assert sweeps.fits(8, live=0, max_jobs=8) and not sweeps.fits(9, live=0, max_jobs=8)
    assert sweeps.fits(5, live=3, max_jobs=8) and not sweeps.fits(6, live=3, max_jobs=8)
    assert sweeps.free_places(live=10, max_jobs=8) == 0 and not sweeps.fits(0, 0, 8)
    assert 5 * 4 > state.MAX_JOBS  # the full 5 × 4 grid never fits: it is refused, not cut


def test_the_presets_fit_an_empty_session_and_the_settings_table_takes_them():
    for preset in sweeps.PRESETS.values():
        assert sweeps.fits(len(preset["x_values"]), 0, state.MAX_JOBS)
        for name, value in preset.items():
            assert settings.SETTINGS[f"sweep.{name}"].check(value) == value
    numbers = settings.SETTINGS["sweep.x_values"]
    assert numbers.check((10, 0.1)) == [0.1, 10]
    for bad in ([0.1] * 3 + list(range(1, 7)), ["0.1"], [float("nan")], [True], [1e9], 0.1):
        with pytest.raises(ValueError):
            numbers.check(bad)


def _run(status="finished", n=50, acc=0.9, batch=100):
    run = Run(TrainConfig(iters=n, batch_size=batch))
    run.losses = np.linspace(2.3, 0.5, n).astype(np.float32)
    run.iterations_done, run.status, run.elapsed_s = n, status, 2.0
    from nn.train import EpochRecord

    run.epochs = [EpochRecord(epoch=1.0, iteration=n, train_acc=acc, test_acc=acc, elapsed_s=2.0, final=True)]
    return run


def test_the_x_axis_is_iterations_images_or_seconds():
    run = _run(n=10, batch=50)
    assert sweeps.x_values(run, "iterations")[-1] == 10
    assert sweeps.x_values(run, "images")[-1] == 500
    seconds = sweeps.x_values(run, "seconds")
    assert seconds[-1] == pytest.approx(2.0) and np.all(np.diff(seconds) > 0)


def test_the_figures_mark_a_diverged_run_and_leave_a_pending_one_blank():
    sweep = sweeps.Sweep("lr", [0.01, 10.0], "batch_size", [10, 100], 50, [1, 2, 3, 4])
    pending = Run(TrainConfig(iters=50))
    runs = [_run(acc=0.8), _run("diverged", n=12, acc=0.1), _run(acc=0.9), pending]
    curves = sweeps.small_multiples_figure(sweep, runs, "images")
    titles = [a.text for a in curves.layout.annotations]
    assert "lr 0.01 · batch 10: test 80.0%" in titles and any("diverged at 12" in s for s in titles)
    assert curves.layout.xaxis.type == "log" and curves.layout.yaxis.type == "log"
    heat = sweeps.accuracy_figure(sweep, runs)
    z = np.array(heat.data[0].z, dtype=float)
    assert z[0, 0] == pytest.approx(80) and np.isnan(z[1, 1])
    texts = list(heat.data[1].text)  # the cells' texts, row by row
    assert texts[1].startswith("diverged") and texts[3] == "…"
    bars = sweeps.accuracy_figure(sweeps.Sweep("lr", [0.01, 10.0], "none", [], 50, [1, 2]), runs[:2])
    assert bars.data[0].type == "bar" and list(bars.data[0].marker.color) == [sweeps.LINE, sweeps.BAD]


# -- the page ----------------------------------------------------------------------------------------------------


@pytest.fixture
def offline_sample(monkeypatch, tmp_path):
    """The embedded MNIST sample (6,000 training images): no MNIST_DIR, no cache, no download."""
    monkeypatch.delenv("MNIST_DIR", raising=False)
    monkeypatch.setenv("SGDLAB_OFFLINE", "1")
    monkeypatch.setenv("SGDLAB_CACHE_DIR", str(tmp_path / "cache"))


def _sweep_page(values: dict, jobs=()) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90)
    give_jobs(at, list(jobs), values)
    at.run()
    return _open(at, "pages/sweeps.py")


def _array(value) -> np.ndarray:
    """A figure array from its JSON: a list, or Plotly's typed array {"dtype", "bdata" (base64), "shape"}."""
    if isinstance(value, dict) and "bdata" in value:
        shape = tuple(int(n) for n in str(value.get("shape", "-1")).split(","))
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"]).reshape(shape).astype(float)
    return np.asarray(value, dtype=float)


def _chart(at: AppTest, key: str) -> dict:
    return json.loads(next(e for e in at.get("plotly_chart") if e.key == key).proto.spec)


TINY = {"sweep.preset": "custom", "sweep.x": "lr", "sweep.x_values": [0.1, 1.0], "sweep.y": "train_size",
        "sweep.y_values": [300, 1000], "sweep.iters": 100}


def test_a_two_by_two_sweep_finishes_and_draws_four_small_multiples_and_a_heat_map(offline_sample):
    at = _sweep_page(TINY)
    assert not at.button(key=state.KEY_SWEEP_START).disabled
    at.button(key=state.KEY_SWEEP_START).click().run()
    assert not at.exception
    jobs = jobs_of(at)
    assert len(jobs) == 4 and session_of(at).sweep.job_ids == [j.id for j in jobs]
    assert [(j.config.lr, j.config.train_size, j.config.iters) for j in jobs] == [
        (0.1, 300, 100), (1.0, 300, 100), (0.1, 1000, 100), (1.0, 1000, 100)]
    for job in jobs:
        assert job.join(60)
    at.run()
    assert not at.exception
    assert all(j.run.status == "finished" for j in jobs)
    curves = _chart(at, "sgd_sweep_curves")
    axes = [k for k in curves["layout"] if k.startswith("xaxis")]
    assert len(axes) == 4
    smoothed = [d for d in curves["data"] if d.get("line", {}).get("width") == 2.5]
    assert len(smoothed) == 4 and all(len(_array(d["y"])) > 10 for d in smoothed)
    heat = _chart(at, "sgd_sweep_accuracy")["data"][0]
    assert heat["type"] == "heatmap"
    z = _array(heat["z"])
    assert z.shape == (2, 2) and np.all((z >= 0) & (z <= 100))
    assert np.all(z[:, 1] > 50)  # lr 1 learns something in 100 steps (lr 0.1 barely starts)
    assert at.button(key=state.KEY_SWEEP_STOP).disabled  # nothing left to stop


def test_stop_the_sweep_stops_its_live_runs_only(offline_sample):
    other = FakeJob(1, _run())
    at = _sweep_page({**TINY, "sweep.iters": 100_000, "sweep.y_values": [300]}, jobs=[other])
    at.button(key=state.KEY_SWEEP_START).click().run()
    sweep_jobs = jobs_of(at)[1:]
    assert len(sweep_jobs) == 2 and all(not j.run.done for j in sweep_jobs)
    at.button(key=state.KEY_SWEEP_STOP).click().run()
    assert not at.exception
    for job in sweep_jobs:
        assert job.join(30)
    assert [j.run.status for j in sweep_jobs] == ["stopped", "stopped"]
    assert other.run.status == "finished" and jobs_of(at)[0] is other


def _live(job_id):
    run = Run(TrainConfig(iters=100))
    run.status = "running"
    return FakeJob(job_id, run)


def test_a_sweep_that_does_not_fit_beside_live_runs_is_refused_saying_what_fits(offline_sample):
    live = [_live(i) for i in range(1, 6)]
    at = _sweep_page(TINY, jobs=live)  # 4 runs; 8 − 5 live = 3 fit
    assert at.button(key=state.KEY_SWEEP_START).disabled
    assert any("only 3 fit now" in e.value for e in at.error)


def test_a_start_click_that_no_longer_fits_starts_nothing(offline_sample):
    at = _sweep_page(TINY, jobs=[_live(1)])
    assert not at.button(key=state.KEY_SWEEP_START).disabled
    more = [_live(i) for i in range(2, 7)]  # another tab of the session started runs meanwhile
    session_of(at).jobs.extend(more)
    at.button(key=state.KEY_SWEEP_START).click().run()
    assert len(jobs_of(at)) == 6 and session_of(at).sweep is None
    assert any("only 2 fit now" in w.value for w in at.warning)


def test_training_images_offered_stop_at_the_images_loaded():
    """On the 6,000-image sample, 10,000 and 60,000 would both mean the same 6,000: the page offers 6,000 (all)."""
    assert sweeps.offered("train_size", 6_000) == (300, 1000, 6_000)
    assert sweeps.offered("train_size", 60_000) == (300, 1000, 10_000, 60_000)
    assert sweeps.offered("lr", 6_000) == sweeps.VARIABLES["lr"]
    cells = sweeps.grid(TrainConfig(iters=10), "train_size", [1000, 6_000], n_train=6_000)
    assert [c.config.train_size for c in cells] == [1000, None]  # all of them
