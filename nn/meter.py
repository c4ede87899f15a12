"""``AccuracyMeter``: ``network.accuracy(x, t)`` on a whole data set, the same number, sooner.

The book's run measures accuracy 17 times on all 70,000 images: 1.2 million images pushed through the net, more
work than its 10,000 mini-batches of 100. The meter pushes them through ``network.forward`` (the net's own
forward pass, so the same scores and the same number as ``network.accuracy``) a chunk of rows at a time:

* in buffers kept from one measurement to the next (a ``Workspace`` per thread), not new arrays per chunk;
* shared out to ``workers`` Python threads: NumPy releases the GIL inside its loops and BLAS, so two threads use
  two cores, without OpenBLAS's own threads, which spin while they wait and crawl on cores shared with a server
  or a browser (see ``nn.blas``);
* uint8 pixels are converted as they are (0-255), the 1/255 applied after the first product (see ``forward``).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from nn.functions import as_label_indices
from nn.two_layer_net import EVAL_CHUNK, TwoLayerNet, Workspace



def available_cores(cgroup_root: str = "/sys/fs/cgroup") -> float:
    """The cores this process may use: its CPU affinity, and, in a container with a CPU quota (cgroup v2
    ``cpu.max``, Community Cloud's way), no more than the quota (e.g. 1.0; at least 0.1). ``os.cpu_count()``
    counts the machine's cores, which such a process cannot all use."""
    try:
        cores = float(len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        cores = float(os.cpu_count() or 1)
    try:
        with open(os.path.join(cgroup_root, "cpu.max")) as f:
            quota, period = f.read().split()[:2]
        if quota != "max":
            cores = min(cores, max(0.1, int(quota) / int(period)))
    except (OSError, ValueError):
        pass
    return cores


#: Threads that share out an accuracy measurement: two where two cores can be used, else one (on one core, a
#: second thread only takes turns with the first, and a measurement beside the steps only holds them up).
EVAL_WORKERS = max(1, min(2, int(available_cores())))


class AccuracyMeter:
    """Measures ``network.accuracy(x, t)`` for any network; ``close()`` (or ``with``) ends its threads."""

    def __init__(self, workers: int = EVAL_WORKERS, chunk: int = EVAL_CHUNK) -> None:
        self.chunk = chunk
        self.workers = max(1, workers)
        self.works = [Workspace() for _ in range(self.workers)]
        self.pool = ThreadPoolExecutor(self.workers, thread_name_prefix="sgdlab-eval") if self.workers > 1 else None

    def __enter__(self) -> AccuracyMeter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown()

    def accuracy(self, network: TwoLayerNet, x: np.ndarray, t: np.ndarray) -> float:
        """Fraction of the rows of ``x`` whose highest score is their label: ``network.accuracy(x, t)``."""
        labels = as_label_indices(t)
        x = np.asarray(x)
        if len(x) == 0:
            return float("nan")
        x = x.reshape(len(x), -1)
        starts = range(0, len(x), self.chunk)

        def count(worker: int) -> int:
            work, correct = self.works[worker], 0
            # errstate is per thread, so it is set here, in the thread that counts: a diverged net's exp overflows
            with np.errstate(over="ignore", under="ignore", invalid="ignore"):
                for start in starts[worker :: self.workers]:
                    scores = network.forward(x[start : start + self.chunk], work).a2
                    correct += int(np.count_nonzero(scores.argmax(axis=1) == labels[start : start + self.chunk]))
            return correct

        if self.pool is None:
            return count(0) / len(x)
        return sum(self.pool.map(count, range(self.workers))) / len(x)
