"""Time estimates (issue 16, part 2): the model (ui.analysis, pure), the background measurement (ui.estimate), and the
pages: Train never waits for the measurement, the estimate is gone once its run has ended, and Train and Gradient
check give the same figure for the book's numerical loop. No timing is asserted here (see benchmarks/estimates.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import numpy as np
import pytest

from nn import meter
from nn.train import TrainConfig
from tests.app_helpers import _app, _finish, _open, _short_run, _texts
from ui import analysis, estimate, state, training_view as tv

#: Round figures, as if measured on a two-core machine (CPU seconds of one thread).
MEASURED = analysis.Speeds(backprop_step_s=0.0005, numerical_step_s=0.08, plain_param_s=0.0004, eval_image_s=2e-6,
                           start_s=0.1, eval_fixed_s=0.0, cores=2.0, provisional=False)


# -- the model ---------------------------------------------------------------------------------------------------


def test_fair_shares_give_each_thread_at_most_a_core():
    assert analysis.fair_shares([1024, 110], 2) == [1.0, 1.0]  # an idle two-core machine: a core each
    assert analysis.fair_shares([1024, 1024, 1024], 2) == pytest.approx([2 / 3] * 3)
    steps, measuring = analysis.fair_shares([1024, 110], 1)  # one core: by weight
    assert steps + measuring == pytest.approx(1.0) and steps == pytest.approx(1024 / 1134)
    shares = analysis.fair_shares([1024, 110, 1024, 1024], 2)  # a niced thread beside three that want a core
    assert sum(shares) == pytest.approx(2.0) and shares[1] < 0.1


def test_wall_time_is_the_longer_part_on_two_idle_cores_and_the_sum_on_one():
    two = analysis.wall_seconds(steps=5.0, evaluation=2.0, last=0.1, cores=2, overlap=True)
    assert two == pytest.approx(5.0 + 0.1)  # measured alongside the steps, the last one after them
    assert analysis.wall_seconds(steps=5.0, evaluation=2.0, last=0.1, cores=1, overlap=True) == pytest.approx(7.0)
    assert analysis.wall_seconds(steps=5.0, evaluation=2.0, last=0.1, cores=1, overlap=False) == pytest.approx(7.0)
    # mostly measurements (the overfitting preset): the measuring thread is the critical path
    assert analysis.wall_seconds(steps=1.0, evaluation=9.0, last=0.02, cores=2, overlap=True) == pytest.approx(9.0)


def test_trainings_beside_a_run_make_it_longer():
    """Two trainings beside a run on two cores: three threads of steps (and the measuring threads, at the same
    priority) share two cores. Measured (benchmarks/estimates.py, a quiet machine): the book's run 2.1x, the
    overfitting preset 1.9x as long as alone; the model says 1.5-2x, never less than the share of the cores."""
    book, overfit = TrainConfig(), TrainConfig(iters=1_500, train_size=300)
    alone = [analysis.estimate_seconds(c, 60_000, 10_000, MEASURED)["total"] for c in (book, overfit)]
    beside = [analysis.estimate_seconds(c, 60_000, 10_000, MEASURED, alongside=2)["total"] for c in (book, overfit)]
    for one, two in zip(alone, beside):
        assert 1.4 * one < two < 2.5 * one


def test_the_book_run_counts_its_steps_its_18_measurements_and_its_start():
    est = analysis.estimate_seconds(TrainConfig(), 60_000, 10_000, MEASURED)
    assert est["steps"] == pytest.approx(10_000 * 0.0005)  # 5 s of SGD steps
    one = 70_000 * 2e-6  # one measurement: 60,000 + 10,000 images
    assert est["evaluation"] == pytest.approx(18 * one)  # 17 epochs and the final one
    if analysis.OVERLAP_MEASUREMENTS:  # on two idle cores: the steps, then the last measurement, and the start
        assert est["total"] == pytest.approx(5.0 + one + 0.1)
    one_core = analysis.estimate_seconds(TrainConfig(), 60_000, 10_000, MEASURED.__class__(
        **{**MEASURED.__dict__, "cores": 1.0}))
    assert one_core["total"] == pytest.approx(5.0 + 18 * one + 0.1)  # one core does it all in turn


def test_step_seconds_is_the_one_figure_for_a_step():
    assert analysis.step_seconds("backprop", 100, 50, MEASURED) == pytest.approx(0.0005)
    assert analysis.step_seconds("numerical", 50, 50, MEASURED) == pytest.approx(0.04)
    assert analysis.step_seconds("numerical-plain", 100, 50, MEASURED) == pytest.approx(39_760 * 0.0004)
    est = analysis.estimate_seconds(TrainConfig(iters=3, gradient="numerical-plain"), 60_000, 10_000, MEASURED)
    assert est["per_step"] == pytest.approx(39_760 * 0.0004)


def test_the_provisional_figures_err_on_the_long_side():
    fast = analysis.estimate_seconds(TrainConfig(), 60_000, 10_000, MEASURED)["total"]
    provisional = analysis.estimate_seconds(TrainConfig(), 60_000, 10_000, analysis.PROVISIONAL_SPEEDS)["total"]
    assert analysis.PROVISIONAL_SPEEDS.provisional and provisional > 1.5 * fast


# -- the measurement ---------------------------------------------------------------------------------------------


def _tiny_data(n_train=500, n_test=200):
    rng = np.random.default_rng(0)
    images = lambda n: (rng.random((n, 784)) < 0.2).astype(np.uint8) * 255  # noqa: E731 - MNIST-like sparsity
    return (images(n_train), rng.integers(0, 10, n_train)), (images(n_test), rng.integers(0, 10, n_test))


def test_measure_speeds_times_every_piece_in_cpu_seconds():
    speeds = estimate.measure_speeds(_tiny_data(), repeats=1)
    assert not speeds.provisional and speeds.cores >= 0.1
    for name in ("backprop_step_s", "numerical_step_s", "plain_param_s", "eval_image_s"):
        assert 0 < getattr(speeds, name) < 1, name


def test_measure_in_child_sends_its_figures_back():
    speeds = estimate.measure_in_child(_tiny_data())
    assert not speeds.provisional and speeds.backprop_step_s > 0


def test_available_cores_respects_a_container_quota(tmp_path):
    (tmp_path / "cpu.max").write_text("100000 100000\n")
    assert meter.available_cores(cgroup_root=str(tmp_path)) == 1.0
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert meter.available_cores(cgroup_root=str(tmp_path)) >= 1.0


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two cores to take one away")
def test_on_one_core_a_run_measures_in_its_own_thread_not_beside_the_steps():
    """Pinned to one core (a server under ``taskset``, or a container's quota), a measurement in a second thread
    would only take turns with the steps; on two, it goes beside them."""
    ask = "import nn.train as t; print(t.EVAL_WORKERS, t.OVERLAP_MEASUREMENTS)"
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    one = subprocess.run([sys.executable, "-c", ask], capture_output=True, text=True, check=True, cwd=repo,
                         preexec_fn=lambda: os.sched_setaffinity(0, {min(os.sched_getaffinity(0))}))
    two = subprocess.run([sys.executable, "-c", ask], capture_output=True, text=True, check=True, cwd=repo)
    assert one.stdout.split() == ["1", "False"]
    assert two.stdout.split() == ["2", "True"]


def test_the_probe_answers_at_once_with_the_provisional_figures_until_measured():
    release = threading.Event()

    def slow():
        assert release.wait(30)
        return MEASURED

    probe = estimate.SpeedProbe(slow)
    assert probe.current() is analysis.PROVISIONAL_SPEEDS  # started, and not waited for
    release.set()
    assert probe.wait(30) and probe.current() is MEASURED


def test_the_machine_load_counts_when_it_is_more_than_the_trainings_beside():
    assert estimate.threads_beside(2, 0.3) == 2
    assert estimate.threads_beside(0, 5.6) == 6
    assert estimate.machine_load() >= 0.0


def test_the_page_estimate_counts_the_trainings_and_says_so(monkeypatch):
    monkeypatch.setattr(tv, "speeds", lambda: MEASURED)
    monkeypatch.setattr(tv, "machine_load", lambda: 0.0)
    monkeypatch.setattr(tv, "trainings_alongside", lambda: 1)
    data = type("Data", (), {"n_train": 60_000, "n_test": 10_000})()
    kind, text, seconds = tv.estimate_message(TrainConfig(), data)
    assert kind == "info" and "1 other training(s) share" in text
    assert seconds == pytest.approx(analysis.estimate_seconds(TrainConfig(), 60_000, 10_000, MEASURED, alongside=1)["total"])
    _, _, alone = tv.estimate_message(TrainConfig(), data, alongside=0)  # the run's own time (a work limit's)
    assert alone < seconds
    monkeypatch.setattr(tv, "machine_load", lambda: 7.2)  # a busy machine: the load counts if asked, and the text says so
    monkeypatch.setattr(tv, "COUNT_MACHINE_LOAD", True)
    _, busy_text, busy = tv.estimate_message(TrainConfig(), data)
    assert busy > seconds and "busy" in busy_text


def test_a_failed_measurement_leaves_the_provisional_figures():
    def broken():
        raise OSError("no fork here")

    probe = estimate.SpeedProbe(broken)
    assert probe.wait(30)
    assert probe.current() is analysis.PROVISIONAL_SPEEDS and "no fork here" in probe.error


# -- the pages ---------------------------------------------------------------------------------------------------

pytestmark_pages = pytest.mark.usefixtures("offline", "run_app_py_on_every_rerun")


@pytest.fixture
def measured_as(monkeypatch):
    """Make the server's measurement answer with ``speeds`` (or wait for ``release``): a fresh probe per test."""
    def use(speeds=MEASURED, release: threading.Event | None = None):
        def measure(data):
            if release is not None:
                assert release.wait(60)
            return speeds

        monkeypatch.setattr(tv, "default_measure", measure)
        monkeypatch.setattr(tv, "machine_load", lambda: 0.0)  # an idle machine, whatever this one is doing
        tv._probe.clear()
        if release is None:
            assert tv._probe().wait(30)

    yield use
    tv._probe.clear()


def _estimate_texts(at) -> list[str]:
    return [e.value for kind in ("info", "warning", "error") for e in getattr(at, kind)
            if "Estimated time" in e.value or "numerical loop" in e.value]


@pytestmark_pages
def test_train_renders_at_once_with_provisional_figures_while_the_measurement_is_slow(measured_as):
    release = threading.Event()
    measured_as(release=release)  # a measurement that does not end until the test says so
    try:
        at = _open(_app(), "pages/train.py")
        texts = _estimate_texts(at)
        assert len(texts) == 1 and "being measured" in texts[0]  # drawn, with the provisional figure, and says so
        assert not tv._probe().done.is_set()  # the page did not wait for it
    finally:
        release.set()
    assert tv._probe().wait(30)
    at.run()
    texts = _estimate_texts(at)
    assert len(texts) == 1 and "being measured" not in texts[0]  # the next run of the page has the measured one


@pytestmark_pages
def test_the_estimate_is_gone_once_its_run_has_ended(measured_as):
    measured_as()
    at = _open(_app(), "pages/train.py")
    _short_run(at, iters=50, train_size=300)
    _finish(at)
    assert state.KEY_SESSION in at.session_state and "took" in _texts(at)
    assert _estimate_texts(at) == []  # the run says what it took; no estimate of it is left
    at.number_input(key=state.KEY_ITERS).set_value(60).run()  # other settings: their estimate
    assert len(_estimate_texts(at)) == 1


@pytestmark_pages
def test_train_and_gradient_check_give_the_same_figure_for_the_book_loop(measured_as):
    measured_as()
    figure = tv.step_text(analysis.step_seconds("numerical-plain", 100, 50, MEASURED))  # 39,760 × 0.4 ms ≈ 16 s
    assert figure == "16 s"
    at = _open(_app(), "pages/train.py")
    at.radio(key=state.KEY_GRADIENT).set_value("numerical-plain").run()
    texts = _estimate_texts(at)
    assert len(texts) == 1 and f"about {figure} per step" in texts[0]
    _open(at, "pages/gradient_check.py")
    at.select_slider(key=state.KEY_GRAD_BATCH).set_value(100).run()  # the batch of Train's settings
    book = next(m for m in at.metric if m.label == "Numerical, book's loop")
    assert book.value == f"≈ {figure}"
    assert any(f"takes about {figure} on this server" in c.value for c in at.caption)
