"""The book's building blocks (``common/functions.py`` and ``common/gradient.py``), numerically stable."""

from __future__ import annotations

import numpy as np

#: Added inside the log of the cross-entropy so that a probability of exactly 0 gives a large, finite loss.
CROSS_ENTROPY_EPS = 1e-7
#: The step of the book's central differences.
NUMERICAL_H = 1e-4


def sigmoid(x: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-x)), element-wise; exp overflows to inf for x < -88 (float32), which gives exactly 0."""
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-x))


def softmax(x: np.ndarray) -> np.ndarray:
    """Softmax over the last axis of 1-D or 2-D logits, shifted by the max so no exp overflows."""
    shifted = x - np.max(x, axis=-1, keepdims=True)
    e = np.exp(shifted)
    return e / np.sum(e, axis=-1, keepdims=True)


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


def numerical_gradient(f, x: np.ndarray, h: float = NUMERICAL_H) -> np.ndarray:
    """Central difference (f(x+h) - f(x-h)) / 2h for every element of ``x``, one element at a time.

    ``f`` is called with ``x`` itself (perturbed in place); every element is restored to its exact original
    value afterwards, also when ``f`` raises.
    """
    grad = np.zeros_like(x, dtype=np.float64 if x.dtype.kind != "f" else x.dtype)
    it = np.nditer(x, flags=["multi_index"], op_flags=[["readwrite"]])
    for _ in it:
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
