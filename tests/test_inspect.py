"""nn.inspect: the gradient check (pass for the real backprop, fail for broken ones) and the test-set error
analysis (confusion matrix, per-digit accuracy, misclassified images sorted by confidence)."""

from __future__ import annotations

import numpy as np
import pytest

from nn import inspect as ni
from nn.model_file import load_pretrained
from nn.mnist import load_embedded
from nn.two_layer_net import PARAM_KEYS, TwoLayerNet


class FlippedSignNet(TwoLayerNet):
    """A test double whose backprop has a sign error in dL/dW1."""

    def gradient(self, x, t):
        grads = super().gradient(x, t)
        grads["W1"] = -grads["W1"]
        return grads


class MissingMeanNet(TwoLayerNet):
    """A test double that forgets to divide by the batch size in the output layer's biases."""

    def gradient(self, x, t):
        grads = super().gradient(x, t)
        grads["b2"] = grads["b2"] * len(x)
        return grads


def small_net(cls=TwoLayerNet, seed=0, dtype=np.float32) -> TwoLayerNet:
    """784-6-10 with non-trivial weights, so that every gradient is well above rounding."""
    net = cls(784, 6, 10, weight_init_std=0.1, rng=seed, dtype=dtype)
    rng = np.random.default_rng(seed + 1)
    net.params["b1"][:] = rng.standard_normal(6)
    net.params["b2"][:] = rng.standard_normal(10)
    return net


@pytest.fixture(scope="module")
def sample():
    return load_embedded()


def batch(sample, n=5):
    return sample.x_train[:n], sample.t_train[:n]


def test_relative_error_is_scaled_by_the_largest_entry():
    a = np.array([1.0, 2.0, -4.0])
    assert ni.relative_error(a, a) == 0.0
    assert ni.relative_error(a, a + np.array([0, 0, 4e-6])) == pytest.approx(1e-6)
    assert ni.relative_error(a, -a) == pytest.approx(2.0)  # a flipped sign
    assert ni.relative_error(np.zeros(3), np.zeros(3)) == 0.0  # pixels that are black in every image


def test_real_backprop_passes_with_every_number_reported(sample):
    net = small_net()
    x, t = batch(sample)
    before = {k: v.copy() for k, v in net.params.items()}
    check = ni.gradient_check(net, x, t, repeats=1)
    assert check.passed and check.plain_passed
    assert [c.key for c in check.checks] == list(PARAM_KEYS)
    assert all(c.passed and c.max_rel_error < 1e-7 for c in check.checks)
    assert all(c.mean_abs_diff <= c.max_abs_diff < 1e-8 for c in check.checks)
    assert check.threshold == ni.GRADIENT_THRESHOLD == 1e-6
    # float64 copies whatever the net's dtype; the net itself untouched
    assert all(g.dtype == np.float64 for g in (*check.numerical.values(), *check.backprop.values()))
    assert all(np.array_equal(before[k], net.params[k]) for k in PARAM_KEYS)
    assert check.check("W1").shape == (784, 6) and check.n_params == 784 * 6 + 6 + 6 * 10 + 10
    assert check.plain_keys == ("b1", "b2") and check.plain_params == 16
    assert check.backprop_s > 0 and check.numerical_s > 0 and check.plain_s > 0
    assert check.plain_estimate_s == pytest.approx(check.plain_s / 16 * check.n_params)
    assert check.batch_size == 5


def test_the_numbers_are_those_of_the_core_functions(sample):
    """The check reports exactly what TwoLayerNet.gradient and nn.numgrad give on a float64 copy."""
    from nn.numgrad import fast_numerical_gradient

    net = small_net(dtype=np.float64)
    x, t = batch(sample, 3)
    check = ni.gradient_check(net, x, t, repeats=1)
    backprop, numerical = net.gradient(x, t), fast_numerical_gradient(net.params, x, t)
    for key in PARAM_KEYS:
        np.testing.assert_array_equal(check.backprop[key], backprop[key])
        np.testing.assert_array_equal(check.numerical[key], numerical[key])
        assert check.check(key).max_rel_error == ni.relative_error(numerical[key], backprop[key])
    # the book's loop on b1 and b2 agrees with TwoLayerNet.numerical_gradient there
    plain = net.numerical_gradient(x, t)
    assert ni.relative_error(plain["b2"], backprop["b2"]) <= check.plain_max_rel_error * 1.0001 + 1e-15


@pytest.mark.parametrize("cls, bad", [(FlippedSignNet, "W1"), (MissingMeanNet, "b2")])
def test_a_broken_backprop_fails(sample, cls, bad):
    check = ni.gradient_check(small_net(cls), *batch(sample), repeats=1)
    assert not check.passed
    assert [c.key for c in check.checks if not c.passed] == [bad]
    assert check.check(bad).max_rel_error > 0.5
    assert check.max_rel_error == check.check(bad).max_rel_error


def test_pretrained_model_passes_at_batch_10(sample):
    check = ni.gradient_check(load_pretrained().network(), *batch(sample, 10), repeats=1)
    assert check.passed, [(c.key, c.max_rel_error) for c in check.checks]
    assert check.max_rel_error < 1e-8
    assert check.n_params == 39_760
    assert 0 <= ni.busiest_unit(check.backprop) < 50


def test_empty_or_mismatched_batch_is_refused():
    with pytest.raises(ValueError, match="non-empty batch"):
        ni.gradient_check(small_net(), np.zeros((0, 784)), np.zeros(0, dtype=int))
    with pytest.raises(ValueError, match="one label per image"):
        ni.gradient_check(small_net(), np.zeros((3, 784)), np.zeros(2, dtype=int))


# -- errors ------------------------------------------------------------------------------------------------------


def handmade() -> ni.Evaluation:
    labels = np.array([0, 0, 1, 1, 1, 2, 2, 2])
    preds = np.array([0, 1, 1, 1, 2, 2, 0, 1])
    conf = np.array([0.9, 0.8, 0.7, 0.6, 0.95, 0.5, 0.4, 0.99])
    return ni.Evaluation(labels=labels, predictions=preds, confidence=conf)


def test_confusion_matrix_rows_and_per_digit_accuracy():
    e = handmade()
    counts = ni.confusion_matrix(e.labels, e.predictions, n_classes=3)
    np.testing.assert_array_equal(counts, [[1, 1, 0], [0, 2, 1], [1, 1, 1]])
    np.testing.assert_allclose(ni.row_normalise(counts), [[0.5, 0.5, 0], [0, 2 / 3, 1 / 3], [1 / 3, 1 / 3, 1 / 3]])
    np.testing.assert_allclose(ni.per_digit_accuracy(counts), [0.5, 2 / 3, 1 / 3])
    full = ni.confusion_matrix(e.labels, e.predictions)
    assert full.shape == (10, 10) and full.sum() == 8
    acc = ni.per_digit_accuracy(full)
    assert np.isnan(acc[5]) and ni.row_normalise(full)[5].sum() == 0  # a digit with no images: no division
    assert e.accuracy == pytest.approx(4 / 8) and e.n_wrong == 4
    with pytest.raises(ValueError):
        ni.confusion_matrix(e.labels, e.predictions[:3])


def test_mistakes_are_filtered_and_sorted_by_confidence():
    e = handmade()
    np.testing.assert_array_equal(ni.mistakes(e), [7, 4, 1, 6])  # 0.99, 0.95, 0.8, 0.4
    np.testing.assert_array_equal(ni.mistakes(e, most_confident_first=False), [6, 1, 4, 7])
    np.testing.assert_array_equal(ni.mistakes(e, true=2), [7, 6])
    np.testing.assert_array_equal(ni.mistakes(e, predicted=1), [7, 1])
    np.testing.assert_array_equal(ni.mistakes(e, true=2, predicted=0), [6])
    np.testing.assert_array_equal(ni.mistakes(e, true=1, predicted=1), [2, 3])  # a diagonal cell: the right ones
    assert len(ni.mistakes(e, true=0, predicted=2)) == 0


def test_evaluate_matches_classify_and_predict(sample):
    net = load_pretrained().network()
    x, t = sample.x_test[:300], sample.t_test[:300]
    e = ni.evaluate(net, x, t, chunk=128)
    np.testing.assert_array_equal(e.predictions, net.classify(x))
    probs = net.predict(x)
    np.testing.assert_allclose(e.confidence, probs.max(axis=1), rtol=1e-5)
    assert e.accuracy == pytest.approx(net.accuracy(x, t))
    assert e.accuracy > 0.85
    counts = ni.confusion_matrix(e.labels, e.predictions)
    assert counts.sum() == 300 and np.trace(counts) == 300 - e.n_wrong
    wrong = ni.mistakes(e)
    assert len(wrong) == e.n_wrong and np.all(np.diff(e.confidence[wrong]) <= 0)
