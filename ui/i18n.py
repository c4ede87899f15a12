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
  session's language: ``core.<code>`` of its ``nn.messages.Message`` code, filled with its values.

``nn/`` never imports this module.
"""

from __future__ import annotations

import functools
import sys
import tomllib
from pathlib import Path

from nn.messages import Message

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


def translate_core(message: str) -> str:
    """``message`` (a sentence written by ``nn/``: a config error, why a run ended, where the data came from, what
    is wrong with a model file) in the session's language.

    ``nn/`` writes each as an ``nn.messages.Message``: English text plus a code and its values. The code picks
    the text ``core.<code>`` and the values fill it in: a value that is a ``Message`` itself is translated in
    turn, and ``name`` (a training option) is shown as ``core.option_<name>``. A plain ``str`` (a reason saved
    before messages had codes) and a code the locale files lack are shown as they are written."""
    if not isinstance(message, Message) or f"core.{message.code}" not in messages(DEFAULT_LANGUAGE):
        return message
    values = {name: _core_value(name, value) for name, value in message.params.items()}
    return t(f"core.{message.code}", **values)


def _core_value(name: str, value):
    if isinstance(value, Message):
        return translate_core(value)
    if name == "name" and f"core.option_{value}" in messages(DEFAULT_LANGUAGE):
        return t(f"core.option_{value}")
    return value
