"""One SGD step at a time, for the "Code, step by step" page: a real run, driven one iteration at a time.

Pure NumPy (no Streamlit), so tests call it directly. The steps are the core's own loop (``nn.sgd``), not a copy:
this module only asks it for one iteration at a time and keeps, for the last step, what the page shows (the
batch's images, the gradient, the weights before the update, the loss on the same batch after it). Every other
step is exactly the step of a normal run, so a step-through handed to the runner (``Stepper.core``: the core's
run state, see ``ui.runner``) carries on as one run of the same seed would have.

The one place that knows the core's stepping API is the block of ``_core_*`` functions below.

Memory: a stepper holds references to the shared, read-only MNIST arrays (never a copy of them; a training subset,
when the settings ask for one, is drawn by ``nn.train.start`` as for any run), the network (~160 KB), its run
record (8 bytes per planned iteration) and, for its last step only, a copy of the weights before the update and
the gradient (~320 KB). The session keeps at most one (``ui.state.stepper``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from nn import sgd, train as nn_train
from nn.blas import limit_blas_threads
from nn.train import EpochRecord, Run, TrainConfig
from nn.two_layer_net import PARAM_KEYS, TwoLayerNet

# -- the core's stepping API (the one place to rewire) ------------------------------------------------------------


def _core_start(config: TrainConfig, data, data_source: str = ""):
    """The core's run state for ``config`` on ``data``: network, random generator, run record, iteration 0."""
    return nn_train.start(config, data, data_source=data_source)


def _core_step(core):
    """One iteration of the core's loop; returns what it did (``nn.sgd.Step``: i, batch_mask, loss, grad, epoch),
    or None when the run could not step (it diverged)."""
    return nn_train.step(core)


def loop_functions() -> list:
    """The core's functions whose bodies are the book's loop and its once-per-epoch measurement (the Code view
    shows their source)."""
    return [sgd.sgd, sgd.book_accuracies]


def _core_network(core) -> TwoLayerNet:
    return core.network


def _core_run(core) -> Run:
    return core.run


def _core_iteration(core) -> int:
    """Steps done so far (the ``i`` of the next step)."""
    return core.i


def _core_training_set(core) -> tuple[np.ndarray, np.ndarray]:
    """The training images (N, 784) and integer labels the run draws its mini-batches from."""
    return core.x_train, core.t_train


# -- what the page shows of a step -------------------------------------------------------------------------------


@dataclass
class StepView:
    """The last step done: everything the three panels of the page draw."""

    i: int  # the iteration (0-based, the book's i)
    batch_mask: np.ndarray  # the indices drawn into the training set
    labels: np.ndarray  # t_batch as digits
    loss_before: float  # the batch's loss before the update (the run's loss of iteration i)
    loss_after: float  # the same batch's loss after the update: it should be lower
    grads: dict[str, np.ndarray]  # the gradient the update used
    params_before: dict[str, np.ndarray]  # the weights before the update (a copy)
    gradient_s: float  # seconds the gradient took
    lr: float
    epoch: EpochRecord | None = None  # the accuracy line, when the step measured it
    steps: int = 1  # how many steps the button did (this is the last of them)


@dataclass
class Stepper:
    """A run in the making, one step at a time. ``handed_to``: the job id once continued as a normal run."""

    config: TrainConfig
    core: object
    data: tuple = field(default=(), repr=False)  # the shared MNIST arrays it was started on (references)
    data_source: str = ""
    last: StepView | None = None
    handed_to: int | None = None
    _numerical: tuple | None = field(default=None, repr=False)  # (i, grads, seconds) of the last step
    _backprop: tuple | None = field(default=None, repr=False)  # the same, by backprop

    @property
    def i(self) -> int:
        return _core_iteration(self.core)

    @property
    def run(self) -> Run:
        return _core_run(self.core)

    @property
    def network(self) -> TwoLayerNet:
        return _core_network(self.core)

    @property
    def iters_per_epoch(self) -> float:
        return self.run.iters_per_epoch

    @property
    def finished(self) -> bool:
        """No step is left: all iterations done, or the run diverged."""
        return self.i >= self.config.iters or self.run.done

    @property
    def epoch(self) -> float:
        return self.i / self.iters_per_epoch

    def training_set(self) -> tuple[np.ndarray, np.ndarray]:
        return _core_training_set(self.core)

    def nbytes(self) -> int:
        """The memory this step-through holds on its own (for the reload store's budget): the network, its run
        record, the last step's copies, and a training subset when the run drew one (not the shared MNIST)."""
        arrays = [*self.network.params.values(), self.run.losses]
        for _, w in self.run.snapshots or ():
            arrays.append(w)
        if self.last is not None:
            arrays += [*self.last.grads.values(), *self.last.params_before.values()]
        for kept in (self._numerical, self._backprop):
            if kept is not None:
                arrays += list(kept[1].values())
        x, _ = self.training_set()
        shared = self.data[0][0] if self.data else None
        if x is not None and shared is not None and x.base is not shared and x is not shared:
            arrays.append(x)
        return sum(int(getattr(a, "nbytes", 0)) for a in arrays)

    def batch(self) -> tuple[np.ndarray, np.ndarray]:
        """The last step's mini-batch: images (N, 784) as stored (uint8) and labels."""
        x, t = self.training_set()
        mask = self.last.batch_mask
        return x[mask], t[mask]

    def step(self, n: int = 1) -> StepView | None:
        """Do ``n`` steps (fewer at the end of the run); keep what the page shows of the last one."""
        n = min(int(n), self.config.iters - self.i)
        for k in range(n):
            if self.run.done:  # diverged (or finished): no further step
                break
            self._do(keep=k == n - 1, steps=n)
        return self.last

    def step_to_epoch_end(self) -> StepView | None:
        """Steps up to and including the next one that measures accuracy (the loop's ``if i % iter_per_epoch < 1``,
        the book's ``== 0``), or to the end of the run."""
        ipe = self._epoch_length()
        target = self.i
        while target < self.config.iters - 1 and not target % ipe < 1:
            target += 1
        return self.step(target - self.i + 1)

    def _epoch_length(self):
        """The loop's own ``iter_per_epoch`` (exact: a Fraction when it is not whole), so that the steps stop where
        the loop measures."""
        exact = getattr(sgd, "epoch_length", None)
        return exact(self.run.n_train, self.config.batch_size) if exact else self.iters_per_epoch

    def _do(self, keep: bool, steps: int) -> None:
        network = self.network
        before = {key: network.params[key].copy() for key in PARAM_KEYS} if keep else None
        start = time.perf_counter()
        did = _core_step(self.core)
        seconds = time.perf_counter() - start
        if did is None or not keep:
            return
        x, t = self.training_set()
        mask = np.asarray(did.batch_mask)
        loss_after = float(network.loss(x[mask], t[mask]))
        self.last = StepView(
            i=did.i, batch_mask=mask.copy(), labels=np.asarray(t[mask]).copy(), loss_before=float(did.loss),
            loss_after=loss_after, grads={key: np.array(did.grad[key]) for key in PARAM_KEYS}, params_before=before,
            gradient_s=seconds, lr=self.config.lr, epoch=did.epoch, steps=steps,
        )
        self._numerical = None

    def backprop_gradient(self) -> tuple[dict[str, np.ndarray], float]:
        """``TwoLayerNet.gradient`` (the book's chapter 5 backprop) of the last step's batch at the weights before
        its update, and the seconds it took: to set beside the numerical gradient (computed once per step)."""
        if self._backprop is None or self._backprop[0] != self.last.i:
            x, t = self.batch()  # in float64, as the numerical gradient is computed: only their method differs
            net = TwoLayerNet.from_params({key: np.asarray(w, dtype=np.float64) for key, w in
                                           self.last.params_before.items()})
            seconds = []
            for _ in range(3):  # the best of three: one call is a millisecond, easily held up by anything else
                start = time.perf_counter()
                grads = net.gradient(x, t)
                seconds.append(time.perf_counter() - start)
            self._backprop = (self.last.i, grads, min(seconds))
        return self._backprop[1], self._backprop[2]

    def numerical_gradient(self) -> tuple[dict[str, np.ndarray], float]:
        """The fast numerical gradient (``nn.numgrad``) of the last step's batch at the weights before its update,
        and the seconds it took (computed once per step)."""
        from nn.numgrad import fast_numerical_gradient

        if self._numerical is None or self._numerical[0] != self.last.i:
            x, t = self.batch()
            start = time.perf_counter()
            grads = fast_numerical_gradient(self.last.params_before, x, t)
            self._numerical = (self.last.i, grads, time.perf_counter() - start)
        return self._numerical[1], self._numerical[2]


def start(config: TrainConfig, data, data_source: str = "") -> Stepper:
    """A step-through of ``config`` on ``data`` ((x_train, t_train), (x_test, t_test)), no step done yet."""
    problems = config.errors()
    if problems:
        raise ValueError("; ".join(str(p) for p in problems))
    # One BLAS thread, as the runner and the command line train (nn.blas): a matrix product split over two threads
    # adds in another order, and the steps would differ in the last bit from the run they must continue as.
    limit_blas_threads(1)
    return Stepper(config, _core_start(config, data, data_source), data=data, data_source=data_source)


# -- numbers the panels show ---------------------------------------------------------------------------------------


def forward(params: dict, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Scores a2 and softmax probabilities y of images ``x`` under ``params`` (float64, for showing)."""
    net = TwoLayerNet.from_params({key: np.asarray(params[key], dtype=np.float64) for key in PARAM_KEYS})
    scores = net.logits(x)
    return scores, net.predict(x)


def softmax_steps(scores: np.ndarray, label: int) -> dict:
    """One image's ten scores → softmax → cross-entropy, every intermediate number (the book's functions,
    with their max shift and the epsilon in the log)."""
    from nn.functions import CROSS_ENTROPY_EPS

    scores = np.asarray(scores, dtype=np.float64)
    shifted = scores - scores.max()
    exps = np.exp(shifted)
    probs = exps / exps.sum()
    p_true = float(probs[label])
    return {"scores": scores, "shifted": shifted, "exps": exps, "sum": float(exps.sum()), "probs": probs,
            "label": int(label), "p_true": p_true, "loss": float(-np.log(p_true + CROSS_ENTROPY_EPS))}


def loss_after_step(params: dict, grads: dict, x: np.ndarray, t: np.ndarray, lr: float) -> float:
    """The batch's loss after one step of learning rate ``lr`` from ``params`` along ``grads``."""
    stepped = {key: np.asarray(params[key], dtype=np.float64) - lr * np.asarray(grads[key], dtype=np.float64)
               for key in PARAM_KEYS}
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        return float(TwoLayerNet.from_params(stepped).loss(x, t))


#: The learning rates the "what if" curve tries: 0.001 to 100, evenly on a log scale.
LR_GRID = tuple(float(v) for v in np.logspace(-3, 2, 41))


def lr_curve(params: dict, grads: dict, x: np.ndarray, t: np.ndarray, lrs=LR_GRID) -> np.ndarray:
    """The batch's loss after one step of each learning rate in ``lrs``."""
    return np.array([loss_after_step(params, grads, x, t, lr) for lr in lrs])


def busiest_units(grad_W1: np.ndarray, n: int = 8) -> list[int]:
    """The ``n`` hidden units (0-based) whose incoming weights got the largest gradient (L2 norm), in order."""
    norms = np.linalg.norm(np.asarray(grad_W1, dtype=np.float64), axis=0)
    return [int(u) for u in np.argsort(-norms, kind="stable")[: min(n, len(norms))]]


def gradient_sizes(grads: dict) -> list[dict]:
    """Per parameter array: its shape, how many numbers, the L2 norm, the mean and the largest |gradient|."""
    rows = []
    for key in PARAM_KEYS:
        g = np.asarray(grads[key], dtype=np.float64)
        rows.append({"key": key, "shape": g.shape, "count": g.size, "norm": float(np.linalg.norm(g)),
                     "mean_abs": float(np.abs(g).mean()), "max_abs": float(np.abs(g).max())})
    return rows


def agreement(a: dict, b: dict) -> float:
    """The largest relative difference between two gradients, |a − b| / max(|a| + |b|, 1e-8), over every weight."""
    worst = 0.0
    for key in PARAM_KEYS:
        x, y = np.asarray(a[key], dtype=np.float64), np.asarray(b[key], dtype=np.float64)
        worst = max(worst, float((np.abs(x - y) / np.maximum(np.abs(x) + np.abs(y), 1e-8)).max()))
    return worst


def printout(run: Run) -> list[str]:
    """The book's printout of a run: one ``train acc, test acc | 0.9446, 0.9445`` line per epoch (as the command
    line prints it: four decimals; the extra measurement at the end of a run that did not end on an epoch is not
    a line of the book's)."""
    return [f"train acc, test acc | {e.train_acc:.4f}, {e.test_acc:.4f}" for e in list(run.epochs) if not e.final]
