"""What the model-making scripts share: full MNIST from a directory (or one line saying why not), and the check of
the model file they wrote."""

from __future__ import annotations

import sys

from nn.mnist import MnistData, MnistError, load_dataset
from nn.model_file import load_model

#: A shipped model stays under this size (the repository carries it).
MAX_FILE_BYTES = 1_000_000


def full_mnist(data_dir: str | None, what: str) -> MnistData | None:
    """Full MNIST from ``data_dir`` (default: ``$MNIST_DIR``), never downloaded and never the offline sample; None
    after one line on stderr naming ``what`` needs it when it cannot be had."""
    try:
        data = load_dataset(data_dir, allow_download=False, allow_embedded=False)
    except MnistError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None
    if not data.is_full:
        print(f"error: {what} needs full MNIST, got {data.describe()}", file=sys.stderr)
        return None
    return data


def written(out, size: int, summary: str) -> int:
    """Read the model file ``out`` back (as the app will), print ``summary`` with what it holds, and return the exit
    status: 1, with one line on stderr, when it is over ``MAX_FILE_BYTES``."""
    model = load_model(out)
    print(f"{summary} → {out} ({size:,} bytes, {model.describe()})")
    if size > MAX_FILE_BYTES:
        print(f"error: {out} is {size:,} bytes, over the {MAX_FILE_BYTES:,} limit", file=sys.stderr)
        return 1
    return 0
