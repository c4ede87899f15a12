"""Make nn/data/mnist_sample.npz, the offline MNIST sample SGD Lab falls back on without a network.

The sample is class-balanced: 600 training images of every digit (6,000, 10% of the training set) and
100 test images of every digit (1,000, 10% of the test set), drawn without replacement with a fixed seed,
kept in their original order. Alongside the four uint8 arrays the file stores the indices of the chosen
images in the full sets (``train_index``, ``test_index``) and the seed, so anyone can check or remake it.

    MNIST_DIR=/path/to/mnist python -m scripts.make_mnist_sample [--out nn/data/mnist_sample.npz]

(run from the repository root, so that ``nn`` is importable).

The full data is read from MNIST_DIR (or --data-dir) and its SHA-256 sums are verified first.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

from nn.mnist import EMBEDDED_SAMPLE, SAMPLE_PER_CLASS, MnistError, class_balanced_indices, read_directory, read_npz

SEED = 2024  # fixed, so the same sample comes out every time (the test set uses SEED + 1)


def make_sample(data_dir: str | os.PathLike, out: str | os.PathLike, seed: int = SEED) -> dict[str, np.ndarray]:
    """Pick the sample from the full MNIST in ``data_dir`` and write it, compressed, to ``out``."""
    full = read_directory(data_dir, verify=True)
    train_per_class, test_per_class = SAMPLE_PER_CLASS
    train_index = class_balanced_indices(full["t_train"], train_per_class, seed)
    test_index = class_balanced_indices(full["t_test"], test_per_class, seed + 1)
    arrays = {
        "x_train": full["x_train"][train_index],
        "t_train": full["t_train"][train_index],
        "x_test": full["x_test"][test_index],
        "t_test": full["t_test"][test_index],
    }
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        out,
        **arrays,
        train_index=train_index.astype(np.int32),
        test_index=test_index.astype(np.int32),
        seed=np.int64(seed),
    )
    read_npz(out)  # the loader accepts what we wrote
    return arrays


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data-dir", default=os.environ.get("MNIST_DIR"), help="the full MNIST IDX files (default: $MNIST_DIR)"
    )
    parser.add_argument("--out", default=str(EMBEDDED_SAMPLE), help="output .npz (default %(default)s)")
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    if not args.data_dir:
        parser.error("give --data-dir or set MNIST_DIR to the directory of the four MNIST IDX files")
    try:
        arrays = make_sample(args.data_dir, args.out, args.seed)
    except MnistError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    size = Path(args.out).stat().st_size
    train_counts = np.bincount(arrays["t_train"], minlength=10)
    test_counts = np.bincount(arrays["t_test"], minlength=10)
    print(
        f"wrote {args.out}: {len(arrays['x_train']):,} + {len(arrays['x_test']):,} images "
        f"({train_counts.min()}–{train_counts.max()} / {test_counts.min()}–{test_counts.max()} per digit), "
        f"{size:,} bytes, seed {args.seed}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
