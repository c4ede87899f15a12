"""Mini-batch SGD as the book writes it (§4.5, ``ch04/train_neuralnet.py``), one step at a time.

Put the slide next to ``sgd`` below: the body of its loop is the slide's, line for line. STEP 1 draws a
mini-batch, STEP 2 computes the gradient, STEP 3 steps against it; the loss is kept; once per epoch the accuracy
on the whole training and test sets is measured. What differs from the slide, and why:

* It is a generator: it ``yield``s a ``Step`` after each iteration (the indices it drew, the loss, the gradient,
  the accuracies when it measured them). So the same loop can be followed one step at a time (the app's
  step-through) or run to the end: ``nn.train.train`` does that, and adds around it what a long run needs but the
  lesson does not (Stop, progress reports, divergence checks, W1 snapshots, measuring on a second core).
* The randomness is passed in: ``rng`` is a ``numpy.random.Generator``, seeded, so a run can be repeated.
* The loss kept is the one the gradient's forward pass computed (``network.last_loss``): the loss of the batch
  before the step. The book computes ``network.loss(x_batch, t_batch)`` again after the update: a third pass over
  the batch, for the loss of weights one step later.
* ``i % iter_per_epoch < 1`` where the book has ``== 0``: the same for the book's 600 iterations per epoch. With a
  fractional one (150 images in batches of 100: 1.5 iterations) ``== 0`` would measure every other epoch only;
  ``< 1`` measures at the first iteration of each. ``iter_per_epoch`` is exact (``epoch_length``), so that
  rounding cannot move a measurement by one iteration (5 images in batches of 3: 5/3, not 1.6666666666666667).
* Where the book computes ``network.accuracy`` and prints, ``measure(network, i)`` is called: by default the
  book's two lines (``book_accuracies``); ``nn.train`` passes one that measures in another thread.

Stepping a run of the app's settings (``nn.train`` makes the state: network, generator, data, run record)::

    from nn.train import TrainConfig, start, step, train
    state = start(TrainConfig(), data)           # data as nn.mnist.load_mnist returns it
    s = step(state)                              # one SGD step: s.i, s.batch_mask, s.loss, s.grad, s.epoch
    for _ in range(9): step(state)               # nine more: state.i == 10
    run = train(state.config, data, resume=state)  # the rest in one go: the same run as train(TrainConfig(), data)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

import numpy as np


@dataclass
class Step:
    """What one iteration of the loop did."""

    i: int  # the iteration, from 0
    batch_mask: np.ndarray  # the rows of the training set it drew (with replacement, as the book does)
    x_batch: np.ndarray
    t_batch: np.ndarray
    loss: float  # the batch's loss before the update
    grad: dict  # the gradient it stepped against (a FastTwoLayerNet overwrites it at the next step: copy to keep)
    accuracy: tuple[float, float] | None = None  # (train acc, test acc) when this iteration measured them
    epoch: object = None  # the nn.train.EpochRecord of that measurement, filled in by nn.train


def epoch_length(train_size: int, batch_size: int) -> int | Fraction:
    """The book's ``max(train_size / batch_size, 1)`` without rounding: 600 for 60,000 images in batches of 100,
    ``Fraction(3, 2)`` for 150 in batches of 100 (an int whenever it is a whole number: ``%`` on it is fast)."""
    length = max(Fraction(int(train_size), int(batch_size)), 1)
    return int(length) if length.denominator == 1 else length


def book_accuracies(x_train, t_train, x_test, t_test) -> Callable:
    """The book's measurement: ``network.accuracy`` on the whole training set and the whole test set."""

    def measure(network, i):
        train_acc = network.accuracy(x_train, t_train)
        test_acc = network.accuracy(x_test, t_test)
        return train_acc, test_acc

    return measure


def sgd(network, x_train, t_train, x_test, t_test, *, rng: np.random.Generator, iters_num: int = 10_000,
        batch_size: int = 100, learning_rate: float = 0.1, gradient: str = "backprop", start: int = 0,
        measure: Callable | None = None, should_stop: Callable[[], bool] | None = None):
    """The book's training loop, iterations ``start`` to ``iters_num - 1``: yields a ``Step`` after each.

    ``network`` has the book's methods (``TwoLayerNet``, or ``FastTwoLayerNet`` which trains faster);
    ``gradient`` is "backprop" (``network.gradient``) or anything else for ``network.numerical_gradient``, which
    ``should_stop()`` may interrupt (``nn.functions.Stopped``). ``measure(network, i)`` returns (train acc, test
    acc), or None when it will record them itself later (by default: ``book_accuracies``).
    """
    if measure is None:
        measure = book_accuracies(x_train, t_train, x_test, t_test)
    train_size = x_train.shape[0]
    iter_per_epoch = epoch_length(train_size, batch_size)  # max(train_size / batch_size, 1), exactly

    for i in range(start, iters_num):
        # STEP 1: a mini-batch, drawn at random
        batch_mask = rng.choice(train_size, batch_size)
        x_batch = x_train[batch_mask]
        t_batch = t_train[batch_mask]

        # STEP 2: the gradient of the loss on it
        if gradient == "backprop":
            grad = network.gradient(x_batch, t_batch)
        else:
            grad = network.numerical_gradient(x_batch, t_batch, should_stop)
        loss = network.last_loss

        # STEP 3: a step against the gradient
        for key in ('W1', 'b1', 'W2', 'b2'):
            network.params[key] -= learning_rate * grad[key]

        accuracy = None
        if i % iter_per_epoch < 1:  # once per epoch: train acc, test acc
            accuracy = measure(network, i)
        yield Step(i, batch_mask, x_batch, t_batch, loss, grad, accuracy)
