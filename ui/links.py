"""Links that reproduce a setting: the training options (and language, lecture mode) in the page's URL.

Pure: no Streamlit. ``parse(query)`` reads a query (``st.query_params`` as a dict) into option values and a
notice for every malformed or out-of-range value (which falls back to its default); ``encode(values)`` writes
values back as query parameters. ``ui.link_view`` wires them to the widgets.

Parameters (each optional; the defaults are the book's §4.5 settings; the training options and their ranges
are the core's table, ``nn.options``; ``lang``, ``lecture`` and the sweep's are ``ui.settings``'):

    iters=10000  batch=100  lr=0.1  hidden=50  std=0.01  images=all|300  seed=0  gradient=backprop
    lang=en|ja  lecture=0|1
    on Compare settings: x=lr  x_values=0.001,0.1,10  y=none|batch_size|...  y_values=10,100  sweep_iters=2000
                         axis=iterations|images|seconds
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Callable, Mapping
from urllib.parse import urlencode

from nn.options import BY_URL as TRAINING_OPTIONS
from nn.train import TrainConfig
from ui.settings import SETTINGS

ALL = "all"
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


def _numbers(low: float, high: float) -> Callable[[str], list]:
    """"0.001,0.1,10": up to 8 numbers in [low, high], sorted, each once; empty for none."""
    number = _number(float, low, high)

    def read(text: str) -> list:
        values = sorted({number(part) for part in text.split(",") if part.strip()})
        if len(values) > 8:
            raise ValueError("more than 8 values")
        return [int(v) if v.is_integer() else v for v in values]

    return read


def _write_numbers(values) -> str:
    return ",".join(f"{v:g}" for v in values)


def _setting(s) -> Option:
    """A link parameter for a setting of ``ui.settings`` (a choice, a whole number or a list of numbers)."""
    if s.kind == "choice":
        return Option(s.url, s.default, _choice(tuple(map(str, s.choices))), str, " | ".join(map(str, s.choices)))
    if s.kind == "numbers":
        return Option(s.url, s.default, _numbers(s.low, s.high), _write_numbers,
                      f"up to 8 of {s.low:g} – {s.high:,g}, comma-separated")
    return Option(s.url, s.default, _number(int, s.low, s.high), str, f"{s.low:,} – {s.high:,}")


def _flag(text: str) -> bool:
    return {"1": True, "true": True, "on": True, "0": False, "false": False, "off": False}[text.strip().lower()]


def _option(o) -> Option:
    """A link parameter for a training option of the core's table (nn.options): its range is written there."""
    if o.kind is str:
        read = _choice(o.choices)
    elif o.optional:  # images = all | N
        number = _number(o.kind, o.low, o.high)

        def read(text: str):
            return None if text.strip().lower() == ALL else number(text)
    else:
        read = _number(o.kind, o.low, o.high)
    if o.kind is float:
        def write(v):
            return f"{v:g}"
    elif o.optional:
        def write(v):
            return ALL if v is None else str(v)
    else:
        write = str
    return Option(o.url, o.default, read, write, o.span())


_LANG, _LECTURE = SETTINGS["lang"], SETTINGS["lecture"]
OPTIONS: dict[str, Option] = {
    **{o.url: _option(o) for o in TRAINING_OPTIONS.values()},
    _LANG.url: Option(_LANG.url, _LANG.default, _choice(_LANG.choices), str, " | ".join(_LANG.choices)),
    _LECTURE.url: Option(_LECTURE.url, _LECTURE.default, _flag, lambda v: "1" if v else "0", "0 | 1"),
}
#: The training options a link carries, by their link names.
TRAINING = tuple(TRAINING_OPTIONS)
#: The sweep's choices a link to Compare settings carries: link name → setting name.
SWEEP = {s.url: name for name, s in SETTINGS.items() if name.startswith("sweep.") and s.url}
OPTIONS.update({url: _setting(SETTINGS[name]) for url, name in SWEEP.items()})


def _text(raw: Any) -> str:
    if isinstance(raw, (list, tuple)):  # a repeated parameter: the last one counts, as in st.query_params
        raw = raw[-1] if raw else ""
    return str(raw)


def shown(text: str, most: int = 40) -> str:
    """A value as a warning repeats it inside a `code` span, with no way out of it: no backtick (each becomes ')
    and no line break or other control character (runs of them and of spaces become one space), trimmed, at most
    ``most`` characters. "" when the value was empty or only spaces (the warning then says "is empty")."""
    printable = "".join(c if c.isprintable() else " " for c in text).replace("`", "'")
    return re.sub(r"\s+", " ", printable).strip()[:most]


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
            notices.append(Notice(name, shown(text), option.write(option.default), option.allowed))
    return values, notices


def encode(values: Mapping[str, Any]) -> dict[str, str]:
    """Query parameters for ``values``: every training or sweep option given; lang and lecture only when not
    default."""
    query = {}
    for name, value in values.items():
        option = OPTIONS[name]
        if name in TRAINING or name in SWEEP or value != option.default:
            query[name] = option.write(value)
    return query


def from_config(config: TrainConfig) -> dict[str, Any]:
    """The training options of ``config`` as link values."""
    return {url: getattr(config, o.name) for url, o in TRAINING_OPTIONS.items()}


def to_config(values: Mapping[str, Any], base: TrainConfig = _BOOK) -> TrainConfig:
    """``base`` with the training options found in ``values``."""
    return base.replace(**{TRAINING_OPTIONS[k].name: v for k, v in values.items() if k in TRAINING_OPTIONS})


def query_string(values: Mapping[str, Any]) -> str:
    """``?iters=...&...`` for ``values`` (empty when there is nothing to say)."""
    query = encode(values)
    return "?" + urlencode(query) if query else ""


def ours(query: Mapping[str, Any]) -> dict[str, str]:
    """The parameters of ``query`` this module knows, as text (to tell whether the URL changed)."""
    return {name: _text(query[name]) for name in OPTIONS if name in query}
