"""The book's numerical gradient, computed a few hundred times sooner.

``TwoLayerNet.numerical_gradient`` nudges one weight p by +h, recomputes the loss of the whole batch with the
whole network, nudges it by -h, recomputes again, and takes (L(p+h) - L(p-h)) / 2h. The 784-50-10 net has
39,760 weights and biases, so one gradient costs 79,520 full forward passes (17–25 s for a batch of 100).

``fast_numerical_gradient`` takes the very same central differences, each from a freshly computed loss, but
redoes only the part of the forward pass that a nudge can change:

* Nudging ``W1[i, j]`` by ±h adds ±h·x[n, i] to hidden unit j of image n, and nothing else. Images whose pixel i
  is 0 (on MNIST, most pixels of most images) do not change at all. For every image whose pixel i is not 0, we
  recompute that one hidden unit, z = sigmoid(a1 ± h·x[n, i]), what its change does to the 10 scores,
  (z_new - z_old)·W2[j, :], and the softmax over the 10 classes: the image's new loss.
* ``b1[j]`` is nudged like a weight from an extra pixel that is always 1.
* Nudging ``W2[j, k]`` adds ±h·z1[n, j] to score k of image n, and to nothing else; ``b2[k]`` adds ±h, like a
  weight from an extra hidden unit that is always 1.
* An image that a nudge does not change has the same loss after +h and after -h, so it cancels exactly in
  L(p+h) - L(p-h). We add up only the changed images' loss differences: the same number, without subtracting
  two nearly equal totals (so it carries less rounding error than the loop, not more).

The nudges are computed many at once, as arrays, a block at a time so that memory stays under ``max_bytes``.
Everything is done in float64, whatever the dtype of the weights.
"""

from __future__ import annotations

import numpy as np

from nn.functions import CROSS_ENTROPY_EPS, NUMERICAL_H, as_label_indices, sigmoid
from nn.two_layer_net import PARAM_KEYS

#: A block never takes more than this, even when ``max_bytes`` allows more: blocks that stay in the CPU's
#: cache run faster than huge ones (1–4 MB were the fastest of 0.25–64 MB for the 784-50-10 net, batch 100).
FAST_BLOCK_BYTES = 2 * 2**20


def fast_numerical_gradient(
    params: dict[str, np.ndarray],
    x: np.ndarray,
    t: np.ndarray,
    h: float = NUMERICAL_H,
    max_bytes: int = 64 * 2**20,
) -> dict[str, np.ndarray]:
    """(L(p+h) - L(p-h)) / 2h for every weight and bias p, as ``TwoLayerNet.numerical_gradient`` computes it.

    ``params`` holds W1 (input, hidden), b1, W2 (hidden, output), b2; it is not modified. ``x`` is a batch of
    images, uint8 pixels (scaled by 1/255) or floats; ``t`` integer or one-hot labels. Returns new arrays keyed
    W1 b1 W2 b2, shaped and typed like ``params``. ``max_bytes`` bounds the working memory of one block.

    Agrees with the plain loop to about 1e-11 absolute, the loop's own float64 rounding (tests/test_numgrad.py);
    on the 784-50-10 net with a batch of 100 MNIST images it takes about 50 ms instead of about 20 s.
    """
    W1, b1, W2, b2 = (np.asarray(params[key], dtype=np.float64) for key in PARAM_KEYS)
    x = _as_float64_images(x)
    labels = as_label_indices(t)
    if len(x) == 0 or len(labels) != len(x):
        raise ValueError(f"need a non-empty batch and one label per image, got {len(x)} images, {len(labels)} labels")
    if not h > 0:
        raise ValueError(f"h must be a positive step, got {h!r}")
    # the forward pass without any nudge, once
    a1 = x @ W1 + b1                                     # hidden pre-activations           (N, hidden)
    z1 = sigmoid(a1)                                     # hidden activations               (N, hidden)
    a2 = z1 @ W2 + b2                                    # scores                           (N, output)
    e = np.exp(a2 - a2.max(axis=1, keepdims=True))       # softmax numerators, largest = 1  (N, output)

    first = _first_layer_differences(_with_ones(x), a1, z1, e, labels, W2, h, max_bytes)  # (input + 1, hidden)
    second = _second_layer_differences(_with_ones(z1), e, labels, h, max_bytes)           # (hidden + 1, output)
    scale = 1 / (2 * h * len(x))  # summed loss differences → (L(p+h) - L(p-h)) / 2h, L being a batch mean
    grads = {"W1": first[:-1], "b1": first[-1], "W2": second[:-1], "b2": second[-1]}
    return {key: (grads[key] * scale).astype(np.asarray(params[key]).dtype, copy=False) for key in PARAM_KEYS}


def _as_float64_images(x: np.ndarray) -> np.ndarray:
    """Images as float64 rows (N, pixels); uint8 pixels are scaled to [0, 1] as the net does."""
    x = np.asarray(x)
    x = x.reshape(len(x), -1) if x.ndim > 2 else np.atleast_2d(x)
    if x.dtype == np.uint8:
        return x.astype(np.float64) / 255
    return x.astype(np.float64)


def _with_ones(a: np.ndarray) -> np.ndarray:
    """``a`` with a column of ones appended: a bias is the weight of an input that is always 1."""
    return np.hstack([a, np.ones((len(a), 1))])


def _blocks(count: int, bytes_per_item: int, max_bytes: int):
    """Consecutive slices of range(count), each small enough for its arrays to fit in the byte budget."""
    size = max(1, min(max_bytes, FAST_BLOCK_BYTES) // bytes_per_item)
    for start in range(0, count, size):
        yield slice(start, min(start + size, count))


def _image_losses(total: np.ndarray, true: np.ndarray) -> np.ndarray:
    """Each image's cross-entropy -log(y_true + eps), y_true = true / total (softmax numerators)."""
    return -np.log(true / total + CROSS_ENTROPY_EPS)


def _first_layer_differences(xa, a1, z1, e, labels, W2, h, max_bytes) -> np.ndarray:
    """Sum over images of loss(+h) - loss(-h) for every weight from input i (the last is 1) to hidden j.

    One nudge per (non-zero pixel of an image, hidden unit, sign); B pixel-image pairs at a time, in arrays of
    shape (hidden, B).
    """
    n_hidden, n_out = W2.shape
    pixel, image = np.nonzero(xa.T)                      # every non-zero x[n, i], grouped by pixel i
    value = xa[image, pixel]
    with np.errstate(divide="ignore"):                   # a numerator that underflowed to 0 has log -inf
        log_e = np.log(e).T.copy()                       # (output, N)
    a1_t, z1_t = a1.T.copy(), z1.T.copy()                # (hidden, N)
    W2_cols = W2.T[:, :, None]                           # W2_cols[k] = W2[:, k] as a column  (output, hidden, 1)
    differences = np.zeros((xa.shape[1], n_hidden))
    for block in _blocks(len(pixel), 8 * (12 * n_hidden + n_out), max_bytes):
        img = image[block]
        a1_img, z1_img, log_e_img = a1_t[:, img], z1_t[:, img], log_e[:, img]
        W2_true = W2[:, labels[img]]                     # weights into each image's true class     (hidden, B)
        log_e_true = log_e_img[labels[img], np.arange(len(img))]
        step = h * value[block]                          # how far the nudge moves a1[j, b]        (B,)
        loss_diff = _hidden_nudge_losses(a1_img + step, z1_img, log_e_img, W2_cols, W2_true, log_e_true)
        loss_diff -= _hidden_nudge_losses(a1_img - step, z1_img, log_e_img, W2_cols, W2_true, log_e_true)
        pix = pixel[block]                               # sorted: add up each pixel's run of images
        starts = np.flatnonzero(np.concatenate(([True], pix[1:] != pix[:-1])))
        differences[pix[starts]] += np.add.reduceat(loss_diff, starts, axis=1).T
    return differences


def _hidden_nudge_losses(a1_new, z1_old, log_e, W2_cols, W2_true, log_e_true) -> np.ndarray:
    """Each image's loss when hidden unit j alone gets the pre-activation ``a1_new[j, b]``.   (hidden, B)

    The scores move by dz·W2[j, :], dz = z_new - z_old, so softmax numerator k becomes
    exp(log e[k] + dz·W2[j, k]); |dz| ≤ h·|x| / 4 is tiny, so no exponential can overflow.
    """
    dz = sigmoid(a1_new) - z1_old                        # change of the nudged hidden unit    (hidden, B)
    total = np.zeros_like(dz)                            # sum of the 10 new numerators        (hidden, B)
    numerator = np.empty_like(dz)
    for k in range(len(W2_cols)):
        np.multiply(dz, W2_cols[k], out=numerator)
        numerator += log_e[k]
        total += np.exp(numerator, out=numerator)
    np.multiply(dz, W2_true, out=numerator)              # the true class's new numerator
    numerator += log_e_true
    return _image_losses(total, np.exp(numerator, out=numerator))


def _second_layer_differences(za, e, labels, h, max_bytes) -> np.ndarray:
    """Sum over images of loss(+h) - loss(-h) for every weight from hidden j (the last is 1) to output k.

    Nudging W2[j, k] multiplies numerator k alone by exp(±h·z[n, j]), so the sum of the numerators grows by
    e[k]·(exp(±h·z) - 1). Arrays of shape (hidden + 1, output, B) for a block of B images.
    """
    n_out = e.shape[1]
    differences = np.zeros((za.shape[1], n_out))
    for block in _blocks(len(za), 8 * 8 * za.shape[1] * n_out, max_bytes):
        z = za[block].T[:, None, :]                      # (hidden + 1, 1, B)
        e_blk = e[block].T                               # (output, B)
        total = e_blk.sum(axis=0)                        # (B,)
        true = e_blk[labels[block], np.arange(e_blk.shape[1])]
        is_true = np.arange(n_out)[:, None] == labels[block]   # (output, B)
        plus = _output_nudge_losses(e_blk * np.expm1(h * z), total, true, is_true)    # (hidden + 1, output, B)
        minus = _output_nudge_losses(e_blk * np.expm1(-h * z), total, true, is_true)
        differences += (plus - minus).sum(axis=2)
    return differences


def _output_nudge_losses(growth, total, true, is_true) -> np.ndarray:
    """Each image's loss when numerator k alone grows by ``growth[j, k, b]`` (a nudge of W2[j, k] or b2[k])."""
    return _image_losses(total + growth, true + np.where(is_true, growth, 0.0))
