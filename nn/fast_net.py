"""``FastTwoLayerNet``: the book's ``TwoLayerNet``, same methods and same gradient, computed without allocating.

The training loop (``nn.sgd``) calls ``network.gradient(x_batch, t_batch)`` 10,000 times on batches of one size.
``TwoLayerNet.gradient`` reads like the equations and makes a dozen new arrays each time; this one writes the
same products into buffers made once (a ``Workspace``), which about halves the time of a step. Otherwise:

* uint8 pixels (a mini-batch of MNIST as stored) are used as they are, 0-255: the forward pass applies the 1/255
  to the 50 hidden sums instead of the 784 pixels (``TwoLayerNet.forward``), and the backward pass to dL/da1
  before the product that gives dL/dW1, for the same reason.
* The gradient it returns lives in its buffers: the next call overwrites it (copy it to keep it).
* It refuses to hand out the gradient of a loss that is not finite (a broken image, NaN): it raises
  ``LossNotFinite`` instead, so a NaN never reaches the weights and the run keeps its last good ones.
* ``numerical_gradient`` is the book's loop, or with ``numerical="fast"`` the same central differences computed
  by ``nn.numgrad`` a few hundred times sooner.

The forward pass is not repeated here: it is ``TwoLayerNet.forward``, given this net's workspace.
"""

from __future__ import annotations

import math

import numpy as np

from nn.functions import CROSS_ENTROPY_EPS, as_label_indices
from nn.two_layer_net import PARAM_KEYS, TwoLayerNet, Workspace

NUMERICAL_METHODS = ("plain", "fast")


class LossNotFinite(ArithmeticError):
    """The loss of a batch is NaN or infinite: its gradient would make every weight NaN."""

    def __init__(self, loss: float) -> None:
        super().__init__(f"the loss is {loss}")
        self.loss = loss


class FastTwoLayerNet(TwoLayerNet):
    """``TwoLayerNet`` whose ``gradient`` reuses its arrays (see the module's docstring)."""

    def __init__(self, *args, numerical: str = "plain", **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._setup(numerical)

    @classmethod
    def from_params(cls, params: dict[str, np.ndarray], numerical: str = "plain") -> FastTwoLayerNet:
        net = super().from_params(params)
        net._setup(numerical)
        return net

    def _setup(self, numerical: str) -> None:
        if numerical not in NUMERICAL_METHODS:
            raise ValueError(f"numerical must be one of {', '.join(NUMERICAL_METHODS)}, got {numerical!r}")
        self.numerical = numerical
        self.work = Workspace()

    def _finite(self, loss: float) -> float:
        self.last_loss = loss
        if not math.isfinite(loss):
            raise LossNotFinite(loss)
        return loss

    def gradient(self, x: np.ndarray, t: np.ndarray) -> dict[str, np.ndarray]:
        """``TwoLayerNet.gradient``, in place: the same equations, step for step (see there, and its epsilon)."""
        W2 = self.params["W2"]
        work = self.work
        labels = as_label_indices(t)
        x, x_scale, z1, y = self.forward(x, work)  # y holds the scores a2 until the softmax below
        n, n_out = y.shape
        _softmax_rows(y)                                  # (N, output)
        true = self._row_starts(n, n_out) + labels        # where y[n, t_n] is in y.ravel()
        y_flat = y.reshape(-1)
        y_t = y_flat[true]                                # probability of the true class   (N,)
        log_t = y_t + CROSS_ENTROPY_EPS
        y_t /= log_t
        y_t /= n                                          # y_t / (y_t + eps) / N
        self._finite(-float(np.log(log_t, out=log_t).sum()) / n)
        g = self._gradient_arrays()
        y_flat[true] -= 1                                 # y - t
        y *= y_t[:, None]                                 # dL/da2                          (N, output)
        np.dot(z1.T, y, out=g["W2"])                      # (hidden, output)
        np.add.reduce(y, axis=0, out=g["b2"])             # (np.sum without its Python wrapper)
        da1 = np.dot(y, W2.T, out=work.empty("da1", z1.shape, z1.dtype))   # dL/dz1        (N, hidden)
        da1 *= z1
        np.subtract(1, z1, out=z1)
        da1 *= z1                                         # dL/da1 = dL/dz1 · z1 (1 - z1)
        np.add.reduce(da1, axis=0, out=g["b1"])
        if x_scale != 1.0:
            da1 *= x_scale                                # dL/dW1 = (x / 255)^T dL/da1 = x^T (dL/da1 / 255)
        np.dot(x.T, da1, out=g["W1"])                     # (input, hidden)
        return g

    def _row_starts(self, n: int, n_out: int) -> np.ndarray:
        """0, n_out, 2 n_out, ...: the offsets of the rows of an (n, n_out) array in its ravel, kept."""
        starts = getattr(self, "_starts", None)
        if starts is None or len(starts) != n or (n > 1 and starts[1] != n_out):
            starts = self._starts = np.arange(0, n * n_out, n_out)
        return starts

    def _gradient_arrays(self) -> dict[str, np.ndarray]:
        """The arrays ``gradient`` writes into, made once (again only if the weights change shape or dtype)."""
        g = getattr(self, "_grads", None)
        if g is None or any(g[key].shape != value.shape or g[key].dtype != value.dtype
                            for key, value in self.params.items()):
            g = self._grads = {key: np.empty_like(self.params[key]) for key in PARAM_KEYS}
        return g

    def numerical_gradient(self, x: np.ndarray, t: np.ndarray, should_stop=None) -> dict[str, np.ndarray]:
        """The book's central differences (``TwoLayerNet.numerical_gradient``, which ``should_stop`` can
        interrupt), or with ``numerical="fast"`` the same differences from ``nn.numgrad`` (about 50 ms)."""
        self._finite(self.loss(x, t))  # before 79,520 more losses
        if self.numerical == "plain":
            return super().numerical_gradient(x, t, should_stop=should_stop)
        from nn.numgrad import fast_numerical_gradient

        return fast_numerical_gradient(self.params, x, t)

    def copy(self) -> TwoLayerNet:
        """A plain ``TwoLayerNet`` with a copy of the current weights (to measure while this one trains on)."""
        return TwoLayerNet.from_params(self.params)


def _softmax_rows(y: np.ndarray) -> np.ndarray:
    """``nn.functions.softmax(y, out=y)`` for a batch (N, classes), the same numbers: the row maxima are taken
    from a transposed copy, because NumPy's max along a row of 10 costs 3 times as much (12 µs for 100 rows)."""
    np.subtract(y, np.maximum.reduce(y.T.copy(), axis=0)[:, None], out=y)
    np.exp(y, out=y)
    y /= np.add.reduce(y, axis=1, keepdims=True)
    return y

