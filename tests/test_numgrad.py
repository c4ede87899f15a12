"""``nn.numgrad.fast_numerical_gradient`` against the book's plain loop (``TwoLayerNet.numerical_gradient``).

How close is "the same"? The plain loop subtracts two losses L(p+h) and L(p-h) of about 2.3 each, each carrying
float64 rounding of a few ulps (one ulp of 2.3 is 4.4e-16), then divides by 2h = 2e-4: its own result is only
good to about 2.2e-12 per ulp, absolutely. So we compare with
  * a per-key relative difference, max|a - b| / max(max|a|, max|b|) ≤ 1e-6, and
  * an element-wise check |a - b| ≤ 1e-6·|b| + ABS_FLOOR, where ABS_FLOOR is 10 ulps of the loss divided by 2h
    (about 2.2e-11 for a loss of 2.3): the plain loop's own rounding, not a tolerance of our choosing.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np
import pytest

from nn.functions import NUMERICAL_H, numerical_gradient
from nn.numgrad import fast_numerical_gradient
from nn.train import TrainConfig, train
from nn.two_layer_net import PARAM_KEYS, TwoLayerNet

REL_TOL = 1e-6


def relative_difference(a: np.ndarray, b: np.ndarray) -> float:
    """max|a - b| / max(max|a|, max|b|): the largest error measured against the largest entry."""
    scale = max(np.abs(a).max(), np.abs(b).max())
    return float(np.abs(a - b).max() / scale) if scale > 0 else float(np.abs(a - b).max())


def abs_floor(loss: float, h: float = NUMERICAL_H) -> float:
    """10 ulps of the loss, divided by 2h: the rounding error of (L(p+h) - L(p-h)) / 2h in float64."""
    return 10 * float(np.spacing(loss)) / (2 * h)


def assert_same_gradient(fast: dict, reference: dict, floor: float, rel: float = REL_TOL) -> None:
    for key in PARAM_KEYS:
        a, b = fast[key], reference[key]
        assert a.shape == b.shape and a.dtype == b.dtype, key
        assert relative_difference(a, b) <= rel, (key, relative_difference(a, b))
        excess = np.abs(a - b) - (rel * np.abs(b) + floor)
        assert excess.max() <= 0, (key, np.abs(a - b).max(), floor)


def tiny_net(seed: int = 0) -> TwoLayerNet:
    """5-4-3 in float64, weights of std 1 and non-zero biases so that no gradient is tiny."""
    rng = np.random.default_rng(seed)
    net = TwoLayerNet(5, 4, 3, weight_init_std=1.0, rng=rng, dtype=np.float64)
    net.params["b1"][:] = rng.standard_normal(4)
    net.params["b2"][:] = rng.standard_normal(3)
    return net


def tiny_batch(seed: int = 1, n: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Random inputs with about a third exact zeros, and pixel 2 zero in every image."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 5))
    x[rng.random(x.shape) < 0.35] = 0.0
    x[:, 2] = 0.0
    return x, rng.integers(0, 3, n)


def mnist_images(k: int, offset: int = 0) -> tuple[np.ndarray, np.ndarray] | None:
    """The training images offset..offset+k (uint8, flattened) and their labels, read from MNIST_DIR."""
    directory = os.environ.get("MNIST_DIR")
    if not directory:
        return None
    with gzip.open(Path(directory) / "train-images-idx3-ubyte.gz") as f:
        f.read(16 + 784 * offset)
        x = np.frombuffer(f.read(784 * k), dtype=np.uint8).reshape(k, 784)
    with gzip.open(Path(directory) / "train-labels-idx1-ubyte.gz") as f:
        f.read(8 + offset)
        t = np.frombuffer(f.read(k), dtype=np.uint8).astype(np.intp)
    return x, t


def synthetic_images(k: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Sparse uint8 28×28 'digits': each class lights its own random ~20% of the pixels, with noise."""
    rng = np.random.default_rng(seed)
    prototypes = (rng.random((10, 784)) < 0.2) * rng.integers(80, 256, (10, 784))
    t = rng.integers(0, 10, k)
    keep = rng.random((k, 784)) < 0.8
    return (prototypes[t] * keep).astype(np.uint8), t


def digit_images(k: int, offset: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Real MNIST when MNIST_DIR is set, else synthetic sparse images, so the full-size tests always run."""
    return mnist_images(k, offset) or synthetic_images(k, seed=offset)


# --- the tiny net: every number checked against the plain loop and against backprop ----------------------


@pytest.mark.parametrize("one_hot", [False, True], ids=["integer labels", "one-hot labels"])
def test_tiny_net_matches_plain_loop_and_backprop(one_hot):
    net = tiny_net()
    x, t = tiny_batch()
    labels = np.eye(3)[t] if one_hot else t
    fast = fast_numerical_gradient(net.params, x, labels)
    plain = net.numerical_gradient(x, labels)
    assert_same_gradient(fast, plain, abs_floor(net.loss(x, t)))
    # the central difference is within O(h²) of the true derivative: backprop agrees to ~1e-9 here
    backprop = net.gradient(x, t)
    for key in PARAM_KEYS:
        assert relative_difference(fast[key], backprop[key]) <= 1e-7, key
        assert np.abs(fast[key]).max() > 1e-3, key  # the gradients compared are not tiny
    # a pixel that is 0 in every image: both give exactly 0 for its weights, (L - L) / 2h
    assert np.all(plain["W1"][2] == 0.0) and np.all(fast["W1"][2] == 0.0)
    assert np.count_nonzero(fast["W1"]) == 4 * 4


def test_it_is_a_finite_difference_not_backprop():
    """With a large step the central difference visibly departs from the derivative; fast follows the loop."""
    net = tiny_net(seed=2)
    x, t = tiny_batch(seed=5)
    h = 0.2
    plain = {key: numerical_gradient(lambda _: net.loss(x, t), net.params[key], h=h) for key in PARAM_KEYS}
    fast = fast_numerical_gradient(net.params, x, t, h=h)
    assert_same_gradient(fast, plain, abs_floor(net.loss(x, t), h=h))
    backprop = net.gradient(x, t)
    assert max(relative_difference(fast[key], backprop[key]) for key in PARAM_KEYS) > 1e-3


def test_extreme_scores_stay_finite_and_match():
    """Scores of several hundred (softmax numerators underflowing to 0) give finite, equal gradients."""
    net = tiny_net(seed=3)
    net.params["W2"] *= 300
    x, t = tiny_batch(seed=4)
    assert np.abs(net.logits(x)).max() > 300
    fast = fast_numerical_gradient(net.params, x, t)
    plain = net.numerical_gradient(x, t)
    assert all(np.isfinite(fast[key]).all() for key in PARAM_KEYS)
    assert_same_gradient(fast, plain, abs_floor(net.loss(x, t)))


# --- the full 784-50-10 net -----------------------------------------------------------------------------


def test_full_net_matches_plain_loop_on_digits():
    """All 39,760 parameters of the book's net, 3 images (the plain loop: 79,520 losses, a few seconds)."""
    x, t = digit_images(3)  # uint8 pixels, given to both as they are
    net = TwoLayerNet(784, 50, 10, rng=0, dtype=np.float64)
    fast = fast_numerical_gradient(net.params, x, t)
    plain = net.numerical_gradient(x, t)
    assert_same_gradient(fast, plain, abs_floor(net.loss(x, t)))
    for key in PARAM_KEYS:
        assert np.abs(plain[key]).max() > 1e-4, key
    zero_pixels = ~x.any(axis=0)
    assert zero_pixels.sum() > 300  # digits are sparse: most weights have an exactly-zero gradient
    assert np.all(fast["W1"][zero_pixels] == 0.0) and np.all(plain["W1"][zero_pixels] == 0.0)


def test_float32_params_give_float32_gradients_computed_in_float64():
    x, t = digit_images(20)
    net = TwoLayerNet(784, 50, 10, weight_init_std=0.1, rng=1, dtype=np.float64)
    params32 = {key: value.astype(np.float32) for key, value in net.params.items()}
    grads32 = fast_numerical_gradient(params32, x, t)
    assert all(grads32[key].dtype == np.float32 for key in PARAM_KEYS)
    # computed in float64 from the very same values, then rounded once
    same_values64 = {key: value.astype(np.float64) for key, value in params32.items()}
    grads64 = fast_numerical_gradient(same_values64, x, t)
    for key in PARAM_KEYS:
        np.testing.assert_array_equal(grads32[key], grads64[key].astype(np.float32))
    # and close to the gradient at the unrounded float64 weights
    exact = fast_numerical_gradient(net.params, x, t)
    for key in PARAM_KEYS:
        assert relative_difference(grads32[key].astype(np.float64), exact[key]) <= 1e-5, key


def test_uint8_pixels_are_scaled_like_the_net_does():
    x, t = digit_images(10)
    net = TwoLayerNet(784, 50, 10, rng=2, dtype=np.float64)
    from_uint8 = fast_numerical_gradient(net.params, x, t)
    from_floats = fast_numerical_gradient(net.params, x / 255, t)
    from_images = fast_numerical_gradient(net.params, x.reshape(10, 28, 28), t)
    for key in PARAM_KEYS:
        np.testing.assert_array_equal(from_uint8[key], from_floats[key])
        np.testing.assert_array_equal(from_uint8[key], from_images[key])


def test_params_untouched_and_results_are_fresh_writable_arrays():
    x, t = tiny_batch()
    net = tiny_net()
    before = {key: value.copy() for key, value in net.params.items()}
    grads = fast_numerical_gradient(net.params, x, t)
    assert list(grads) == list(PARAM_KEYS)
    for key in PARAM_KEYS:
        assert net.params[key].tobytes() == before[key].tobytes()  # bitwise
        assert grads[key].shape == net.params[key].shape and grads[key].flags.writeable
        assert not np.shares_memory(grads[key], net.params[key])
    grads["W1"] *= 0.1  # the training loop scales the gradient in place, then subtracts it
    net.params["W1"] -= grads["W1"]
    assert not np.array_equal(net.params["W1"], before["W1"])


def test_a_small_memory_budget_gives_the_same_gradient():
    x, t = digit_images(100, offset=100)
    net = TwoLayerNet(784, 50, 10, weight_init_std=0.1, rng=3, dtype=np.float64)
    large = fast_numerical_gradient(net.params, x, t)
    small = fast_numerical_gradient(net.params, x, t, max_bytes=2**20)  # 1 MB
    tiny = fast_numerical_gradient(net.params, x[:5], t[:5], max_bytes=1)  # one nudge per block
    tiny_ref = fast_numerical_gradient(net.params, x[:5], t[:5])
    for key in PARAM_KEYS:  # only the order in which per-image differences are added changes
        assert relative_difference(small[key], large[key]) <= 1e-12, key
        assert relative_difference(tiny[key], tiny_ref[key]) <= 1e-12, key


def test_bad_batches_are_refused_with_a_message():
    net = tiny_net()
    x, t = tiny_batch()
    with pytest.raises(ValueError, match="one label per image"):
        fast_numerical_gradient(net.params, x, t[:-1])
    with pytest.raises(ValueError, match="non-empty batch"):
        fast_numerical_gradient(net.params, x[:0], t[:0])
    with pytest.raises(ValueError, match="h must be a positive"):
        fast_numerical_gradient(net.params, x, t, h=0.0)


# --- in the training loop -------------------------------------------------------------------------------


def test_training_with_the_numerical_gradient_lowers_the_loss_like_backprop():
    x_train, t_train = digit_images(600)
    x_test, t_test = digit_images(100, offset=600)
    data = ((x_train, t_train), (x_test, t_test))
    config = TrainConfig(gradient="numerical", iters=30, train_size=500, lr=1.0, seed=5)
    numerical = train(config, data)
    backprop = train(config.replace(gradient="backprop"), data)
    assert numerical.status == "finished" and numerical.iterations_done == 30
    losses = numerical.losses
    assert losses[-5:].mean() < losses[:5].mean() - 0.1, losses
    # same batches, same start: the two runs follow the same path (float32 weights)
    np.testing.assert_allclose(losses, backprop.losses, rtol=1e-4)
    assert numerical.epochs[-1].train_acc > numerical.epochs[0].train_acc
