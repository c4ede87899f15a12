"""Plain helpers several test modules share, core only (no Streamlit; the AppTest ones are in app_helpers.py;
fixtures live in conftest.py). Import as ``from tests.helpers import ...``: a test module never imports from
another test module (tests/test_layout.py checks)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent


# -- ``python -m nn`` (test_cli, test_prepare) ---------------------------------------------------------------------


def run_cli(*args, env=None, timeout=300):
    environment = {k: v for k, v in os.environ.items() if k not in ("MNIST_DIR", "SGDLAB_MIRRORS")}
    environment.update(env or {})
    return subprocess.run([sys.executable, "-m", "nn", *args], cwd=REPO, env=environment,
                          capture_output=True, text=True, timeout=timeout)


# -- model files, good and bad (test_model_file, test_model_files_app) ---------------------------------------------


def _members(data: bytes) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        return {key: npz[key] for key in npz.files}


def _npz(members: dict, allow_pickle: bool = False) -> bytes:
    buffer = io.BytesIO()
    if allow_pickle:
        np.savez(buffer, **members)
    else:
        np.savez(buffer, **{k: np.asarray(v) for k, v in members.items()})
    return buffer.getvalue()


def _with_meta(data: bytes, **changes) -> bytes:
    members = _members(data)
    meta = json.loads(str(members["meta"][()]))
    meta.update(changes)
    members["meta"] = np.array(json.dumps(meta))
    return _npz(members)


def _bad_files(good: bytes) -> dict[str, tuple[bytes, str]]:
    members = _members(good)
    missing = {k: v for k, v in members.items() if k != "W2"}
    wrong_shape = dict(members, W1=np.zeros((783, 12), np.float32))
    mismatched = dict(members, W1=np.zeros((784, 11), np.float32))
    nan = dict(members, W2=members["W2"].copy())
    nan["W2"][0, 0] = np.nan
    ints = {k: (v.astype(np.int32) if k in ("W1", "b1", "W2", "b2") else v) for k, v in members.items()}
    pickled = dict(members, W1=np.array([{"evil": 1}], dtype=object))
    bad_json = dict(members, meta=np.array("{not json"))
    not_text_meta = dict(members, meta=np.arange(3))
    return {
        "empty": (b"", "empty"),
        "not a zip": (b"this is not a model file at all" * 10, "not a zip"),
        "truncated": (good[: len(good) // 2], "damaged zip"),
        "missing key": (_npz(missing), "missing W2"),
        "wrong shape": (_npz(wrong_shape), "W1 has shape (783, 12); expected (784, hidden)"),
        "mismatched shapes": (_npz(mismatched), "b1 has shape (12,); expected (11,)"),
        "nan": (_npz(nan), "W2 has 1 non-finite value"),
        "int weights": (_npz(ints), "W1 has dtype int32"),
        "pickle": (_npz(pickled, allow_pickle=True), "pickle"),
        "bad json": (_npz(bad_json), "meta is not valid JSON"),
        "meta not text": (_npz(not_text_meta), "meta must be a single text value"),
        "wrong format": (_with_meta(good, format="something-else"), "not an SGD Lab model"),
        "newer version": (_with_meta(good, version=99), "newer SGD Lab"),
        "sizes mismatch": (_with_meta(good, sizes=[784, 50, 10]), "meta.sizes"),
        "bad config": (_with_meta(good, config={"lr": -1, "hidden": 12}), "meta.config: lr"),
        "bad accuracy": (_with_meta(good, test_acc=7), "meta.test_acc"),
        "bad epochs": (_with_meta(good, epochs=[{"epoch": 0}]), "meta.epochs[0]"),
    }


def child_processes() -> set[int]:
    """The pids of this process's children (Linux: read from /proc)."""
    return {int(p) for p in os.listdir("/proc") if p.isdigit() and _parent_of(int(p)) == os.getpid()}


def _parent_of(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def padded_to(good: bytes, size: int) -> bytes:
    """``good`` (a model file) with a stored member of padding, exactly ``size`` bytes long (still a valid file)."""
    def with_padding(n: int) -> bytes:
        buffer = io.BytesIO(good)
        with zipfile.ZipFile(buffer, "a", zipfile.ZIP_STORED) as archive:
            archive.writestr("padding.bin", bytes(n))
        return buffer.getvalue()

    data = with_padding(1000 + size - len(with_padding(1000)))
    assert len(data) == size
    return data


def noise_data(n_train=600, n_test=200, seed=0):
    """Random uint8 'images' and labels, read-only like MNIST: nothing to learn, for the runner's plumbing."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, (n_train + n_test, 784), dtype=np.uint8)
    t = rng.integers(0, 10, n_train + n_test)
    x.flags.writeable = False
    return (x[:n_train], t[:n_train]), (x[n_train:], t[n_train:])


def synthetic_data(n_train=1000, n_test=300, seed=0):
    """Ten linearly separable blobs of 784 'pixels' in uint8: learnable in a few dozen steps."""
    rng = np.random.default_rng(seed)
    centres = rng.integers(0, 256, size=(10, 784))

    def make(n):
        t = rng.integers(0, 10, size=n)
        x = np.clip(centres[t] + rng.normal(0, 60, size=(n, 784)), 0, 255).astype(np.uint8)
        return x, t.astype(np.uint8)

    return make(n_train), make(n_test)


#: The slide's lines (§4.5), as they read in the project's loop.
SLIDE_LINES = (
    "batch_mask = rng.choice(train_size, batch_size)",
    "x_batch = x_train[batch_mask]",
    "t_batch = t_train[batch_mask]",
    "grad = network.gradient(x_batch, t_batch)",
    "grad = network.numerical_gradient(x_batch, t_batch",
    "for key in ('W1', 'b1', 'W2', 'b2'):",
    "network.params[key] -= learning_rate * grad[key]",
    "iter_per_epoch = ",
    "if i % iter_per_epoch",
)


def small_model_bytes() -> bytes:
    """A genuine model file of a small run (40 steps, 12 hidden units, seed 3 on random pixels): ~60 KB."""
    from nn.model_file import save_run
    from nn.train import TrainConfig, train

    rng = np.random.default_rng(0)
    x, t = rng.integers(0, 256, (300, 784), dtype=np.uint8), rng.integers(0, 10, 300)
    run = train(TrainConfig(iters=40, batch_size=20, hidden=12, seed=3), ((x[:200], t[:200]), (x[200:], t[200:])))
    return save_run(run, name="small")


def wait_until(predicate, timeout=5.0):
    """Poll ``predicate`` every 10 ms until it holds or ``timeout`` seconds pass; its last answer."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()
