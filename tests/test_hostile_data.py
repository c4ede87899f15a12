"""Hostile data (issue 17): MNIST files, caches and mirrors that are too big, too slow, silent about their size,
damaged, or that say things in Markdown; and the server's paths kept from hosted visitors. Each case is bounded
(memory measured here, in the test process), told in one line a user can act on, and loses nothing already there.

Never the internet: every mirror is a local server on 127.0.0.1."""

from __future__ import annotations

import gzip
import hashlib
import http.server
import os
import re
import socket
import threading
import time
import tracemalloc
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest

from nn import mnist
from nn.cli import _DownloadProgress
from nn.messages import Message
from nn.train import Run, TrainConfig, train
from tests.app_helpers import APP, FakeJob
from tests.helpers import run_cli
from ui import state
from ui.data import DataStore, Settings

FULL_DIR = os.environ.get("MNIST_DIR")  # the genuine files, when the machine has them
needs_full = pytest.mark.skipif(not FULL_DIR, reason="MNIST_DIR is not set: no genuine MNIST to serve")
MB = 1 << 20
IMAGES_HEADER = (0x803).to_bytes(4, "big") + (60_000).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2
TRAIN_IMAGES_LIMIT = mnist.max_file_bytes("train-images-idx3-ubyte.gz", "images")


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    """No test reads the caller's MNIST_DIR or cache, or downloads unless it says from where."""
    monkeypatch.delenv("MNIST_DIR", raising=False)
    monkeypatch.delenv("SGDLAB_SHOW_PATHS", raising=False)
    monkeypatch.setenv("SGDLAB_CACHE_DIR", str(tmp_path / "default-cache"))
    monkeypatch.setenv("SGDLAB_OFFLINE", "1")
    monkeypatch.setenv("SGDLAB_MIRRORS", "http://127.0.0.1:9/")


# -- helpers -----------------------------------------------------------------------------------------------------


def idx_bytes(array: np.ndarray) -> bytes:
    magic = 0x803 if array.ndim == 3 else 0x801
    return magic.to_bytes(4, "big") + b"".join(int(d).to_bytes(4, "big") for d in array.shape) + array.tobytes()


def small_files(seed: int = 0, n_train: int = 300, n_test: int = 100) -> dict[str, bytes]:
    """Standard name → uncompressed IDX contents of a small MNIST-format data set."""
    rng = np.random.default_rng(seed)
    arrays = {"x_train": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
              "t_train": rng.integers(0, 10, n_train, dtype=np.uint8),
              "x_test": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
              "t_test": rng.integers(0, 10, n_test, dtype=np.uint8)}
    return {mnist.FILE_NAMES[key]: idx_bytes(array) for key, array in arrays.items()}


def write_dir(directory: Path, files: dict[str, bytes]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (directory / f"{name}.gz").write_bytes(gzip.compress(data))
    return directory


def sums(files: dict[str, bytes]) -> dict[str, str]:
    return {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}


def gzip_bomb(gib: int = 1, header: bytes = IMAGES_HEADER) -> bytes:
    """About 1 MB of gzip per GiB of zeros after ``header``: a valid stream (CRC and size right), built in 0.5 s
    from one compressed block repeated (a full flush makes every MiB of zeros compress to the same bytes)."""
    zeros = bytes(MB)
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = deflate.compress(header + zeros) + deflate.flush(zlib.Z_FULL_FLUSH)
    block = deflate.compress(zeros) + deflate.flush(zlib.Z_FULL_FLUSH)
    n = 1024 * gib - 1
    crc = zlib.crc32(header + zeros)
    for _ in range(n):
        crc = zlib.crc32(zeros, crc)
    size = (len(header) + (n + 1) * MB) & 0xFFFFFFFF
    return (b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff" + first + block * n + deflate.flush()
            + crc.to_bytes(4, "little") + size.to_bytes(4, "little"))


@pytest.fixture(scope="module")
def bomb() -> bytes:
    data = gzip_bomb()
    assert len(data) < 1.1e6  # 1 MB on disk or on the wire
    return data


def peak_mb(fn, *args, **kwargs) -> tuple[float, object]:
    """``fn(*args, **kwargs)``'s peak of Python memory (tracemalloc, MB) and its result or exception."""
    tracemalloc.start()
    try:
        try:
            outcome = fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - the test looks at it
            outcome = exc
        return tracemalloc.get_traced_memory()[1] / 1e6, outcome
    finally:
        tracemalloc.stop()


class Mirror:
    """A local HTTP server; ``routes`` maps a path to a function writing the whole response (status, headers,
    body) on the handler. HTTP/1.0: the connection closes after each response, so a body needs no length."""

    def __init__(self) -> None:
        self.routes: dict = {}
        self.sent: dict[str, int] = {}
        routes = self.routes

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                answer = routes.get(self.path)
                if answer is None:
                    self.send_error(404, "Not Found")
                    return
                try:
                    answer(self)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()

    def body(self, name: str, data: bytes, length: bool = True) -> None:
        def answer(handler):
            handler.send_response(200)
            if length:
                handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)

        self.routes[f"/{name}"] = answer

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def mirror():
    m = Mirror()
    yield m
    m.stop()


class Drip:
    """A mirror that answers every request one byte every ``every`` seconds, from its status line on
    (``in_headers``) or after its headers, announcing ``length`` bytes, until the client hangs up."""

    def __init__(self, every: float = 0.4, in_headers: bool = False, length: int = 9_000_000) -> None:
        self.every, self.in_headers, self.length = every, in_headers, length
        self.stopped = threading.Event()
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(0.1)
        self.url = f"http://127.0.0.1:{self.server.getsockname()[1]}/"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self.server.accept()
            except (socket.timeout, OSError):
                continue
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        head = f"HTTP/1.0 200 OK\r\nContent-Length: {self.length}\r\n\r\n".encode()
        with conn:
            try:
                conn.settimeout(5)
                conn.recv(4096)  # the request
                if not self.in_headers:
                    conn.sendall(head)
                    head = b""
                drip = head + b"\x1f\x8b" + bytes(self.length)
                for i in range(len(drip)):
                    if self.stopped.wait(self.every):
                        return
                    conn.sendall(drip[i : i + 1])
            except OSError:  # the client hung up
                return

    def stop(self) -> None:
        self.stopped.set()
        self.server.close()


@pytest.fixture
def drip():
    servers = []

    def make(**kwargs) -> Drip:
        servers.append(Drip(**kwargs))
        return servers[-1]

    yield make
    for server in servers:
        server.stop()


def files_in(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


def unescaped(markdown: str) -> str:
    return re.sub(r"\\(.)", r"\1", markdown)


# -- 3. MNIST data without size caps -------------------------------------------------------------------------------


def test_a_gzip_bomb_in_mnist_dir_is_refused_after_what_mnist_can_hold(tmp_path, monkeypatch, bomb):
    """1 MB of gzip that inflates to 1 GiB once took the CLI and the app to ~2 GB: now at most the 47 MB its
    header may announce (60,000 images of 28×28) and 64 KiB more are ever decompressed."""
    directory = write_dir(tmp_path / "mnist", small_files())
    (directory / "train-images-idx3-ubyte.gz").write_bytes(bomb)
    monkeypatch.setenv("MNIST_DIR", str(directory))
    peak, error = peak_mb(mnist.load_dataset)
    assert isinstance(error, mnist.MnistFormatError)
    assert str(error) == (f"MNIST_DIR={directory}: train-images-idx3-ubyte.gz: more than 65,536 bytes of unexpected "
                          "data after the 60000 images of 28×28 the header announces")
    assert peak < 120, f"{peak:.0f} MB"  # gzip.decompress: over 2,000 MB

    # the app: the same sentence on Home, and it goes on with the offline sample, within the same bound
    peak, store = peak_mb(DataStore, Settings(data_dir=str(directory), cache_dir=str(tmp_path / "cache")))
    assert store.error == f"MNIST_DIR could not be used: {error}"
    assert store.data.source == "embedded" and peak < 120, f"{peak:.0f} MB"

    # the command line: one line, exit 2
    result = run_cli("train", "--iters", "1", env={"MNIST_DIR": str(directory)})
    assert result.returncode == 2 and result.stderr.strip() == f"python -m nn train: error: {error}"


@pytest.mark.parametrize("count, split, name", [(10**9, "training", "train-images-idx3-ubyte.gz"),
                                                (10_001, "test", "t10k-images-idx3-ubyte.gz")])
def test_a_header_announcing_more_than_mnist_is_refused_before_decompressing(tmp_path, bomb, count, split, name):
    header = (0x803).to_bytes(4, "big") + count.to_bytes(4, "big") + (28).to_bytes(4, "big") * 2
    directory = write_dir(tmp_path / "mnist", small_files())
    (directory / name).write_bytes(gzip_bomb(1, header) if count > 10**6 else gzip.compress(header + bytes(784)))
    peak, error = peak_mb(mnist.load_dataset, directory)
    most = f"{mnist.FULL_SIZES[split == 'test']:,}"
    assert str(error) == f"{name}: the header announces {count:,} images; MNIST's {split} set has {most}, and SGD " \
                         "Lab reads no more"
    assert peak < 5, f"{peak:.1f} MB"


def test_a_raw_file_larger_than_mnist_is_not_read(tmp_path):
    directory = write_dir(tmp_path / "mnist", small_files())
    (directory / "train-labels-idx1-ubyte.gz").unlink()
    with open(directory / "train-labels-idx1-ubyte", "wb") as f:  # 2 GB, sparse: nothing on disk
        f.write((0x801).to_bytes(4, "big") + (60_000).to_bytes(4, "big"))
        f.truncate(2 * 10**9)
    peak, error = peak_mb(mnist.load_dataset, directory)
    limit = mnist.max_file_bytes("train-labels-idx1-ubyte", "labels")
    assert str(error) == f"train-labels-idx1-ubyte: too large: more than {limit:,} bytes, and a file of at most " \
                         "60,000 labels is smaller"
    assert peak < 2, f"{peak:.1f} MB"


def test_a_gzip_bomb_from_a_mirror_is_refused_and_the_cache_kept(tmp_path, mirror, bomb):
    files = small_files()
    cache = tmp_path / "cache"
    mnist.write_cache(mnist.cache_path(cache), {k: mnist.parse_idx(files[n], n, "images" if k[0] == "x" else "labels")
                                                for k, n in mnist.FILE_NAMES.items()})
    before = (cache / "mnist.npz").read_bytes()
    mirror.body("train-images-idx3-ubyte.gz", bomb)
    peak, error = peak_mb(mnist.download_mnist, cache, [mirror.url], force=True, checksums=sums(files))
    assert isinstance(error, mnist.MnistDownloadError)
    assert str(error).splitlines() == [
        "could not download train-images-idx3-ubyte.gz: every mirror failed:",
        f"  {mirror.url}train-images-idx3-ubyte.gz: more than 65,536 bytes of unexpected data after the 60000 "
        "images of 28×28 the header announces"]
    assert peak < 150, f"{peak:.0f} MB"  # the 1 MB body, at most 47 MB decompressed
    assert (cache / "mnist.npz").read_bytes() == before and files_in(cache) == ["mnist.npz"]


def test_a_mirror_announcing_10_gb_is_refused_before_reading_and_one_without_a_length_is_cut_off(tmp_path, mirror):
    def claims_10_gb(handler):
        handler.send_response(200)
        handler.send_header("Content-Length", str(10**10))
        handler.end_headers()
        handler.wfile.write(bytes(MB))

    def endless(handler):  # no Content-Length: the body ends when the connection does
        handler.send_response(200)
        handler.end_headers()
        mirror.sent["endless"] = 0
        while True:
            handler.wfile.write(bytes(64 * 1024))
            mirror.sent["endless"] += 64 * 1024

    mirror.routes["/big/train-images-idx3-ubyte.gz"] = claims_10_gb
    mirror.routes["/endless/train-images-idx3-ubyte.gz"] = endless
    with pytest.raises(mnist.MnistDownloadError) as err:
        mnist.download_arrays([mirror.url + "big/"])
    assert str(err.value).splitlines()[1] == (
        f"  {mirror.url}big/train-images-idx3-ubyte.gz: the mirror announces 10,000,000,000 bytes, more than "
        f"train-images-idx3-ubyte.gz can be ({TRAIN_IMAGES_LIMIT:,} at most)")

    peak, error = peak_mb(mnist.download_arrays, [mirror.url + "endless/"])
    assert str(error).splitlines()[1] == (
        f"  {mirror.url}endless/train-images-idx3-ubyte.gz: the mirror sent more than train-images-idx3-ubyte.gz "
        f"can be ({TRAIN_IMAGES_LIMIT:,} bytes at most)")
    assert peak < 120, f"{peak:.0f} MB"
    time.sleep(0.2)
    assert mirror.sent["endless"] < TRAIN_IMAGES_LIMIT + 16 * MB  # read up to the limit, then hung up


def test_a_cache_file_announcing_a_huge_array_is_refused_before_allocating(tmp_path):
    path = tmp_path / "mnist.npz"
    with zipfile.ZipFile(path, "w") as archive:
        for key in mnist.FILE_NAMES:
            with archive.open(f"{key}.npy", "w") as member:
                shape = (10**9, 784) if key == "x_train" else (5, 784) if key.startswith("x") else (5,)
                np.lib.format.write_array_header_1_0(member, {"descr": "|u1", "fortran_order": False, "shape": shape})
                member.write(bytes(5 * 784))
    peak, error = peak_mb(mnist.read_npz, path)
    assert str(error) == "mnist.npz: x_train holds 1,000,000,000 images; MNIST's training set has 60,000, and SGD " \
                         "Lab reads no more"
    assert peak < 2, f"{peak:.1f} MB"


# -- 4. A mirror that drips a byte every few seconds -------------------------------------------------------------


def test_download_from_a_dripping_mirror_ends_at_its_deadline_and_keeps_the_cache(tmp_path, drip):
    """The timeout is per read, and a byte came every 2 s: `nn download --timeout 5` ran for 10 minutes."""
    server = drip()
    cache = tmp_path / "cache"
    mnist.write_cache(mnist.cache_path(cache), {k: mnist.parse_idx(d, n, "images" if k[0] == "x" else "labels")
                                                for (k, n), d in zip(mnist.FILE_NAMES.items(), small_files().values())})
    before = (cache / "mnist.npz").read_bytes()
    started = time.monotonic()
    result = run_cli("download", "--cache-dir", str(cache), "--force", "--timeout", "5", "--deadline", "3",
                     env={"SGDLAB_MIRRORS": server.url}, timeout=60)
    took = time.monotonic() - started
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-2:] == [
        "python -m nn download: error: could not download train-images-idx3-ubyte.gz in time:",
        f"  {server.url}train-images-idx3-ubyte.gz: stopped at the deadline: the whole download may take 3 s and "
        "needs 20 kB/s"]
    assert took < 8, f"{took:.1f} s"  # 3 s, and the interpreter's start
    assert (cache / "mnist.npz").read_bytes() == before and files_in(cache) == ["mnist.npz"]


def test_a_mirror_too_slow_is_given_up_after_one_window_and_not_asked_again(monkeypatch, drip, mirror):
    monkeypatch.setattr(mnist, "RATE_WINDOW", 1.0)
    slow = drip()
    files = small_files()
    for name, data in files.items():
        mirror.body(f"good/{name}.gz", gzip.compress(data))
    started = time.monotonic()
    arrays, used = mnist.download_arrays([slow.url, mirror.url + "good/"], checksums=sums(files))
    assert used == mirror.url + "good/" and len(arrays["x_train"]) == 300
    assert time.monotonic() - started < 4
    with pytest.raises(mnist.MnistDownloadError) as err:
        mnist.download_arrays([slow.url], min_rate=50_000, deadline=60)
    line = str(err.value).splitlines()[1]
    assert re.fullmatch(rf"  {slow.url}train-images-idx3-ubyte\.gz: too slow: \d bytes in 1 s \(the whole download "
                        r"may take 60 s and needs 50 kB/s\)", line), line


def test_a_mirror_dripping_its_headers_ends_at_the_deadline_too(drip):
    server = drip(in_headers=True, every=0.2)
    started = time.monotonic()
    with pytest.raises(mnist.MnistDownloadError) as err:
        mnist.download_arrays([server.url], deadline=1.5, timeout=5)
    assert time.monotonic() - started < 4
    assert str(err.value).endswith("stopped at the deadline: the whole download may take 1.5 s and needs 20 kB/s")


# -- 7. A mirror without Content-Length ----------------------------------------------------------------------------


@needs_full
def test_download_prepare_and_train_from_a_mirror_without_content_length(tmp_path, mirror):
    for name in mnist.FILE_NAMES.values():
        mirror.body(f"{name}.gz", (Path(FULL_DIR) / f"{name}.gz").read_bytes(), length=False)
    env = {"SGDLAB_MIRRORS": mirror.url, "SGDLAB_OFFLINE": ""}
    result = run_cli("download", "--cache-dir", str(tmp_path / "a"), env=env)
    assert result.returncode == 0, result.stderr
    assert "downloading train-images-idx3-ubyte.gz (size not announced)" in result.stderr
    result = run_cli("prepare", "--cache-dir", str(tmp_path / "b"), env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "Ready to run offline: SGD Lab will download nothing in the room."
    result = run_cli("train", "--iters", "1", "--quiet", "--cache-dir", str(tmp_path / "c"), env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"data: full MNIST (60,000 + 10,000 images) downloaded from {mirror.url}")


def test_progress_without_a_length_on_a_terminal():
    class Terminal:
        text = ""

        def isatty(self):
            return True

        def write(self, s):
            self.text += s

        def flush(self):
            pass

    stream = Terminal()
    progress = _DownloadProgress(stream)
    progress(0, None, "train-labels-idx1-ubyte.gz")
    progress(1_500_000, None, "train-labels-idx1-ubyte.gz")
    progress(10, 0, "t10k-labels-idx1-ubyte.gz")
    assert stream.text.split("\n")[0].endswith("\rdownloading train-labels-idx1-ubyte.gz:   1.5 MB")
    assert stream.text.endswith("\rdownloading t10k-labels-idx1-ubyte.gz:   0.0 MB")


# -- 11. A damaged cache ----------------------------------------------------------------------------------------------


def test_a_damaged_cache_is_named_on_the_command_line_and_replaced_by_the_next_download(tmp_path, mirror):
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "mnist.npz").write_bytes(b"\x9f<\x11\x08" + os.urandom(1000))
    result = run_cli("train", "--iters", "1", "--quiet", "--offline", "--cache-dir", str(cache))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("data: offline sample")
    assert result.stderr.strip() == (f"python -m nn train: warning: the cache file {cache / 'mnist.npz'} is damaged "
                                     "(not an .npz file: it starts with 9f 3c 11 08); it will be replaced by the next "
                                     "download")
    result = run_cli("prepare", "--offline", "--cache-dir", str(cache))
    assert result.returncode == 2
    assert result.stderr.splitlines()[0] == (
        f"python -m nn prepare: error: MNIST: full MNIST is not in place: cache skipped: the cache file "
        f"{cache / 'mnist.npz'} is damaged (not an .npz file: it starts with 9f 3c 11 08); it will be replaced by the "
        "next download (and downloads are off: SGDLAB_OFFLINE or --offline)")
    assert "pickle" not in result.stderr

    files = small_files()
    for name, data in files.items():
        mirror.body(f"{name}.gz", gzip.compress(data))
    data = mnist.load_dataset(cache_dir=cache, mirrors=[mirror.url], checksums=sums(files))
    assert data.source == "download" and data.damaged_cache.replaced
    assert data.damaged_cache.sentence().endswith("is damaged (not an .npz file: it starts with 9f 3c 11 08); it was "
                                                  "replaced by this download")
    assert mnist.load_dataset(cache_dir=cache, allow_download=False).source == "cache"


# -- 12. A cache directory that is a file ------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["prepare", "download", "train"])
def test_a_cache_dir_that_is_a_file_is_one_line_and_exit_2(tmp_path, command):
    target = tmp_path / "not-a-dir"
    target.write_text("a file")
    result = run_cli(command, "--cache-dir", str(target))
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.splitlines() == [
        f"python -m nn {command}: error: argument --cache-dir: {target} is a file, not a directory"]
    result = run_cli(command, "--cache-dir", str(target / "sub"))
    assert result.stderr.splitlines() == [f"python -m nn {command}: error: argument --cache-dir: {target} is a "
                                          f"file, so it cannot hold the cache directory {target / 'sub'}"]
    assert target.read_text() == "a file"


def test_download_into_a_cache_dir_that_is_a_file_fails_before_any_download(tmp_path, mirror):
    target = tmp_path / "file"
    target.write_text("x")
    with pytest.raises(mnist.MnistError) as err:
        mnist.download_mnist(target, [mirror.url])
    assert str(err.value) == f"cannot write the cache: {target} is a file, not a directory"
    assert mirror.sent == {} and target.read_text() == "x"


# -- 17a. MNIST_DIR names the directory ----------------------------------------------------------------------------


def test_an_mnist_dir_error_names_the_directory_not_the_file(tmp_path):
    directory = write_dir(tmp_path / "mnist", small_files())
    (directory / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_bytes(np.full(100, 12, np.uint8))))
    result = run_cli("train", "--iters", "1", env={"MNIST_DIR": str(directory)})
    assert result.returncode == 2
    assert result.stderr.strip() == (f"python -m nn train: error: MNIST_DIR={directory}: t10k-labels-idx1-ubyte.gz: "
                                     "label values outside 0-9: 100 of them, the first is 12 at index 0")


# -- the app: Home and the runs table --------------------------------------------------------------------------------


def _home(monkeypatch, **env):
    from streamlit.testing.v1 import AppTest

    for name, value in env.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, str(value))
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _until(at, condition, seconds: float = 15):
    """Rerun ``at`` (as the Home page's fragment would) until ``condition(at)``."""
    end = time.monotonic() + seconds
    while not condition(at):
        assert time.monotonic() < end, "timed out"
        time.sleep(0.3)
        at.run()
        assert not at.exception, [e.value for e in at.exception]
    return at


def _warnings(at) -> list[str]:
    return [w.value for w in at.warning]


@pytest.mark.usefixtures("run_app_py_on_every_rerun")
def test_the_app_download_from_a_dripping_mirror_fails_with_its_retry_button(tmp_path, monkeypatch, drip):
    """The app showed "Downloading full MNIST … 0 %" for ever, without Retry."""
    monkeypatch.setattr(mnist, "DEFAULT_DEADLINE", 2.0)
    server = drip()
    at = _home(monkeypatch, SGDLAB_OFFLINE=None, SGDLAB_MIRRORS=server.url, SGDLAB_CACHE_DIR=tmp_path / "c")
    _until(at, lambda at: any("could not be downloaded" in w for w in _warnings(at)))
    (warning,) = [w for w in _warnings(at) if "could not be downloaded" in w]
    assert unescaped(warning) == (
        "Full MNIST could not be downloaded: could not download train-images-idx3-ubyte.gz in time: "
        f"({server.url}train-images-idx3-ubyte.gz: stopped at the deadline: the whole download may take 2 s and "
        "needs 20 kB/s)")
    assert at.button(key=state.KEY_RETRY_DOWNLOAD).label == "Try the download again"
    assert any("offline sample" in i.value for i in at.info)  # the app goes on with the sample
    assert files_in(tmp_path / "c") == []


@pytest.mark.usefixtures("run_app_py_on_every_rerun")
def test_markdown_in_a_mirror_s_reason_phrase_shows_as_plain_text(tmp_path, monkeypatch, mirror):
    phrase = "**bold** [click](http://evil.example)"
    mirror.routes["/train-images-idx3-ubyte.gz"] = lambda handler: (handler.send_response(403, phrase),
                                                                     handler.end_headers())
    at = _home(monkeypatch, SGDLAB_OFFLINE=None, SGDLAB_MIRRORS=mirror.url, SGDLAB_CACHE_DIR=tmp_path / "c")
    _until(at, lambda at: any("could not be downloaded" in w for w in _warnings(at)))
    (warning,) = [w for w in _warnings(at) if "could not be downloaded" in w]
    assert r"HTTP 403 \*\*bold\*\* \[click\]\(http\://evil\.example\)" in warning
    assert unescaped(warning).endswith(f"train-images-idx3-ubyte.gz: HTTP 403 {phrase})")
    assert not re.search(r"(?<!\\)\[|(?<!\\)\]\(|(?<!\\)\*\*", warning)  # no link, no bold: every mark escaped


@pytest.mark.usefixtures("run_app_py_on_every_rerun")
@pytest.mark.parametrize("show", [None, "auto", "0", "1"])
def test_home_shows_the_server_s_paths_only_when_allowed(tmp_path, monkeypatch, show):
    directory = write_dir(tmp_path / "my_mnist data", small_files())
    at = _home(monkeypatch, MNIST_DIR=directory, SGDLAB_SHOW_PATHS=show)
    (loaded,) = [unescaped(i.value) for i in at.info if i.value.startswith("Loaded:")]
    shown = show == "1"  # AppTest's browser is not on this machine: "auto" hides them
    where = str(directory) if shown else "this server"
    assert loaded.startswith(f"Loaded: MNIST-format data (300 + 100 images) from {where}.")
    everything = "\n".join(unescaped(str(e.value)) for kind in ("info", "warning", "error", "success", "markdown",
                                                                 "caption") for e in getattr(at, kind))
    assert (str(tmp_path) in everything) == shown

    # a bad MNIST_DIR: the error names the directory for the operator only
    bad = tmp_path / "no such dir"
    at = _home(monkeypatch, MNIST_DIR=bad, SGDLAB_SHOW_PATHS=show)
    (error,) = [unescaped(e.value) for e in at.error]
    assert error == f"MNIST_DIR could not be used: MNIST_DIR={bad if shown else '…/no such dir'}: no such directory"


@pytest.mark.usefixtures("run_app_py_on_every_rerun")
@pytest.mark.parametrize("show", ["0", "1"])
def test_home_names_a_damaged_cache_file(tmp_path, monkeypatch, show):
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "mnist.npz").write_bytes(b"not a zip at all")
    at = _home(monkeypatch, SGDLAB_CACHE_DIR=cache, SGDLAB_SHOW_PATHS=show)
    damaged = [unescaped(w) for w in _warnings(at) if "damaged" in w]
    where = cache / "mnist.npz" if show == "1" else "…/mnist.npz"
    assert damaged == [f"The cache file {where} is damaged (not an .npz file: it starts with 6e 6f 74 20); it will "
                       "be replaced by the next download."]


def _table(jobs):
    from streamlit.testing.v1 import AppTest

    def script(jobs):
        import streamlit as st

        from ui import training_view as tv

        st.dataframe(tv.runs_table(jobs))

    at = AppTest.from_function(script, args=(jobs,), default_timeout=30).run()
    assert not at.exception, [e.value for e in at.exception]
    return at.dataframe[0].value


def test_the_runs_table_says_live_only_of_the_run_drawn_live_and_hides_paths(monkeypatch):
    def running(done: int) -> Run:
        run = Run(config=TrainConfig(iters=10_000))
        run.status, run.iterations_done = "running", done
        run.data_source = Message("data_full", n_train=60_000, n_test=10_000, where="/srv/secret/mnist")
        return run

    jobs = [FakeJob(1, running(3_400)), FakeJob(2, running(1_200))]
    monkeypatch.setenv("SGDLAB_SHOW_PATHS", "0")
    table = _table(jobs)
    assert table["status"].tolist() == ["training (live above)", "training 3,400 of 10,000"]
    assert table["data"].tolist() == ["full MNIST (60,000 + 10,000 images) from this server"] * 2
    monkeypatch.setenv("SGDLAB_SHOW_PATHS", "1")
    table = _table(jobs)
    assert table["data"].tolist() == ["full MNIST (60,000 + 10,000 images) from /srv/secret/mnist"] * 2


@pytest.mark.parametrize("show", ["0", "1"])
def test_a_saved_model_file_carries_the_server_s_paths_only_when_allowed(monkeypatch, show):
    from nn.model_file import load_model, save_run
    from ui import data as ui_data

    monkeypatch.setenv("SGDLAB_SHOW_PATHS", show)
    rng = np.random.default_rng(0)
    data = ((rng.integers(0, 256, (50, 784), dtype=np.uint8), rng.integers(0, 10, 50)),
            (rng.integers(0, 256, (20, 784), dtype=np.uint8), rng.integers(0, 10, 20)))
    run = train(TrainConfig(iters=3, batch_size=10), data, data_source=Message(
        "data_full", n_train=60_000, n_test=10_000, where="/srv/secret/mnist"))
    saved = load_model(save_run(run, name="r", data_source=ui_data.shareable(run.data_source)))
    where = "/srv/secret/mnist" if show == "1" else "this server"
    assert saved.meta["data_source"] == f"full MNIST (60,000 + 10,000 images) from {where}"
    assert ("/srv" in saved.to_run().data_source) == (show == "1")
    # the app's download button saves through it (the file goes wherever the student sends it)
    source = open("ui/model_files.py", encoding="utf-8").read()
    assert "ui_data.shareable(run.data_source)" in source and "data_source=source" in source
