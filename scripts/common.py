"""What the model-making scripts share: full MNIST from a directory, or one line saying why not."""

from __future__ import annotations

import sys

from nn.mnist import MnistData, MnistError, load_dataset


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
