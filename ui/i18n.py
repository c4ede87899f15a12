"""English and Japanese for every text SGD Lab shows: ``t("train.start")`` → "Start" or "開始".

Texts live in one TOML file per language, ``ui/locales/<code>.toml``; a key is the dotted path of TOML tables
(``[train]`` ``start = "Start"`` → ``"train.start"``). The files are read once per process (read-only data).

API:

- ``t(key, **kwargs) -> str``: the text of ``key`` in the session's language, formatted with
  ``str.format(**kwargs)``. Never raises: a key missing in the language falls back to English, then to the key
  itself (tests/test_i18n.py makes sure that never happens).
- ``language() -> str`` ("en" or "ja"), ``set_language(code)``; ``LANGUAGES`` maps codes to their names.
- ``messages(code) -> dict[str, str]``: every flattened key of one language (for tests and tools).
- ``label_func({option: key})``: a widget's ``format_func`` showing each option's text.
- ``translate_core(message) -> str``: a message written by ``nn/`` (which knows no translations), in the
  session's language, when it is one the UI knows; otherwise the message itself.

``nn/`` never imports this module.
"""

from __future__ import annotations

import functools
import re
import sys
import tomllib
from pathlib import Path

LANGUAGES = {"en": "English", "ja": "日本語"}
DEFAULT_LANGUAGE = "en"
LOCALES_DIR = Path(__file__).resolve().parent / "locales"


def _flatten(table: dict, prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for name, value in table.items():
        key = f"{prefix}{name}"
        if isinstance(value, dict):
            flat.update(_flatten(value, key + "."))
        else:
            flat[key] = str(value)
    return flat


@functools.cache
def messages(code: str) -> dict[str, str]:
    """Every text of language ``code``, by dotted key (read from its TOML file once per process)."""
    with open(LOCALES_DIR / f"{code}.toml", "rb") as f:
        return _flatten(tomllib.load(f))


def language() -> str:
    """The session's language code ("en" when none was chosen, or outside a Streamlit run).

    Pure modules (``ui.analysis``, the figure builders) call ``t`` too; without Streamlit loaded they get
    English and never import it.
    """
    if "streamlit" not in sys.modules:
        return DEFAULT_LANGUAGE
    from ui import state

    code = state.language()
    return code if code in LANGUAGES else DEFAULT_LANGUAGE


def set_language(code: str) -> None:
    if code not in LANGUAGES:
        raise ValueError(f"unknown language {code!r}; choose from {sorted(LANGUAGES)}")
    from ui import state

    state.set_language(code)


def text(key: str, code: str) -> str:
    """The raw (unformatted) text of ``key`` in language ``code``: English, then the key, if missing."""
    found = messages(code).get(key)
    if found is None and code != DEFAULT_LANGUAGE:
        found = messages(DEFAULT_LANGUAGE).get(key)
    return key if found is None else found


def t(key: str, /, **kwargs) -> str:
    """The text of ``key`` in the session's language, with ``{placeholders}`` filled from ``kwargs``."""
    template = text(key, language())
    if not kwargs:
        return template
    try:
        return template.format(**kwargs)
    except (KeyError, IndexError, ValueError):  # a broken translation must not break the page
        try:
            return text(key, DEFAULT_LANGUAGE).format(**kwargs)
        except (KeyError, IndexError, ValueError):
            return template


def label_func(keys: dict, **kwargs):
    """A widget's ``format_func``: option value → its text, the keys translated now (in this run's language;
    AppTest calls a format_func again later, outside the run)."""
    return {value: t(key, **kwargs) for value, key in keys.items()}.__getitem__


# -- messages written by nn/ -----------------------------------------------------------------------------------

#: The ``[core]`` keys whose English text ``nn/`` writes word for word; each becomes a pattern whose
#: placeholders capture the variable parts (numbers keep their formatting).
CORE_KEYS = (
    "core.must_be_whole", "core.lr_positive", "core.std_positive", "core.train_size_whole", "core.seed_whole",
    "core.one_of", "core.stopped_after", "core.stopped_during", "core.diverged_mean", "core.diverged",
    "core.failed", "core.stopped_waiting", "core.process_died", "core.sample", "core.downloaded", "core.from", "data.mnist_dir_error",
    # what nn.model_file says of a bad upload (the common faults; a rarer one is shown as written)
    "core.file_empty", "core.not_zip", "core.damaged_zip", "core.too_large", "core.missing_members",
    "core.pickle_refused", "core.bad_dtype", "core.bad_w1_shape", "core.bad_shape", "core.non_finite_many", "core.non_finite_one",
    "core.not_sgdlab", "core.newer_format", "core.mixed_dtypes", "core.loss_non_finite", "core.snapshots_non_finite",
    "core.meta_fraction",
)
#: Captured parts that are themselves words of nn/: translated too when the UI knows them.
_CORE_WORDS = {
    "name": {"iters": "core.name_iters", "batch_size": "core.name_batch_size", "hidden": "core.name_hidden"},
    "what": {"full MNIST": "core.full_mnist", "MNIST-format data": "core.mnist_format"},
}
_COUNTS = re.compile(r"^(?P<n_train>[\d,]+) \+ (?P<n_test>[\d,]+) images")


@functools.cache
def _core_patterns() -> tuple[tuple[str, re.Pattern], ...]:
    patterns = []
    for key in CORE_KEYS:
        parts = re.split(r"\{(\w+)\}", messages(DEFAULT_LANGUAGE)[key])
        regex = "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>.+?)" for i, p in enumerate(parts))
        patterns.append((key, re.compile(f"^{regex}$", re.DOTALL)))
    return tuple(patterns)


def translate_core(message: str) -> str:
    """``message`` (written in English by ``nn/``: a config error, why a run ended, a data source) in the
    session's language when the UI knows its pattern; otherwise ``message`` itself."""
    if not message or language() == DEFAULT_LANGUAGE:
        return message
    for key, pattern in _core_patterns():
        match = pattern.match(message)
        if match is None:
            continue
        values = match.groupdict()
        for name, words in _CORE_WORDS.items():
            if values.get(name) in words:
                values[name] = t(words[values[name]])
        if "counts" in values:
            counts = _COUNTS.match(values["counts"])
            if counts:
                values["counts"] = t("core.counts", **counts.groupdict()) + values["counts"][counts.end():]
        if "error" in values:
            values["error"] = translate_core(values["error"])
        return t(key, **values)
    return message
