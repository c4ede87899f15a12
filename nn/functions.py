"""The book's building blocks (``common/functions.py`` and ``common/gradient.py``), numerically stable."""

from __future__ import annotations

import numpy as np

#: Added inside the log of the cross-entropy so that a probability of exactly 0 gives a large, finite loss.
CROSS_ENTROPY_EPS = 1e-7
#: The step of the book's central differences.
NUMERICAL_H = 1e-4


def sigmoid(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """1 / (1 + exp(-x)), element-wise; exp overflows to inf for x < -88 (float32), which gives exactly 0.

    ``out`` (may be ``x`` itself) receives the result instead of a new array: the training step calls it 10,000
    times on the same (100, 50) hidden layer. The same operations either way, so the same numbers.
    """
    if out is None:
        with np.errstate(over="ignore"):
            return 1.0 / (1.0 + np.exp(-x))
    np.negative(x, out=out)
    with np.errstate(over="ignore"):
        np.exp(out, out=out)
    out += 1
    return np.reciprocal(out, out=out)


def softmax(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Softmax over the last axis of 1-D or 2-D logits, shifted by the max so no exp overflows.

    ``out`` (may be ``x`` itself) receives the result instead of a new array; the same numbers either way.
    """
    if out is None:
        shifted = x - np.max(x, axis=-1, keepdims=True)
        e = np.exp(shifted)
        return e / np.sum(e, axis=-1, keepdims=True)
    np.subtract(x, np.max(x, axis=-1, keepdims=True), out=out)
    np.exp(out, out=out)
    out /= np.sum(out, axis=-1, keepdims=True)
    return out


def as_label_indices(t: np.ndarray) -> np.ndarray:
    """Integer class labels from one-hot rows (N, C) or from labels already given as integers (N,)."""
    t = np.asarray(t)
    if t.ndim == 2:
        return t.argmax(axis=1)
    return t.astype(np.intp, copy=False)


def cross_entropy_error(y: np.ndarray, t: np.ndarray) -> float:
    """Mean cross-entropy of probabilities ``y`` (N, C) or (C,) against one-hot or integer labels ``t``."""
    y = np.asarray(y)
    t = np.asarray(t)
    if y.ndim == 1:
        y = y.reshape(1, -1)
        t = t.reshape(1, -1) if t.size == y.size else t.reshape(1)
    labels = as_label_indices(t)
    n = y.shape[0]
    return float(-np.sum(np.log(y[np.arange(n), labels] + CROSS_ENTROPY_EPS)) / n)


class Stopped(Exception):
    """Raised by ``numerical_gradient`` when its ``should_stop()`` says so (every element is back in place)."""


def numerical_gradient(f, x: np.ndarray, h: float = NUMERICAL_H, should_stop=None) -> np.ndarray:
    """Central difference (f(x+h) - f(x-h)) / 2h for every element of ``x``, one element at a time.

    ``f`` is called with ``x`` itself (perturbed in place); every element is restored to its exact original
    value afterwards, also when ``f`` raises. ``should_stop()``, when given, is asked before each element and
    ``Stopped`` raised when it says yes: on the 784-50-10 net one gradient is 79,520 losses (about 17 s), too long
    to wait for when Stop is pressed.
    """
    grad = np.zeros_like(x, dtype=np.float64 if x.dtype.kind != "f" else x.dtype)
    it = np.nditer(x, flags=["multi_index"], op_flags=[["readwrite"]])
    for _ in it:
        if should_stop is not None and should_stop():
            raise Stopped
        idx = it.multi_index
        original = x[idx].copy()
        try:
            x[idx] = original + h
            f_plus = f(x)
            x[idx] = original - h
            f_minus = f(x)
        finally:
            x[idx] = original
        grad[idx] = (f_plus - f_minus) / (2 * h)
    return grad
