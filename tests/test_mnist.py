"""nn.mnist: IDX parsing and its errors, the four sources in order, download over a local HTTP server."""

from __future__ import annotations

import gzip
import hashlib
import http.server
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from nn import mnist
from nn.mnist import (
    FILE_NAMES,
    MnistChecksumError,
    MnistData,
    MnistDownloadError,
    MnistError,
    MnistFormatError,
    download_mnist,
    load_dataset,
    load_mnist,
    read_idx,
)

FULL_DIR = os.environ.get("MNIST_DIR")  # the genuine data, when the machine has it
needs_full = pytest.mark.skipif(not FULL_DIR, reason="MNIST_DIR is not set: no full MNIST on this machine")

FIRST_TRAIN_LABELS = [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
FIRST_TEST_LABELS = [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    """No test sees the caller's MNIST_DIR or touches the real ~/.cache unless it says so."""
    monkeypatch.delenv("MNIST_DIR", raising=False)
    monkeypatch.setenv("SGDLAB_CACHE_DIR", str(tmp_path / "default-cache"))


# --------------------------------------------------------------------------------------------- helpers


def idx_bytes(array: np.ndarray, magic: int | None = None) -> bytes:
    """An IDX file (uncompressed) holding uint8 ``array``: images (N, 28, 28) or labels (N,)."""
    magic = magic if magic is not None else (0x803 if array.ndim == 3 else 0x801)
    header = magic.to_bytes(4, "big") + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def synthetic(seed: int = 0, n_train: int = 300, n_test: int = 100) -> dict[str, np.ndarray]:
    """Random MNIST-shaped arrays (noise images compress badly, so the .gz files span several chunks)."""
    rng = np.random.default_rng(seed)
    return {
        "x_train": rng.integers(0, 256, size=(n_train, 28, 28), dtype=np.uint8),
        "t_train": rng.integers(0, 10, size=n_train, dtype=np.uint8),
        "x_test": rng.integers(0, 256, size=(n_test, 28, 28), dtype=np.uint8),
        "t_test": rng.integers(0, 10, size=n_test, dtype=np.uint8),
    }


def idx_files(arrays: dict[str, np.ndarray]) -> dict[str, bytes]:
    """Standard file name (no .gz) → uncompressed IDX contents."""
    return {FILE_NAMES[key]: idx_bytes(array) for key, array in arrays.items()}


def checksums_of(files: dict[str, bytes]) -> dict[str, str]:
    return {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}


def write_dir(directory: Path, files: dict[str, bytes], gz: bool | dict[str, bool] = True) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        compress = gz if isinstance(gz, bool) else gz[name]
        (directory / (f"{name}.gz" if compress else name)).write_bytes(gzip.compress(data) if compress else data)
    return directory


def assert_same(data: MnistData, arrays: dict[str, np.ndarray]) -> None:
    for key, array in arrays.items():
        expected = array.reshape(len(array), -1) if key.startswith("x") else array
        np.testing.assert_array_equal(getattr(data, key), expected, err_msg=key)


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/mnist/"


class MirrorServer:
    """A local HTTP server whose routes answer ``(mode, body)``: mode "ok" or "truncate" (half a body, then
    the connection closes although Content-Length announced it all). Anything else is a 404."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[str, bytes]] = {}
        self.requests: list[str] = []
        routes, requests = self.routes, self.requests

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                requests.append(self.path)
                mode, body = routes.get(self.path, ("404", b""))
                if mode == "404":
                    self.send_error(404, "Not Found")
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body if mode == "ok" else body[: len(body) // 2])
                self.wfile.flush()
                self.close_connection = True

            def log_message(self, *args) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def mirror(self, prefix: str, files: dict[str, bytes], mode: str = "ok", gz: bool = True) -> str:
        """Serve ``files`` (standard names, uncompressed contents) as ``<prefix>/<name>.gz``; returns its URL."""
        for name, data in files.items():
            self.routes[f"/{prefix}/{name}.gz"] = (mode, gzip.compress(data) if gz else data)
        return f"{self.base}/{prefix}/"

    def stop(self) -> None:
        if not self.thread.is_alive():
            return
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def server():
    s = MirrorServer()
    yield s
    s.stop()


def files_in(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


# --------------------------------------------------------------------------------------------- full MNIST


@needs_full
def test_full_mnist_from_mnist_dir(monkeypatch):
    monkeypatch.setenv("MNIST_DIR", FULL_DIR)
    data = load_dataset()
    assert data.source == "directory" and data.location == str(Path(FULL_DIR))
    assert data.is_full and data.describe().startswith("full MNIST (60,000 + 10,000 images) from ")
    assert (data.x_train.shape, data.t_train.shape, data.x_test.shape, data.t_test.shape) == (
        (60000, 784), (60000,), (10000, 784), (10000,)
    )
    assert {a.dtype for a in (data.x_train, data.t_train, data.x_test, data.t_test)} == {np.dtype(np.uint8)}
    assert data.x_train.max() == 255 and data.x_train.min() == 0
    assert data.t_train[:10].tolist() == FIRST_TRAIN_LABELS
    assert data.t_test[:10].tolist() == FIRST_TEST_LABELS
    assert np.bincount(data.t_train, minlength=10).tolist() == TRAIN_COUNTS
    with pytest.raises(ValueError, match="read-only"):
        data.x_train[0, 0] = 1
    (x, t), (xt, tt) = data.as_tuple()
    assert x is data.x_train and tt is data.t_test


@needs_full
def test_full_mnist_through_load_mnist(monkeypatch):
    monkeypatch.setenv("MNIST_DIR", FULL_DIR)
    (x, t), (xt, tt) = load_mnist(normalize=True, flatten=False, one_hot_label=True)
    assert x.shape == (60000, 1, 28, 28) and xt.shape == (10000, 1, 28, 28)
    assert x.dtype == np.float32 and float(x.min()) == 0.0 and float(x.max()) == 1.0
    assert t.shape == (60000, 10) and tt.shape == (10000, 10)
    assert (t.sum(axis=1) == 1).all() and t.argmax(axis=1)[:10].tolist() == FIRST_TRAIN_LABELS
    assert tt.argmax(axis=1)[:10].tolist() == FIRST_TEST_LABELS
    x[0, 0, 0, 0] = 0.5  # the caller's own arrays

    (x, t), (xt, tt) = load_mnist(normalize=False)
    assert x.shape == (60000, 784) and x.dtype == np.uint8 and x.max() == 255
    assert t.shape == (60000,) and t.dtype == np.uint8 and tt[:10].tolist() == FIRST_TEST_LABELS


@needs_full
def test_hard_coded_checksums_and_embedded_sample_match_the_full_data():
    full = load_dataset(FULL_DIR, verify=True)  # the four SHA-256 sums in nn.mnist are those of the real files
    with np.load(mnist.EMBEDDED_SAMPLE) as npz:
        train_index, test_index, seed = npz["train_index"], npz["test_index"], int(npz["seed"])
    np.testing.assert_array_equal(train_index, mnist.class_balanced_indices(full.t_train, 600, seed))
    np.testing.assert_array_equal(test_index, mnist.class_balanced_indices(full.t_test, 100, seed + 1))
    sample = mnist.load_embedded()
    np.testing.assert_array_equal(sample.x_train, full.x_train[train_index])
    np.testing.assert_array_equal(sample.t_train, full.t_train[train_index])
    np.testing.assert_array_equal(sample.x_test, full.x_test[test_index])
    np.testing.assert_array_equal(sample.t_test, full.t_test[test_index])


@needs_full
def test_download_of_the_real_files_then_cache(server, tmp_path):
    real = {name: (Path(FULL_DIR) / f"{name}.gz").read_bytes() for name in FILE_NAMES.values()}
    for name, body in real.items():
        server.routes[f"/real/{name}.gz"] = ("ok", body)
    cache = tmp_path / "cache"
    path = download_mnist(cache, mirrors=[f"{server.base}/real/"])  # default checksums: the genuine ones
    assert path == cache / "mnist.npz" and files_in(cache) == ["mnist.npz"]
    assert path.stat().st_size < 20e6  # compressed uint8
    cached = load_dataset(cache_dir=cache, allow_download=False, allow_embedded=False)
    assert cached.source == "cache" and cached.is_full
    assert cached.t_train[:10].tolist() == FIRST_TRAIN_LABELS
    assert np.bincount(cached.t_train, minlength=10).tolist() == TRAIN_COUNTS


# --------------------------------------------------------------------------------------------- IDX files


def test_directory_of_gz_and_raw_files(tmp_path):
    arrays = synthetic(1, n_train=40, n_test=20)
    files = idx_files(arrays)
    mixed = {name: i % 2 == 0 for i, name in enumerate(files)}  # two gzipped, two raw
    directory = write_dir(tmp_path / "mixed", files, gz=mixed)
    data = load_dataset(directory)
    assert data.source == "directory" and not data.is_full
    assert data.describe() == f"MNIST-format data (40 + 20 images) from {directory}"
    assert_same(data, arrays)
    # read_idx alone, on a .gz file and on a raw one
    gz_path, raw_path = directory / "train-images-idx3-ubyte.gz", directory / "train-labels-idx1-ubyte"
    assert gz_path.exists() and raw_path.exists()
    np.testing.assert_array_equal(read_idx(gz_path), arrays["x_train"].reshape(40, 784))
    np.testing.assert_array_equal(read_idx(raw_path), arrays["t_train"])


def test_load_mnist_options_on_small_data(tmp_path):
    arrays = synthetic(2, n_train=30, n_test=10)
    directory = write_dir(tmp_path / "d", idx_files(arrays))
    (x, t), (xt, tt) = load_mnist(data_dir=directory)
    assert x.shape == (30, 784) and x.dtype == np.float32 and 0.0 <= x.min() and x.max() <= 1.0
    np.testing.assert_allclose(x * 255, arrays["x_train"].reshape(30, 784), atol=1e-4)
    assert t.dtype == np.uint8 and t.tolist() == arrays["t_train"].tolist()
    (x, t), (xt, tt) = load_mnist(False, False, True, data_dir=directory)
    assert x.shape == (30, 1, 28, 28) and x.dtype == np.uint8
    np.testing.assert_array_equal(x[:, 0], arrays["x_train"])
    assert tt.shape == (10, 10) and tt.argmax(axis=1).tolist() == arrays["t_test"].tolist()


def _bad_dir(tmp_path, name: str, content: bytes, gz: bool = False) -> Path:
    """A directory of good synthetic files in which ``name`` (as .gz) holds ``content`` as given."""
    directory = write_dir(tmp_path / "bad", idx_files(synthetic(3, 20, 10)))
    (directory / f"{name}.gz").write_bytes(gzip.compress(content) if gz else content)
    return directory


def test_wrong_magic_number_names_the_file(tmp_path):
    labels_magic_images = idx_bytes(np.zeros((5, 28, 28), np.uint8), magic=0x801)
    directory = _bad_dir(tmp_path, "train-images-idx3-ubyte", labels_magic_images, gz=True)
    with pytest.raises(MnistFormatError) as err:
        load_dataset(directory)
    assert str(err.value).startswith(
        "train-images-idx3-ubyte.gz: bad magic number 0x00000801 (expected 0x00000803 for images)"
    )


def test_truncated_file_says_how_much_is_missing(tmp_path):
    header = (0x803).to_bytes(4, "big") + (60000).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2
    content = header + bytes(1234 - len(header))
    directory = _bad_dir(tmp_path, "train-images-idx3-ubyte", content, gz=True)
    with pytest.raises(MnistFormatError) as err:
        load_dataset(directory)
    assert str(err.value) == (
        "train-images-idx3-ubyte.gz: truncated: header says 60000 images of 28×28 = 47040016 bytes, file has 1234"
    )
    # a gzip stream cut short is caught too
    whole = gzip.compress(idx_bytes(np.ones((50, 28, 28), np.uint8) * 7))
    (directory / "train-images-idx3-ubyte.gz").write_bytes(whole[: len(whole) // 2])
    with pytest.raises(MnistFormatError, match=r"^train-images-idx3-ubyte\.gz: truncated gzip data"):
        load_dataset(directory)


def test_not_a_gzip_file(tmp_path):
    raw_idx = idx_bytes(np.zeros(10, np.uint8))
    directory = _bad_dir(tmp_path, "t10k-labels-idx1-ubyte", raw_idx)  # raw contents under a .gz name
    with pytest.raises(MnistFormatError, match=r"^t10k-labels-idx1-ubyte\.gz: not a gzip file.*remove '\.gz'"):
        load_dataset(directory)
    (directory / "t10k-labels-idx1-ubyte.gz").write_bytes(b"<html>404</html>")
    with pytest.raises(MnistFormatError, match=r"^t10k-labels-idx1-ubyte\.gz: not a gzip file \(it starts with 3c 68"):
        load_dataset(directory)


def test_checksum_mismatch(tmp_path):
    path = tmp_path / "train-labels-idx1-ubyte.gz"
    path.write_bytes(gzip.compress(idx_bytes(np.arange(10, dtype=np.uint8))))
    with pytest.raises(MnistChecksumError) as err:
        read_idx(path, sha256=mnist.SHA256["train-labels-idx1-ubyte"])
    assert str(err.value).startswith("train-labels-idx1-ubyte.gz: checksum mismatch (sha256 ")
    assert "expected 65a50cbbf4e9…" in str(err.value)
    # verify=True applies the genuine sums to a directory
    directory = write_dir(tmp_path / "fake", idx_files(synthetic(4, 20, 10)))
    assert load_dataset(directory).source == "directory"  # structure is fine
    with pytest.raises(MnistChecksumError, match=r"checksum mismatch \(sha256 .* expected ba891046e650…"):
        load_dataset(directory, verify=True)


def test_bad_labels_and_counts(tmp_path):
    directory = _bad_dir(tmp_path, "train-labels-idx1-ubyte", idx_bytes(np.array([1] * 19 + [12], np.uint8)), gz=True)
    with pytest.raises(MnistFormatError, match=r"train-labels-idx1-ubyte\.gz: label values outside 0-9: 1 of them, "
                       r"the first is 12 at index 19"):
        load_dataset(directory)
    (directory / "train-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_bytes(np.zeros(19, np.uint8))))
    with pytest.raises(MnistFormatError, match=r"train set has 20 images but 19 labels \(train-images-idx3-ubyte"
                       r"\.gz, train-labels-idx1-ubyte\.gz\)"):
        load_dataset(directory)
    (directory / "train-labels-idx1-ubyte.gz").write_bytes(
        gzip.compress(idx_bytes(np.zeros(20, np.uint8)) + b"\0\0")
    )
    with pytest.raises(MnistFormatError, match=r"2 bytes of unexpected data after the 20 labels"):
        load_dataset(directory)


def test_explicit_directory_problems_are_errors_not_fallbacks(tmp_path, monkeypatch):
    with pytest.raises(MnistError, match=r"no such directory"):
        load_dataset(tmp_path / "nowhere")  # the embedded sample is allowed, but not used
    train_only = {name: data for name, data in idx_files(synthetic(5, 5, 5)).items() if "t10k" not in name}
    partial = write_dir(tmp_path / "partial", train_only)
    with pytest.raises(MnistError, match=r"missing t10k-images-idx3-ubyte\(\.gz\), t10k-labels-idx1-ubyte\(\.gz\)"):
        load_dataset(partial)
    monkeypatch.setenv("MNIST_DIR", str(partial))
    with pytest.raises(MnistError, match=r"^MNIST_DIR=.*partial: missing t10k"):
        load_dataset()


# --------------------------------------------------------------------------------------------- download


def test_download_falls_through_to_the_second_mirror_then_uses_the_cache(server, tmp_path):
    arrays = synthetic(6)
    files = idx_files(arrays)
    sums = checksums_of(files)
    bad = f"{server.base}/missing/"  # every file 404
    good = server.mirror("good", files)
    calls = []
    cache = tmp_path / "cache"
    data = load_dataset(cache_dir=cache, mirrors=[bad, good], checksums=sums,
                        progress=lambda done, total, name: calls.append((done, total, name)))
    assert data.source == "download" and data.location == good
    assert data.describe() == f"MNIST-format data (300 + 100 images) downloaded from {good}"
    assert_same(data, arrays)
    assert files_in(cache) == ["mnist.npz"]
    assert f"/missing/train-images-idx3-ubyte.gz" in server.requests
    # progress: for each file, from 0 up to its full size, never backwards
    for name, body in ((f"{n}.gz", server.routes[f"/good/{n}.gz"][1]) for n in files):
        mine = [(done, total) for done, total, n in calls if n == name]
        assert mine[0] == (0, len(body)) and mine[-1] == (len(body), len(body)), name
        assert all(b[0] > a[0] for a, b in zip(mine, mine[1:])), name
    assert len([c for c in calls if c[2] == "train-images-idx3-ubyte.gz"]) >= 4  # several 64 KiB chunks

    server.stop()  # no network any more: the second load comes from the cache
    again = load_dataset(cache_dir=cache, mirrors=[closed_port_url()], allow_embedded=False)
    assert again.source == "cache" and again.location == str(cache / "mnist.npz")
    assert_same(again, arrays)
    assert again.x_train.flags.writeable is False


def test_interrupted_transfer_leaves_nothing_behind(server, tmp_path):
    files = idx_files(synthetic(7))
    broken = server.mirror("broken", files, mode="truncate")
    cache = tmp_path / "cache"
    with pytest.raises(MnistDownloadError) as err:
        download_mnist(cache, mirrors=[broken], checksums=checksums_of(files))
    message = str(err.value)
    assert message.startswith("could not download train-images-idx3-ubyte.gz: every mirror failed:\n")
    assert f"  {broken}train-images-idx3-ubyte.gz: transfer interrupted after " in message
    assert files_in(cache) == []  # no cache file, no temp file
    with pytest.raises(MnistError, match=r"(?s)^MNIST is not available.*\ndownload failed: .*transfer interrupted"):
        load_dataset(cache_dir=cache, mirrors=[broken], checksums=checksums_of(files), allow_embedded=False)
    assert files_in(cache) == []


def test_failed_cache_write_leaves_no_temp_file(tmp_path, monkeypatch):
    arrays = {k: v.reshape(len(v), -1) for k, v in synthetic(8, 20, 10).items()}

    def savez_that_dies(file, **kw):
        file.write(b"PK\x03\x04 half a zip")
        raise KeyboardInterrupt  # as if the user pressed Ctrl-C while the cache was written

    monkeypatch.setattr(np, "savez_compressed", savez_that_dies)
    cache = tmp_path / "cache"
    with pytest.raises(KeyboardInterrupt):
        mnist.write_cache(cache / "mnist.npz", arrays)
    assert files_in(cache) == []


def test_checksum_mismatch_from_a_mirror_is_rejected_and_the_next_one_tried(server, tmp_path):
    arrays = synthetic(9)
    files = idx_files(arrays)
    impostor = dict(files, **{"train-images-idx3-ubyte": idx_files(synthetic(10))["train-images-idx3-ubyte"]})
    first = server.mirror("impostor", impostor)
    second = server.mirror("genuine", files)
    sums = checksums_of(files)
    path = download_mnist(tmp_path / "cache", mirrors=[first, second], checksums=sums)
    data = load_dataset(cache_dir=tmp_path / "cache", allow_download=False)
    assert data.source == "cache"
    assert_same(data, arrays)  # the genuine images, not the impostor's
    # once the second mirror has served a good file, it is asked first for the others
    assert np.load(path)["origin"].item() == second
    assert [r for r in server.requests if r.startswith("/impostor/")] == ["/impostor/train-images-idx3-ubyte.gz"]
    with pytest.raises(MnistDownloadError, match=r"\n  .*/impostor/train-images-idx3-ubyte\.gz: checksum mismatch"):
        download_mnist(tmp_path / "other", mirrors=[first], checksums=sums)
    assert files_in(tmp_path / "other") == []


def test_every_mirror_failing_lists_each_failure(server, tmp_path):
    missing = f"{server.base}/missing/"
    closed = closed_port_url()
    with pytest.raises(MnistDownloadError) as err:
        download_mnist(tmp_path / "cache", mirrors=[missing, closed])
    lines = str(err.value).splitlines()
    assert lines == [
        "could not download train-images-idx3-ubyte.gz: every mirror failed:",
        f"  {missing}train-images-idx3-ubyte.gz: HTTP 404 Not Found",
        f"  {closed}train-images-idx3-ubyte.gz: cannot connect (Connection refused)",
    ]


# --------------------------------------------------------------------------------------------- offline


def test_offline_falls_back_to_the_embedded_sample(tmp_path):
    cache = tmp_path / "empty-cache"
    cache.mkdir()
    data = load_dataset(cache_dir=cache, mirrors=[closed_port_url(), closed_port_url()], timeout=2)
    assert data.source == "embedded" and not data.is_full
    assert data.location == str(mnist.EMBEDDED_SAMPLE)
    assert (data.n_train, data.n_test) == (6000, 1000)
    assert data.x_train.shape == (6000, 784) and data.x_train.dtype == np.uint8
    assert np.bincount(data.t_train, minlength=10).tolist() == [600] * 10
    assert np.bincount(data.t_test, minlength=10).tolist() == [100] * 10
    assert data.describe().startswith("offline sample (6,000 + 1,000 images")
    assert data.notes[0] == f"no cache at {cache / 'mnist.npz'}"
    assert data.notes[1].startswith("download failed: could not download train-images-idx3-ubyte.gz")
    assert files_in(cache) == []
    with pytest.raises(MnistError, match=r"^MNIST is not available") as err:
        load_dataset(cache_dir=cache, mirrors=[closed_port_url()], allow_embedded=False)
    assert "Connection refused" in str(err.value)
    (x, t), (xt, tt) = load_mnist(cache_dir=cache, allow_download=False)
    assert x.shape == (6000, 784) and x.dtype == np.float32 and tt.shape == (1000,)


def test_damaged_cache_is_skipped_and_said_so(tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "mnist.npz").write_bytes(b"PK\x03\x04 not really a zip file")
    data = load_dataset(cache_dir=cache, allow_download=False)
    assert data.source == "embedded"
    assert data.notes[0].startswith("cache skipped: mnist.npz: unreadable .npz file")
    assert data.notes[1] == "download not allowed"


def test_default_cache_dir_follows_the_env_var(tmp_path, monkeypatch):
    monkeypatch.setenv("SGDLAB_CACHE_DIR", str(tmp_path / "elsewhere"))
    assert mnist.cache_path() == tmp_path / "elsewhere" / "mnist.npz"
    monkeypatch.delenv("SGDLAB_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert mnist.cache_path() == tmp_path / "xdg" / "sgdlab" / "mnist.npz"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert mnist.cache_path() == Path.home() / ".cache" / "sgdlab" / "mnist.npz"


def test_the_core_loader_imports_no_ui_library():
    code = "import sys, nn.mnist; print(sorted({'streamlit', 'pandas', 'plotly'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[1])
    assert out.stdout.strip() == "[]"
