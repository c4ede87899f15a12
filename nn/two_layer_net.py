"""``TwoLayerNet``: the book's 784 → 50 sigmoid → 10 softmax network (§4.5), with backpropagation (§5)."""

from __future__ import annotations

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

    @classmethod
    def from_params(cls, params: dict[str, np.ndarray]) -> "TwoLayerNet":
        """A net wrapping copies of existing weights (a trained run, a model file)."""
        net = cls.__new__(cls)
        net.dtype = np.asarray(params["W1"]).dtype
        net.params = {key: np.array(params[key], dtype=net.dtype) for key in PARAM_KEYS}
        return net

    @property
    def sizes(self) -> tuple[int, int, int]:
        """(input, hidden, output) sizes."""
        (n_in, n_hidden), n_out = self.params["W1"].shape, self.params["W2"].shape[1]
        return n_in, n_hidden, n_out

    def _as_input(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        if x.dtype == np.uint8:  # raw MNIST pixels
            return x.astype(self.dtype) / 255
        return x.astype(self.dtype, copy=False)

    def hidden(self, x: np.ndarray) -> np.ndarray:
        """The hidden layer's activations z1 = sigmoid(x W1 + b1), shape (N, hidden)."""
        return sigmoid(self._as_input(x) @ self.params["W1"] + self.params["b1"])

    def logits(self, x: np.ndarray) -> np.ndarray:
        """Scores before the softmax, a2 = z1 W2 + b2, shape (N, output)."""
        return self.hidden(x) @ self.params["W2"] + self.params["b2"]

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities, shape (N, output) (or (output,) for one flattened image)."""
        return softmax(self.logits(x))

    def loss(self, x: np.ndarray, t: np.ndarray) -> float:
        """Mean cross-entropy error on a batch; ``t`` one-hot or integer labels."""
        return cross_entropy_error(self.predict(x), t)

    def classify(self, x: np.ndarray, chunk: int = EVAL_CHUNK) -> np.ndarray:
        """Predicted digit of every row of ``x``, computed ``chunk`` rows at a time (bounded memory)."""
        x = np.asarray(x)
        if x.ndim == 1:
            return self.logits(x).argmax(axis=-1)
        x = x.reshape(len(x), -1)
        return np.concatenate(
            [self.logits(x[i : i + chunk]).argmax(axis=1) for i in range(0, len(x), chunk)]
        ) if len(x) else np.zeros(0, dtype=np.intp)

    def accuracy(self, x: np.ndarray, t: np.ndarray) -> float:
        """Fraction of rows whose most probable class is the label (``t`` one-hot or integers)."""
        labels = as_label_indices(t)
        return float(np.mean(self.classify(x) == labels)) if len(labels) else float("nan")

    def numerical_gradient(self, x: np.ndarray, t: np.ndarray) -> dict[str, np.ndarray]:
        """The book's gradient by central differences, one parameter at a time: slow (see ``nn.numgrad``)."""

        def loss_w(_):
            return self.loss(x, t)

        return {key: numerical_gradient(loss_w, self.params[key]) for key in PARAM_KEYS}

    def gradient(self, x: np.ndarray, t: np.ndarray) -> dict[str, np.ndarray]:
        """Backpropagation: the same gradient as ``numerical_gradient``, in one forward and one backward pass."""
        W1, b1, W2, b2 = (self.params[key] for key in PARAM_KEYS)
        x = self._as_input(x)
        n = x.shape[0]
        # forward
        z1 = sigmoid(x @ W1 + b1)                 # (N, hidden)
        y = softmax(z1 @ W2 + b2)                 # (N, output)
        # backward
        rows, labels = np.arange(n), as_label_indices(t)
        y_t = y[rows, labels]                     # probability of the true class  (N,)
        dy = y.copy()
        dy[rows, labels] -= 1
        dy *= (y_t / (y_t + CROSS_ENTROPY_EPS) / n)[:, None]
        # dL/da2 = (y - t) / N, times y_t / (y_t + eps): the exact gradient of the loss with its epsilon
        grads = {"W2": z1.T @ dy, "b2": dy.sum(axis=0)}
        da1 = (dy @ W2.T) * z1 * (1 - z1)         # dL/da1 = dL/dz1 · σ'(a1)   (N, hidden)
        grads["W1"] = x.T @ da1                   # (input, hidden)
        grads["b1"] = da1.sum(axis=0)
        return {key: grads[key] for key in PARAM_KEYS}
