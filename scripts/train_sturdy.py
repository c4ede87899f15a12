"""Train the sturdy model SGD Lab ships beside the book's: nn/data/pretrained_distorted.npz.

    MNIST_DIR=/path/to/mnist python -m scripts.train_sturdy [--data-dir DIR] [--out FILE] [--seed 0]

(run from the repository root, so that ``nn`` is importable).

The same 784-50-10 sigmoid ``TwoLayerNet`` and the same SGD step as the book's run (``TwoLayerNet.gradient``,
then a step against it; float32, batch 100), on full MNIST, but every mini-batch has 80 % of its images randomly distorted
(``nn.augment``: rotation ±15°, shear ±0.3, scale 0.85–1.15, aspect 0.75–1.25, shift ±2 px, and on half of them
Simard's elastic wobble): data augmentation. Because the distortions make the task harder, it trains longer
(60,000 iterations) with a larger step (learning rate 0.5, the last quarter 0.1). Seeded: the same seed gives the
same model. About 5 minutes on one core.

The file is an SGD Lab model file (``nn/model_file.py``, no pickle, < 1 MB): weights, configuration, the
per-iteration loss, accuracies every 5 epochs and the final test accuracy (on the undistorted MNIST test set).
Derived from MNIST (Y. LeCun, C. Cortes, C. J. C. Burges; CC BY-SA 3.0).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from nn.augment import STURDY_PATH, Distortions, distort_batch
from nn.model_file import save_model
from nn.train import EpochRecord, TrainConfig, iterations_per_epoch
from nn.two_layer_net import PARAM_KEYS, TwoLayerNet
from scripts.common import full_mnist, written

NAME = "trained on distorted digits: 784-50-10 net"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", help="directory of the four MNIST IDX files (default: $MNIST_DIR)")
    parser.add_argument("--out", type=Path, default=STURDY_PATH, help=f"output file (default: {STURDY_PATH})")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0, the shipped model)")
    parser.add_argument("--iters", type=int, default=60_000)
    parser.add_argument("--lr", type=float, default=0.5)
    parser.add_argument("--final-lr", type=float, default=0.1, help="the learning rate of the last quarter")
    parser.add_argument("--hidden", type=int, default=50)
    parser.add_argument("--share", type=float, default=0.8, help="share of each mini-batch distorted")
    args = parser.parse_args(argv)

    data = full_mnist(args.data_dir, "the sturdy model")
    if data is None:
        return 1

    config = TrainConfig(iters=args.iters, lr=args.lr, hidden=args.hidden, seed=args.seed)
    x_train, t_train = data.x_train.reshape(len(data.x_train), -1), data.t_train.astype(np.intp)
    x_test, t_test = data.x_test.reshape(len(data.x_test), -1), data.t_test.astype(np.intp)
    rng = np.random.default_rng(args.seed)
    net = TwoLayerNet(784, config.hidden, 10, config.weight_init_std, rng=rng, dtype=np.float32)
    params = net.params
    distortions = Distortions()
    losses = np.empty(config.iters, dtype=np.float32)
    ipe = iterations_per_epoch(len(x_train), config.batch_size)
    every = round(5 * ipe)  # accuracy every 5 epochs
    epochs: list[EpochRecord] = []
    start = time.perf_counter()
    for i in range(config.iters):
        lr = args.lr if i < 0.75 * config.iters else args.final_lr
        idx = rng.integers(0, len(x_train), size=config.batch_size)
        xb, tb = distort_batch(x_train[idx], t_train[idx], rng, share=args.share, d=distortions)
        losses[i] = net.loss(xb, tb)
        grads = net.gradient(xb, tb)  # backpropagation, as in the book
        for key in PARAM_KEYS:
            params[key] -= np.float32(lr) * grads[key]
        if (i + 1) % every == 0 or i + 1 == config.iters:
            train_acc, test_acc = net.accuracy(x_train, t_train), net.accuracy(x_test, t_test)
            elapsed = time.perf_counter() - start
            epochs.append(EpochRecord(epoch=round((i + 1) / ipe, 6), iteration=i + 1, train_acc=train_acc,
                                      test_acc=test_acc, elapsed_s=elapsed, final=(i + 1) % every != 0))
            print(f"iteration {i + 1:>6,}: loss {losses[max(0, i - 99):i + 1].mean():.4f}, "
                  f"train acc {train_acc:.4f}, test acc {test_acc:.4f} ({elapsed:.0f} s)", flush=True)
    elapsed = time.perf_counter() - start
    final = epochs[-1]
    source = (f"{data.describe()}; each mini-batch {args.share:.0%} randomly distorted (nn.augment: rotation "
              f"±{distortions.rotation_deg:g}°, shear ±{distortions.shear:g}, scale {distortions.scale[0]:g}–"
              f"{distortions.scale[1]:g}, aspect {distortions.aspect[0]:g}–{distortions.aspect[1]:g}, shift "
              f"±{distortions.shift:g} px, elastic alpha {distortions.elastic_alpha:g} sigma "
              f"{distortions.elastic_sigma:g} on {distortions.elastic_share:.0%}); learning rate {args.lr:g}, "
              f"{args.final_lr:g} for the last quarter; accuracies on the undistorted images")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    size = len(save_model(
        args.out, {key: params[key] for key in PARAM_KEYS}, config, test_acc=final.test_acc,
        train_acc=final.train_acc, data_source=source, losses=losses, epochs=epochs, name=NAME,
        n_train=len(x_train), n_test=len(x_test), elapsed_s=elapsed,
    ))
    return written(args.out, size, f"{config.label()}: train acc {final.train_acc:.4f}, test acc {final.test_acc:.4f} "
                   f"in {elapsed:.0f} s")


if __name__ == "__main__":
    sys.exit(main())
