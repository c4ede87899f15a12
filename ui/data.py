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
- ``SGDLAB_SHOW_PATHS``: whether pages show the server's paths (where MNIST was read from, a bad ``MNIST_DIR``):
  ``auto`` (the default: only to a browser on this machine), ``1`` (to every visitor) or ``0`` (to nobody). The
  operator always finds them in the server's log. ``data_text`` applies it, with the Markdown escaping every text
  from outside needs (a mirror's error message is shown as it is written, never as a link).
"""

from __future__ import annotations

import os
import re
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path

import streamlit as st
from streamlit.logger import get_logger

from nn import mnist
from nn.messages import Message
from nn.train import TrainConfig, iterations_per_epoch
from ui import runner
from ui.i18n import t, translate_core
from ui.text import plain

_log = get_logger(__name__)  # the operator's view: full paths, full errors
_YES, _NO = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


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
            offline=env.get("SGDLAB_OFFLINE", "").strip().lower() in _YES,
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


#: Why full MNIST cannot be downloaded here: "offline" (SGDLAB_OFFLINE), "mnist_dir" (MNIST_DIR names the data:
#: nothing is downloaded), "cache" (the cache directory cannot be written); "" when it can be.
BLOCKS = ("offline", "mnist_dir", "cache")


def cache_problem(cache_dir: str | None) -> str | None:
    """Why the download's cache could not be saved in ``cache_dir``, in a few words (a file in the way, a
    directory this process may not write, a read-only file system); None when it can be. Checked before
    downloading, so that a server that cannot keep MNIST says so instead of fetching 11 MB in vain."""
    problem = mnist.cache_dir_problem(cache_dir)
    if problem:
        return problem
    directory = mnist.cache_path(cache_dir).parent
    place = next((p for p in (directory, *directory.parents) if p.exists()), None)
    if place is not None and not os.access(place, os.W_OK):
        return f"{place} is not writable"
    return None


def download_block(settings: Settings) -> tuple[str, str]:
    """(why, detail): why full MNIST cannot be downloaded with ``settings`` (one of ``BLOCKS``, or "" when it
    can be) and, for "cache", what is wrong with the cache directory."""
    if settings.data_dir:
        return "mnist_dir", ""
    if settings.offline:
        return "offline", ""
    problem = cache_problem(settings.cache_dir)
    return ("cache", problem) if problem else ("", "")


class DataStore:
    """The best MNIST available now, plus a background download that upgrades it (thread-safe)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.error = ""  # why MNIST_DIR could not be used, in one sentence
        self.blocked, self.blocked_detail = "", ""  # why full MNIST cannot be downloaded (``download_block``)
        try:
            data = mnist.load_dataset(
                settings.data_dir, settings.cache_dir, allow_download=False, allow_embedded=True,
                dir_name="MNIST_DIR",  # where Settings.data_dir comes from
            )
        except mnist.MnistError as exc:  # a bad MNIST_DIR: say so, and carry on with the sample
            self.error = Message("mnist_dir_unusable", error=str(exc))  # shown through data_text
            _log.warning("%s", self.error)
            data = mnist.load_embedded()
        _log.info("data: %s", data.describe())
        if data.damaged_cache is not None:
            _log.warning("%s", data.damaged_cache.sentence())
        self._data = data
        if data.is_full:
            state = "done"
        else:
            self.blocked, self.blocked_detail = download_block(settings)
            state = "off" if self.blocked else "idle"
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
            _log.warning("MNIST download failed: %s", exc)
            self._status = replace(self._status, state="failed", error=message)
            return
        _log.info("data: %s", data.describe())
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


# -- the numbers pages state about the data --------------------------------------------------------------------

#: What the slides train and test on: full MNIST. Pages quote these only as the slides' numbers.
SLIDES_N_TRAIN, SLIDES_N_TEST = mnist.FULL_SIZES
BOOK = TrainConfig()  # the book's §4.5 settings: 10,000 iterations of batch 100


def number(value: float) -> str:
    """A count or a ratio as the pages write it: 6,000; 60; 16.7; 166.7."""
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def epochs(iters: int, batch_size: int, n_train: int) -> float:
    """How many times a run of ``iters`` steps of ``batch_size`` draws each of ``n_train`` images, on average
    (the number of epochs it trains for)."""
    return iters * batch_size / max(n_train, 1)


def facts(data: mnist.MnistData | None = None) -> dict[str, str]:
    """The numbers the pages state about the loaded data, as locale placeholders:

    ``n_train``, ``n_test`` (the loaded images), ``steps_per_epoch`` (the book's batch of 100:
    ``max(n_train / 100, 1)``), ``book_epochs`` (epochs in the book's 10,000 steps), ``slides_train``,
    ``slides_test``, ``slides_epochs`` (the slides' 60,000, 10,000 and 16.7: quoted as theirs)."""
    data = current_data() if data is None else data
    return {
        "n_train": number(data.n_train),
        "n_test": number(data.n_test),
        "steps_per_epoch": number(iterations_per_epoch(data.n_train, BOOK.batch_size)),
        "book_epochs": number(round(epochs(BOOK.iters, BOOK.batch_size, data.n_train), 1)),
        "slides_train": number(SLIDES_N_TRAIN),
        "slides_test": number(SLIDES_N_TEST),
        "slides_epochs": number(round(epochs(BOOK.iters, BOOK.batch_size, SLIDES_N_TRAIN), 1)),
    }


# -- what a page shows of the data's messages ---------------------------------------------------------------------

#: An absolute or home-relative path in a text (not a URL's path: that follows a host name, ``:`` or ``/``).
_PATH = re.compile(r"(?<![\w:/.~…-])~?/[^\s'\"(),;:]*[^\s'\"(),;:./]")


def show_paths(environ=None) -> bool:
    """Whether this page may show the server's paths: ``SGDLAB_SHOW_PATHS`` "1" or "0", else ("auto", the
    default) only when the visitor's browser runs on this machine (``ui.runner.browser_is_local``)."""
    env = os.environ if environ is None else environ
    value = env.get("SGDLAB_SHOW_PATHS", "auto").strip().lower()
    if value in _YES:
        return True
    if value in _NO:
        return False
    return runner.browser_is_local()


def data_text(text: str, *, markdown: bool = True) -> str:
    """``text`` about the data as this page shows it: a message of ``nn/`` (where the data came from, why
    ``MNIST_DIR`` could not be used) or a text from outside (a mirror's error, a damaged file's fault).

    In the session's language (``translate_core``); without the server's paths unless ``show_paths()``: the
    place a data set was read from becomes "this server", any other path "…/<its last part>" (URLs stay); and,
    when ``markdown`` (the text goes into ``st.markdown``, ``st.info``…), as plain text: its Markdown escaped
    (``ui.text.plain``), so that nothing from outside shows as a link or emphasis."""
    if not show_paths():
        text = _without_paths(text)
    shown = translate_core(text)
    return plain(shown, limit=600) if markdown else shown


def shareable(text: str) -> str:
    """``text`` as it may leave this server (in a saved model file, say): without the server's paths unless
    ``show_paths()``, untranslated otherwise."""
    return text if show_paths() else str(_without_paths(text))


def _without_paths(text):
    if isinstance(text, Message):
        params = {name: t("home.where_server") if name == "where" and "://" not in str(value) else
                  _without_paths(value) for name, value in text.params.items()}
        return Message(text.code, **params)
    if isinstance(text, str):
        for known in _known_paths():  # first the configured ones, which may hold spaces
            text = text.replace(known, t("home.server_path", name=Path(known).name or "…"))
        return _PATH.sub(lambda m: t("home.server_path", name=Path(m.group(0)).name or "…"), text)
    return text


def _known_paths() -> list[str]:
    """The data and cache directories this server is configured with, as messages may write them (longest first)."""
    settings = Settings.from_env()
    forms = set()
    cache_dir = settings.cache_dir or str(mnist.default_cache_dir())
    for given in (settings.data_dir, cache_dir, str(mnist.cache_path(cache_dir))):
        if not given:
            continue
        path = Path(given).expanduser()
        home = str(Path.home())
        forms |= {given, str(path), str(path.resolve())}
        forms |= {"~" + f[len(home):] for f in list(forms) if home not in ("", "/") and f.startswith(home + os.sep)}
    return sorted((f for f in forms if os.sep in f and f.strip(os.sep + "~.")), key=len, reverse=True)
