"""The training options of §4.5, declared once: name, default, allowed values, and their names outside Python.

Every place that takes a training option reads this table: ``TrainConfig`` (its defaults and ``errors()``), the
command line (``python -m nn train --iters …``), the app's widgets and links (``ui.settings``). A student who
wants to know what a setting may be reads it here.

=================  ==========  ===================  ===================  ======================
option (config)    default     allowed              command line         link (address bar)
=================  ==========  ===================  ===================  ======================
iters              10,000      1 – 1,000,000        --iters              iters
batch_size         100         1 – 10,000           --batch-size         batch
lr                 0.1         0.0001 – 100         --lr                 lr
hidden             50          1 – 1,000            --hidden             hidden
weight_init_std    0.01        0.0001 – 10          --weight-init-std    std
train_size         all (None)  1 – 60,000 or all    --train-size         images (``all`` or N)
seed               0           0 – 2,147,483,647    --seed               seed
gradient           backprop    backprop, numerical, --gradient           gradient
                               numerical-plain
dtype              float32     float32, float64     --dtype              (not in links)
=================  ==========  ===================  ===================  ======================

A value that is not allowed is told by a coded ``nn.messages.Message`` (``option_range``…), which the app
translates. Pure Python: no NumPy, no Streamlit.
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass
from typing import Any

from nn.messages import Message

GRADIENT_METHODS = ("backprop", "numerical", "numerical-plain")
DTYPES = ("float32", "float64")
#: The most training images MNIST has (a larger ``train_size`` means "all of them").
MNIST_TRAIN_IMAGES = 60_000


@dataclass(frozen=True)
class Option:
    """One training option: ``TrainConfig`` field ``name``, its ``default``, and what it may be."""

    name: str  # the TrainConfig field
    kind: type  # int, float or str
    default: Any
    low: float | None = None  # numbers: the closed range [low, high]
    high: float | None = None
    choices: tuple[str, ...] = ()  # text: the values allowed
    optional: bool = False  # None is allowed too (train_size: None means every image)
    cli: str = ""  # the command line's flag
    url: str = ""  # the link's parameter name ("" when links do not carry it)
    help: str = ""  # one line for the command line's --help

    def check(self, value: Any, exact: bool = False) -> Any:
        """``value`` as this option's type when it is allowed, else ValueError saying what is allowed (its text
        a coded ``nn.messages.Message``). ``exact``: no conversion, the value must already be of the option's type
        (a whole-number option refuses 100.0), as a ``TrainConfig``'s fields must."""
        if value is None and self.optional:
            return None
        if self.kind is str:
            if not isinstance(value, str) or value not in self.choices:
                raise ValueError(Message("option_choice", name=self.name, choices=", ".join(self.choices), value=value))
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)) and not hasattr(value, "__index__") \
                and not hasattr(value, "__float__"):
            raise ValueError(self._problem("option_number", value))
        number = operator.index(value) if hasattr(value, "__index__") else float(value)  # whole numbers stay exact
        if self.kind is int and not isinstance(number, int):
            if exact or not (math.isfinite(number) and number.is_integer()):
                raise ValueError(self._problem("option_whole", value))
            number = int(number)
        if not self.low <= number <= self.high:  # NaN is never in range
            raise ValueError(self._problem("option_range", value))
        return number if self.kind is int else float(number)

    def span(self) -> str:
        """What the option may be, for people: "1 – 1,000,000", "0.0001 – 100", "backprop | numerical | …"."""
        if self.kind is str:
            return " | ".join(self.choices)
        text = f"{self.low:,g} – {self.high:,g}" if self.kind is float else f"{self.low:,} – {self.high:,}"
        return Message("span_or_all", span=text) if self.optional else text

    def _problem(self, code: str, value: Any) -> Message:
        return Message(code, name=self.name, allowed=self.span(), value=value)


OPTIONS: dict[str, Option] = {
    option.name: option
    for option in (
        Option("iters", int, 10_000, 1, 1_000_000, cli="--iters", url="iters", help="SGD steps"),
        Option("batch_size", int, 100, 1, 10_000, cli="--batch-size", url="batch", help="mini-batch size"),
        Option("lr", float, 0.1, 0.0001, 100.0, cli="--lr", url="lr", help="learning rate"),
        Option("hidden", int, 50, 1, 1_000, cli="--hidden", url="hidden", help="hidden units"),
        Option("weight_init_std", float, 0.01, 0.0001, 10.0, cli="--weight-init-std", url="std",
               help="std of the initial weights"),
        Option("train_size", int, None, 1, MNIST_TRAIN_IMAGES, optional=True, cli="--train-size", url="images",
               help="train on a random subset of this many images, e.g. 300 to provoke overfitting (default: all)"),
        Option("seed", int, 0, 0, 2**31 - 1, cli="--seed", url="seed", help="random seed"),
        Option("gradient", str, "backprop", choices=GRADIENT_METHODS, cli="--gradient", url="gradient",
               help="backprop (fast), numerical (central differences using the net's structure) or numerical-plain "
                    "(the book's element-by-element loop, about 20 s per iteration)"),
        Option("dtype", str, "float32", choices=DTYPES, cli="--dtype", help="float type of weights and images"),
    )
}

#: The options a link carries, by their link name.
BY_URL: dict[str, Option] = {o.url: o for o in OPTIONS.values() if o.url}


def all_problems(problems: list[str]) -> str:
    """Several problems (``TrainConfig.errors()``) as one sentence, "a; b; c", still coded: one problem is itself,
    more are ``Message("problems", first=…, rest=…)`` nested, which the app translates part by part."""
    if not problems:
        raise ValueError("no problems to tell")
    told = problems[-1]
    for problem in reversed(problems[:-1]):
        told = Message("problems", first=problem, rest=told)
    return told
