"""Before class: make sure full MNIST and the pretrained model are in place, so nothing is downloaded in the room.

``prepare()`` (``python -m nn prepare``) puts full MNIST into the per-user cache (from a directory given or
``$MNIST_DIR``, with the SHA-256 of its files; else downloaded and verified when the cache is missing or
damaged) and the bundled pretrained model, and returns one ``Check`` per thing. ``check_loaded`` says the same
of data already loaded (the app's home page), without reading anything again. Pure: prints nothing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from nn import mnist
from nn.model_file import PRETRAINED_PATH, ModelFileError, load_pretrained


@dataclass(frozen=True)
class Check:
    """One thing the lab needs offline: ``what`` ("mnist" or "pretrained"), whether it is ready, one line."""

    what: str
    ok: bool
    detail: str


def _full(data: mnist.MnistData) -> Check:
    if not data.is_full:
        return Check("mnist", False, f"{data.describe()}: not the full 60,000 + 10,000 images")
    return Check("mnist", True, data.describe())


def _load_full(data_dir, cache_dir) -> tuple[mnist.MnistData | None, Check, mnist.CacheDamage | None]:
    """The data in place (None when it is not), its check, and the cache file found damaged, if any."""
    try:  # the embedded sample only stands for "not in place": it says why (no cache, a damaged one)
        data = mnist.load_dataset(data_dir, cache_dir, allow_download=False, allow_embedded=True, verify=True)
    except mnist.MnistError as exc:  # a bad directory
        return None, Check("mnist", False, f"full MNIST is not in place: {' '.join(str(exc).split())}"), None
    if data.source == "embedded":
        damage = data.damaged_cache
        why = f"cache skipped: {damage.sentence()}" if damage else data.notes[0]  # ... or "no cache at ..."
        return None, Check("mnist", False, f"full MNIST is not in place: {why}"), damage
    return data, _full(data), None


def check_mnist(data_dir: str | os.PathLike | None = None, cache_dir: str | os.PathLike | None = None) -> Check:
    """Full MNIST from ``data_dir`` (or ``$MNIST_DIR``; files' SHA-256 verified) or the cache, read and checked."""
    return _load_full(data_dir, cache_dir)[1]


def check_pretrained(path: str | os.PathLike = PRETRAINED_PATH) -> Check:
    try:
        model = load_pretrained(path)
    except ModelFileError as exc:
        return Check("pretrained", False, str(exc))
    return Check("pretrained", True, model.describe())


def check_loaded(data: mnist.MnistData, cache_dir: str | os.PathLike | None = None) -> Check:
    """Whether ``data`` (already loaded) is full MNIST that a restart finds again without the network."""
    check = _full(data)
    if check.ok and data.source == "download" and not mnist.cache_path(cache_dir).is_file():
        return Check("mnist", False, f"{data.describe()}, but not cached: a restart would download it again")
    return check


def prepare(
    data_dir: str | os.PathLike | None = None,
    cache_dir: str | os.PathLike | None = None,
    *,
    mirrors: Sequence[str] = mnist.MIRRORS,
    progress: mnist.Progress | None = None,
    timeout: float = mnist.DEFAULT_TIMEOUT,
    deadline: float | None = None,
    min_rate: float | None = None,
    pretrained_path: str | os.PathLike = PRETRAINED_PATH,
    allow_download: bool = True,
) -> list[Check]:
    """Put full MNIST into the cache (from the directory given or ``$MNIST_DIR``, verified, or downloaded when
    neither is there and ``allow_download``), then check it and the pretrained model.

    The cache is what the app reads when it is started without ``MNIST_DIR``: a directory that is fine today
    is copied there, so that the lab does not depend on the variable being set again in the room. ``timeout``,
    ``deadline`` and ``min_rate`` bound the download (``nn.mnist.download_arrays``)."""
    problem = mnist.cache_dir_problem(cache_dir)
    if problem:
        return [Check("mnist", False, f"cannot use the cache directory: {problem}"),
                check_pretrained(Path(pretrained_path))]
    data, check, damage = _load_full(data_dir, cache_dir)
    if data is not None and check.ok and data.source == "directory":
        target = mnist.cache_path(cache_dir)
        try:
            mnist.write_cache(target, {"x_train": data.x_train, "t_train": data.t_train, "x_test": data.x_test,
                                       "t_test": data.t_test}, origin=data.location)
        except OSError as exc:
            return [Check("mnist", False, f"could not copy it into the cache {target}: {exc.strerror or exc}"),
                    check_pretrained(Path(pretrained_path))]
        check = Check("mnist", True, f"{check.detail}; copied into the cache {target}")
    elif not check.ok and data_dir is None and not os.environ.get("MNIST_DIR"):
        if not allow_download:
            check = Check("mnist", False, f"{check.detail} (and downloads are off: SGDLAB_OFFLINE or --offline)")
        else:
            try:
                mnist.download_mnist(cache_dir, mirrors, progress, timeout, deadline=deadline, min_rate=min_rate)
            except (mnist.MnistError, OSError) as exc:
                reasons = " ".join(line.strip() for line in str(exc).splitlines())
                check = Check("mnist", False, f"full MNIST could not be downloaded: {reasons}")
            else:
                check = check_mnist(None, cache_dir)
                if check.ok and damage:
                    check = Check("mnist", True, f"{check.detail} (downloaded again: the cache file was damaged)")
    return [check, check_pretrained(Path(pretrained_path))]
