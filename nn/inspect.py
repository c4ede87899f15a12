"""Looking inside a trained network: is its gradient right, and where does it err? Pure NumPy.

Gradient check
    ``gradient_check(net, x, t)`` compares backpropagation (``TwoLayerNet.gradient``) with the numerical
    gradient, in float64 on a copy of the weights, for every parameter array ``W1 b1 W2 b2``: the mean absolute
    difference, the largest relative error and pass/fail against ``GRADIENT_THRESHOLD``, plus how long each
    method took. The numerical gradient of all parameters is ``nn.numgrad.fast_numerical_gradient`` (the book's
    central differences, computed a few hundred times sooner). The book's plain loop
    (``nn.functions.numerical_gradient``, one parameter at a time, as ``TwoLayerNet.numerical_gradient`` runs
    it) would take minutes for the 784-50-10 net on a shared server, so it is run on ``b1`` and ``b2`` only
    (at most ``MAX_PLAIN_PARAMS`` of their values: all 60 of the book's net), checked against backprop there too,
    and its time for all parameters is extrapolated (an estimate: every parameter costs the same two losses of the
    batch).

    The work is bounded whatever the network: a check computes at most ``MAX_CHECK_WORK`` images × hidden units,
    so a wide network is checked on fewer images than asked for (a 1,000-unit net on 5 images, at about the cost
    of the book's net on 100), and ``GradientCheck`` says how many it used (``batch_size``) of how many were given
    (``requested_batch``). Without the bound, a 1,000-unit model held the server for two minutes.

    "Largest relative error" is, for one parameter array, ``max|numerical - backprop| / max(|numerical|,
    |backprop|)`` with the denominator the largest entry of either array: the worst error measured against the
    array's scale. (An element-wise ratio would flag entries of 1e-12 whose difference is float rounding, and
    would call a correct gradient wrong.)

Errors on the test set
    ``evaluate(net, x, t)`` (predictions and confidences, a chunk at a time), ``confusion_matrix`` (one
    ``np.bincount``), ``row_normalise``, ``per_digit_accuracy`` and ``mistakes`` (indices of misclassified
    images, filtered by true and predicted digit, most confident first).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from nn.functions import as_label_indices, numerical_gradient
from nn.two_layer_net import EVAL_CHUNK, PARAM_KEYS, TwoLayerNet

#: A parameter array passes when its largest relative error is at most this. Backprop and central differences
#: (h = 1e-4) agree to about 1e-9 in float64 on MNIST nets; a wrong gradient (a sign, a missing 1/N, a
#: forgotten σ') is off by 1e-1 or more. The core tests use the same bound (tests/test_numgrad.py).
GRADIENT_THRESHOLD = 1e-6
#: The parameters the book's plain loop is run on (and timed with) in ``gradient_check``.
PLAIN_KEYS = ("b1", "b2")
#: The book's loop runs on at most this many values of ``PLAIN_KEYS`` (all of b1 and b2 of the book's 784-50-10
#: net): the first ones of each array, shared out so that a short array (b2) is always run on whole.
MAX_PLAIN_PARAMS = 60
#: A gradient check computes at most this many images × hidden units: the book's net (50 units) on a batch of 100.
#: The cost of every part (backprop, the numerical gradients, the book's loop) grows with both.
MAX_CHECK_WORK = 5_000
N_CLASSES = 10


# -- gradient check ----------------------------------------------------------------------------------------------


def relative_error(numerical: np.ndarray, backprop: np.ndarray) -> float:
    """max|numerical - backprop| / max(|numerical|, |backprop|) over the whole array (0 when both are 0)."""
    a, b = np.asarray(numerical, dtype=np.float64), np.asarray(backprop, dtype=np.float64)
    diff = float(np.abs(a - b).max()) if a.size else 0.0
    scale = max(float(np.abs(a).max()), float(np.abs(b).max())) if a.size else 0.0
    return diff / scale if scale > 0 else diff


def float64_copy(net: TwoLayerNet) -> TwoLayerNet:
    """A float64 copy of ``net`` (same class, so a test double stays one), for a gradient check."""
    return type(net).from_params({key: np.asarray(net.params[key], dtype=np.float64) for key in PARAM_KEYS})


@dataclass(frozen=True)
class ParamCheck:
    """Numerical vs backprop gradient of one parameter array."""

    key: str
    shape: tuple[int, ...]
    mean_abs_diff: float
    max_abs_diff: float
    max_rel_error: float
    largest_gradient: float  # max |entry| of either gradient: the scale of the relative error
    threshold: float

    @property
    def passed(self) -> bool:
        return bool(np.isfinite(self.max_rel_error) and self.max_rel_error <= self.threshold)


def compare(key: str, numerical: np.ndarray, backprop: np.ndarray, threshold: float = GRADIENT_THRESHOLD) -> ParamCheck:
    a, b = np.asarray(numerical, dtype=np.float64), np.asarray(backprop, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"{key}: numerical gradient has shape {a.shape}, backprop {b.shape}")
    diff = np.abs(a - b)
    return ParamCheck(
        key=key, shape=a.shape, mean_abs_diff=float(diff.mean()), max_abs_diff=float(diff.max()),
        max_rel_error=relative_error(a, b),
        largest_gradient=max(float(np.abs(a).max()), float(np.abs(b).max())), threshold=threshold,
    )


@dataclass(frozen=True)
class GradientCheck:
    """The outcome of ``gradient_check``: one ``ParamCheck`` per array, both gradients, and the timings."""

    checks: tuple[ParamCheck, ...]
    numerical: dict[str, np.ndarray]  # float64, every parameter (nn.numgrad.fast_numerical_gradient)
    backprop: dict[str, np.ndarray]  # float64 (TwoLayerNet.gradient)
    batch_size: int
    threshold: float
    backprop_s: float  # one backprop gradient (best of a few)
    numerical_s: float  # the fast numerical gradient of every parameter
    plain_keys: tuple[str, ...]  # what the book's loop was run on
    plain_s: float  # its time on those parameters
    plain_params: int
    plain_max_rel_error: float  # the book's loop vs backprop on those parameters
    n_params: int
    requested_batch: int = 0  # the images given; ``batch_size`` of them were used (fewer for a wide net)
    plain_counts: tuple[int, ...] = ()  # values of each of ``plain_keys`` the book's loop ran on (the first ones)

    @property
    def batch_capped(self) -> bool:
        """Whether fewer images were used than given (a wide network, see ``MAX_CHECK_WORK``)."""
        return self.batch_size < self.requested_batch

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks) and self.plain_passed

    @property
    def plain_passed(self) -> bool:
        return bool(np.isfinite(self.plain_max_rel_error) and self.plain_max_rel_error <= self.threshold)

    @property
    def max_rel_error(self) -> float:
        return max(c.max_rel_error for c in self.checks)

    @property
    def plain_estimate_s(self) -> float:
        """The book's loop over all parameters, extrapolated from its time on ``plain_params`` of them (a rough
        figure, timed on the float64 copy where the check ran; the app shows ``ui.analysis.step_seconds`` instead,
        the figure its Train page gives)."""
        return self.plain_s / self.plain_params * self.n_params if self.plain_params else float("nan")

    def check(self, key: str) -> ParamCheck:
        return next(c for c in self.checks if c.key == key)


def _best_time(fn: Callable[[], object], repeats: int, timer: Callable[[], float]) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(max(1, repeats)):
        start = timer()
        result = fn()
        best = min(best, timer() - start)
    return best, result


def check_batch_size(requested: int, hidden: int, max_work: int = MAX_CHECK_WORK) -> int:
    """How many of ``requested`` images a gradient check of a ``hidden``-unit net uses: at most ``max_work``
    images × hidden units, and at least one image (100 for the book's 50 units, 5 for 1,000 units)."""
    return max(1, min(int(requested), max_work // max(1, int(hidden))))


def plain_counts(sizes: tuple[int, ...], budget: int = MAX_PLAIN_PARAMS) -> tuple[int, ...]:
    """How many values of arrays of ``sizes`` the book's loop runs on: ``budget`` in all, shared out smallest
    array first, so that a short array is run on whole (b1 and b2 of 1,000 and 10 values: 50 and 10)."""
    counts = [0] * len(sizes)
    left = max(0, int(budget))
    order = sorted(range(len(sizes)), key=lambda i: sizes[i])
    for rank, i in enumerate(order):
        counts[i] = min(int(sizes[i]), left // (len(order) - rank))
        left -= counts[i]
    return tuple(counts)


def _first_numerical_gradient(f, x: np.ndarray, count: int) -> np.ndarray:
    """The book's loop (``nn.functions.numerical_gradient``) on the first ``count`` values of ``x``, flattened."""
    flat = x.reshape(-1)  # a view of the parameter array: nudging it nudges the network's weights
    return numerical_gradient(lambda _: f(x), flat[:count])


def gradient_check(
    net: TwoLayerNet,
    x: np.ndarray,
    t: np.ndarray,
    threshold: float = GRADIENT_THRESHOLD,
    plain_keys: tuple[str, ...] = PLAIN_KEYS,
    repeats: int = 3,
    timer: Callable[[], float] = time.perf_counter,
    max_work: int = MAX_CHECK_WORK,
    max_plain: int = MAX_PLAIN_PARAMS,
) -> GradientCheck:
    """Backprop against central differences for every parameter of ``net`` on the batch ``x``, ``t``.

    ``net`` is not modified: the check runs on a float64 copy (``float64_copy``). ``x`` holds uint8 pixels or
    floats; ``t`` integer or one-hot labels. Only the first ``check_batch_size(len(x), hidden, max_work)`` images
    are used, and the book's loop runs on at most ``max_plain`` values (``plain_counts``): the work is bounded.
    """
    from nn.numgrad import fast_numerical_gradient  # noqa: PLC0415 - nn.numgrad imports this package's net

    x = np.asarray(x)
    labels = as_label_indices(t)
    if len(x) == 0 or len(labels) != len(x):
        raise ValueError(f"need a non-empty batch and one label per image, got {len(x)} images, {len(labels)} labels")
    requested = len(x)
    used = check_batch_size(requested, np.shape(net.params["W1"])[1], max_work)
    x, labels = x.reshape(len(x), -1)[:used], labels[:used]
    net64 = float64_copy(net)
    backprop_s, backprop = _best_time(lambda: net64.gradient(x, labels), repeats, timer)
    backprop = {key: np.asarray(backprop[key], dtype=np.float64) for key in PARAM_KEYS}
    start = timer()
    numerical = fast_numerical_gradient(net64.params, x, labels)
    numerical_s = timer() - start

    # the book's loop, exactly as TwoLayerNet.numerical_gradient runs it, on the first values of a few arrays
    def loss(_):
        return net64.loss(x, labels)

    counts = plain_counts(tuple(net64.params[key].size for key in plain_keys), max_plain)
    start = timer()
    plain = {key: _first_numerical_gradient(loss, net64.params[key], n) for key, n in zip(plain_keys, counts)}
    plain_s = timer() - start
    plain_error = max((relative_error(plain[key], backprop[key].reshape(-1)[:n])
                       for key, n in zip(plain_keys, counts) if n), default=0.0)
    return GradientCheck(
        checks=tuple(compare(key, numerical[key], backprop[key], threshold) for key in PARAM_KEYS),
        numerical={key: np.asarray(numerical[key], dtype=np.float64) for key in PARAM_KEYS},
        backprop=backprop,
        batch_size=len(x),
        threshold=threshold,
        backprop_s=backprop_s,
        numerical_s=numerical_s,
        plain_keys=tuple(plain_keys),
        plain_s=plain_s,
        plain_params=sum(counts),
        plain_max_rel_error=plain_error,
        n_params=sum(net64.params[key].size for key in PARAM_KEYS),
        requested_batch=requested,
        plain_counts=counts,
    )


def busiest_unit(grads: dict[str, np.ndarray]) -> int:
    """The hidden unit whose incoming weights have the largest gradient (the most telling one to look at)."""
    return int(np.argmax(np.linalg.norm(np.asarray(grads["W1"], dtype=np.float64), axis=0)))


# -- errors on the test set --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Evaluation:
    """The network's answer for every test image: label, prediction and the probability it gave it."""

    labels: np.ndarray  # (N,) true digits
    predictions: np.ndarray  # (N,) predicted digits
    confidence: np.ndarray  # (N,) softmax probability of the predicted digit

    @property
    def n(self) -> int:
        return len(self.labels)

    @property
    def accuracy(self) -> float:
        return float(np.mean(self.predictions == self.labels)) if self.n else float("nan")

    @property
    def n_wrong(self) -> int:
        return int(np.count_nonzero(self.predictions != self.labels))


def evaluate(net: TwoLayerNet, x: np.ndarray, t: np.ndarray, chunk: int = EVAL_CHUNK) -> Evaluation:
    """Predictions and their softmax probabilities for every row of ``x``, ``chunk`` rows at a time."""
    x = np.asarray(x)
    x = x.reshape(len(x), -1)
    labels = as_label_indices(t)
    predictions = np.empty(len(x), dtype=np.intp)
    confidence = np.empty(len(x), dtype=np.float64)
    for start in range(0, len(x), chunk):
        logits = np.asarray(net.logits(x[start : start + chunk]), dtype=np.float64)
        top = logits.argmax(axis=1)
        # probability of the top class = 1 / sum_k exp(a_k - a_top): stable, no full softmax needed
        shifted = logits - logits[np.arange(len(top)), top][:, None]
        predictions[start : start + chunk] = top
        confidence[start : start + chunk] = 1.0 / np.exp(shifted).sum(axis=1)
    return Evaluation(labels=np.asarray(labels, dtype=np.intp), predictions=predictions, confidence=confidence)


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray, n_classes: int = N_CLASSES) -> np.ndarray:
    """Counts (n_classes, n_classes): row = true digit, column = predicted digit."""
    labels, predictions = np.asarray(labels, dtype=np.intp), np.asarray(predictions, dtype=np.intp)
    if labels.shape != predictions.shape:
        raise ValueError(f"{len(labels)} labels but {len(predictions)} predictions")
    return np.bincount(labels * n_classes + predictions, minlength=n_classes * n_classes).reshape(
        n_classes, n_classes
    )


def row_normalise(matrix: np.ndarray) -> np.ndarray:
    """Each row divided by its sum (the fraction of each true digit given each answer); empty rows stay 0."""
    matrix = np.asarray(matrix, dtype=np.float64)
    totals = matrix.sum(axis=1, keepdims=True)
    return np.divide(matrix, totals, out=np.zeros_like(matrix), where=totals > 0)


def per_digit_accuracy(matrix: np.ndarray) -> np.ndarray:
    """Fraction of each true digit classified right (NaN for a digit with no test image)."""
    matrix = np.asarray(matrix, dtype=np.float64)
    totals = matrix.sum(axis=1)
    return np.divide(np.diag(matrix), totals, out=np.full(len(matrix), np.nan), where=totals > 0)


def mistakes(
    evaluation: Evaluation, true: int | None = None, predicted: int | None = None, most_confident_first: bool = True
) -> np.ndarray:
    """Indices of the images with true digit ``true`` and prediction ``predicted`` (None: any), sorted by
    confidence. Only misclassified images, unless ``true == predicted`` is asked for (a diagonal cell)."""
    keep = np.ones(evaluation.n, dtype=bool)
    if true is not None:
        keep &= evaluation.labels == true
    if predicted is not None:
        keep &= evaluation.predictions == predicted
    if true is None or predicted is None or true != predicted:
        keep &= evaluation.labels != evaluation.predictions
    index = np.flatnonzero(keep)
    order = np.argsort(-evaluation.confidence[index] if most_confident_first else evaluation.confidence[index],
                       kind="stable")
    return index[order]
