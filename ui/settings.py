"""Every setting a student can change in SGD Lab, declared once: its name, session key, default, allowed values,
whether the address bar carries it (and under which name), and whether it outlives a visit to another page.

Pure (no Streamlit): ``ui.state`` creates the session from this table (``state.init_session``) and binds the
widgets to it (``state.bind``); ``ui.links`` reads and writes the address bar from it; the training options come
from the core's own table, ``nn.options`` (the command line reads that one too), so a range is written once.

A setting's value lives in the session (``state.get(name)`` / ``state.set(name, value)``); the widget that shows
it has the setting's ``key`` and is given the value anew on every script run, so a page switch, a language switch,
a lecture-mode toggle or a reload never loses it.

Kinds:

- ``int`` / ``float``: a number in [low, high];
- ``bool``;
- ``choice``: one of ``choices``;
- ``run``: a run of the session (its job id), or for a model picker also ``"pretrained"`` / ``"fresh"`` and the
  setting's own ``choices`` (the draw page: ``"distorted"``, the model trained on distorted digits); the default
  ``None`` means "the page's own default" (``ui.models.default_key``: the most accurate finished run), so a
  picker follows the best run until the student picks one;
- ``runs``: a list of job ids (``None``: the page's default, the newest three).
- ``numbers``: a list of up to 8 numbers in [low, high], kept sorted (a sweep's values).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from nn.options import OPTIONS as TRAINING_OPTIONS, Option

#: The training presets (their names are their ids; ``ui.training_view.PRESETS`` has their configs).
BOOK = "Book §4.5 (10,000 iterations)"
QUICK = "Quick look (1,000 iterations)"
OVERFIT = "Overfit on purpose (300 training images)"
CUSTOM = "Custom"
PRESET_NAMES = (BOOK, QUICK, OVERFIT, CUSTOM)
LANGUAGES = ("en", "ja")
#: The model pickers' fixed choices besides the session's runs.
PRETRAINED, FRESH = "pretrained", "fresh"
#: The draw page's third model: the net trained on distorted digits (ui.models.STURDY).
STURDY = "distorted"
ANY = "any"


@dataclass(frozen=True)
class Setting:
    name: str  # "train.iters": page, dot, what
    key: str  # the session key of its widget (tests find widgets by it)
    kind: str  # int | float | bool | choice | run | runs
    default: Any
    low: float | None = None
    high: float | None = None
    choices: tuple = ()
    url: str = ""  # the address-bar parameter ("" for none)
    option: str = ""  # the nn.options training option it is (its TrainConfig field)
    persists: bool = True  # keeps its value across pages and reloads (every setting does: the Train page's
    # long-run confirmation too, until the training settings change or the run starts)

    def check(self, value: Any) -> Any:
        """``value`` made this setting's type when allowed, else ValueError."""
        if self.kind == "bool":
            if isinstance(value, bool):
                return value
            raise ValueError(f"{self.name}: not true/false: {value!r}")
        if self.kind in ("int", "float"):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"{self.name}: not a number: {value!r}")
            number = float(value)
            if not math.isfinite(number) or not self.low <= number <= self.high:
                raise ValueError(f"{self.name}: {value!r} is not in {self.low} – {self.high}")
            if self.kind == "int":
                if not number.is_integer():
                    raise ValueError(f"{self.name}: not a whole number: {value!r}")
                return int(number)
            return number
        if self.kind == "choice":
            if value in self.choices:
                return value
            raise ValueError(f"{self.name}: {value!r} is not one of {self.choices}")
        if self.kind == "run":
            fixed = (PRETRAINED, FRESH, *self.choices)  # the pickers' own models; the draw page's sturdy one
            if value is None or value in fixed or (isinstance(value, int) and not isinstance(value, bool) and value > 0):
                return value
            raise ValueError(f"{self.name}: not a run: {value!r}")
        if self.kind == "runs":
            if value is None:
                return None
            if isinstance(value, (list, tuple)) and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
                return [int(v) for v in value]
            raise ValueError(f"{self.name}: not a list of runs: {value!r}")
        if self.kind == "numbers":  # a sweep's values: up to 8 distinct numbers in [low, high]
            if isinstance(value, (list, tuple)) and len(value) <= 8 and all(
                    isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                    and self.low <= v <= self.high for v in value):
                return sorted({v for v in value})
            raise ValueError(f"{self.name}: not a list of numbers in {self.low} – {self.high}: {value!r}")
        raise ValueError(f"{self.name}: unknown kind {self.kind}")


def _training(name: str, option: str, key: str, **extra) -> Setting:
    """A training setting from the core's option table (its default and range are nn.options')."""
    o: Option = TRAINING_OPTIONS[option]
    kind = "choice" if o.kind is str else o.kind.__name__
    default = o.default
    return Setting(name, key, kind, default, low=o.low, high=o.high, choices=o.choices, url=o.url, option=option,
                   **extra)


_TRAIN_SIZE = TRAINING_OPTIONS["train_size"]
#: The options a sweep can vary (their TrainConfig names; ui.sweeps.VARIABLES has the values offered).
SWEEP_VARIABLES = ("lr", "batch_size", "hidden", "train_size", "weight_init_std")

#: The table. Order: as the pages show them.
SETTINGS: dict[str, Setting] = {
    s.name: s
    for s in (
        # every page (the sidebar)
        Setting("lang", "sgd_lang_control", "choice", "en", choices=LANGUAGES, url="lang"),
        Setting("lecture", "sgd_lecture_control", "bool", False, url="lecture"),
        # Train
        Setting("train.preset", "sgd_train_preset", "choice", BOOK, choices=PRESET_NAMES),
        _training("train.iters", "iters", "sgd_train_iters"),
        _training("train.batch", "batch_size", "sgd_train_batch"),
        _training("train.lr", "lr", "sgd_train_lr"),
        _training("train.hidden", "hidden", "sgd_train_hidden"),
        _training("train.std", "weight_init_std", "sgd_train_std"),
        # train_size is two widgets: "all images" and, when unticked, how many (the link's images=all | N)
        Setting("train.use_all", "sgd_train_use_all", "bool", True, url=_TRAIN_SIZE.url, option="train_size"),
        Setting("train.train_size", "sgd_train_size", "int", 300, low=_TRAIN_SIZE.low, high=_TRAIN_SIZE.high,
                url=_TRAIN_SIZE.url, option="train_size"),
        _training("train.seed", "seed", "sgd_train_seed"),
        _training("train.gradient", "gradient", "sgd_train_gradient"),
        Setting("train.confirm_slow", "sgd_train_confirm_slow", "bool", False),
        Setting("files.download_run", "sgd_model_download_run", "run", None),
        # Loss curves
        Setting("curves.runs", "sgd_curves_runs", "runs", None),
        Setting("curves.smooth", "sgd_curves_smooth", "float", 0.6, low=0.0, high=0.99),
        Setting("curves.log", "sgd_curves_log_y", "choice", "linear", choices=("linear", "log")),
        Setting("curves.x", "sgd_curves_x_axis", "choice", "iterations", choices=("iterations", "epochs")),
        Setting("curves.view", "sgd_curves_view", "choice", "both", choices=("both", "whole", "first")),
        # Overfitting check
        Setting("overfit.run", "sgd_overfit_run", "run", None),
        # Draw a digit
        Setting("draw.model", "sgd_draw_model", "run", None, choices=(STURDY,)),
        # Gradient check
        Setting("grad.model", "sgd_grad_model", "run", None),
        Setting("grad.batch", "sgd_grad_batch", "choice", 10, choices=(1, 10, 100)),
        Setting("grad.batch_seed", "sgd_grad_batch_seed", "int", 0, low=0, high=10_000),
        Setting("grad.fresh_seed", "sgd_grad_fresh_seed", "int", 0, low=0, high=10_000),
        Setting("grad.unit", "sgd_grad_unit", "int", None, low=1, high=TRAINING_OPTIONS["hidden"].high),
        # Hidden units
        Setting("units.model", "sgd_units_model", "run", None),
        Setting("units.scale", "sgd_units_scale", "choice", "shared", choices=("shared", "per unit")),
        Setting("units.snapshot", "sgd_units_snapshot", "int", None, low=0, high=TRAINING_OPTIONS["iters"].high),
        Setting("units.unit", "sgd_units_unit", "int", 1, low=1, high=TRAINING_OPTIONS["hidden"].high),
        # Where it errs
        Setting("errors.model", "sgd_errors_model", "run", None),
        Setting("errors.true", "sgd_errors_true", "choice", ANY, choices=(ANY, *range(10))),
        Setting("errors.pred", "sgd_errors_pred", "choice", ANY, choices=(ANY, *range(10))),
        Setting("errors.order", "sgd_errors_order", "choice", "most", choices=("most", "least")),
        Setting("errors.normalise", "sgd_errors_normalise", "choice", "counts", choices=("counts", "share")),
        # Code, step by step
        Setting("step.gradient", "sgd_step_gradient", "choice", "backprop", choices=("backprop", "numerical")),
        Setting("step.example", "sgd_step_example", "int", 1, low=1, high=TRAINING_OPTIONS["batch_size"].high),
        Setting("step.try_lr", "sgd_step_try_lr", "float", 10.0, low=0.001, high=100.0),
        # Loss landscape (nn.landscape: its defaults; grid × images bound the compute, 0.5 s at 25 × 1,000)
        Setting("landscape.run", "sgd_landscape_run", "run", None),
        Setting("landscape.directions", "sgd_landscape_directions", "choice", "trajectory",
                choices=("trajectory", "random")),
        Setting("landscape.grid", "sgd_landscape_grid", "choice", 25, choices=(15, 25, 41)),
        Setting("landscape.images", "sgd_landscape_images", "choice", 1000, choices=(300, 1000, 3000)),
        # Compare settings (ui.sweeps: a sweep varies one or two training options over a few values)
        Setting("sweep.preset", "sgd_sweep_preset", "choice", "lr", choices=("lr", "batch", "custom")),
        Setting("sweep.x", "sgd_sweep_x", "choice", "lr", choices=SWEEP_VARIABLES, url="x"),
        Setting("sweep.x_values", "sgd_sweep_x_values", "numbers", [0.001, 0.1, 10.0], low=0.0001, high=60_000,
                url="x_values"),
        Setting("sweep.y", "sgd_sweep_y", "choice", "none", choices=("none", *SWEEP_VARIABLES), url="y"),
        Setting("sweep.y_values", "sgd_sweep_y_values", "numbers", [], low=0.0001, high=60_000, url="y_values"),
        Setting("sweep.iters", "sgd_sweep_iters", "int", 2_000, low=10, high=100_000, url="sweep_iters"),
        Setting("sweep.axis", "sgd_sweep_axis", "choice", "iterations", choices=("iterations", "images", "seconds"),
                url="axis"),
    )
}

#: The settings of a training run, in TrainConfig's order.
TRAINING = tuple(s.name for s in SETTINGS.values() if s.option)
BY_KEY: dict[str, Setting] = {s.key: s for s in SETTINGS.values()}


def check_or_default(name: str, value: Any) -> Any:
    """``value`` if the setting allows it, else its default (an int/float None default stays None)."""
    setting = SETTINGS[name]
    if value is None and setting.default is None:
        return None
    try:
        return setting.check(value)
    except ValueError:
        return setting.default


def choices(name: str) -> list:
    """The options of a choice setting, for its widget."""
    return list(SETTINGS[name].choices)


def limits(name: str) -> dict:
    """``min_value`` and ``max_value`` of a number setting's widget (ints for whole numbers)."""
    setting = SETTINGS[name]
    kind = int if setting.kind == "int" else float
    return {"min_value": kind(setting.low), "max_value": kind(setting.high)}
