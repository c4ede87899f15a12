"""MNIST for SGD Lab: the book's ``load_mnist`` and a richer ``load_dataset`` that says where the data came from.

MNIST (Y. LeCun, C. Cortes, C. J. C. Burges; CC BY-SA 3.0) is looked for, in this order:

1. **directory** — ``data_dir``, or the env var ``MNIST_DIR``: the four IDX files under their standard names
   (``train-images-idx3-ubyte`` …), gzip-compressed (``.gz``) or raw. Their *structure* is checked (magic
   numbers, sizes, 28×28 images, labels 0–9, as many labels as images), not their SHA-256: a user's directory
   may hold an MNIST-format variant on purpose. Pass ``verify=True`` to check the sums as well. A directory that
   was asked for (argument or env var) and is missing or bad is an error, never a silent fallback.
2. **cache** — ``mnist.npz`` in the per-user cache dir (``cache_dir``, else ``$SGDLAB_CACHE_DIR``, else
   ``$XDG_CACHE_HOME/sgdlab``, else ``~/.cache/sgdlab``): the four arrays as uint8 in one compressed ``.npz``
   (no pickle), written once after a download. Its structure is checked on load; a damaged cache is skipped
   (and replaced by the next download).
3. **download** — over HTTPS with ``urllib``, from each mirror in turn until one serves a file whose
   *decompressed* contents have the expected SHA-256. Progress goes to ``progress(bytes_done, bytes_total,
   file_name)`` (per file; ``bytes_total`` is None when the server sends no length). Nothing is written until
   all four files are verified; the cache is then written to a temporary file in the cache dir and renamed into
   place (``os.replace``), so an interrupted download leaves no half-written file.
4. **embedded** — the class-balanced offline sample shipped in ``nn/data/mnist_sample.npz`` (600 images per
   digit from the training set, 100 per digit from the test set; see ``nn/data/README.md``).

Nothing is read without a bound (see "limits" below): a file may be as large as MNIST's (60,000 training or
10,000 test images of 28×28, with their labels) and no larger. A gzip file is decompressed only as far as its
IDX header announces (checked against those sizes first) plus 64 KiB; a download stops at the largest size the
file can have, at an overall deadline (``DEFAULT_DEADLINE`` for all four files) and when a mirror sends less
than ``MIN_RATE`` bytes a second over ``RATE_WINDOW`` seconds (a per-read timeout alone never ends a server that
drips a byte at a time).

Every fault is a ``MnistError`` whose message names the file and what is wrong with it.
Pure NumPy and the standard library.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import socket
import stat
import tempfile
import threading
import time
import urllib.error
import urllib.request
import zlib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np

from nn.messages import Message

MIRRORS: tuple[str, ...] = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)


def default_mirrors(environ: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """``MIRRORS``, or the comma-separated URLs in ``$SGDLAB_MIRRORS`` (a local server in tests, a campus mirror)."""
    env = os.environ if environ is None else environ
    listed = tuple(m.strip() for m in env.get("SGDLAB_MIRRORS", "").split(",") if m.strip())
    return listed or MIRRORS


#: The four files by role, under their standard names (without ``.gz``).
FILE_NAMES: dict[str, str] = {
    "x_train": "train-images-idx3-ubyte",
    "t_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "t_test": "t10k-labels-idx1-ubyte",
}

#: SHA-256 of each file's *decompressed* contents (the same whatever the compression or the mirror).
SHA256: dict[str, str] = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}

IMAGES_MAGIC = 0x00000803  # unsigned bytes, 3 dimensions (count, rows, columns)
LABELS_MAGIC = 0x00000801  # unsigned bytes, 1 dimension (count)
IMAGE_SIDE = 28
FULL_SIZES = (60_000, 10_000)
SOURCES = ("directory", "cache", "download", "embedded")

CACHE_FILE = "mnist.npz"
EMBEDDED_SAMPLE = Path(__file__).resolve().parent / "data" / "mnist_sample.npz"
SAMPLE_PER_CLASS = (600, 100)  # train, test

# -- limits: what SGD Lab accepts as MNIST, and how long it waits for it -------------------------------------------

#: The most images (and labels) a file may hold, by split: MNIST's own sizes. A variant may have fewer, never more.
MAX_IMAGES = {"train": FULL_SIZES[0], "test": FULL_SIZES[1]}
#: Bytes read beyond what a file's IDX header announces, to say how many there are (past that: "more than").
TRAILING_SLACK = 1 << 16
DEFAULT_TIMEOUT = 20.0  # seconds, for connecting and for each read
DEFAULT_DEADLINE = 900.0  # seconds for the whole download: four files, whichever mirrors are tried
MIN_RATE = 20_000  # bytes per second a mirror must send, measured over each RATE_WINDOW (20 kB/s: 11.6 MB in 10 min)
RATE_WINDOW = 30.0  # seconds
_WATCH_INTERVAL = 0.25  # seconds between two looks of a transfer's watchdog
CHUNK_SIZE = 1 << 16
USER_AGENT = "SGD-Lab (python urllib; MNIST loader)"
_GZIP_MAGIC = b"\x1f\x8b"

Progress = Callable[[int, "int | None", str], None]


class MnistError(Exception):
    """MNIST could not be read or fetched; the message says which file and what is wrong."""


class MnistFormatError(MnistError):
    """A file is not a valid (gzipped) IDX file of MNIST's shape."""


class MnistChecksumError(MnistError):
    """A file's decompressed contents do not have the expected SHA-256."""


class MnistDownloadError(MnistError):
    """Every mirror failed; the message has one line per mirror."""


class _DeadlinePassed(MnistDownloadError):
    """The whole download's deadline passed: no other mirror is tried."""


@dataclass(frozen=True)
class CacheDamage:
    """A cache file that is there but cannot be read: where, why, and whether this load already replaced it."""

    path: str
    fault: str
    replaced: bool = False

    def sentence(self) -> str:
        """One line for the command line, e.g. "the cache file ~/.cache/sgdlab/mnist.npz is damaged (not an .npz
        file: it starts with 6e 6f 74 20); it will be replaced by the next download"."""
        then = "it was replaced by this download" if self.replaced else "it will be replaced by the next download"
        return f"the cache file {_short_path(self.path)} is damaged ({self.fault}); {then}"


@dataclass(frozen=True, eq=False, repr=False)
class MnistData:
    """MNIST as uint8 arrays (read-only), and where it came from.

    ``x_train`` (N, 784) and ``x_test`` (M, 784) are pixels 0–255; ``t_train`` (N,) and ``t_test`` (M,) labels
    0–9. ``source`` is one of ``SOURCES``; ``location`` the directory, cache file, URL or sample file used;
    ``notes`` why earlier sources were not used (or anything else worth telling), one sentence each;
    ``damaged_cache`` the cache file that is there but could not be read (None when it is fine or absent).
    """

    x_train: np.ndarray
    t_train: np.ndarray
    x_test: np.ndarray
    t_test: np.ndarray
    source: str
    location: str
    notes: tuple[str, ...] = ()
    damaged_cache: CacheDamage | None = None

    def __post_init__(self) -> None:
        for array in (self.x_train, self.t_train, self.x_test, self.t_test):
            array.flags.writeable = False

    @property
    def n_train(self) -> int:
        return len(self.x_train)

    @property
    def n_test(self) -> int:
        return len(self.x_test)

    @property
    def is_full(self) -> bool:
        """True for the complete data set (60,000 + 10,000 images), False for the embedded sample."""
        return self.source != "embedded" and (self.n_train, self.n_test) == FULL_SIZES

    def describe(self) -> str:
        """One line for people, e.g. ``full MNIST (60,000 + 10,000 images) from ~/.cache/sgdlab/mnist.npz`` (a
        coded ``nn.messages.Message``: "data_full", "data_sample"...)."""
        if self.source == "embedded":
            return Message("data_sample", n_train=self.n_train, n_test=self.n_test)
        if self.source == "download":
            code = "data_full_downloaded" if self.is_full else "data_other_downloaded"
        else:
            code = "data_full" if self.is_full else "data_other"
        return Message(code, n_train=self.n_train, n_test=self.n_test, where=_short_path(self.location))

    def as_tuple(self) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
        """``((x_train, t_train), (x_test, t_test))``, as ``nn.train.train`` takes it."""
        return (self.x_train, self.t_train), (self.x_test, self.t_test)

    def __repr__(self) -> str:
        return f"MnistData({self.describe()!r}, source={self.source!r})"


# ---------------------------------------------------------------------------------------------- IDX parsing


def _split(name: str) -> str:
    """"test" for a file of the test set (``t10k-…``), else "train" (any other name: the larger limit)."""
    return "test" if name.startswith("t10k") else "train"


def idx_size(kind: str, count: int) -> int:
    """The bytes of an IDX file of ``count`` images of 28×28 or ``count`` labels: its header and its payload."""
    return 16 + count * IMAGE_SIDE * IMAGE_SIDE if kind == "images" else 8 + count


def max_file_bytes(name: str, kind: str) -> int:
    """The most bytes file ``name`` may have, gzipped or raw: the largest IDX file of MNIST's size for its split,
    plus gzip's overhead (at most 1 % on data that does not compress) and ``TRAILING_SLACK``."""
    most = idx_size(kind, MAX_IMAGES[_split(name)])
    return most + most // 100 + TRAILING_SLACK


def _idx_layout(head: bytes, name: str, kind: str) -> tuple[int, str]:
    """The whole size of the IDX file whose header is ``head``, and what it holds in words ("20 labels");
    a ``MnistFormatError`` when the header is not one of MNIST's (magic number, 28×28, at most MNIST's count)."""
    magic_expected, ndim = (IMAGES_MAGIC, 3) if kind == "images" else (LABELS_MAGIC, 1)
    magic = int.from_bytes(head[:4], "big")
    if magic != magic_expected:
        hint = ""
        if magic in (IMAGES_MAGIC, LABELS_MAGIC):
            hint = f": this is a file of {'images' if magic == IMAGES_MAGIC else 'labels'}, are the names swapped?"
        raise MnistFormatError(
            f"{name}: bad magic number 0x{magic:08x} (expected 0x{magic_expected:08x} for {kind}){hint}"
        )
    dims = [int.from_bytes(head[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    count = dims[0]
    if kind == "images" and (dims[1], dims[2]) != (IMAGE_SIDE, IMAGE_SIDE):
        raise MnistFormatError(f"{name}: images are {dims[1]}×{dims[2]} pixels, expected {IMAGE_SIDE}×{IMAGE_SIDE}")
    split = _split(name)
    if count > MAX_IMAGES[split]:
        raise MnistFormatError(
            f"{name}: the header announces {count:,} {kind}; MNIST's {'training' if split == 'train' else 'test'} "
            f"set has {MAX_IMAGES[split]:,}, and SGD Lab reads no more"
        )
    what = f"{count} images of {IMAGE_SIDE}×{IMAGE_SIDE}" if kind == "images" else f"{count} labels"
    return idx_size(kind, count), what


def _header_size(kind: str) -> int:
    return 16 if kind == "images" else 8


def parse_idx(data: bytes, name: str, kind: str) -> np.ndarray:
    """The array in the (decompressed) IDX bytes ``data``: images (N, 784) or labels (N,), both uint8.

    ``kind`` is "images" or "labels"; ``name`` is only used in error messages (and says the split: a ``t10k``
    file may hold at most 10,000 images, any other 60,000). The result is a read-only view of ``data`` (no copy).
    """
    header_size = _header_size(kind)
    if len(data) < header_size:
        raise MnistFormatError(
            f"{name}: truncated: {len(data)} bytes, too short for the {header_size}-byte IDX header of {kind}"
        )
    expected, what = _idx_layout(data[:header_size], name, kind)
    if len(data) < expected:
        raise MnistFormatError(
            f"{name}: truncated: header says {what} = {expected} bytes, file has {len(data)}"
        )
    if len(data) > expected + TRAILING_SLACK:
        raise MnistFormatError(
            f"{name}: more than {TRAILING_SLACK:,} bytes of unexpected data after the {what} the header announces"
        )
    if len(data) > expected:
        raise MnistFormatError(
            f"{name}: {len(data) - expected} bytes of unexpected data after the {what} the header announces"
        )
    array = np.frombuffer(data, dtype=np.uint8, count=expected - header_size, offset=header_size)
    array.flags.writeable = False
    if kind == "images":
        return array.reshape(-1, IMAGE_SIDE * IMAGE_SIDE)
    if array.size and array.max() > 9:
        bad = np.flatnonzero(array > 9)
        raise MnistFormatError(
            f"{name}: label values outside 0-9: {len(bad)} of them, the first is {array[bad[0]]} at index {bad[0]}"
        )
    return array


def _guess_kind(name: str) -> str:
    return "images" if "images" in name or "idx3" in name else "labels"


def decompress(data: bytes, name: str, kind: str | None = None) -> bytes | memoryview:
    """The contents of a file read as ``data``: gunzipped when it is gzip data, as is otherwise.

    A file whose name ends in ``.gz`` must be gzip data. Gzip data is decompressed only as far as its IDX header
    (of ``kind``, guessed from the name when None) announces, plus ``TRAILING_SLACK``: a gzip bomb costs no more
    memory than a genuine file of MNIST's size.
    """
    if data[:2] == _GZIP_MAGIC:
        return _gunzip_idx(data, name, kind or _guess_kind(name))
    if name.endswith(".gz"):
        hint = ""
        if int.from_bytes(data[:4], "big") in (IMAGES_MAGIC, LABELS_MAGIC):
            hint = "; it is an uncompressed IDX file: remove '.gz' from its name"
        raise MnistFormatError(f"{name}: not a gzip file (it starts with {data[:4].hex(' ') or 'nothing'}){hint}")
    return data


def _gunzip_idx(data: bytes, name: str, kind: str) -> memoryview:
    """Gzip ``data`` (one member or several) decompressed: first the IDX header, which says how much is to come
    (and must be MNIST's), then at most that much plus ``TRAILING_SLACK`` and one byte, into one buffer of that
    size, 1 MiB at a time; ``parse_idx`` then says what is wrong with the size, if anything."""
    out = bytearray(_header_size(kind))
    filled = 0
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    pending = data

    def pull(limit: int) -> None:  # decompress until ``out`` holds ``limit`` bytes or the data ends
        nonlocal inflater, pending, filled
        while filled < limit:
            if inflater.eof:
                pending = inflater.unused_data
                if not pending:
                    return
                if pending[:2] != _GZIP_MAGIC:
                    raise MnistFormatError(f"{name}: corrupt gzip data ({len(pending):,} bytes of something else "
                                           "after the compressed stream)")
                inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
            elif not pending:
                raise MnistFormatError(f"{name}: truncated gzip data (the compressed stream ends early)")
            chunk = inflater.decompress(pending, min(limit - filled, 1 << 20))
            pending = inflater.unconsumed_tail
            out[filled : filled + len(chunk)] = chunk
            filled += len(chunk)

    try:
        pull(len(out))
        if filled == len(out):
            expected, _ = _idx_layout(bytes(out), name, kind)
            header, out = out, bytearray(expected + TRAILING_SLACK + 1)  # the most it may hold, allocated once
            out[: len(header)] = header
            pull(len(out))
    except zlib.error as exc:
        raise MnistFormatError(f"{name}: corrupt gzip data ({exc})") from None
    return memoryview(out)[:filled]


def check_sha256(data: bytes, name: str, expected: str | None) -> None:
    """Raise ``MnistChecksumError`` unless the SHA-256 of ``data`` is ``expected`` (None: no check)."""
    if expected is None:
        return
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected.lower():
        raise MnistChecksumError(
            f"{name}: checksum mismatch (sha256 {actual[:12]}… expected {expected[:12]}…): "
            "not the genuine MNIST file, or damaged"
        )


def read_idx(path: str | os.PathLike, kind: str | None = None, sha256: str | None = None) -> np.ndarray:
    """The array in one IDX file, gzip-compressed or raw; ``kind`` is guessed from the name when None.

    At most ``max_file_bytes`` are read: a larger file is refused without reading it. Its size and structure are
    checked before its SHA-256 (a file too large or too short is told so, not "checksum mismatch")."""
    path = Path(path)
    kind = kind or _guess_kind(path.name)
    limit = max_file_bytes(path.name, kind)
    try:
        with path.open("rb") as f:
            raw = _read_at_most(f, limit)
    except OSError as exc:
        raise MnistError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    if raw is None:
        raise MnistFormatError(
            f"{path.name}: too large: more than {limit:,} bytes, and a file of at most "
            f"{MAX_IMAGES[_split(path.name)]:,} {kind} is smaller"
        )
    data = decompress(raw, path.name, kind)
    array = parse_idx(data, path.name, kind)
    check_sha256(data, path.name, sha256)
    return array


def _read_at_most(f, limit: int) -> bytes | None:
    """The whole of open file ``f`` if it holds at most ``limit`` bytes, else None (a regular file's size is
    asked first: nothing is read then; anything else is read in chunks up to one byte past the limit)."""
    info = os.fstat(f.fileno())
    if stat.S_ISREG(info.st_mode):
        return f.read() if info.st_size <= limit else None
    chunks, total = [], 0
    while total <= limit:
        chunk = f.read(min(CHUNK_SIZE, limit + 1 - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks) if total <= limit else None


def _kind(key: str) -> str:
    return "images" if key.startswith("x") else "labels"


def _check_pairs(arrays: Mapping[str, np.ndarray], names: Mapping[str, str], where: str) -> None:
    for split in ("train", "test"):
        n_images, n_labels = len(arrays[f"x_{split}"]), len(arrays[f"t_{split}"])
        if n_images != n_labels:
            raise MnistFormatError(
                f"{where}: {split} set has {n_images} images but {n_labels} labels "
                f"({names[f'x_{split}']}, {names[f't_{split}']})"
            )


# ---------------------------------------------------------------------------------------------- directory


def _candidates(directory: Path, name: str) -> list[Path]:
    dotted = name.replace("-idx", ".idx")  # train-images.idx3-ubyte, as some archives name them
    return [directory / name, directory / f"{name}.gz", directory / dotted, directory / f"{dotted}.gz"]


def find_idx_files(directory: str | os.PathLike) -> dict[str, Path]:
    """The four IDX files in ``directory`` by role (raw preferred over ``.gz`` when both are there)."""
    directory = Path(directory).expanduser()
    if not directory.is_dir():
        raise MnistError(f"{directory}: {'not a directory' if directory.exists() else 'no such directory'}")
    found, missing = {}, []
    for key, name in FILE_NAMES.items():
        path = next((p for p in _candidates(directory, name) if p.is_file()), None)
        if path is None:
            missing.append(f"{name}(.gz)")
        else:
            found[key] = path
    if missing:
        raise MnistError(f"{directory}: missing {', '.join(missing)}")
    return found


def read_directory(
    directory: str | os.PathLike, *, verify: bool = False, checksums: Mapping[str, str | None] = SHA256
) -> dict[str, np.ndarray]:
    """The four arrays from the IDX files in ``directory``; ``verify`` also checks their SHA-256."""
    paths = find_idx_files(directory)
    arrays = {
        key: read_idx(path, _kind(key), checksums.get(FILE_NAMES[key]) if verify else None)
        for key, path in paths.items()
    }
    _check_pairs(arrays, {k: p.name for k, p in paths.items()}, str(directory))
    return arrays


# ---------------------------------------------------------------------------------------------- npz files


def default_cache_dir() -> Path:
    """``$SGDLAB_CACHE_DIR``, else ``$XDG_CACHE_HOME/sgdlab``, else ``~/.cache/sgdlab``."""
    if os.environ.get("SGDLAB_CACHE_DIR"):
        return Path(os.environ["SGDLAB_CACHE_DIR"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "sgdlab"


def cache_path(cache_dir: str | os.PathLike | None = None) -> Path:
    """Where the cached MNIST file is (or would be)."""
    return (Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()) / CACHE_FILE


_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")  # a zip archive (an .npz file), or an empty one


def _npz_member_header(archive, key: str) -> tuple[tuple, np.dtype]:
    """The shape and dtype an ``.npy`` member's header announces, read before the member itself."""
    with archive.open(f"{key}.npy") as f:
        version = np.lib.format.read_magic(f)
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, _, dtype = read_header(f)
    return shape, dtype


def read_npz(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """The four uint8 arrays from a cache or sample ``.npz`` file, structure checked (no pickle).

    Each array's header is checked (uint8, (N, 784) or (N,), N at most MNIST's count) before the array is read,
    so a damaged or hostile file never makes it allocate more than MNIST needs."""
    path = Path(path)
    try:
        with path.open("rb") as f:
            start = f.read(4)
    except OSError as exc:
        raise MnistError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    if start not in _ZIP_MAGIC:
        raise MnistFormatError(f"{path.name}: not an .npz file: "
                               f"{'it is empty' if not start else 'it starts with ' + start.hex(' ')}")
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = [key for key in FILE_NAMES if key not in npz.files]
            if missing:
                raise MnistFormatError(f"{path.name}: missing array(s) {', '.join(missing)}")
            for key in FILE_NAMES:
                shape, dtype = _npz_member_header(npz.zip, key)
                _check_npz_array(path.name, key, shape, dtype)
            arrays = {key: npz[key] for key in FILE_NAMES}
    except MnistError:
        raise
    except Exception as exc:  # a damaged file: BadZipFile, zlib.error, ValueError, OSError, EOFError...
        raise MnistFormatError(f"{path.name}: unreadable .npz file ({type(exc).__name__}: {exc})") from None
    for key in ("t_train", "t_test"):
        if arrays[key].size and arrays[key].max() > 9:
            raise MnistFormatError(f"{path.name}: {key} has label values outside 0-9")
    _check_pairs(arrays, {k: k for k in FILE_NAMES}, path.name)
    return arrays


def _check_npz_array(name: str, key: str, shape: tuple, dtype: np.dtype) -> None:
    images = key.startswith("x")
    shape_ok = len(shape) == 2 and shape[1] == IMAGE_SIDE**2 if images else len(shape) == 1
    if dtype != np.uint8 or not shape_ok:
        want = f"(N, {IMAGE_SIDE**2})" if images else "(N,)"
        raise MnistFormatError(f"{name}: {key} is {dtype} {shape}, expected uint8 {want}")
    split = "train" if key.endswith("train") else "test"
    if shape[0] > MAX_IMAGES[split]:
        raise MnistFormatError(
            f"{name}: {key} holds {shape[0]:,} {'images' if images else 'labels'}; MNIST's "
            f"{'training' if split == 'train' else 'test'} set has {MAX_IMAGES[split]:,}, and SGD Lab reads no more"
        )


def write_cache(path: str | os.PathLike, arrays: Mapping[str, np.ndarray], origin: str = "") -> Path:
    """Write the four arrays to ``path`` atomically: a temp file in the same directory, then ``os.replace``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez_compressed(f, **{k: np.ascontiguousarray(arrays[k]) for k in FILE_NAMES}, origin=np.str_(origin))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        try:
            os.unlink(tmp_name)
        except OSError:
            pass
        raise
    return path


# ---------------------------------------------------------------------------------------------- download


def _duration(seconds: float) -> str:
    """``900`` → "15 min", ``3`` → "3 s"."""
    return f"{seconds / 60:g} min" if seconds >= 120 and seconds % 60 == 0 else f"{seconds:g} s"


@dataclass(frozen=True)
class _Limits:
    """What a download may take: ``deadline`` seconds in all (ending at ``deadline_at`` on ``time.monotonic``), at
    least ``min_rate`` bytes a second over each ``window`` seconds, ``timeout`` seconds for each read."""

    deadline: float
    deadline_at: float
    min_rate: float
    window: float
    timeout: float

    @classmethod
    def starting_now(cls, timeout: float, deadline: float | None, min_rate: float | None) -> "_Limits":
        deadline = DEFAULT_DEADLINE if deadline is None else deadline
        min_rate = MIN_RATE if min_rate is None else min_rate
        return cls(deadline, time.monotonic() + deadline, min_rate, RATE_WINDOW, timeout)

    def rules(self) -> str:
        return f"the whole download may take {_duration(self.deadline)} and needs {self.min_rate / 1000:g} kB/s"

    def deadline_error(self) -> "_DeadlinePassed":
        return _DeadlinePassed(f"stopped at the deadline: {self.rules()}")


class _Watchdog:
    """Holds one transfer to the limits from a second thread: once the deadline has passed, or when fewer than
    ``min_rate × window`` bytes came in ``window`` seconds, it shuts the connection's socket down, which ends a read
    blocked on it at once (a per-read timeout never ends a server that sends a byte every few seconds, in its
    headers or its body). The reader counts what it receives in ``received``."""

    def __init__(self, limits: _Limits) -> None:
        self.limits = limits
        self.received = 0
        self.error: MnistDownloadError | None = None  # why the transfer was ended, once it was
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="sgdlab-download-watchdog", daemon=True)

    def __enter__(self) -> "_Watchdog":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def attach(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)
            if self.error is not None:
                self._shut(sock)

    def connection(self, base: type) -> Callable[..., http.client.HTTPConnection]:
        """``base`` (``HTTPConnection`` or ``HTTPSConnection``) whose socket, once connected, is watched."""
        watchdog = self

        class Watched(base):
            def connect(self) -> None:
                super().connect()
                watchdog.attach(self.sock)

        return Watched

    def _watch(self) -> None:
        limits = self.limits
        since, received_then = time.monotonic(), 0
        while not self._stop.wait(min(_WATCH_INTERVAL, limits.window / 4)):
            now = time.monotonic()
            if now >= limits.deadline_at:
                self._end(limits.deadline_error())
                return
            if now - since >= limits.window:
                got = self.received - received_then
                if got < limits.min_rate * (now - since):
                    self._end(MnistDownloadError(f"too slow: {got:,} bytes in {now - since:.0f} s ({limits.rules()})"))
                    return
                since, received_then = now, self.received

    def _end(self, error: MnistDownloadError) -> None:
        with self._lock:
            self.error = error
            for sock in self._sockets:
                self._shut(sock)

    @staticmethod
    def _shut(sock: socket.socket) -> None:
        try:  # the plain socket call, also for an SSL socket: its reader gets an end of file, no SSL state changes
            socket.socket.shutdown(sock, socket.SHUT_RDWR)
        except OSError:  # already closed
            pass


class _WatchedHTTP(urllib.request.HTTPHandler):
    def __init__(self, watchdog: _Watchdog) -> None:
        super().__init__()
        self.watchdog = watchdog

    def http_open(self, req):
        return self.do_open(self.watchdog.connection(http.client.HTTPConnection), req)


class _WatchedHTTPS(urllib.request.HTTPSHandler):
    def __init__(self, watchdog: _Watchdog) -> None:
        super().__init__()
        self.watchdog = watchdog

    def https_open(self, req):
        return self.do_open(self.watchdog.connection(http.client.HTTPSConnection), req, context=self._context)


def _fetch(url: str, name: str, progress: Progress | None, limits: _Limits, limit: int) -> bytes:
    """The body at ``url``, in full, or an ``MnistDownloadError`` saying in one line what went wrong: at most
    ``limit`` bytes (a server announcing or sending more is cut off), within ``limits``."""
    if time.monotonic() >= limits.deadline_at:
        raise limits.deadline_error()
    with _Watchdog(limits) as watchdog:
        try:
            body = _transfer(url, name, progress, watchdog, limit)
        except MnistDownloadError:
            if watchdog.error is None:
                raise
            body = b""
    if watchdog.error is not None:
        raise watchdog.error
    return body


def _transfer(url: str, name: str, progress: Progress | None, watchdog: _Watchdog, limit: int) -> bytes:
    timeout = watchdog.limits.timeout
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    opener = urllib.request.build_opener(_WatchedHTTP(watchdog), _WatchedHTTPS(watchdog))
    total, done = None, 0
    try:
        with opener.open(request, timeout=timeout) as response:
            length = (response.headers.get("Content-Length") or "").strip()
            total = int(length) if length.isdigit() else None
            if total is not None and total > limit:
                raise MnistDownloadError(
                    f"the mirror announces {total:,} bytes, more than {name} can be ({limit:,} at most)"
                )
            chunks = []
            if progress:
                progress(0, total, name)
            while True:
                chunk = response.read1(CHUNK_SIZE)  # what one read brings: the watchdog sees every byte come
                if not chunk:
                    break
                done += len(chunk)
                watchdog.received += len(chunk)
                if done > limit:
                    raise MnistDownloadError(f"the mirror sent more than {name} can be ({limit:,} bytes at most)")
                chunks.append(chunk)
                if progress:
                    progress(done, total, name)
    except urllib.error.HTTPError as exc:
        raise MnistDownloadError(f"HTTP {exc.code} {exc.reason}") from None
    except http.client.IncompleteRead as exc:
        got, expected = done + len(exc.partial), f"{total:,}" if total is not None else "?"
        raise MnistDownloadError(f"transfer interrupted after {got:,} of {expected} bytes") from None
    except urllib.error.URLError as exc:
        reason = exc.reason
        text = reason.strerror if isinstance(reason, OSError) and reason.strerror else str(reason)
        raise MnistDownloadError(f"cannot connect ({text})") from None
    except (socket.timeout, TimeoutError):
        raise MnistDownloadError(f"timed out (no data for {timeout:g} s)") from None
    except (OSError, http.client.HTTPException) as exc:
        raise MnistDownloadError(f"connection failed ({type(exc).__name__}: {exc})") from None
    if total is not None and done != total:
        raise MnistDownloadError(f"transfer interrupted after {done:,} of {total:,} bytes")
    return b"".join(chunks)


def _connection_failure(message: str) -> bool:
    return message.startswith(("cannot connect", "timed out", "connection failed", "too slow"))


def download_arrays(
    mirrors: Sequence[str] = MIRRORS,
    *,
    progress: Progress | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    checksums: Mapping[str, str | None] = SHA256,
    deadline: float | None = None,
    min_rate: float | None = None,
) -> tuple[dict[str, np.ndarray], str]:
    """Download, verify and parse the four files; returns ``(arrays, mirror used)``. Writes nothing to disk.

    For each file the mirrors are tried in order (the one that served the previous file first); a mirror that
    cannot be reached, or is too slow, is not tried again for the other files. ``checksums`` maps each standard
    file name to the SHA-256 of its decompressed contents (tests pass their own; a name it lacks is not checked).
    ``timeout``: seconds for connecting and for each read; ``deadline``: seconds for the whole download
    (``DEFAULT_DEADLINE``); ``min_rate``: bytes a second a mirror must send over each ``RATE_WINDOW`` seconds
    (``MIN_RATE``). A file is never read beyond the largest size it can have (``max_file_bytes``).
    """
    limits = _Limits.starting_now(timeout, deadline, min_rate)
    mirrors = [m if m.endswith("/") else m + "/" for m in mirrors]
    if not mirrors:
        raise MnistDownloadError("no mirrors to download MNIST from")
    for mirror in mirrors:
        if not mirror.startswith(("https://", "http://")):
            raise MnistDownloadError(f"{mirror}: mirrors must be http(s) URLs")
    live = list(mirrors)  # reachable so far, the last one that worked first
    arrays, used = {}, []
    for key, name in FILE_NAMES.items():
        file_name = f"{name}.gz"
        lines = [f"  {m}: skipped (unreachable for an earlier file)" for m in mirrors if m not in live]
        for mirror in list(live):
            try:
                raw = _fetch(mirror + file_name, file_name, progress, limits, max_file_bytes(name, _kind(key)))
                data = decompress(raw, file_name, _kind(key))
                arrays[key] = parse_idx(data, file_name, _kind(key))  # its size and structure, then its checksum
                check_sha256(data, file_name, checksums.get(name))
            except MnistError as exc:
                message = str(exc).removeprefix(f"{file_name}: ")
                lines.append(f"  {mirror}{file_name}: {message}")
                if isinstance(exc, _DeadlinePassed):
                    raise MnistDownloadError(f"could not download {file_name} in time:\n" + "\n".join(lines)) from None
                if isinstance(exc, MnistDownloadError) and _connection_failure(message):
                    live.remove(mirror)
                continue
            live.remove(mirror)
            live.insert(0, mirror)
            used.append(mirror)
            break
        else:
            raise MnistDownloadError(f"could not download {file_name}: every mirror failed:\n" + "\n".join(lines))
    _check_pairs(arrays, {k: f"{n}.gz" for k, n in FILE_NAMES.items()}, "download")
    origin = used[0] if len(set(used)) == 1 else ", ".join(dict.fromkeys(used))
    return arrays, origin


def cache_dir_problem(cache_dir: str | os.PathLike | None = None) -> str | None:
    """Why the cache cannot be written in ``cache_dir`` (a file is where the directory should be, or where one
    of its parents should be), in a few words; None when it can be (or may be: it is made when missing)."""
    directory = cache_path(cache_dir).parent
    for place in (directory, *directory.parents):
        if place.exists():
            if place.is_dir():
                return None
            what = "is a file" if place.is_file() else "is not a directory"
            return f"{place} {what}, not a directory" if place == directory else \
                f"{place} {what}, so it cannot hold the cache directory {directory}"
    return None


def download_mnist(
    cache_dir: str | os.PathLike | None = None,
    mirrors: Sequence[str] = MIRRORS,
    progress: Progress | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    *,
    force: bool = False,
    checksums: Mapping[str, str | None] = SHA256,
    deadline: float | None = None,
    min_rate: float | None = None,
) -> Path:
    """Fill the per-user cache with MNIST and return the cache file's path.

    A valid cache is kept as it is unless ``force`` (a damaged one is replaced). Raises ``MnistDownloadError``
    (one line per mirror) when every mirror fails, and ``MnistError`` when the cache cannot be written (before
    downloading anything when the cache directory is a file).
    """
    path = cache_path(cache_dir)
    problem = cache_dir_problem(cache_dir)
    if problem:
        raise MnistError(f"cannot write the cache: {problem}")
    if not force and path.is_file():
        try:
            read_npz(path)
            return path
        except MnistError:
            pass  # damaged: download again
    arrays, origin = download_arrays(mirrors, progress=progress, timeout=timeout, checksums=checksums,
                                     deadline=deadline, min_rate=min_rate)
    try:
        return write_cache(path, arrays, origin)
    except OSError as exc:
        raise MnistError(f"{path}: cannot write the cache ({exc.strerror or exc})") from None


# ---------------------------------------------------------------------------------------------- loading


def load_embedded(path: str | os.PathLike = EMBEDDED_SAMPLE, notes: tuple[str, ...] = ()) -> MnistData:
    """The offline sample shipped with SGD Lab (600 training and 100 test images per digit)."""
    path = Path(path)
    if not path.is_file():
        raise MnistError(f"{path}: the embedded MNIST sample is missing (run scripts/make_mnist_sample.py)")
    arrays = read_npz(path)
    return MnistData(**arrays, source="embedded", location=str(path), notes=notes)


def load_dataset(
    data_dir: str | os.PathLike | None = None,
    cache_dir: str | os.PathLike | None = None,
    *,
    mirrors: Sequence[str] = MIRRORS,
    progress: Progress | None = None,
    allow_download: bool = True,
    allow_embedded: bool = True,
    timeout: float = DEFAULT_TIMEOUT,
    verify: bool = False,
    checksums: Mapping[str, str | None] = SHA256,
    deadline: float | None = None,
    min_rate: float | None = None,
    dir_name: str | None = None,
) -> MnistData:
    """MNIST from the first source that works: directory, cache, download (then cached), embedded sample.

    ``data_dir`` (or ``$MNIST_DIR``) names a directory of IDX files; when given it is the only source tried,
    and any problem with it raises ``MnistError``. Otherwise the cache in ``cache_dir`` is read, or MNIST is
    downloaded from ``mirrors`` (if ``allow_download``) and cached, or the embedded sample is returned (if
    ``allow_embedded``). ``MnistData.source`` says which; ``MnistData.notes`` why earlier ones were skipped.
    ``verify`` also checks the SHA-256 of a directory's files against ``checksums`` (about 0.03 s more).
    A cache file that is there but damaged is named in ``MnistData.damaged_cache`` (and replaced by a download).
    ``timeout``, ``deadline`` and ``min_rate`` bound the download (``download_arrays``). ``dir_name``: how
    ``data_dir`` was given (``$MNIST_DIR`` is "MNIST_DIR"), to begin its errors with "<dir_name>=<directory>: ".
    """
    if data_dir is None and os.environ.get("MNIST_DIR"):
        data_dir, dir_name = os.environ["MNIST_DIR"], "MNIST_DIR"
    if data_dir is not None:
        directory = Path(data_dir).expanduser()
        try:
            arrays = read_directory(directory, verify=verify, checksums=checksums)
        except MnistError as exc:
            if not dir_name:
                raise
            # "MNIST_DIR=<the directory>: <what is wrong>", never "MNIST_DIR=<a file name>: ..."
            detail = str(exc).removeprefix(f"{directory}: ").replace(f"{directory}{os.sep}", "")
            raise type(exc)(f"{dir_name}={directory}: {detail}") from None
        return MnistData(**arrays, source="directory", location=str(directory))

    notes, damage = [], None
    path = cache_path(cache_dir)
    if path.is_file():
        try:
            return MnistData(**read_npz(path), source="cache", location=str(path))
        except MnistError as exc:
            notes.append(f"cache skipped: {exc}")
            damage = CacheDamage(str(path), str(exc).removeprefix(f"{path.name}: "))
    else:
        notes.append(f"no cache at {_short_path(str(path))}")

    if allow_download:
        try:
            arrays, mirror = download_arrays(mirrors, progress=progress, timeout=timeout, checksums=checksums,
                                             deadline=deadline, min_rate=min_rate)
        except MnistDownloadError as exc:
            notes.append(f"download failed: {exc}")
        else:
            try:
                write_cache(path, arrays, mirror)
            except OSError as exc:
                notes.append(f"downloaded but not cached: {path}: {exc.strerror or exc}")
            else:
                notes.append(f"cached in {_short_path(str(path))}")
                damage = damage and replace(damage, replaced=True)
            return MnistData(**arrays, source="download", location=mirror, notes=tuple(notes), damaged_cache=damage)
    else:
        notes.append("download not allowed")

    if allow_embedded:
        return replace(load_embedded(notes=tuple(notes)), damaged_cache=damage)
    raise MnistError("MNIST is not available (set MNIST_DIR or allow the download):\n" + "\n".join(notes))


def load_mnist(
    normalize: bool = True,
    flatten: bool = True,
    one_hot_label: bool = False,
    *,
    data_dir: str | os.PathLike | None = None,
    cache_dir: str | os.PathLike | None = None,
    **options,
):
    """The book's ``load_mnist``: ``(x_train, t_train), (x_test, t_test)``.

    ``normalize``: pixels as float32 in [0, 1] (else uint8 0–255). ``flatten``: images (N, 784) (else
    (N, 1, 28, 28)). ``one_hot_label``: labels (N, 10) one-hot uint8 (else uint8 digits). The arrays are the
    caller's own (writeable). Other keyword ``options`` go to ``load_dataset``, which says where the data came
    from; call it directly to know.
    """
    data = load_dataset(data_dir, cache_dir, **options)

    def images(x: np.ndarray) -> np.ndarray:
        x = x.astype(np.float32) / np.float32(255) if normalize else x.copy()
        return x if flatten else x.reshape(-1, 1, IMAGE_SIDE, IMAGE_SIDE)

    def labels(t: np.ndarray) -> np.ndarray:
        return one_hot(t) if one_hot_label else t.copy()

    return (images(data.x_train), labels(data.t_train)), (images(data.x_test), labels(data.t_test))


def one_hot(labels: np.ndarray, classes: int = 10) -> np.ndarray:
    """Labels (N,) as one-hot rows (N, classes) of uint8."""
    out = np.zeros((len(labels), classes), dtype=np.uint8)
    out[np.arange(len(labels)), labels] = 1
    return out


def class_balanced_indices(labels: np.ndarray, per_class: int, seed: int) -> np.ndarray:
    """Sorted indices of ``per_class`` examples of every class, drawn without replacement with ``seed``."""
    rng = np.random.default_rng(seed)
    chosen = []
    for digit in range(int(labels.max()) + 1):
        members = np.flatnonzero(labels == digit)
        if len(members) < per_class:
            raise ValueError(f"only {len(members)} examples of class {digit}, {per_class} wanted")
        chosen.append(rng.choice(members, size=per_class, replace=False))
    return np.sort(np.concatenate(chosen))


def _short_path(location: str) -> str:
    """A path with the home directory written ``~`` (URLs unchanged)."""
    if "://" in location:
        return location
    home = str(Path.home())
    if home not in ("", "/") and (location == home or location.startswith(home + os.sep)):
        return "~" + location[len(home) :]
    return location
