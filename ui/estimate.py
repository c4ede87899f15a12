"""How fast this machine trains, measured once per process (about 0.2 s), for the time estimates shown before
a run. Pure NumPy on top of ``nn``; the page caches the result with ``st.cache_resource``."""

from __future__ import annotations

import time

import numpy as np

from nn.train import TrainConfig, train
from nn.two_layer_net import TwoLayerNet
from ui.analysis import Speeds


def _best_of(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def measure_speeds(data) -> Speeds:
    """Time the pieces of a run on ``data`` ((x_train, t_train), (x_test, t_test)) with the book's net."""
    (x_train, t_train), (x_test, t_test) = data
    x_train = x_train.reshape(len(x_train), -1)
    rng = np.random.default_rng(0)
    idx = rng.integers(0, len(x_train), size=100)
    xb, tb = x_train[idx], np.asarray(t_train)[idx]

    # backprop steps: a short run of the real loop (no evaluation cost beyond 2 tiny checks on 100 images)
    small = ((xb, tb), (xb[:10], tb[:10]))
    steps = 200
    run_time = _best_of(lambda: train(TrainConfig(iters=steps), small), 3)
    backprop = run_time / steps

    net = TwoLayerNet(784, 50, 10, rng=0, dtype=np.float32)
    # the book's loop: nudge each parameter twice and recompute the whole loss; time it on the 50 entries of b1
    # (float64, as the book's net is) and scale by the parameter count in the estimate
    from nn.functions import numerical_gradient

    book_net = TwoLayerNet(784, 50, 10, rng=0, dtype=np.float64)
    per_param = _best_of(lambda: numerical_gradient(lambda _: book_net.loss(xb, tb), book_net.params["b1"]), 2) / 50

    from nn.numgrad import fast_numerical_gradient

    params = {k: v.astype(np.float64) for k, v in net.params.items()}
    numerical = _best_of(lambda: fast_numerical_gradient(params, xb, tb), 1)

    n_eval = min(len(x_test), 2000)
    eval_time = _best_of(lambda: net.classify(x_test[:n_eval]), 2)
    return Speeds(
        backprop_step_s=backprop,
        numerical_step_s=numerical,
        plain_param_s=per_param,
        eval_image_s=eval_time / n_eval,
    )
