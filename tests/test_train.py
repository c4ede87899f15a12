"""The training loop: the same gradient as the network, reproducible, stoppable, honest about failure."""

import os

import numpy as np
import pytest

from nn.train import EpochRecord, TrainConfig, iterations_per_epoch, train
from nn.two_layer_net import PARAM_KEYS, TwoLayerNet
from tests.helpers import synthetic_data


def test_book_defaults():
    c = TrainConfig()
    assert (c.iters, c.batch_size, c.lr, c.hidden, c.weight_init_std, c.activation, c.gradient) == (
        10_000, 100, 0.1, 50, 0.01, "sigmoid", "backprop")
    assert c.train_size is None and c.errors() == []
    assert iterations_per_epoch(60_000, 100) == 600.0
    assert iterations_per_epoch(50, 100) == 1.0


def test_config_label_and_errors():
    assert TrainConfig(train_size=300).label() == "lr 0.1 · batch 100 · 10k it · 300 imgs"
    assert TrainConfig(iters=1500, lr=0.5, gradient="numerical").label() == "lr 0.5 · batch 100 · 1,500 it · numerical"
    problems = TrainConfig(iters=0, lr=-1.0, gradient="magic", train_size=0).errors()
    assert len(problems) == 4
    assert "lr must be in 0.0001 – 100, got -1.0" in problems
    with pytest.raises(ValueError, match="iters must be in 1 – 1,000,000, got 0"):
        train(TrainConfig(iters=0), synthetic_data())
    assert TrainConfig.from_dict({**TrainConfig(lr=0.3).to_dict(), "unknown": 1}) == TrainConfig(lr=0.3)


def test_short_run_lowers_the_loss_and_learns():
    run = train(TrainConfig(iters=200, train_size=None), synthetic_data())
    assert run.status == "finished" and run.iterations_done == 200
    assert np.all(np.isfinite(run.losses))
    assert run.losses[:10].mean() == pytest.approx(2.30, abs=0.02)  # log(10): the net starts by guessing
    assert run.losses[-20:].mean() < 0.5 * run.losses[:10].mean()
    assert run.last.test_acc > 0.9


def test_same_seed_same_run_other_seed_other_run():
    data = synthetic_data()
    a = train(TrainConfig(iters=50, seed=3), data)
    b = train(TrainConfig(iters=50, seed=3), data)
    c = train(TrainConfig(iters=50, seed=4), data)
    np.testing.assert_array_equal(a.losses, b.losses)
    assert all(np.array_equal(a.params[k], b.params[k]) for k in PARAM_KEYS)
    assert not np.array_equal(a.losses, c.losses)


def test_accuracy_once_per_epoch_and_at_the_end():
    events = []
    # 1,000 images in batches of 100: an epoch is 10 iterations; the book measures at i = 0, 10, 20, 30
    run = train(TrainConfig(iters=35), synthetic_data(), callback=lambda r, e: events.append(e), progress_every=10)
    assert [e.iteration for e in run.epochs] == [1, 11, 21, 31, 35]
    assert [e.epoch for e in run.epochs] == [0, 1, 2, 3, 3.4]
    assert [e.final for e in run.epochs] == [False] * 4 + [True]
    assert events.count("epoch") == 5 and events.count("iteration") == 3 and events[-1] == "end"
    acc = run.accuracy_frame()
    assert list(acc.columns) == ["epoch", "iteration", "train_acc", "test_acc", "gap", "elapsed_s", "final"]
    np.testing.assert_allclose(acc["gap"], acc["train_acc"] - acc["test_acc"])
    loss = run.loss_frame()
    assert len(loss) == 35 and loss["iteration"].iloc[-1] == 35
    assert loss["epoch"].iloc[-1] == pytest.approx(3.5)
    # the recorded accuracy is what the network with those weights really scores
    (x, t), (xt, tt) = synthetic_data()
    assert run.last.test_acc == pytest.approx(run.network().accuracy(xt, tt))


def test_training_subset_is_used_and_overfits():
    run = train(TrainConfig(iters=300, train_size=50, batch_size=25, lr=0.5), synthetic_data(n_test=500))
    assert run.n_train == 50 and run.iters_per_epoch == 2.0
    assert len([e for e in run.epochs if not e.final]) == 150  # one per epoch: 300 iterations / 2
    assert run.last.train_acc == 1.0


def test_weight_snapshots_per_epoch_stay_bounded():
    run = train(TrainConfig(iters=35), synthetic_data())
    assert [it for it, _ in run.snapshots] == [e.iteration for e in run.epochs]  # one per measurement
    assert run.snapshots[-1][1].dtype == np.float16
    np.testing.assert_allclose(run.snapshots[-1][1], run.params["W1"], atol=1e-3)
    long = train(TrainConfig(iters=300, train_size=50, batch_size=25), synthetic_data())  # 151 measurements
    iterations = [it for it, _ in long.snapshots]
    assert 12 <= len(iterations) <= 24
    assert iterations[0] == 1 and iterations[-1] == 300
    steps = np.diff(iterations[:-1])
    assert steps.min() == steps.max()  # evenly spaced


def test_stop_keeps_what_was_recorded():
    calls = {"n": 0}

    def should_stop():
        calls["n"] += 1
        return calls["n"] > 25

    run = train(TrainConfig(iters=1000), synthetic_data(), should_stop=should_stop)
    assert run.status == "stopped" and run.iterations_done == 25
    assert "stopped after 25 of 1,000 iterations" in run.reason
    assert np.all(np.isfinite(run.losses[:25])) and np.all(np.isnan(run.losses[25:]))
    assert run.last.final and run.last.iteration == 25  # accuracy measured for the weights it stopped with


def test_stop_interrupts_the_books_slow_numerical_gradient():
    import time

    data = synthetic_data(n_train=200, n_test=50)
    start = time.monotonic()
    run = train(TrainConfig(gradient="numerical-plain", iters=3), data,
                should_stop=lambda: time.monotonic() - start > 0.3)  # one iteration would take ~17 s
    assert run.status == "stopped" and run.iterations_done == 0
    assert run.reason == "stopped during iteration 1 of 3 (numerical gradient)"
    fresh = TwoLayerNet(784, 50, 10, rng=np.random.default_rng(0), dtype=np.float32)
    assert np.array_equal(run.params["W1"], fresh.params["W1"])  # every nudged weight put back exactly
    assert time.monotonic() - start < 5


def test_divergence_stops_with_a_reason_and_keeps_history():
    (x, t), test = synthetic_data()
    x = x.astype(np.float32) / 255
    x[np.arange(len(x)) % 7 == 3] = np.nan  # a broken image: the loss of the batch that draws it is NaN
    run = train(TrainConfig(iters=500), ((x, t), test))
    assert run.status == "diverged"
    assert run.reason == f"loss diverged at iteration {run.iterations_done + 1:,} (nan): learning rate too high?"
    assert np.all(np.isfinite(run.losses[: run.iterations_done]))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_too_high_a_learning_rate_stops_the_run(dtype):
    # lr 100 drives the sigmoid net into saturation: confident and wrong, loss ≈ 14 instead of NaN
    run = train(TrainConfig(iters=500, lr=100.0, dtype=dtype), synthetic_data())
    assert run.status == "diverged"
    assert run.reason.startswith(f"loss diverged at iteration {run.iterations_done:,} (mean of the last 10 iterations")
    assert run.reason.endswith("while guessing scores 2.30): learning rate too high?")
    assert run.iterations_done < 60
    assert np.all(np.isfinite(run.losses[: run.iterations_done]))
    assert run.losses[run.iterations_done - 10 : run.iterations_done].mean() > 2.5 * np.log(10)


@pytest.mark.parametrize("lr, init_std", [(1.0, 0.01), (0.1, 1.0), (5.0, 0.01)])
def test_healthy_or_badly_initialised_runs_are_not_called_diverged(lr, init_std):
    run = train(TrainConfig(iters=300, lr=lr, weight_init_std=init_std), synthetic_data())
    assert run.status == "finished", run.reason


def test_float64_and_float32_agree():
    data = synthetic_data()
    a = train(TrainConfig(iters=100, dtype="float64"), data)
    b = train(TrainConfig(iters=100, dtype="float32"), data)
    assert a.params["W1"].dtype == np.float64 and b.params["W1"].dtype == np.float32
    np.testing.assert_allclose(a.losses, b.losses, rtol=1e-3)


def test_one_hot_labels_and_float_images_give_the_same_run():
    (x, t), (xt, tt) = synthetic_data()
    a = train(TrainConfig(iters=40, dtype="float64"), ((x, t), (xt, tt)))
    b = train(TrainConfig(iters=40, dtype="float64"), ((x / 255.0, np.eye(10)[t]), (xt / 255.0, np.eye(10)[tt])))
    np.testing.assert_allclose(a.losses, b.losses, rtol=1e-10)


@pytest.mark.slow
def test_the_book_reproduced_on_full_mnist():
    """§4.5 with the book's settings: 10,000 iterations, batch 100, lr 0.1, 50 hidden units, on all 60,000 images."""
    mnist_dir = os.environ.get("MNIST_DIR")
    if not mnist_dir:
        pytest.skip("set MNIST_DIR to the genuine MNIST files (e.g. ../shared/data/mnist)")
    from nn.mnist import load_dataset

    data = load_dataset(data_dir=mnist_dir, allow_download=False)
    assert data.is_full
    run = train(TrainConfig(), data.as_tuple())
    assert run.status == "finished"
    per_epoch = [e for e in run.epochs if not e.final]
    assert len(per_epoch) == 17  # i = 0, 600, ..., 9600
    assert isinstance(run.last, EpochRecord) and run.last.iteration == 10_000
    assert run.last.test_acc >= 0.94
    assert abs(run.last.train_acc - run.last.test_acc) < 0.02
    assert run.losses[-500:].mean() < 0.3


@pytest.mark.parametrize("config", [TrainConfig(iters=130, batch_size=50), TrainConfig(iters=40, train_size=150)])
def test_accuracy_measured_alongside_the_steps_equals_measured_in_turn(config):
    """overlap=True measures on a copy of the weights in another thread: the same numbers, in the same order."""
    data = synthetic_data()
    events = []
    apart = train(config, data, overlap=True, callback=lambda r, e: events.append((e, r.iterations_done)))
    inline = train(config, data, overlap=False)
    np.testing.assert_array_equal(apart.losses, inline.losses)
    assert [(e.iteration, e.train_acc, e.test_acc, e.final) for e in apart.epochs] == [
        (e.iteration, e.train_acc, e.test_acc, e.final) for e in inline.epochs
    ]
    assert [it for it, _ in apart.snapshots] == [it for it, _ in inline.snapshots]
    for key in PARAM_KEYS:
        np.testing.assert_array_equal(apart.params[key], inline.params[key])
    assert [e for e, _ in events].count("epoch") == len(inline.epochs) and events[-1][0] == "end"
