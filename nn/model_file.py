"""A trained model as one ``.npz`` file, without pickle: the weights, and what they are (config, sizes, data, date).

Layout (format ``sgd-lab-model``, version 1), every member a plain array:

- ``W1`` (784, hidden), ``b1`` (hidden,), ``W2`` (hidden, 10), ``b2`` (10,): float32 or float64, all one dtype;
- ``meta``: a 0-d unicode array holding a JSON object: ``format``, ``version``, ``sizes`` [784, hidden, 10],
  ``activation``, ``dtype``, ``config`` (``TrainConfig.to_dict()``), ``data_source``, ``created`` (ISO 8601,
  UTC), ``name``, ``status``, ``iterations_done``, ``n_train``, ``n_test``, ``elapsed_s``, ``test_acc`` and
  ``train_acc`` (or null), and ``epochs`` (the per-epoch accuracy records, possibly empty);
- ``loss`` (optional): float32 (iterations_done,), the loss of every iteration;
- ``snapshots`` and ``snapshot_iters`` (optional, together): float16 (k, 784, hidden) copies of W1 taken during
  training and int64 (k,) the iterations they were taken at (``Run.snapshots``, for the hidden-units page);
  ``save_run`` keeps as many as fit in ``MAX_MODEL_BYTES`` (evenly spaced, the latest always);
- ``snapshot_b1`` (k, hidden), ``snapshot_W2`` (k, hidden, 10), ``snapshot_b2`` (k, 10) (optional, together, float16):
  the rest of the weights at each snapshot (``nn.train.Snapshot.rest``, for the loss landscape). Files from before
  they were kept load as before, and so does a file whose three do not fit its snapshots (they are left out, never
  half used): the landscape page then says the run needs retraining to draw its path.

``load_model`` treats its input as untrusted (an upload): a size limit, ``np.load(allow_pickle=False)``, and a
check of every key, shape, dtype, value and JSON field (``meta`` at most ``MAX_META_DEPTH`` levels deep, no number
longer than ``MAX_META_DIGITS`` digits, the config within ``nn.options``' ranges, counts and times bounded); each
fault raises ``ModelFileError`` with one line that names it (a coded ``nn.messages.Message``, which the app shows in
its language), and so does anything else that goes wrong while checking. Values quoted from the file are cut
short. Pure NumPy and the standard library.
"""

from __future__ import annotations

import datetime as _dt
import io
import json
import math
import os
import reprlib
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np

from nn.messages import Message, MessageError
from nn.options import OPTIONS
from nn.train import EpochRecord, Run, Snapshot, TrainConfig
from nn.two_layer_net import PARAM_KEYS, TwoLayerNet

FORMAT = "sgd-lab-model"
VERSION = 1
INPUT_SIZE, OUTPUT_SIZE = 784, 10
MAX_HIDDEN = OPTIONS["hidden"].high  # 1,000: the most hidden units a run may have is the most a file may hold
#: The upload limit, in MB: also ``server.maxUploadSize`` in .streamlit/config.toml (a test checks they agree).
#: The book's run (784-50-10, float32, 10,000 losses) saves to 1.4 MB with its 18 W1 snapshots (190 KB
#: without); a float64 784-1000-10 model with 100,000 losses is about 7 MB (save_run keeps the snapshots that fit).
MAX_MODEL_MB = 8
#: In bytes: decimal megabytes, as Streamlit's uploader counts ``maxUploadSize`` in the browser (1 MB = 1,000,000
#: bytes except on Windows; its server allows up to ``maxUploadSize`` MiB, a little more). So a file of exactly
#: 8,000,000 bytes is taken by the uploader and by ``load_model``, and one byte more is refused by both.
MAX_MODEL_BYTES = MAX_MODEL_MB * 1000 * 1000
MAX_SNAPSHOTS = 64
_RUN_STATUSES = ("finished", "stopped", "diverged")
#: Limit on the *decompressed* members (so a small zip cannot expand into gigabytes; an upload is kept in the
#: session's memory): weights, losses and snapshots compress little, so a genuine file unpacks to ~1-1.5 times it.
MAX_UNPACKED_BYTES = 3 * MAX_MODEL_BYTES
MAX_META_CHARS = 1_000_000
#: ``meta`` nests 3 levels (meta → epochs → a record); deeper is not a model file (and 100,000 levels would
#: exhaust Python's recursion). A whole number in ``meta`` has at most this many digits (Python refuses to read
#: more than 4,300; a genuine file's largest is a seed of 10 digits).
MAX_META_DEPTH = 8
MAX_META_DIGITS = 100
#: Bounds of the counts and times a file states: images (far beyond MNIST's 70,000) and seconds (31 years).
MAX_IMAGES = 10_000_000
MAX_ELAPSED_S = 1_000_000_000
PRETRAINED_PATH = Path(__file__).resolve().parent / "data" / "pretrained.npz"
_MEMBERS = (*PARAM_KEYS, "meta")
_OPTIONAL = ("loss", "snapshots", "snapshot_iters", "snapshot_b1", "snapshot_W2", "snapshot_b2")
#: The rest of the weights at each snapshot, after W1 (``nn.train.Snapshot.rest``).
_SNAPSHOT_REST = ("b1", "W2", "b2")
_EPOCH_FIELDS = ("epoch", "iteration", "train_acc", "test_acc", "elapsed_s")


class ModelFileError(MessageError, ValueError):
    """A model file that cannot be used; the message is one line naming the fault (a coded ``Message``)."""


@dataclass(frozen=True, eq=False)
class ModelFile:
    """A loaded model: read-only weights, the parsed ``meta`` JSON and the optional per-iteration losses."""

    params: dict[str, np.ndarray]
    meta: dict[str, Any]
    losses: np.ndarray | None = None
    epochs: list[EpochRecord] = field(default_factory=list)
    snapshots: list[tuple[int, np.ndarray]] = field(default_factory=list)  # (iteration, W1 as float16)

    @property
    def config(self) -> TrainConfig:
        return TrainConfig.from_dict(self.meta["config"])

    @property
    def sizes(self) -> tuple[int, int, int]:
        return tuple(self.meta["sizes"])

    @property
    def test_acc(self) -> float | None:
        return self.meta.get("test_acc")

    @property
    def name(self) -> str:
        return self.meta.get("name") or self.config.label()

    def describe(self) -> str:
        """One line, e.g. ``784-50-10 sigmoid net · lr 0.1 · batch 100 · 10k it · test accuracy 94.6%``."""
        n_in, hidden, n_out = self.sizes
        text = f"{n_in}-{hidden}-{n_out} {self.meta['activation']} net · {self.config.label()}"
        if self.test_acc is not None:
            text += f" · test accuracy {self.test_acc:.1%}"
        return text

    def network(self) -> TwoLayerNet:
        """A network with (a copy of) these weights."""
        return TwoLayerNet.from_params(self.params)

    def to_run(self) -> Run:
        """A finished ``nn.train.Run`` record rebuilt from the file (for the curves and the other pages)."""
        meta = self.meta
        losses = np.array(self.losses, dtype=np.float64) if self.losses is not None else np.zeros(0)
        return Run(
            config=self.config,
            n_train=int(meta.get("n_train") or 0),
            n_test=int(meta.get("n_test") or 0),
            data_source=str(meta.get("data_source", "")),
            status=str(meta.get("status") or "finished"),
            losses=losses,
            iterations_done=int(meta.get("iterations_done") or len(losses)),
            epochs=list(self.epochs),
            params={key: np.array(value) for key, value in self.params.items()},
            snapshots=list(self.snapshots),
            elapsed_s=float(meta.get("elapsed_s") or 0.0),
        )


# ------------------------------------------------------------------------------------------------- saving


def save_model(
    target: str | os.PathLike | IO[bytes] | None,
    params: dict[str, np.ndarray],
    config: TrainConfig,
    *,
    test_acc: float | None = None,
    train_acc: float | None = None,
    data_source: str = "",
    losses: np.ndarray | None = None,
    epochs: list[EpochRecord] | None = None,
    name: str = "",
    status: str = "finished",
    n_train: int = 0,
    n_test: int = 0,
    elapsed_s: float = 0.0,
    created: _dt.datetime | None = None,
    snapshots: list[tuple[int, np.ndarray]] | None = None,
) -> bytes:
    """Write the model to ``target`` (a path or a binary file; None: nowhere) and return the file's bytes."""
    arrays = {key: np.asarray(params[key]) for key in PARAM_KEYS}
    dtype = arrays["W1"].dtype
    arrays = {key: np.ascontiguousarray(value, dtype=dtype) for key, value in arrays.items()}
    n_in, hidden = arrays["W1"].shape
    losses = None if losses is None else np.asarray(losses, dtype=np.float32).reshape(-1)
    created = created or _dt.datetime.now(_dt.timezone.utc)
    meta = {
        "format": FORMAT,
        "version": VERSION,
        "sizes": [int(n_in), int(hidden), int(arrays["W2"].shape[1])],
        "activation": config.activation,
        "dtype": str(dtype),
        "config": config.to_dict(),
        "data_source": data_source,
        "created": created.isoformat(timespec="seconds"),
        "name": name,
        "status": status,
        "iterations_done": int(len(losses)) if losses is not None else int(config.iters),
        "n_train": int(n_train),
        "n_test": int(n_test),
        "elapsed_s": round(float(elapsed_s), 3),
        "test_acc": None if test_acc is None else float(test_acc),
        "train_acc": None if train_acc is None else float(train_acc),
        "epochs": [asdict(e) for e in (epochs or [])],
    }
    members = dict(arrays, meta=np.array(json.dumps(meta, ensure_ascii=False)))
    if losses is not None:
        members["loss"] = losses
    if snapshots:
        members["snapshot_iters"] = np.array([it for it, _ in snapshots], dtype=np.int64)
        members["snapshots"] = np.stack([np.asarray(w, dtype=np.float16) for _, w in snapshots])
        if all(getattr(w, "rest", None) for _, w in snapshots):  # every one: b1, W2 and b2 too
            for key in _SNAPSHOT_REST:
                members[f"snapshot_{key}"] = np.stack([np.asarray(w.rest[key], dtype=np.float16) for _, w in snapshots])
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **members)
    data = buffer.getvalue()
    if target is not None:
        if hasattr(target, "write"):
            target.write(data)
        else:
            Path(target).write_bytes(data)
    return data


def fitting_snapshots(snapshots: list[tuple[int, np.ndarray]], budget: int) -> list[tuple[int, np.ndarray]]:
    """As many of ``snapshots`` as fit in ``budget`` bytes (uncompressed), evenly spaced, the latest kept."""
    snapshots = list(snapshots)[-MAX_SNAPSHOTS:]
    if not snapshots:
        return []
    rest = getattr(snapshots[0][1], "rest", None) or {}
    room = max(0, budget) // max(1, (snapshots[0][1].size + sum(r.size for r in rest.values())) * 2)
    if room >= len(snapshots):
        return snapshots
    if room < 2:
        return snapshots[-1:] if room == 1 else []
    picks = np.linspace(0, len(snapshots) - 1, room).round().astype(int)
    return [snapshots[i] for i in sorted(set(picks))]


def save_run(run: Run, target: str | os.PathLike | IO[bytes] | None = None, *, name: str = "",
             max_bytes: int = MAX_MODEL_BYTES, data_source: str | None = None) -> bytes:
    """Save a run's current weights, configuration and history (see ``save_model``), with the W1 snapshots that
    fit in ``max_bytes`` (the upload limit) besides the rest. ``data_source`` replaces the run's own description of
    its data (the app passes one without the server's paths)."""
    last = run.last
    done = run.iterations_done
    base = sum(np.asarray(v).nbytes for v in run.params.values()) + 4 * done + 64 * 1024
    return save_model(
        target,
        {key: np.array(run.params[key]) for key in PARAM_KEYS},
        run.config,
        test_acc=last.test_acc if last else None,
        train_acc=last.train_acc if last else None,
        data_source=run.data_source if data_source is None else data_source,
        losses=np.asarray(run.losses[:done]),
        epochs=list(run.epochs),
        name=name,
        status=run.status,
        n_train=run.n_train,
        n_test=run.n_test,
        elapsed_s=run.elapsed_s,
        snapshots=fitting_snapshots(run.snapshots, max_bytes - base),
    )


# ------------------------------------------------------------------------------------------------ loading


def load_model(source: str | os.PathLike | bytes | IO[bytes], max_bytes: int = MAX_MODEL_BYTES) -> ModelFile:
    """A model from a path, the file's bytes or a binary file object; any fault raises ``ModelFileError``."""
    data = _read_limited(source, max_bytes)
    try:
        return _load(data)
    except ModelFileError:
        raise
    except Exception as exc:  # noqa: BLE001 - a fault no check foresaw: still one line, never a traceback
        raise ModelFileError(Message("model_fault", error=f"{type(exc).__name__}: {_one_line(exc)}")) from None


def _load(data: bytes) -> ModelFile:
    if not data:
        raise ModelFileError(Message("file_empty"))
    if not data.startswith(b"PK\x03\x04"):
        raise ModelFileError(Message("not_zip"))
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise ModelFileError(Message("damaged_zip", error=str(exc))) from None
    unpacked = sum(info.file_size for info in infos)
    if unpacked > MAX_UNPACKED_BYTES:
        raise ModelFileError(Message("unpacks_too_large", size=unpacked / 1e6, limit=MAX_UNPACKED_BYTES // 10**6))
    names = {info.filename.removesuffix(".npy") for info in infos}
    missing = [key for key in _MEMBERS if key not in names]
    if missing:
        raise ModelFileError(Message("missing_members", keys=", ".join(missing)))
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            arrays = {key: _member(npz, key) for key in (*_MEMBERS, *_OPTIONAL) if key in names}
    except ModelFileError:
        raise
    except Exception as exc:  # zlib, truncated members, bad .npy headers...
        raise ModelFileError(Message("unreadable", error=_one_line(exc))) from None
    params = _check_params(arrays)
    meta = _check_meta(arrays["meta"], params)
    losses = _check_losses(arrays.get("loss"), meta)
    epochs = _check_epochs(meta.get("epochs", []), meta)
    snapshots = _check_snapshots(arrays.get("snapshots"), arrays.get("snapshot_iters"), params["W1"].shape, meta)
    snapshots = _with_rest(snapshots, arrays, params)
    for value in (*params.values(), *([] if losses is None else [losses]), *(w for _, w in snapshots)):
        value.flags.writeable = False
    return ModelFile(params=params, meta=meta, losses=losses, epochs=epochs, snapshots=snapshots)


def load_pretrained(path: str | os.PathLike = PRETRAINED_PATH) -> ModelFile:
    """The model shipped with SGD Lab (made by ``scripts/train_pretrained.py``)."""
    if not Path(path).is_file():
        raise ModelFileError(Message("pretrained_missing", path=str(path)))
    try:
        return load_model(path)
    except ModelFileError as exc:
        raise ModelFileError(Message("pretrained_fault", path=str(path), fault=str(exc))) from None


def _read_limited(source, max_bytes: int) -> bytes:
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    elif hasattr(source, "read"):
        data = source.read(max_bytes + 1)
    else:
        path = Path(source)
        try:
            size = path.stat().st_size
            if size > max_bytes:
                raise ModelFileError(_too_big(size, max_bytes))
            data = path.read_bytes()
        except OSError as exc:
            raise ModelFileError(Message("cannot_read", path=str(path), error=str(exc.strerror or exc))) from None
    if len(data) > max_bytes:
        raise ModelFileError(_too_big(len(data), max_bytes))
    return data


def _too_big(size: int, limit: int) -> Message:
    return Message("too_large", size=size, limit=limit, mb=f"{limit / 1e6:g}")


def _one_line(exc: BaseException, most: int = 200) -> str:
    text = str(exc).strip().splitlines()
    line = text[0] if text else type(exc).__name__
    return line if len(line) <= most else line[: most - 1] + "…"


_REPR = reprlib.Repr()  # (keyword arguments only from Python 3.12)
_REPR.maxlevel, _REPR.maxlist, _REPR.maxtuple, _REPR.maxdict = 3, 8, 8, 8
_REPR.maxstring, _REPR.maxlong, _REPR.maxother = 80, 40, 80


class _Shown(str):
    """A value quoted from the file in a message (``{value!r}``): its repr, cut short whatever its size."""

    def __repr__(self) -> str:
        return str(self)


def _shown(value: Any) -> _Shown:
    return _Shown(_REPR.repr(value))


def _meta_int(text: str) -> int:
    """``json.loads``' reader of whole numbers: refuses one of more than ``MAX_META_DIGITS`` digits (Python would
    take seconds over, or refuse, a number of thousands)."""
    digits = len(text.lstrip("-"))
    if digits > MAX_META_DIGITS:
        raise ModelFileError(Message("meta_long_number", digits=digits, most=MAX_META_DIGITS))
    return int(text)


def _depth(value: Any) -> int:
    """How many levels of lists and objects ``value`` nests (0 for a plain value), without recursion."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, (dict, list)):
            level += 1
            deepest = max(deepest, level)
            if level <= MAX_META_DEPTH:  # no need to look further down
                stack.extend((child, level) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def _member(npz, key: str) -> np.ndarray:
    try:
        return npz[key]
    except ValueError as exc:
        if "pickle" in str(exc).lower():
            raise ModelFileError(Message("pickle_refused", key=key)) from None
        raise ModelFileError(Message("member_unreadable", key=key, error=_one_line(exc))) from None


def _check_params(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    params = {key: arrays[key] for key in PARAM_KEYS}
    for key, value in params.items():
        if value.dtype not in (np.float32, np.float64):
            raise ModelFileError(Message("bad_dtype", key=key, dtype=str(value.dtype)))
    dtypes = {str(value.dtype) for value in params.values()}
    if len(dtypes) > 1:
        raise ModelFileError(Message("mixed_dtypes", dtypes=", ".join(sorted(dtypes))))
    W1, b1, W2, b2 = (params[key] for key in PARAM_KEYS)
    if W1.ndim != 2 or W1.shape[0] != INPUT_SIZE or not 1 <= W1.shape[1] <= MAX_HIDDEN:
        raise ModelFileError(Message("bad_w1_shape", shape=W1.shape, n_in=INPUT_SIZE, most=MAX_HIDDEN))
    hidden = W1.shape[1]
    expected = {"b1": (hidden,), "W2": (hidden, OUTPUT_SIZE), "b2": (OUTPUT_SIZE,)}
    for key, shape in expected.items():
        if params[key].shape != shape:
            raise ModelFileError(Message("bad_shape", key=key, shape=params[key].shape, expected=shape, w1=W1.shape))
    for key, value in params.items():
        bad = int(np.count_nonzero(~np.isfinite(value)))
        if bad:
            raise ModelFileError(Message("non_finite_many" if bad > 1 else "non_finite_one", key=key, count=bad))
    return params


def _check_meta(array: np.ndarray, params: dict[str, np.ndarray]) -> dict[str, Any]:
    if array.dtype.kind != "U" or array.shape != ():
        raise ModelFileError(Message("meta_not_text", dtype=str(array.dtype), shape=array.shape))
    text = str(array[()])
    if len(text) > MAX_META_CHARS:
        raise ModelFileError(Message("meta_too_long", length=len(text)))
    try:
        meta = json.loads(text, parse_int=_meta_int)
    except json.JSONDecodeError as exc:
        raise ModelFileError(Message("meta_not_json", error=_one_line(exc))) from None
    except ModelFileError:  # a number too long (_meta_int)
        raise
    except RecursionError:  # nested far too deep for Python's reader
        raise ModelFileError(Message("meta_too_deep", most=MAX_META_DEPTH)) from None
    except ValueError as exc:  # any other value the reader refuses
        raise ModelFileError(Message("meta_not_json", error=_one_line(exc))) from None
    if _depth(meta) > MAX_META_DEPTH:
        raise ModelFileError(Message("meta_too_deep", most=MAX_META_DEPTH))
    if not isinstance(meta, dict):
        raise ModelFileError(Message("meta_not_object"))
    if meta.get("format") != FORMAT:
        raise ModelFileError(Message("not_sgdlab", got=_shown(meta.get("format")), want=FORMAT))
    version = meta.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ModelFileError(Message("meta_version", value=_shown(version)))
    if version > VERSION:
        raise ModelFileError(Message("newer_format", version=version, reads=VERSION))
    sizes = [INPUT_SIZE, params["W1"].shape[1], OUTPUT_SIZE]
    if meta.get("sizes") != sizes:
        raise ModelFileError(Message("meta_sizes", got=_shown(meta.get("sizes")), sizes=sizes))
    if meta.get("dtype") != str(params["W1"].dtype):
        raise ModelFileError(Message("meta_dtype", got=_shown(meta.get("dtype")), dtype=str(params["W1"].dtype)))
    config_values = meta.get("config")
    if not isinstance(config_values, dict):
        raise ModelFileError(Message("meta_config_missing"))
    try:
        config = TrainConfig.from_dict(config_values)
    except TypeError as exc:
        raise ModelFileError(Message("meta_config_malformed", error=_one_line(exc))) from None
    problems = config.errors()
    if problems:
        raise ModelFileError(Message("meta_config_problem", problem=problems[0]))
    if config.hidden != sizes[1]:
        raise ModelFileError(Message("meta_hidden", hidden=config.hidden, units=sizes[1]))
    if meta.get("activation") != config.activation:
        raise ModelFileError(Message("meta_activation", got=_shown(meta.get("activation")), want=config.activation))
    for key in ("test_acc", "train_acc"):
        value = meta.get(key)
        if value is not None and not (_is_number(value) and 0 <= value <= 1):
            raise ModelFileError(Message("meta_fraction", key=key, value=_shown(value)))
    for key in ("iterations_done", "n_train", "n_test"):
        value = meta.get(key, 0)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ModelFileError(Message("meta_count", key=key, value=_shown(value)))
        most = config.iters if key == "iterations_done" else MAX_IMAGES  # a run does at most its config's iters
        if value > most:
            raise ModelFileError(Message("meta_count_range", key=key, most=most, value=_shown(value)))
    for key in ("data_source", "created", "name", "status"):
        if not isinstance(meta.get(key, ""), str):
            raise ModelFileError(Message("meta_text", key=key, value=_shown(meta.get(key))))
    if meta.get("status") and meta["status"] not in _RUN_STATUSES:
        raise ModelFileError(Message("meta_status", got=_shown(meta["status"]), statuses=", ".join(_RUN_STATUSES)))
    elapsed = meta.get("elapsed_s", 0)
    if not _is_number(elapsed):
        raise ModelFileError(Message("meta_elapsed", value=_shown(elapsed)))
    if not 0 <= elapsed <= MAX_ELAPSED_S:
        raise ModelFileError(Message("meta_elapsed_range", most=MAX_ELAPSED_S, value=_shown(elapsed)))
    return meta


def _check_losses(losses: np.ndarray | None, meta: dict[str, Any]) -> np.ndarray | None:
    if losses is None:
        return None
    if losses.dtype not in (np.float32, np.float64) or losses.ndim != 1:
        raise ModelFileError(Message("loss_bad", dtype=str(losses.dtype), shape=losses.shape))
    if not np.all(np.isfinite(losses)):
        raise ModelFileError(Message("loss_non_finite"))
    done = meta.get("iterations_done", len(losses))
    if len(losses) != done:
        raise ModelFileError(Message("loss_length", count=len(losses), done=done))
    return losses


def _check_snapshots(snapshots: np.ndarray | None, iters: np.ndarray | None, w1_shape: tuple[int, int],
                     meta: dict[str, Any]) -> list[tuple[int, np.ndarray]]:
    if snapshots is None and iters is None:
        return []
    if snapshots is None or iters is None:
        raise ModelFileError(Message("snapshots_alone"))
    if snapshots.dtype != np.float16 or snapshots.ndim != 3 or snapshots.shape[1:] != w1_shape:
        raise ModelFileError(Message("snapshots_bad", dtype=str(snapshots.dtype), shape=snapshots.shape,
                                     n_in=w1_shape[0], hidden=w1_shape[1]))
    if iters.dtype.kind not in "iu" or iters.shape != (len(snapshots),) or len(iters) > MAX_SNAPSHOTS:
        raise ModelFileError(Message("snapshot_iters_bad", dtype=str(iters.dtype), shape=iters.shape,
                                     count=len(snapshots), most=MAX_SNAPSHOTS))
    done = meta.get("iterations_done", 0)
    if len(iters) and (np.any(np.diff(iters) <= 0) or iters[0] < 0 or iters[-1] > done):
        raise ModelFileError(Message("snapshot_iters_order", done=done))
    if not np.all(np.isfinite(snapshots)):
        raise ModelFileError(Message("snapshots_non_finite"))
    return [(int(it), w) for it, w in zip(iters, snapshots)]


def _with_rest(snapshots: list[tuple[int, np.ndarray]], arrays: dict[str, np.ndarray],
               params: dict[str, np.ndarray]) -> list[tuple[int, np.ndarray]]:
    """The snapshots with b1, W2 and b2 alongside (``nn.train.Snapshot``) when the file has all three, float16, one
    per snapshot, of the weights' shapes and finite; else as they are (W1 only: the file is still a good model)."""
    rest = [arrays.get(f"snapshot_{key}") for key in _SNAPSHOT_REST]
    k = len(snapshots)
    if not k or any(r is None for r in rest):
        return snapshots
    for r, key in zip(rest, _SNAPSHOT_REST):
        if r.dtype != np.float16 or r.shape != (k, *params[key].shape) or not np.all(np.isfinite(r)):
            return snapshots
    for r in rest:
        r.flags.writeable = False
    kept = []
    for j, (it, w) in enumerate(snapshots):
        snap = w.view(Snapshot)
        snap.rest = {key: r[j] for key, r in zip(_SNAPSHOT_REST, rest)}
        kept.append((it, snap))
    return kept


def _check_epochs(records: Any, meta: dict[str, Any]) -> list[EpochRecord]:
    if not isinstance(records, list):
        raise ModelFileError(Message("epochs_not_list"))
    epochs = []
    for i, record in enumerate(records):
        if not isinstance(record, dict) or not all(_is_number(record.get(k)) for k in _EPOCH_FIELDS):
            raise ModelFileError(Message("epoch_fields", index=i, fields=", ".join(_EPOCH_FIELDS)))
        if not (0 <= record["train_acc"] <= 1 and 0 <= record["test_acc"] <= 1):
            raise ModelFileError(Message("epoch_accuracy", index=i))
        if not 0 <= record["iteration"] <= meta.get("iterations_done", 0):
            raise ModelFileError(Message("epoch_beyond", index=i, iteration=_shown(record["iteration"])))
        epochs.append(
            EpochRecord(
                epoch=float(record["epoch"]),
                iteration=int(record["iteration"]),
                train_acc=float(record["train_acc"]),
                test_acc=float(record["test_acc"]),
                elapsed_s=float(record["elapsed_s"]),
                final=bool(record.get("final", False)),
            )
        )
    return epochs


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
