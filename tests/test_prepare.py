"""Before class: ``python -m nn prepare`` makes sure full MNIST and the pretrained model are in place (local files
and a local HTTP mirror only, never the internet)."""

from __future__ import annotations

import numpy as np
import pytest

from nn import mnist
from nn.prepare import check_loaded, check_mnist, check_pretrained, prepare
from tests.helpers import run_cli

CLOSED = "http://127.0.0.1:9/"  # nothing listens on the discard port
pytestmark = pytest.mark.usefixtures("run_app_py_on_every_rerun")  # in conftest.py, as is mnist_mirror


def test_prepare_downloads_into_an_empty_cache_then_says_ready(tmp_path, mnist_mirror):
    result = run_cli("prepare", "--cache-dir", str(tmp_path), env={"SGDLAB_MIRRORS": f"{CLOSED},{mnist_mirror}"})
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "mnist.npz").is_file()
    lines = result.stdout.splitlines()
    assert lines[0].startswith("MNIST: ready: full MNIST (60,000 + 10,000 images) from ")
    assert lines[1].startswith("pretrained model: ready: 784-50-10 sigmoid net")
    assert lines[-1] == "Ready to run offline: SGD Lab will download nothing in the room."
    # Again, with every mirror down: the cache is enough.
    again = run_cli("prepare", "--cache-dir", str(tmp_path), env={"SGDLAB_MIRRORS": CLOSED})
    assert again.returncode == 0 and "Ready to run offline" in again.stdout


def test_prepare_with_every_mirror_down_says_what_is_missing(tmp_path):
    result = run_cli("prepare", "--cache-dir", str(tmp_path), "--timeout", "2", env={"SGDLAB_MIRRORS": CLOSED})
    assert result.returncode == 2
    errors = result.stderr.splitlines()
    assert errors[0].startswith("python -m nn prepare: error: MNIST: full MNIST could not be downloaded:")
    assert "127.0.0.1:9" in errors[0] and "Traceback" not in result.stderr
    assert errors[-1].startswith("Not ready to run offline")
    assert "pretrained model: ready" in result.stdout and "Ready to run offline" not in result.stdout


def test_prepare_from_a_directory_verifies_its_files_and_caches_them(tmp_path, mnist_mirror, monkeypatch):
    import os

    cache = tmp_path / "cache"
    result = run_cli("prepare", "--data-dir", os.environ["MNIST_DIR"], "--cache-dir", str(cache),
                     env={"SGDLAB_MIRRORS": CLOSED})
    assert result.returncode == 0, result.stderr
    assert f"copied into the cache {cache / 'mnist.npz'}" in result.stdout
    # the app, started in the room without MNIST_DIR and without the network, finds it in the cache
    monkeypatch.delenv("MNIST_DIR")
    data = mnist.load_dataset(None, cache, allow_download=False, allow_embedded=False)
    assert data.source == "cache" and data.is_full
    bad = tmp_path / "bad"
    bad.mkdir()
    result = run_cli("prepare", "--data-dir", str(bad), env={"SGDLAB_MIRRORS": CLOSED})
    assert result.returncode == 2 and "MNIST: full MNIST is not in place" in result.stderr
    assert len(result.stderr.splitlines()) == 2


def test_prepare_offline_says_what_is_missing_without_the_network(tmp_path):
    result = run_cli("prepare", "--cache-dir", str(tmp_path), env={"SGDLAB_OFFLINE": "1", "SGDLAB_MIRRORS": CLOSED})
    assert result.returncode == 2
    assert "downloads are off" in result.stderr and "could not be downloaded" not in result.stderr
    assert "127.0.0.1:9" not in result.stderr  # no mirror was tried


def test_a_damaged_cache_or_a_missing_model_is_named(tmp_path, monkeypatch):
    monkeypatch.delenv("MNIST_DIR", raising=False)
    (tmp_path / "mnist.npz").write_bytes(b"not a zip")
    check = check_mnist(cache_dir=tmp_path)
    assert not check.ok and "cache skipped" in check.detail and "\n" not in check.detail
    check = check_pretrained(tmp_path / "missing.npz")
    assert not check.ok and "pretrained model is missing" in check.detail
    checks = prepare(cache_dir=tmp_path, mirrors=(CLOSED,), timeout=2, pretrained_path=tmp_path / "missing.npz")
    assert [c.ok for c in checks] == [False, False]


def test_check_loaded_tells_the_sample_and_an_uncached_download_apart(tmp_path):
    sample = mnist.load_embedded()
    assert not check_loaded(sample, tmp_path).ok
    full = mnist.MnistData(np.zeros((60_000, 784), np.uint8), np.zeros(60_000, np.uint8),
                           np.zeros((10_000, 784), np.uint8), np.zeros(10_000, np.uint8), "download", "http://x/")
    assert not check_loaded(full, tmp_path).ok
    (tmp_path / "mnist.npz").write_bytes(b"")
    assert check_loaded(full, tmp_path).ok


# -- the home page says whether the lab is ready to run offline ----------------------------------------------------


def _home(monkeypatch, cache_dir, mnist_dir=None):
    from streamlit.testing.v1 import AppTest

    from tests.app_helpers import APP

    monkeypatch.setenv("SGDLAB_OFFLINE", "1")
    monkeypatch.setenv("SGDLAB_MIRRORS", CLOSED)
    monkeypatch.setenv("SGDLAB_CACHE_DIR", str(cache_dir))
    if mnist_dir is None:
        monkeypatch.delenv("MNIST_DIR", raising=False)
    else:
        monkeypatch.setenv("MNIST_DIR", str(mnist_dir))
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_home_says_not_ready_offline_with_only_the_sample(tmp_path, monkeypatch):
    at = _home(monkeypatch, tmp_path)
    warnings = [w.value for w in at.warning if "offline" in w.value]
    assert len(warnings) == 1 and warnings[0].startswith("**Not ready to run offline yet.**")
    assert "full MNIST (only the small offline sample is here)" in warnings[0]
    assert "python -m nn prepare" in warnings[0]
    assert not any("Ready to run offline" in s.value for s in at.success)


def test_home_says_ready_offline_once_full_mnist_is_cached(tmp_path, monkeypatch):
    import os

    if not os.environ.get("MNIST_DIR"):
        pytest.skip("set MNIST_DIR to the genuine MNIST files")
    mnist.write_cache(mnist.cache_path(tmp_path), mnist.read_directory(os.environ["MNIST_DIR"]))
    at = _home(monkeypatch, tmp_path)
    assert any(s.value.startswith("**Ready to run offline.**") for s in at.success)
    assert not any("Not ready" in w.value for w in at.warning)
