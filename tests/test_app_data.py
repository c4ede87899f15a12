"""ui.data: the app's MNIST store — instant offline start, background download with progress, retry."""

import functools
import http.server
import os
import socket
import threading

import pytest

from ui.data import DataStore, DownloadStatus, Settings, dataset_summary


@pytest.fixture
def no_env(monkeypatch):
    for name in ("MNIST_DIR", "SGDLAB_OFFLINE", "SGDLAB_MIRRORS", "SGDLAB_CACHE_DIR"):
        monkeypatch.delenv(name, raising=False)


def test_settings_from_env():
    s = Settings.from_env({"MNIST_DIR": "/data", "SGDLAB_OFFLINE": "1", "SGDLAB_MIRRORS": "http://a/, http://b/"})
    assert s == Settings(data_dir="/data", cache_dir=None, offline=True, mirrors=("http://a/", "http://b/"))
    assert Settings.from_env({}).offline is False and Settings.from_env({}).mirrors[0].startswith("https://")


def test_offline_start_uses_the_embedded_sample_and_never_downloads(no_env, tmp_path):
    store = DataStore(Settings(cache_dir=str(tmp_path), offline=True))
    assert store.data.source == "embedded" and not store.data.is_full
    assert store.status.state == "off"
    assert store.start_download() is False
    assert dataset_summary(store.data) == "Offline sample · 6,000 train + 1,000 test"


def test_failed_download_says_why_and_can_be_retried(no_env, tmp_path):
    with socket.create_server(("127.0.0.1", 0)) as stalled:  # accepts the connection, never answers
        port = stalled.getsockname()[1]
        store = DataStore(Settings(cache_dir=str(tmp_path), mirrors=(f"http://127.0.0.1:{port}/",)))
        assert store.status.state == "idle"
        assert store.start_download() is True
        assert store.start_download() is False  # once at a time: the first still waits for the mirror
    store.wait(30)  # the mirror went away (its socket closed): the download fails
    assert store.status.state == "failed"
    assert store.data.source == "embedded"
    assert store.start_download() is True  # "Try the download again": now nothing listens on that port
    store.wait(30)
    assert store.status.state == "failed"
    assert "cannot connect" in store.status.error or "refused" in store.status.error.lower()
    assert store.data.source == "embedded"  # the app keeps working on the sample


def test_a_bad_mnist_dir_is_reported_and_the_sample_used(monkeypatch, tmp_path):
    monkeypatch.delenv("MNIST_DIR", raising=False)
    store = DataStore(Settings(data_dir=str(tmp_path / "nowhere"), cache_dir=str(tmp_path)))
    assert store.error.startswith("MNIST_DIR could not be used:") and "no such directory" in store.error
    assert store.data.source == "embedded" and store.status.state == "off"


def test_download_progress_fraction():
    s = DownloadStatus(state="running", file_name="b", files_done=2, bytes_done=50, bytes_total=100)
    assert s.fraction == pytest.approx(2.5 / 4)
    assert DownloadStatus(state="done").fraction == 1.0
    assert DownloadStatus(state="running", bytes_done=5, bytes_total=None).fraction == 0.0


@pytest.mark.slow
def test_background_download_from_a_local_mirror_upgrades_to_full_mnist(no_env, tmp_path):
    source = os.environ.get("MNIST_DIR_FOR_TESTS") or os.environ.get("SGDLAB_TEST_MNIST_DIR")
    source = source or _mnist_dir_from_env()
    if not source:
        pytest.skip("MNIST_DIR is not set: no genuine MNIST files to serve from a local mirror")
    handler = functools.partial(_QuietHandler, directory=source)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        mirror = f"http://127.0.0.1:{server.server_address[1]}/"
        store = DataStore(Settings(cache_dir=str(tmp_path), mirrors=(mirror,)))
        seen = []
        original = store._progress
        store._progress = lambda done, total, name: (original(done, total, name), seen.append(store.status.fraction))
        assert store.start_download()
        store.wait(120)
        assert store.status.state == "done", store.status.error
        assert store.data.is_full and store.data.source == "cache"  # downloaded, verified, cached, read back
        assert (tmp_path / "mnist.npz").is_file()
        assert seen and seen == sorted(seen) and 0 < seen[-1] <= 1.0  # progress only goes forward
    finally:
        server.shutdown()


_ORIGINAL_MNIST_DIR = os.environ.get("MNIST_DIR")


def _mnist_dir_from_env():
    return _ORIGINAL_MNIST_DIR


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass
