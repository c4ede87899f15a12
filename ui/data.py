"""MNIST for the app: loaded once per process, read-only, shared by every visitor.

The app starts instantly with what is at hand (``$MNIST_DIR``, the download cache, or the embedded offline
sample: no network), then, if that is not full MNIST, downloads it in one background thread per process.
Runs started after the download finished use full MNIST; runs already going keep the data they started with.

Environment:

- ``MNIST_DIR``: a directory of the four IDX files (then nothing is downloaded).
- ``SGDLAB_CACHE_DIR``: where the download is cached (``nn.mnist.default_cache_dir``).
- ``SGDLAB_OFFLINE=1``: never download (tests, classrooms without internet).
- ``SGDLAB_MIRRORS``: comma-separated mirror URLs replacing ``nn.mnist.MIRRORS`` (``nn.mnist.default_mirrors``;
  tests point it at a closed local port).
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, replace

import streamlit as st

from nn import mnist
from nn.messages import Message
from ui.i18n import t


@dataclass(frozen=True)
class Settings:
    data_dir: str | None = None
    cache_dir: str | None = None
    offline: bool = False
    mirrors: tuple[str, ...] = mnist.MIRRORS

    @classmethod
    def from_env(cls, environ=None) -> "Settings":
        env = os.environ if environ is None else environ
        return cls(
            data_dir=env.get("MNIST_DIR") or None,
            cache_dir=env.get("SGDLAB_CACHE_DIR") or None,
            offline=env.get("SGDLAB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on"),
            mirrors=mnist.default_mirrors(env),
        )


@dataclass(frozen=True)
class DownloadStatus:
    """What the background download is doing: state is "off", "idle", "running", "done" or "failed"."""

    state: str = "idle"
    file_name: str = ""
    files_done: int = 0
    bytes_done: int = 0
    bytes_total: int | None = None
    error: str = ""
    started_at: float = 0.0

    FILES = 4

    @property
    def fraction(self) -> float:
        """Overall progress in [0, 1] over the four files (each counts a quarter)."""
        if self.state == "done":
            return 1.0
        within = self.bytes_done / self.bytes_total if self.bytes_total else 0.0
        return min(1.0, (self.files_done + min(within, 1.0)) / self.FILES)


class DataStore:
    """The best MNIST available now, plus a background download that upgrades it (thread-safe)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.error = ""  # why MNIST_DIR could not be used, in one sentence
        try:
            data = mnist.load_dataset(
                settings.data_dir, settings.cache_dir, allow_download=False, allow_embedded=True
            )
        except mnist.MnistError as exc:  # a bad MNIST_DIR: say so, and carry on with the sample
            self.error = Message("mnist_dir_unusable", error=str(exc))  # shown through i18n.translate_core
            data = mnist.load_embedded()
        self._data = data
        if data.is_full:
            state = "done"
        elif settings.offline or settings.data_dir:
            state = "off"
        else:
            state = "idle"
        self._status = DownloadStatus(state=state)

    @property
    def data(self) -> mnist.MnistData:
        return self._data

    @property
    def status(self) -> DownloadStatus:
        return self._status

    def start_download(self) -> bool:
        """Start the download unless it is running, done or switched off; True if it was started now."""
        with self._lock:
            if self._status.state not in ("idle", "failed"):
                return False
            self._status = DownloadStatus(state="running", started_at=time.time())
            self._thread = threading.Thread(target=self._download, name="sgdlab-mnist-download", daemon=True)
            self._thread.start()
            return True

    def wait(self, timeout: float | None = None) -> None:
        """Wait for a running download to end (tests)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _progress(self, done: int, total: int | None, file_name: str) -> None:
        status = self._status
        files_done = status.files_done
        if file_name != status.file_name and status.file_name:
            files_done += 1
        self._status = replace(status, file_name=file_name, files_done=files_done, bytes_done=done, bytes_total=total)

    def _download(self) -> None:
        try:
            path = mnist.download_mnist(self.settings.cache_dir, self.settings.mirrors, progress=self._progress)
            data = mnist.load_dataset(None, path.parent, allow_download=False, allow_embedded=False)
        except Exception as exc:  # noqa: BLE001 - any failure is shown on the home page, with a retry button
            lines = [line.strip() for line in str(exc).splitlines() if line.strip()] or [type(exc).__name__]
            message = lines[0] + (f" ({lines[1]})" if len(lines) > 1 else "")
            self._status = replace(self._status, state="failed", error=message)
            return
        self._data = data
        self._status = replace(self._status, state="done", files_done=DownloadStatus.FILES, error="")


@st.cache_resource(show_spinner=False)
def _store(settings: Settings) -> DataStore:
    return DataStore(settings)


def store() -> DataStore:
    """The process-wide data store for the current environment settings (created once per settings)."""
    return _store(Settings.from_env())


def ensure_download() -> DataStore:
    """The store, with its background download started if it can be (called on every page, cheap)."""
    s = store()
    if s.status.state == "idle":
        s.start_download()
    return s


def current_data() -> mnist.MnistData:
    return store().data


def dataset_summary(data: mnist.MnistData) -> str:
    """Short text for the sidebar, e.g. ``Full MNIST · 60,000 train + 10,000 test``."""
    what = t("sidebar.full_mnist") if data.is_full else (
        t("sidebar.offline_sample") if data.source == "embedded" else t("sidebar.mnist_format"))
    return t("sidebar.summary", what=what, n_train=f"{data.n_train:,}", n_test=f"{data.n_test:,}")
