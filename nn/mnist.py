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

Every fault is a ``MnistError`` whose message names the file and what is wrong with it.
Pure NumPy and the standard library.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import os
import socket
import tempfile
import urllib.error
import urllib.request
import zlib
from dataclasses import dataclass
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

DEFAULT_TIMEOUT = 20.0  # seconds, for connecting and for each read
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


@dataclass(frozen=True, eq=False, repr=False)
class MnistData:
    """MNIST as uint8 arrays (read-only), and where it came from.

    ``x_train`` (N, 784) and ``x_test`` (M, 784) are pixels 0–255; ``t_train`` (N,) and ``t_test`` (M,) labels
    0–9. ``source`` is one of ``SOURCES``; ``location`` the directory, cache file, URL or sample file used;
    ``notes`` why earlier sources were not used (or anything else worth telling), one sentence each.
    """

    x_train: np.ndarray
    t_train: np.ndarray
    x_test: np.ndarray
    t_test: np.ndarray
    source: str
    location: str
    notes: tuple[str, ...] = ()

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


def parse_idx(data: bytes, name: str, kind: str) -> np.ndarray:
    """The array in the (decompressed) IDX bytes ``data``: images (N, 784) or labels (N,), both uint8.

    ``kind`` is "images" or "labels"; ``name`` is only used in error messages. The result is a read-only view
    of ``data`` (no copy).
    """
    magic_expected, ndim = (IMAGES_MAGIC, 3) if kind == "images" else (LABELS_MAGIC, 1)
    header_size = 4 + 4 * ndim
    if len(data) < header_size:
        raise MnistFormatError(
            f"{name}: truncated: {len(data)} bytes, too short for the {header_size}-byte IDX header of {kind}"
        )
    magic = int.from_bytes(data[:4], "big")
    if magic != magic_expected:
        hint = ""
        if magic in (IMAGES_MAGIC, LABELS_MAGIC):
            hint = f": this is a file of {'images' if magic == IMAGES_MAGIC else 'labels'}, are the names swapped?"
        raise MnistFormatError(
            f"{name}: bad magic number 0x{magic:08x} (expected 0x{magic_expected:08x} for {kind}){hint}"
        )
    dims = [int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4)]
    count = dims[0]
    if kind == "images":
        rows, cols = dims[1], dims[2]
        if (rows, cols) != (IMAGE_SIDE, IMAGE_SIDE):
            raise MnistFormatError(
                f"{name}: images are {rows}×{cols} pixels, expected {IMAGE_SIDE}×{IMAGE_SIDE}"
            )
        expected = header_size + count * rows * cols
        what = f"{count} images of {rows}×{cols}"
    else:
        expected = header_size + count
        what = f"{count} labels"
    if len(data) < expected:
        raise MnistFormatError(
            f"{name}: truncated: header says {what} = {expected} bytes, file has {len(data)}"
        )
    if len(data) > expected:
        raise MnistFormatError(
            f"{name}: {len(data) - expected} bytes of unexpected data after the {what} the header announces"
        )
    array = np.frombuffer(data, dtype=np.uint8, offset=header_size)
    if kind == "images":
        return array.reshape(count, IMAGE_SIDE * IMAGE_SIDE)
    if count and array.max() > 9:
        bad = np.flatnonzero(array > 9)
        raise MnistFormatError(
            f"{name}: label values outside 0-9: {len(bad)} of them, the first is {array[bad[0]]} at index {bad[0]}"
        )
    return array


def decompress(data: bytes, name: str) -> bytes:
    """The contents of a file read as ``data``: gunzipped when it is gzip data, as is otherwise.

    A file whose name ends in ``.gz`` must be gzip data.
    """
    if data[:2] == _GZIP_MAGIC:
        try:
            return gzip.decompress(data)
        except EOFError:
            raise MnistFormatError(f"{name}: truncated gzip data (the compressed stream ends early)") from None
        except (gzip.BadGzipFile, zlib.error, OSError) as exc:
            raise MnistFormatError(f"{name}: corrupt gzip data ({exc})") from None
    if name.endswith(".gz"):
        hint = ""
        if int.from_bytes(data[:4], "big") in (IMAGES_MAGIC, LABELS_MAGIC):
            hint = "; it is an uncompressed IDX file: remove '.gz' from its name"
        raise MnistFormatError(f"{name}: not a gzip file (it starts with {data[:4].hex(' ') or 'nothing'}){hint}")
    return data


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
    """The array in one IDX file, gzip-compressed or raw; ``kind`` is guessed from the name when None."""
    path = Path(path)
    if kind is None:
        kind = "images" if "images" in path.name or "idx3" in path.name else "labels"
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise MnistError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    data = decompress(raw, path.name)
    check_sha256(data, path.name, sha256)
    return parse_idx(data, path.name, kind)


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


def read_npz(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """The four uint8 arrays from a cache or sample ``.npz`` file, structure checked (no pickle)."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = [key for key in FILE_NAMES if key not in npz.files]
            if missing:
                raise MnistFormatError(f"{path.name}: missing array(s) {', '.join(missing)}")
            arrays = {key: npz[key] for key in FILE_NAMES}
    except MnistError:
        raise
    except Exception as exc:  # a damaged file: BadZipFile, zlib.error, ValueError, OSError, EOFError...
        raise MnistFormatError(f"{path.name}: unreadable .npz file ({type(exc).__name__}: {exc})") from None
    for key, array in arrays.items():
        shape_ok = array.ndim == 2 and array.shape[1] == IMAGE_SIDE**2 if key.startswith("x") else array.ndim == 1
        if array.dtype != np.uint8 or not shape_ok:
            want = f"(N, {IMAGE_SIDE**2})" if key.startswith("x") else "(N,)"
            raise MnistFormatError(
                f"{path.name}: {key} is {array.dtype} {array.shape}, expected uint8 {want}"
            )
    for key in ("t_train", "t_test"):
        if arrays[key].size and arrays[key].max() > 9:
            raise MnistFormatError(f"{path.name}: {key} has label values outside 0-9")
    _check_pairs(arrays, {k: k for k in FILE_NAMES}, path.name)
    return arrays


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


def _fetch(url: str, name: str, progress: Progress | None, timeout: float) -> bytes:
    """The body at ``url``, in full, or an ``MnistDownloadError`` saying in one line what went wrong."""
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            chunks, done = [], 0
            if progress:
                progress(0, total, name)
            while True:
                chunk = response.read(CHUNK_SIZE)
                if not chunk:
                    break
                chunks.append(chunk)
                done += len(chunk)
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
    return message.startswith(("cannot connect", "timed out", "connection failed"))


def download_arrays(
    mirrors: Sequence[str] = MIRRORS,
    *,
    progress: Progress | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    checksums: Mapping[str, str | None] = SHA256,
) -> tuple[dict[str, np.ndarray], str]:
    """Download, verify and parse the four files; returns ``(arrays, mirror used)``. Writes nothing to disk.

    For each file the mirrors are tried in order (the one that served the previous file first); a mirror that
    cannot be reached is not tried again for the other files. ``checksums`` maps each standard file name to the
    SHA-256 of its decompressed contents (tests pass their own; a name it lacks is not checked).
    """
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
                raw = _fetch(mirror + file_name, file_name, progress, timeout)
                data = decompress(raw, file_name)
                check_sha256(data, file_name, checksums.get(name))
                arrays[key] = parse_idx(data, file_name, _kind(key))
            except MnistError as exc:
                message = str(exc).removeprefix(f"{file_name}: ")
                lines.append(f"  {mirror}{file_name}: {message}")
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


def download_mnist(
    cache_dir: str | os.PathLike | None = None,
    mirrors: Sequence[str] = MIRRORS,
    progress: Progress | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    *,
    force: bool = False,
    checksums: Mapping[str, str | None] = SHA256,
) -> Path:
    """Fill the per-user cache with MNIST and return the cache file's path.

    A valid cache is kept as it is unless ``force``. Raises ``MnistDownloadError`` (one line per mirror) when
    every mirror fails, and ``MnistError`` when the cache cannot be written.
    """
    path = cache_path(cache_dir)
    if not force and path.is_file():
        try:
            read_npz(path)
            return path
        except MnistError:
            pass  # damaged: download again
    arrays, origin = download_arrays(mirrors, progress=progress, timeout=timeout, checksums=checksums)
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
) -> MnistData:
    """MNIST from the first source that works: directory, cache, download (then cached), embedded sample.

    ``data_dir`` (or ``$MNIST_DIR``) names a directory of IDX files; when given it is the only source tried,
    and any problem with it raises ``MnistError``. Otherwise the cache in ``cache_dir`` is read, or MNIST is
    downloaded from ``mirrors`` (if ``allow_download``) and cached, or the embedded sample is returned (if
    ``allow_embedded``). ``MnistData.source`` says which; ``MnistData.notes`` why earlier ones were skipped.
    ``verify`` also checks the SHA-256 of a directory's files against ``checksums`` (about 0.03 s more).
    """
    if data_dir is None and os.environ.get("MNIST_DIR"):
        data_dir, origin = os.environ["MNIST_DIR"], "MNIST_DIR="
    else:
        origin = ""
    if data_dir is not None:
        directory = Path(data_dir).expanduser()
        try:
            arrays = read_directory(directory, verify=verify, checksums=checksums)
        except MnistError as exc:
            raise type(exc)(f"{origin}{exc}" if origin else str(exc)) from None
        return MnistData(**arrays, source="directory", location=str(directory))

    notes = []
    path = cache_path(cache_dir)
    if path.is_file():
        try:
            return MnistData(**read_npz(path), source="cache", location=str(path))
        except MnistError as exc:
            notes.append(f"cache skipped: {exc}")
    else:
        notes.append(f"no cache at {_short_path(str(path))}")

    if allow_download:
        try:
            arrays, mirror = download_arrays(mirrors, progress=progress, timeout=timeout, checksums=checksums)
        except MnistDownloadError as exc:
            notes.append(f"download failed: {exc}")
        else:
            try:
                write_cache(path, arrays, mirror)
            except OSError as exc:
                notes.append(f"downloaded but not cached: {path}: {exc.strerror or exc}")
            else:
                notes.append(f"cached in {_short_path(str(path))}")
            return MnistData(**arrays, source="download", location=mirror, notes=tuple(notes))
    else:
        notes.append("download not allowed")

    if allow_embedded:
        return load_embedded(notes=tuple(notes))
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
