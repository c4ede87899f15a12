"""ui.analysis: progress, time estimates and the overfitting verdict (pure functions)."""

import numpy as np
import pytest

from nn.train import Run, TrainConfig, train
from ui import analysis


@pytest.mark.parametrize(
    "seconds, text",
    [(0.42, "0.4 s"), (12.2, "12 s"), (185, "3 min 05 s"), (7800, "2 h 10 min"), (47 * 3600, "47 h"),
     (20 * 86400, "20 days"), (float("nan"), "unknown")],
)
def test_format_duration(seconds, text):
    assert analysis.format_duration(seconds) == text


def _tiny_data(n_train=300, n_test=50, seed=0):
    rng = np.random.default_rng(seed)
    return (
        (rng.integers(0, 256, (n_train, 784), dtype=np.uint8), rng.integers(0, 10, n_train)),
        (rng.integers(0, 256, (n_test, 784), dtype=np.uint8), rng.integers(0, 10, n_test)),
    )


@pytest.mark.parametrize("iters, n_train, batch", [(30, 300, 100), (31, 300, 100), (25, 250, 100), (7, 50, 100),
                                                   (20, 300, 70)])
def test_evaluations_counts_what_the_loop_measures(iters, n_train, batch):
    run = train(TrainConfig(iters=iters, batch_size=batch, train_size=None), _tiny_data(n_train))
    assert analysis.evaluations(iters, n_train, batch) == len(run.epochs)


def test_book_run_measures_17_times():
    assert analysis.evaluations(10_000, 60_000, 100) == 18  # 17 epochs (0, 600, ..., 9600) + the final one


def test_estimates_scale_with_method_and_say_hours_for_the_book_loop():
    speeds = analysis.Speeds(backprop_step_s=0.0004, numerical_step_s=0.05, plain_param_s=0.0004,
                             eval_image_s=1e-6, eval_fixed_s=0.0)
    book = analysis.estimate_seconds(TrainConfig(), 60_000, 10_000, speeds)
    assert book["steps"] == pytest.approx(4.0)
    assert book["evaluation"] == pytest.approx(18 * 70_000 * 1e-6)
    numerical = analysis.estimate_seconds(TrainConfig(gradient="numerical"), 60_000, 10_000, speeds)
    assert numerical["steps"] == pytest.approx(500.0)
    plain = analysis.estimate_seconds(TrainConfig(gradient="numerical-plain"), 60_000, 10_000, speeds)
    assert plain["per_step"] == pytest.approx(39_760 * 0.0004)  # ≈ 16 s per step
    assert analysis.format_duration(plain["total"]) == "44 h"  # the book: ≈ 17 s × 10,000 steps
    half = analysis.estimate_seconds(TrainConfig(gradient="numerical", batch_size=50), 60_000, 10_000, speeds)
    assert half["per_step"] == pytest.approx(0.025)
    subset = analysis.estimate_seconds(TrainConfig(iters=1500, train_size=300), 60_000, 10_000, speeds)
    assert subset["evaluation"] == pytest.approx(501 * 10_300 * 1e-6)  # 500 epochs + the final measurement


def test_progress_of_a_running_and_a_finished_run():
    run = Run(TrainConfig(iters=1000))
    run.status, run.n_train, run.iterations_done, run.elapsed_s, run.eval_s = "running", 60_000, 250, 0.6, 0.1
    p = analysis.progress_of(run)
    assert (p.iteration, p.total) == (250, 1000)
    assert p.epoch == pytest.approx(250 / 600)
    assert p.its_per_s == pytest.approx(500)
    assert p.seconds_left == pytest.approx(750 / 500 + 2 * 0)  # no measurement yet: no eval estimate
    run.status = "finished"
    assert analysis.progress_of(run).seconds_left == 0.0


@pytest.mark.parametrize(
    "train_acc, test_acc, level, words",
    [
        ([0.1, 0.90, 0.946], [0.1, 0.90, 0.945], "fine", ["within 0.1 pp", "no overfitting"]),
        ([0.1, 0.9, 1.0], [0.1, 0.7, 0.76], "memorised", ["Train 100%, test 76%", "memorised its 300 images"]),
        ([0.1, 0.9, 0.95], [0.1, 0.85, 0.88], "overfit", ["overfitting", "7.0 pp"]),
        ([0.1, 0.9, 0.93], [0.1, 0.90, 0.90], "mild", ["slight overfitting", "3.0 pp"]),
        ([0.1, 0.92, 0.925], [0.1, 0.93, 0.915], "peaked", ["peaked at 93%", "fell to 91.5%"]),
        ([0.1, 0.2, 0.3], [0.1, 0.2, 0.3], "underfit", ["still learning"]),
        ([0.1], [0.1], "none", ["Not enough epochs"]),
    ],
)
def test_verdict(train_acc, test_acc, level, words):
    verdict = analysis.overfitting_verdict(train_acc, test_acc, n_train=300)
    assert verdict.level == level
    for word in words:
        assert word in verdict.headline


def test_verdict_rejects_mismatched_inputs():
    with pytest.raises(ValueError):
        analysis.overfitting_verdict([0.1, 0.2], [0.1])
