"""The book's building blocks, at the extremes."""

import numpy as np
import pytest

from nn.functions import cross_entropy_error, numerical_gradient, sigmoid, softmax


def test_sigmoid_values_and_extremes():
    x = np.array([-1000.0, -1.0, 0.0, 1.0, 1000.0])
    y = sigmoid(x)
    assert np.all(np.isfinite(y))
    np.testing.assert_allclose(y, [0.0, 0.2689414213699951, 0.5, 0.7310585786300049, 1.0], rtol=1e-12, atol=1e-300)
    assert sigmoid(np.float32(-1000)).dtype == np.float32


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_is_stable_at_plus_minus_1000(dtype):
    logits = np.array([[1000.0, 0.0, -1000.0], [-1000.0, -1000.0, -1000.0], [1.0, 2.0, 3.0]], dtype=dtype)
    y = softmax(logits)
    assert y.dtype == dtype
    assert np.all(np.isfinite(y))
    np.testing.assert_allclose(y.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(y[0], [1.0, 0.0, 0.0], atol=1e-30)
    np.testing.assert_allclose(y[1], [1 / 3] * 3, rtol=1e-6)
    e = np.exp([1.0, 2.0, 3.0])
    np.testing.assert_allclose(y[2], e / e.sum(), rtol=1e-6)


def test_softmax_1d_matches_2d_row():
    x = np.array([0.3, 2.9, 4.0])
    np.testing.assert_allclose(softmax(x), softmax(x[None, :])[0])
    np.testing.assert_allclose(softmax(x), [0.01821127, 0.24519181, 0.73659691], rtol=1e-6)


def test_cross_entropy_one_hot_and_integer_labels_agree():
    y = np.array([[0.1, 0.05, 0.6, 0.0, 0.05, 0.1, 0.0, 0.1, 0.0, 0.0],
                  [0.1, 0.05, 0.1, 0.0, 0.05, 0.1, 0.0, 0.6, 0.0, 0.0]])
    t_int = np.array([2, 7])
    t_hot = np.eye(10)[t_int]
    expected = -np.log(0.6 + 1e-7)  # the book's example: 0.510825457099338
    assert cross_entropy_error(y, t_int) == pytest.approx(expected, rel=1e-12)
    assert cross_entropy_error(y, t_hot) == pytest.approx(expected, rel=1e-12)
    assert cross_entropy_error(y[0], t_hot[0]) == pytest.approx(expected, rel=1e-12)  # 1-D, one-hot
    assert cross_entropy_error(y[0], 2) == pytest.approx(expected, rel=1e-12)  # 1-D, integer


def test_cross_entropy_of_a_certain_mistake_is_large_but_finite():
    y = softmax(np.array([[1000.0, -1000.0]]))  # probability exactly 0 for class 1
    loss = cross_entropy_error(y, np.array([1]))
    assert np.isfinite(loss)
    assert loss == pytest.approx(-np.log(1e-7), rel=1e-9)  # 16.118...


def test_numerical_gradient_of_a_quadratic_and_restores_input():
    x = np.array([[3.0, 4.0], [-1.5, 0.25]])
    before = x.copy()
    grad = numerical_gradient(lambda v: np.sum(v**2) + 3 * v[0, 1], x)
    np.testing.assert_allclose(grad, 2 * before + np.array([[0, 3], [0, 0]]), rtol=1e-8)
    assert np.array_equal(x, before)  # exactly, bit for bit


def test_numerical_gradient_restores_input_when_f_raises():
    x = np.array([1.0, 2.0, 3.0])
    before = x.copy()
    calls = []

    def f(v):
        calls.append(1)
        if len(calls) == 4:
            raise RuntimeError("boom")
        return float(v.sum())

    with pytest.raises(RuntimeError):
        numerical_gradient(f, x)
    assert np.array_equal(x, before)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_and_softmax_into_a_given_array_give_the_same_numbers(dtype):
    x = np.array([[-1000.0, -3.0, 0.0, 0.5, 1000.0], [1.0, 2.0, 3.0, 4.0, 5.0]], dtype=dtype)
    out = np.empty_like(x)
    assert sigmoid(x, out=out) is out
    np.testing.assert_array_equal(out, sigmoid(x))
    inplace = x.copy()
    softmax(inplace, out=inplace)
    np.testing.assert_array_equal(inplace, softmax(x))
    assert np.all(np.isfinite(inplace)) and inplace.dtype == dtype


def test_numerical_gradient_stops_when_asked_and_restores_input():
    from nn.functions import Stopped

    x = np.array([1.0, 2.0, 3.0, 4.0])
    before = x.copy()
    asked = []
    with pytest.raises(Stopped):
        numerical_gradient(lambda v: float(np.sum(v**2)), x, should_stop=lambda: asked.append(1) or len(asked) > 2)
    assert len(asked) == 3 and np.array_equal(x, before)
    grad = numerical_gradient(lambda v: float(np.sum(v**2)), x, should_stop=lambda: False)
    np.testing.assert_allclose(grad, 2 * before, rtol=1e-8)
