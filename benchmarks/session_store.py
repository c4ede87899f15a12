"""Memory of the reload store (ui.session_store): sessions that are gone, kept for a reload, stay within bounds.

    MNIST_DIR=../shared/data/mnist python -m benchmarks.session_store [--sessions 200] [--runs 8]

Trains the book's run once (full MNIST; the embedded sample without MNIST_DIR), then puts ``--sessions`` sessions
of ``--runs`` runs each into a store with the app's defaults, each run its own copy of the book's arrays (weights,
10,000 losses, W1 snapshots: what a session that is gone leaves behind), and reads the process's resident memory
(VmRSS) before and after, and the store's own count. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import copy
import json
import secrets
import time

from benchmarks.memory import rss_mb


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--runs", type=int, default=8)
    args = parser.parse_args(argv)

    import os

    from nn.mnist import load_dataset
    from nn.train import TrainConfig, train
    from ui import persist, state
    from ui.session_store import SessionStore

    data = load_dataset(data_dir=os.environ.get("MNIST_DIR"))
    book = train(TrainConfig(), data.as_tuple())
    one_run = persist.snapshot_bytes(state.Session(jobs=[_Job(1, book)]))
    del data

    store = SessionStore(size_of=persist.snapshot_bytes)  # the app's defaults
    before = rss_mb(os.getpid())
    started = time.perf_counter()
    for _ in range(args.sessions):
        jobs = [_Job(i + 1, _copy_run(book)) for i in range(args.runs)]
        store.put(secrets.token_hex(16), state.Session(jobs=jobs))
    after = rss_mb(os.getpid())
    print(json.dumps({
        "sessions_put": args.sessions, "runs_each": args.runs, "bytes_per_run": one_run,
        "mb_per_session": round(args.runs * one_run / 2**20, 2),
        "kept_sessions": len(store), "kept_mb": round(store.total_bytes() / 2**20, 1),
        "limit_sessions": store.max_entries, "limit_mb": round(store.max_bytes / 2**20),
        "rss_growth_mb": round(after - before, 1), "seconds": round(time.perf_counter() - started, 2),
        "book_test_acc": book.last.test_acc,
    }))
    return 0


class _Job:
    def __init__(self, job_id, run):
        self.id, self.run = job_id, run


def _copy_run(run):
    """A run with arrays of its own (as every session's runs have)."""
    other = copy.copy(run)
    other.params = {k: v.copy() for k, v in run.params.items()}
    other.losses = run.losses.copy()
    other.snapshots = [(i, w.copy()) for i, w in run.snapshots]
    return other


if __name__ == "__main__":
    raise SystemExit(main())
