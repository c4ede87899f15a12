"""Links that reproduce a setting: the training options (and language, lecture mode) in the page's URL.

Pure: no Streamlit. ``parse(query)`` reads a query (``st.query_params`` as a dict) into option values and a
notice for every malformed or out-of-range value (which falls back to its default); ``encode(values)`` writes
values back as query parameters. ``ui.link_view`` wires them to the widgets.

Parameters (each optional; the defaults are the book's §4.5 settings):

    iters=10000  batch=100  lr=0.1  hidden=50  std=0.01  images=all|300  seed=0  gradient=backprop
    lang=en|ja  lecture=0|1
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Callable, Mapping
from urllib.parse import urlencode

from nn.train import GRADIENT_METHODS, TrainConfig

ALL = "all"
LANGUAGES = ("en", "ja")
_BOOK = TrainConfig()


@dataclass(frozen=True)
class Option:
    """One URL parameter: its name, default, and how its text becomes a value (or a ValueError)."""

    name: str
    default: Any
    read: Callable[[str], Any]
    write: Callable[[Any], str]
    allowed: str = ""  # what the value may be, for people: "1 – 1,000,000", "backprop | numerical | ..."


@dataclass(frozen=True)
class Notice:
    """A parameter whose value could not be used: ``used`` (its default) was taken instead."""

    name: str
    given: str
    used: str
    allowed: str = ""


def _number(kind: type, low: float, high: float) -> Callable[[str], Any]:
    def read(text: str):
        text = text.strip().replace("_", "").replace(",", "")
        value = float(text)
        if kind is int:
            if not value.is_integer():
                raise ValueError("not a whole number")
            value = int(value)
        if not (math.isfinite(value) and low <= value <= high):
            raise ValueError("out of range")
        return value

    return read


def _choice(choices: tuple[str, ...]) -> Callable[[str], str]:
    def read(text: str) -> str:
        if text.strip().lower() not in choices:
            raise ValueError("unknown choice")
        return text.strip().lower()

    return read


def _images(text: str) -> int | None:
    return None if text.strip().lower() == ALL else _number(int, 1, 60_000)(text)


def _flag(text: str) -> bool:
    return {"1": True, "true": True, "on": True, "0": False, "false": False, "off": False}[text.strip().lower()]


#: Ranges are the widgets' (ui.training_view.settings_widgets; tests/test_links.py checks they agree).
RANGES = {"iters": (1, 1_000_000), "batch": (1, 10_000), "lr": (0.0001, 100.0), "hidden": (1, 1_000),
          "std": (0.0001, 10.0), "seed": (0, 2**31 - 1)}

def _span(name: str) -> str:
    low, high = RANGES[name]
    return f"{low:,g} – {high:,g}" if isinstance(low, float) else f"{low:,} – {high:,}"


OPTIONS: dict[str, Option] = {
    option.name: option
    for option in (
        Option("iters", _BOOK.iters, _number(int, *RANGES["iters"]), str, _span("iters")),
        Option("batch", _BOOK.batch_size, _number(int, *RANGES["batch"]), str, _span("batch")),
        Option("lr", _BOOK.lr, _number(float, *RANGES["lr"]), lambda v: f"{v:g}", _span("lr")),
        Option("hidden", _BOOK.hidden, _number(int, *RANGES["hidden"]), str, _span("hidden")),
        Option("std", _BOOK.weight_init_std, _number(float, *RANGES["std"]), lambda v: f"{v:g}", _span("std")),
        Option("images", _BOOK.train_size, _images, lambda v: ALL if v is None else str(v), f"{ALL} | 1 – 60,000"),
        Option("seed", _BOOK.seed, _number(int, *RANGES["seed"]), str, _span("seed")),
        Option("gradient", _BOOK.gradient, _choice(GRADIENT_METHODS), str, " | ".join(GRADIENT_METHODS)),
        Option("lang", "en", _choice(LANGUAGES), str, " | ".join(LANGUAGES)),
        Option("lecture", False, _flag, lambda v: "1" if v else "0", "0 | 1"),
    )
}
TRAINING = ("iters", "batch", "lr", "hidden", "std", "images", "seed", "gradient")


def _text(raw: Any) -> str:
    if isinstance(raw, (list, tuple)):  # a repeated parameter: the last one counts, as in st.query_params
        raw = raw[-1] if raw else ""
    return str(raw)


def parse(query: Mapping[str, Any]) -> tuple[dict[str, Any], list[Notice]]:
    """The values of the known parameters present in ``query``, and a notice for each one that fell back."""
    values, notices = {}, []
    for name, option in OPTIONS.items():
        if name not in query:
            continue
        text = _text(query[name])
        try:
            values[name] = option.read(text)
        except (ValueError, KeyError, OverflowError):
            values[name] = option.default
            given = re.sub(r"[`\s]+", " ", text)[:40]  # shown inside `code` in a warning: no way out of it
            notices.append(Notice(name, given, option.write(option.default), option.allowed))
    return values, notices


def encode(values: Mapping[str, Any]) -> dict[str, str]:
    """Query parameters for ``values``: every training option given; lang and lecture only when not default."""
    query = {}
    for name, value in values.items():
        option = OPTIONS[name]
        if name in TRAINING or value != option.default:
            query[name] = option.write(value)
    return query


def from_config(config: TrainConfig) -> dict[str, Any]:
    """The training options of ``config`` as link values."""
    return {"iters": config.iters, "batch": config.batch_size, "lr": config.lr, "hidden": config.hidden,
            "std": config.weight_init_std, "images": config.train_size, "seed": config.seed,
            "gradient": config.gradient}


def to_config(values: Mapping[str, Any], base: TrainConfig = _BOOK) -> TrainConfig:
    """``base`` with the training options found in ``values``."""
    fields = {"iters": "iters", "batch": "batch_size", "lr": "lr", "hidden": "hidden", "std": "weight_init_std",
              "images": "train_size", "seed": "seed", "gradient": "gradient"}
    return base.replace(**{fields[k]: v for k, v in values.items() if k in fields})


def query_string(values: Mapping[str, Any]) -> str:
    """``?iters=...&...`` for ``values`` (empty when there is nothing to say)."""
    query = encode(values)
    return "?" + urlencode(query) if query else ""


def ours(query: Mapping[str, Any]) -> dict[str, str]:
    """The parameters of ``query`` this module knows, as text (to tell whether the URL changed)."""
    return {name: _text(query[name]) for name in OPTIONS if name in query}
