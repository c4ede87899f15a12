"""TwoLayerNet: the book's API, backprop against the numerical gradient."""

import numpy as np
import pytest

from nn.two_layer_net import PARAM_KEYS, TwoLayerNet


def tiny_problem(seed=0, n=7):
    rng = np.random.default_rng(seed)
    net = TwoLayerNet(5, 4, 3, weight_init_std=1.0, rng=rng, dtype=np.float64)
    for key in ("b1", "b2"):
        net.params[key][...] = rng.standard_normal(net.params[key].shape)
    x = rng.standard_normal((n, 5))
    t = rng.integers(0, 3, size=n)
    return net, x, t


def relative_error(a, b):
    return np.max(np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), 1e-12))


def test_params_shapes_dtypes_and_seeded_init():
    net = TwoLayerNet(784, 50, 10, rng=42)
    assert {k: v.shape for k, v in net.params.items()} == {
        "W1": (784, 50), "b1": (50,), "W2": (50, 10), "b2": (10,)}
    assert all(v.dtype == np.float64 for v in net.params.values())
    assert np.all(net.params["b1"] == 0) and np.all(net.params["b2"] == 0)
    assert net.params["W1"].std() == pytest.approx(0.01, rel=0.02)
    again = TwoLayerNet(784, 50, 10, rng=42)
    assert all(np.array_equal(net.params[k], again.params[k]) for k in PARAM_KEYS)
    other = TwoLayerNet(784, 50, 10, rng=43)
    assert not np.array_equal(net.params["W1"], other.params["W1"])
    assert TwoLayerNet(4, 3, 2, dtype="float32").params["W1"].dtype == np.float32


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("one_hot", [False, True])
def test_backprop_matches_numerical_gradient(seed, one_hot):
    net, x, t = tiny_problem(seed)
    labels = np.eye(3)[t] if one_hot else t
    numerical = net.numerical_gradient(x, labels)
    backprop = net.gradient(x, labels)
    for key in PARAM_KEYS:
        assert backprop[key].shape == net.params[key].shape
        assert relative_error(backprop[key], numerical[key]) < 1e-7, key


def test_gradient_is_zero_free_of_side_effects():
    net, x, t = tiny_problem()
    before = {k: v.copy() for k, v in net.params.items()}
    net.gradient(x, t)
    net.numerical_gradient(x, t)
    assert all(np.array_equal(before[k], net.params[k]) for k in PARAM_KEYS)


def test_predict_loss_accuracy():
    net, x, t = tiny_problem()
    y = net.predict(x)
    assert y.shape == (7, 3)
    np.testing.assert_allclose(y.sum(axis=1), 1.0)
    expected_loss = -np.mean(np.log(y[np.arange(7), t] + 1e-7))
    assert net.loss(x, t) == pytest.approx(expected_loss, rel=1e-12)
    assert net.loss(x, np.eye(3)[t]) == pytest.approx(expected_loss, rel=1e-12)
    expected_acc = np.mean(y.argmax(axis=1) == t)
    assert net.accuracy(x, t) == pytest.approx(expected_acc)
    assert net.accuracy(x, np.eye(3)[t]) == pytest.approx(expected_acc)
    assert net.predict(x[0]).shape == (3,)


def test_accuracy_in_chunks_equals_all_at_once():
    rng = np.random.default_rng(5)
    net = TwoLayerNet(20, 8, 10, weight_init_std=0.5, rng=rng)
    x = rng.random((4999, 20))
    t = rng.integers(0, 10, size=4999)
    direct = np.mean(net.predict(x).argmax(axis=1) == t)
    assert net.accuracy(x, t) == pytest.approx(direct)
    np.testing.assert_array_equal(net.classify(x, chunk=777), net.predict(x).argmax(axis=1))


def test_uint8_images_are_scaled_to_unit_range():
    rng = np.random.default_rng(3)
    net = TwoLayerNet(784, 50, 10, rng=rng)
    x8 = rng.integers(0, 256, size=(4, 784), dtype=np.uint8)
    np.testing.assert_allclose(net.predict(x8), net.predict(x8 / 255.0), rtol=1e-12)


def test_from_params_copies():
    net, _, _ = tiny_problem()
    clone = TwoLayerNet.from_params(net.params)
    clone.params["W1"][0, 0] += 1
    assert clone.params["W1"][0, 0] != net.params["W1"][0, 0]
    assert clone.sizes == (5, 4, 3)


def test_gradient_says_where_it_differs_from_the_book():
    doc = TwoLayerNet.gradient.__doc__
    assert "(y - t) / N" in doc and "y_t / (y_t + eps)" in doc and "numerical_gradient" in doc


def test_gradient_keeps_the_loss_of_its_forward_pass():
    net, x, t = tiny_problem()
    grads = net.gradient(x, t)
    assert net.last_loss == pytest.approx(net.loss(x, t), rel=1e-12)
    assert set(grads) == set(PARAM_KEYS)
    net.numerical_gradient(x, t)
    assert net.last_loss == net.loss(x, t)


def test_numerical_gradient_can_be_stopped_and_puts_every_weight_back():
    from nn.functions import Stopped

    net, x, t = tiny_problem()
    before = {k: v.copy() for k, v in net.params.items()}
    asked = []

    def should_stop():
        asked.append(1)
        return len(asked) > 7  # in the middle of W1

    with pytest.raises(Stopped):
        net.numerical_gradient(x, t, should_stop=should_stop)
    assert all(np.array_equal(before[k], net.params[k]) for k in PARAM_KEYS)


def test_forward_is_what_predict_hidden_and_logits_show():
    net, x, _ = tiny_problem()
    f = net.forward(x)
    np.testing.assert_array_equal(f.z1, net.hidden(x))
    np.testing.assert_array_equal(f.a2, net.logits(x))
    e = np.exp(f.a2 - f.a2.max(axis=1, keepdims=True))
    np.testing.assert_allclose(net.predict(x), e / e.sum(axis=1, keepdims=True), rtol=1e-12)
