"""``TwoLayerNet``: the book's 784 → 50 sigmoid → 10 softmax network (§4.5), with backpropagation (§5).

The methods are the book's (``predict``, ``loss``, ``accuracy``, ``numerical_gradient``, ``gradient``); the forward
pass they share is written once, in ``forward``, which the training net (``nn.fast_net``), the accuracy meter
(``nn.meter``) and the draw page call too, with buffers of their own when they have some.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from nn.functions import (
    CROSS_ENTROPY_EPS,
    as_label_indices,
    cross_entropy_error,
    numerical_gradient,
    sigmoid,
    softmax,
)

PARAM_KEYS = ("W1", "b1", "W2", "b2")
#: Rows per chunk when a whole data set is pushed through the net (keeps the hidden layer in cache).
EVAL_CHUNK = 2000


class Workspace:
    """Arrays reused from one call to the next, by name, so that a loop of 10,000 steps allocates nothing.

    ``empty(name, shape, dtype)`` returns the first ``shape[0]`` rows of the array kept under ``name``, made (or
    made again, larger) only when the one kept is too small or of another kind. What it returns is overwritten
    by the next call that asks for the same name.
    """

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}

    def empty(self, name: str, shape: tuple[int, ...], dtype) -> np.ndarray:
        kept = self.arrays.get(name)
        if kept is None or kept.dtype != dtype or kept.shape[1:] != shape[1:] or len(kept) < shape[0]:
            kept = self.arrays[name] = np.empty(shape, dtype=dtype)
        return kept[: shape[0]]


def _empty(work: Workspace | None, name: str, shape: tuple[int, ...], dtype) -> np.ndarray:
    """A new array, or a reused one when there is a workspace (and the shape is a batch of rows)."""
    if work is None or len(shape) != 2:
        return np.empty(shape, dtype=dtype)
    return work.empty(name, shape, dtype)


class Forward(NamedTuple):
    """What ``TwoLayerNet.forward`` computed. ``x`` are the inputs as the first product used them: the pixels
    0-255 as floats when they came as uint8, in which case ``x_scale`` is 1/255 (else 1)."""

    x: np.ndarray  # (N, input)
    x_scale: float
    z1: np.ndarray  # (N, hidden) hidden activations
    a2: np.ndarray  # (N, output) scores before the softmax


class TwoLayerNet:
    """Input → affine → sigmoid → affine → softmax, weights in ``params`` (``W1 b1 W2 b2``).

    ``rng`` is a seed or a ``numpy.random.Generator``: the only source of randomness. ``dtype`` is the dtype of
    the weights (float64 for gradient checks; float32 trains twice as fast, see ``benchmarks/``).
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        output_size: int,
        weight_init_std: float = 0.01,
        rng: int | np.random.Generator | None = 0,
        dtype: np.dtype | str = np.float64,
    ) -> None:
        rng = np.random.default_rng(rng)
        self.dtype = np.dtype(dtype)
        self.params = {
            "W1": (weight_init_std * rng.standard_normal((input_size, hidden_size))).astype(self.dtype),
            "b1": np.zeros(hidden_size, dtype=self.dtype),
            "W2": (weight_init_std * rng.standard_normal((hidden_size, output_size))).astype(self.dtype),
            "b2": np.zeros(output_size, dtype=self.dtype),
        }
        #: The loss of the batch the last gradient was computed for, before any update: the forward pass of
        #: ``gradient`` computes it anyway (as the book's chapter 5 ``gradient`` does, by calling ``loss``).
        self.last_loss = float("nan")

    @classmethod
    def from_params(cls, params: dict[str, np.ndarray]) -> "TwoLayerNet":
        """A net wrapping copies of existing weights (a trained run, a model file)."""
        net = cls.__new__(cls)
        net.dtype = np.asarray(params["W1"]).dtype
        net.params = {key: np.array(params[key], dtype=net.dtype) for key in PARAM_KEYS}
        net.last_loss = float("nan")
        return net

    @property
    def sizes(self) -> tuple[int, int, int]:
        """(input, hidden, output) sizes."""
        (n_in, n_hidden), n_out = self.params["W1"].shape, self.params["W2"].shape[1]
        return n_in, n_hidden, n_out

    def _as_input(self, x: np.ndarray) -> np.ndarray:
        """Inputs as floats of the net's dtype; raw MNIST pixels (uint8) scaled to [0, 1]."""
        x = np.asarray(x)
        if x.dtype == np.uint8:
            return x.astype(self.dtype) / 255
        return x.astype(self.dtype, copy=False)

    def forward(self, x: np.ndarray, work: Workspace | None = None) -> Forward:
        """The forward pass up to the scores, the one every other method uses (the book's ``predict`` without
        its softmax): a1 = x W1 + b1, z1 = sigmoid(a1), a2 = z1 W2 + b2.

        uint8 pixels are not scaled first: (x / 255) W1 = (x W1) / 255, so the 1/255 multiplies 50 sums per
        image instead of 784 pixels. With a ``work``space, every array is one of its buffers (overwritten by the
        next call): the training net and the accuracy meter allocate nothing per step.
        """
        W1, b1, W2, b2 = (self.params[key] for key in PARAM_KEYS)
        x = np.asarray(x)
        x_scale = 1.0
        if x.dtype == np.uint8:
            x_scale = self.dtype.type(1 / 255)
        if work is None or x.ndim != 2:
            x = x.astype(self.dtype, copy=False)
        elif x.dtype != self.dtype:  # into the workspace's buffer, pixels as they are (0-255)
            cast = _empty(work, "x", x.shape, self.dtype)
            np.copyto(cast, x, casting="unsafe")
            x = cast
        a1 = np.dot(x, W1, out=_empty(work, "a1", x.shape[:-1] + W1.shape[1:], self.dtype))
        if x_scale != 1.0:
            a1 *= x_scale
        a1 += b1
        z1 = sigmoid(a1, out=a1)                                   # (N, hidden)
        a2 = np.dot(z1, W2, out=_empty(work, "a2", x.shape[:-1] + W2.shape[1:], self.dtype))
        a2 += b2                                                   # (N, output)
        return Forward(x, x_scale, z1, a2)

    def hidden(self, x: np.ndarray) -> np.ndarray:
        """The hidden layer's activations z1 = sigmoid(x W1 + b1), shape (N, hidden)."""
        return self.forward(x).z1

    def logits(self, x: np.ndarray) -> np.ndarray:
        """Scores before the softmax, a2 = z1 W2 + b2, shape (N, output)."""
        return self.forward(x).a2

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities, shape (N, output) (or (output,) for one flattened image)."""
        return softmax(self.forward(x).a2)

    def loss(self, x: np.ndarray, t: np.ndarray) -> float:
        """Mean cross-entropy error on a batch; ``t`` one-hot or integer labels."""
        return cross_entropy_error(self.predict(x), t)

    def classify(self, x: np.ndarray, chunk: int = EVAL_CHUNK, work: Workspace | None = None) -> np.ndarray:
        """Predicted digit of every row of ``x``, computed ``chunk`` rows at a time (bounded memory). The softmax
        keeps the order of the scores, so the most probable digit is the highest score."""
        x = np.asarray(x)
        if x.ndim == 1:
            return self.forward(x).a2.argmax(axis=-1)
        x = x.reshape(len(x), -1)
        return np.concatenate(
            [self.forward(x[i : i + chunk], work).a2.argmax(axis=1) for i in range(0, len(x), chunk)]
        ) if len(x) else np.zeros(0, dtype=np.intp)

    def accuracy(self, x: np.ndarray, t: np.ndarray) -> float:
        """Fraction of rows whose most probable class is the label (``t`` one-hot or integers)."""
        labels = as_label_indices(t)
        return float(np.mean(self.classify(x) == labels)) if len(labels) else float("nan")

    def numerical_gradient(self, x: np.ndarray, t: np.ndarray, should_stop=None) -> dict[str, np.ndarray]:
        """The book's gradient by central differences, one parameter at a time: slow (see ``nn.numgrad``).

        ``should_stop()``, when given, is asked before each parameter; ``nn.functions.Stopped`` is raised when it
        says yes, with every parameter back to its exact value.
        """
        self.last_loss = self.loss(x, t)

        def loss_W(W):
            return self.loss(x, t)

        return {key: numerical_gradient(loss_W, self.params[key], should_stop=should_stop) for key in PARAM_KEYS}

    def gradient(self, x: np.ndarray, t: np.ndarray) -> dict[str, np.ndarray]:
        """Backpropagation: the same gradient as ``numerical_gradient``, in one forward and one backward pass.

        Where it differs from the book: the book's output error is dL/da2 = (y - t) / N, the gradient of
        -log(y_t) averaged over the batch. But ``loss`` is -log(y_t + eps), with eps = 1e-7 inside the log so
        that a probability of exactly 0 gives a large, finite loss instead of infinity. Its exact derivative is
        (y - t) / N times y_t / (y_t + eps): that factor is 1 to within 1e-7 unless the net gives the right digit
        a probability near eps, and there it makes backprop agree with ``numerical_gradient`` (which
        differentiates the loss as written, epsilon included; tests/test_two_layer_net.py checks they agree).
        """
        W2 = self.params["W2"]
        x = self._as_input(x)
        labels = as_label_indices(t)
        n = x.shape[0]
        # forward
        _, _, z1, a2 = self.forward(x)            # z1: (N, hidden), a2: (N, output)
        y = softmax(a2)                           # (N, output)
        rows = np.arange(n)
        y_t = y[rows, labels]                     # probability of the true class   (N,)
        self.last_loss = float(-np.sum(np.log(y_t + CROSS_ENTROPY_EPS)) / n)
        # backward
        dy = y.copy()
        dy[rows, labels] -= 1                     # y - t
        dy *= (y_t / (y_t + CROSS_ENTROPY_EPS) / n)[:, None]   # dL/da2 = (y - t) / N · y_t / (y_t + eps)
        grads = {}
        grads["W2"] = z1.T @ dy                   # (hidden, output)
        grads["b2"] = dy.sum(axis=0)
        da1 = (dy @ W2.T) * z1 * (1 - z1)         # dL/da1 = dL/dz1 · σ'(a1)   (N, hidden)
        grads["W1"] = x.T @ da1                   # (input, hidden)
        grads["b1"] = da1.sum(axis=0)
        return {key: grads[key] for key in PARAM_KEYS}
