"""Train the book's 784-50-10 net on full MNIST and write the model SGD Lab ships: nn/data/pretrained.npz.

    MNIST_DIR=/path/to/mnist python -m scripts.train_pretrained [--data-dir DIR] [--out FILE]

(run from the repository root, so that ``nn`` is importable).

The book's settings (§4.5: 10,000 iterations, batch 100, learning rate 0.1, 50 hidden units, init std 0.01,
seed 0) in float32, through the same ``nn.train.train`` the app and the command line use (about 5 s). The file
(< 1 MB, no pickle) holds the weights, the configuration, the per-iteration loss, the per-epoch accuracies and
the final test accuracy. The model is derived from MNIST (Y. LeCun, C. Cortes, C. J. C. Burges; CC BY-SA 3.0).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from nn.model_file import PRETRAINED_PATH, save_run
from nn.train import TrainConfig, train
from scripts.common import full_mnist, written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", help="directory of the four MNIST IDX files (default: $MNIST_DIR)")
    parser.add_argument("--out", type=Path, default=PRETRAINED_PATH, help=f"output file (default: {PRETRAINED_PATH})")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0, the shipped model)")
    args = parser.parse_args(argv)

    data = full_mnist(args.data_dir, "the pretrained model")
    if data is None:
        return 1

    config = TrainConfig(seed=args.seed)  # the book's settings, float32
    run = train(config, data.as_tuple(), data_source=data.describe())
    if run.status != "finished":
        print(f"error: training {run.status}: {run.reason}", file=sys.stderr)
        return 1
    final = run.last
    args.out.parent.mkdir(parents=True, exist_ok=True)
    size = len(save_run(run, args.out, name="pretrained: the book's 784-50-10 net"))
    return written(args.out, size, f"{config.label()}: train acc {final.train_acc:.4f}, test acc {final.test_acc:.4f} "
                   f"in {run.elapsed_s:.1f} s")


if __name__ == "__main__":
    sys.exit(main())
