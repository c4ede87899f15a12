"""The book's loop (nn.sgd), stepped or run in one go, and the fast pieces behind its interfaces.

- the loop's body is the slide's (read from its source);
- a run taken one step at a time, then continued in one go, is the run trained in one go, to the bit;
- FastTwoLayerNet's gradient is TwoLayerNet's, the AccuracyMeter's accuracy is network.accuracy.
"""

import inspect
import pickle
import re

import numpy as np
import pytest

import nn.sgd
from nn.fast_net import FastTwoLayerNet, LossNotFinite
from nn.meter import AccuracyMeter
from nn.sgd import epoch_length, sgd
from nn.train import EpochRecord, TrainConfig, start, step, train
from nn.two_layer_net import PARAM_KEYS, TwoLayerNet, Workspace
from tests.helpers import SLIDE_LINES, synthetic_data


def assert_same_run(a, b):
    """Two run records with the same losses, accuracies, W1 pictures and weights, exactly."""
    assert (a.status, a.iterations_done, str(a.reason)) == (b.status, b.iterations_done, str(b.reason))
    np.testing.assert_array_equal(a.losses, b.losses)
    assert [(e.epoch, e.iteration, e.train_acc, e.test_acc, e.final) for e in a.epochs] == [
        (e.epoch, e.iteration, e.train_acc, e.test_acc, e.final) for e in b.epochs]
    assert [it for it, _ in a.snapshots] == [it for it, _ in b.snapshots]
    for (_, wa), (_, wb) in zip(a.snapshots, b.snapshots):
        np.testing.assert_array_equal(wa, wb)
    for key in PARAM_KEYS:
        np.testing.assert_array_equal(a.params[key], b.params[key])


# -- the loop reads as the slide ---------------------------------------------------------------------------


def test_the_loop_is_the_books():
    source = inspect.getsource(sgd)
    body = source[source.index("for i in range(") :]
    for line in (*SLIDE_LINES, "accuracy = measure(network, i)"):
        assert line in source, line
    measure = inspect.getsource(nn.sgd.book_accuracies)  # the hook's default: the book's two lines
    assert "train_acc = network.accuracy(x_train, t_train)" in measure
    assert "test_acc = network.accuracy(x_test, t_test)" in measure
    assert re.search(r"if i % iter_per_epoch (== 0|< 1):", body)
    # the order of the slide: draw, gradient, update, then (once per epoch) measure
    order = [body.index(s) for s in ("batch_mask =", "x_batch =", "network.gradient(", "-= learning_rate",
                                     "iter_per_epoch")]
    assert order == sorted(order)
    assert len(source.splitlines()) <= 45  # one screen: the lesson, not the machinery
    assert "sgd" in nn.sgd.__doc__ and "step(state)" in nn.sgd.__doc__


def test_the_books_choice_draws_what_integers_draws():
    """``rng.choice(n, k)`` (the book's spelling) and ``rng.integers(0, n, k)`` give the same batches: the runs
    of earlier versions, which drew with ``integers``, are the runs of this one."""
    a, b = np.random.default_rng(5), np.random.default_rng(5)
    for n, k in [(60_000, 100), (1000, 100), (7, 3), (150, 100)]:
        for _ in range(50):
            np.testing.assert_array_equal(a.choice(n, k), b.integers(0, n, size=k))


@pytest.mark.parametrize("n, batch, expected", [(60_000, 100, 600), (50, 100, 1), (150, 100, 1.5), (5, 3, 5 / 3)])
def test_epoch_length_is_exact(n, batch, expected):
    length = epoch_length(n, batch)
    assert length == pytest.approx(expected) and (isinstance(length, int) or length.denominator > 1)
    measured = [i for i in range(20) if i % length < 1]
    assert measured == [i for i in range(20) if i * batch % n < batch or n <= batch]  # whole-number arithmetic


def test_the_loop_runs_a_plain_book_network_too():
    """The generator with the book's own TwoLayerNet and its own accuracy: what a student would run."""
    (x, t), (xt, tt) = synthetic_data()
    x, xt = x / 255.0, xt / 255.0
    book = TwoLayerNet(784, 50, 10, rng=0)
    fast = FastTwoLayerNet(784, 50, 10, rng=0)
    a = list(sgd(book, x, t, xt, tt, rng=np.random.default_rng(1), iters_num=25))
    b = list(sgd(fast, x, t, xt, tt, rng=np.random.default_rng(1), iters_num=25))
    assert [s.i for s in a] == list(range(25))
    assert [s.accuracy is not None for s in a] == [i % 10 == 0 for i in range(25)]
    np.testing.assert_allclose([s.loss for s in a], [s.loss for s in b], rtol=1e-12)
    assert [s.accuracy for s in a] == [s.accuracy for s in b]
    for key in PARAM_KEYS:
        np.testing.assert_allclose(book.params[key], fast.params[key], rtol=1e-9, atol=1e-15)
    assert a[-1].accuracy is None and 0 <= a[20].accuracy[0] <= 1


# -- one step at a time ------------------------------------------------------------------------------------


@pytest.mark.parametrize("overlap", [False, True])
@pytest.mark.parametrize("config, stepped", [
    (TrainConfig(iters=60), 13),                           # across the epoch boundary at step 10
    (TrainConfig(iters=35, train_size=150), 7),            # 1.5 steps per epoch
    (TrainConfig(iters=40, dtype="float64"), 1),
    (TrainConfig(iters=300, train_size=50, batch_size=25), 120),  # 151 measurements: W1 pictures thinned
])
def test_steps_then_the_rest_in_one_go_is_the_run_in_one_go(config, stepped, overlap):
    data = synthetic_data()
    whole = train(config, data, overlap=overlap)
    state = start(config, data)
    steps = [step(state) for _ in range(stepped)]
    assert state.i == stepped == state.run.iterations_done
    assert [s.i for s in steps] == list(range(stepped))
    np.testing.assert_array_equal([s.loss for s in steps], whole.losses[:stepped])
    run = train(config, data, resume=state, overlap=overlap)
    assert run is state.run
    assert_same_run(run, whole)


def test_every_step_taken_one_at_a_time_is_the_run_in_one_go():
    config = TrainConfig(iters=23)
    data = synthetic_data()
    state = start(config, data)
    steps = [step(state) for _ in range(config.iters)]
    assert state.run.status == "finished" and state.run.last.final and state.run.last.iteration == 23
    assert_same_run(state.run, train(config, data))
    measured = [s.i for s in steps if s.epoch is not None]
    assert measured == [0, 10, 20] and isinstance(steps[10].epoch, EpochRecord)
    assert steps[10].epoch.iteration == 11 and steps[10].accuracy == (steps[10].epoch.train_acc, steps[10].epoch.test_acc)
    with pytest.raises(ValueError, match="the run is over"):
        step(state)


def test_a_step_says_what_it_did():
    config = TrainConfig(iters=100, seed=4)
    (x, t), test = synthetic_data()
    state = start(config, ((x, t), test))
    rng = np.random.default_rng(4)  # the run's generator: the initial weights, then the batches
    TwoLayerNet(784, 50, 10, rng=rng, dtype=np.float32)
    before = {key: value.copy() for key, value in state.network.params.items()}
    s = step(state)
    np.testing.assert_array_equal(s.batch_mask, rng.choice(len(x), 100))
    np.testing.assert_array_equal(s.x_batch, x[s.batch_mask])
    np.testing.assert_array_equal(s.t_batch, t[s.batch_mask])
    book = TwoLayerNet.from_params(before)
    assert s.loss == pytest.approx(book.loss(s.x_batch, s.t_batch), rel=1e-6) and s.loss == state.run.losses[0]
    expected = book.gradient(s.x_batch, s.t_batch)
    for key in PARAM_KEYS:  # the step: the weights moved by lr times the gradient it reports
        np.testing.assert_allclose(s.grad[key], expected[key], rtol=2e-3, atol=2e-3 * np.abs(expected[key]).max())
        np.testing.assert_allclose(state.network.params[key], before[key] - 0.1 * s.grad[key], rtol=1e-6, atol=1e-9)
    assert s.epoch is not None and s.epoch.iteration == 1  # the book measures after its first step
    assert step(state).epoch is None and state.run.status == "running"


def test_a_stepped_run_can_be_pickled_and_continued_elsewhere():
    config = TrainConfig(iters=45)
    data = synthetic_data()
    state = start(config, data)
    for _ in range(17):
        step(state)
    copy = pickle.loads(pickle.dumps(state))
    run = train(config, None, resume=copy)  # data travels with the state
    assert_same_run(run, train(config, data))
    assert state.i == 17 and state.run.iterations_done == 17  # the original is untouched


def test_resume_refuses_another_config_or_a_finished_run():
    data = synthetic_data()
    state = start(TrainConfig(iters=20), data)
    step(state)
    with pytest.raises(ValueError, match="config it was started with"):
        train(TrainConfig(iters=30), data, resume=state)
    train(TrainConfig(iters=20), data, resume=state)
    with pytest.raises(ValueError, match="over"):
        train(TrainConfig(iters=20), data, resume=state)


def test_stop_then_callbacks_on_a_resumed_run():
    data = synthetic_data()
    state = start(TrainConfig(iters=50), data)
    for _ in range(5):
        step(state)
    events = []
    run = train(state.config, data, resume=state, callback=lambda r, e: events.append((e, r.iterations_done)),
                should_stop=lambda: state.i >= 30, progress_every=10)
    assert run.status == "stopped" and run.iterations_done == 30
    assert ("iteration", 10) in events and ("iteration", 30) in events and events[-1] == ("end", 30)
    assert [e for e, _ in events].count("epoch") == len(run.epochs) - 1  # the one of step 0 was stepped


def test_a_nan_step_is_refused_before_the_update():
    (x, t), test = synthetic_data()
    x = x.astype(np.float32) / 255
    x[3] = np.nan
    state = start(TrainConfig(iters=500), ((x, t), test))
    results = []
    while not state.run.done:
        results.append(step(state))
    assert results[-1] is None and state.run.status == "diverged"
    assert state.run.reason.startswith(f"loss diverged at iteration {state.i + 1:,} (nan)")
    assert all(np.all(np.isfinite(v)) for v in state.network.params.values())  # the last good weights


# -- the fast pieces behave as the book's ------------------------------------------------------------------


@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-12), (np.float32, 2e-3)])
@pytest.mark.parametrize("pixels", ["uint8", "float"])
def test_fast_gradient_is_the_books_gradient(dtype, rtol, pixels):
    rng = np.random.default_rng(8)
    book = TwoLayerNet(784, 50, 10, weight_init_std=0.1, rng=rng, dtype=dtype)
    fast = FastTwoLayerNet.from_params(book.params)
    (x, t), _ = synthetic_data(100)
    if pixels == "float":
        x = x / 255.0
    expected = book.gradient(x, t)
    for _ in range(2):  # the second call, in the buffers of the first, gives the same
        got = fast.gradient(x, t)
        assert fast.last_loss == pytest.approx(book.last_loss, rel=rtol)
        assert book.last_loss == pytest.approx(book.loss(x, t), rel=1e-6)
        for key in PARAM_KEYS:
            assert got[key].dtype == dtype and got[key].shape == book.params[key].shape
            scale = np.abs(expected[key]).max()
            np.testing.assert_allclose(got[key], expected[key], rtol=rtol, atol=rtol * scale)
    assert fast.gradient(x, t)["W1"] is got["W1"]  # reused, as its docstring says


def test_fast_gradient_matches_the_numerical_gradient_on_a_tiny_net():
    rng = np.random.default_rng(0)
    net = FastTwoLayerNet(5, 4, 3, weight_init_std=1.0, rng=rng)
    x, t = rng.standard_normal((7, 5)), rng.integers(0, 3, size=7)
    numerical = TwoLayerNet.numerical_gradient(net, x, t)
    backprop = net.gradient(x, t)
    for key in PARAM_KEYS:
        np.testing.assert_allclose(backprop[key], numerical[key], rtol=1e-6, atol=1e-9)


def test_the_fast_nets_numerical_gradients_agree():
    rng = np.random.default_rng(1)
    (x, t), _ = synthetic_data(20)
    plain = FastTwoLayerNet(784, 3, 10, weight_init_std=0.1, rng=rng)
    fast = FastTwoLayerNet.from_params(plain.params, numerical="fast")
    a, b = plain.numerical_gradient(x, t), fast.numerical_gradient(x, t)
    for key in PARAM_KEYS:
        np.testing.assert_allclose(a[key], b[key], rtol=1e-5, atol=1e-9)
    assert plain.last_loss == fast.last_loss == plain.loss(x, t)


def test_a_nan_loss_raises_and_leaves_the_gradient_untouched():
    net = FastTwoLayerNet(784, 50, 10, rng=0)
    (x, t), _ = synthetic_data(10)
    x = x / 255.0
    x[2, 5] = np.nan
    with pytest.raises(LossNotFinite):
        net.gradient(x, t)
    assert np.isnan(net.last_loss)
    book = TwoLayerNet.from_params(net.params)
    assert np.isnan(book.gradient(x, t)["W1"]).any()  # the book's net hands it out, as the book would


@pytest.mark.parametrize("workers, chunk", [(1, 2000), (2, 2000), (2, 77)])
@pytest.mark.parametrize("pixels", ["uint8", "float"])
def test_meter_accuracy_is_the_networks_accuracy(workers, chunk, pixels):
    (x, t), _ = synthetic_data(2500, 10)
    net = TwoLayerNet(784, 50, 10, weight_init_std=0.05, rng=3, dtype=np.float32)
    net.params["W2"] += np.random.default_rng(4).normal(0, 0.5, size=(50, 10)).astype(np.float32)
    if pixels == "float":
        x = x / 255.0
    expected = net.accuracy(x, t)
    assert 0.05 < expected < 0.95
    with AccuracyMeter(workers=workers, chunk=chunk) as meter:
        got = meter.accuracy(net, x, t)
        if chunk == 2000:  # the chunks of network.accuracy: the very same products, the very same number
            assert got == expected
        else:  # other chunks: BLAS may round a score differently, and an exact tie may go the other way
            assert got == pytest.approx(expected, abs=1 / len(x))
        assert meter.accuracy(net, x, np.eye(10)[t]) == got  # one-hot labels too
        assert np.isnan(meter.accuracy(net, x[:0], t[:0]))


def test_the_forward_pass_is_written_once():
    """Every user reaches the scores through TwoLayerNet.forward: no module but two_layer_net calls sigmoid."""
    import nn.fast_net
    import nn.meter
    import nn.train
    import ui.draw

    for module in (nn.fast_net, nn.meter, nn.train, nn.sgd, ui.draw):
        source = inspect.getsource(module)
        assert "sigmoid(" not in source, module.__name__
    assert "net.forward(" in inspect.getsource(ui.draw.read_digit)
    assert ".forward(" in inspect.getsource(AccuracyMeter.accuracy)


def test_forward_with_a_workspace_equals_without():
    net = TwoLayerNet(784, 50, 10, weight_init_std=0.1, rng=2, dtype=np.float32)
    (x, _), _ = synthetic_data(64)
    work = Workspace()
    for rows in (64, 10, 64):  # smaller batches reuse the first rows of the buffers
        plain = net.forward(x[:rows])
        kept = net.forward(x[:rows], work)
        np.testing.assert_array_equal(kept.z1, plain.z1)
        np.testing.assert_array_equal(kept.a2, plain.a2)
        assert kept.x_scale == np.float32(1 / 255) and kept.a2.base is work.arrays["a2"]
    np.testing.assert_allclose(net.predict(x), net.predict(x / 255.0), rtol=1e-5)
