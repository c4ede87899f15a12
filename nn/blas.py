"""How many threads NumPy's OpenBLAS uses, set at run time (pure standard library + NumPy)."""

from __future__ import annotations

import os


def limit_blas_threads(threads: int = 1) -> int | None:
    """Make NumPy's OpenBLAS use ``threads`` threads (process-wide); returns the previous count, or None when
    this NumPy has no OpenBLAS we can reach.

    Why: OpenBLAS spreads each matrix product over every core and its threads spin while they wait. On cores
    shared with a Streamlit server, other visitors' trainings or a browser, that made a training 10-20× slower
    (measured on 2 cores: 150-250 it/s instead of 3,400), and together with the trainer's own evaluation
    threads (``nn.train.EVAL_WORKERS``) it oversubscribes even an idle machine. The mini-batch products
    (100×784 by 784×50) gain nothing from a second BLAS thread; the accuracy measurements are shared out by
    the trainer itself. So the command line and the app's runner both train with one BLAS thread: the same
    run, at the same speed (benchmarks/). Done with ctypes (what threadpoolctl does) to add no dependency;
    setting ``OPENBLAS_NUM_THREADS`` is too late once NumPy is imported.
    """
    import ctypes
    import glob

    import numpy as np

    libs_dir = os.path.join(os.path.dirname(os.path.dirname(np.__file__)), "numpy.libs")
    for path in sorted(glob.glob(os.path.join(libs_dir, "*openblas*.so*"))):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for getter, setter in (
            ("scipy_openblas_get_num_threads64_", "scipy_openblas_set_num_threads64_"),
            ("openblas_get_num_threads64_", "openblas_set_num_threads64_"),
            ("openblas_get_num_threads", "openblas_set_num_threads"),
        ):
            if hasattr(lib, getter) and hasattr(lib, setter):
                previous = int(getattr(lib, getter)())
                getattr(lib, setter)(ctypes.c_int(threads))
                return previous
    return None
