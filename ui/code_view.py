"""The §4.5 listing as the project's own source: ``TwoLayerNet``'s methods and the mini-batch loop, read from the
running modules (``inspect.getsource``: never a copy that can drift), with the session's training settings shown
in place of the hyperparameters, and the lines of the step just done highlighted.

Pure (no Streamlit): ``listing`` builds what the page shows, ``to_html`` draws it; ``ui.step_view`` lays it out.
"""

from __future__ import annotations

import html
import inspect
import re
from dataclasses import dataclass, field

from nn.train import TrainConfig, iterations_per_epoch
from nn.two_layer_net import TwoLayerNet
from ui import stepper as stepper_mod
from ui.step_figures import STEP_COLOURS

#: The network's methods the slides show, in their order (``gradient`` is chapter 5's fast version).
METHODS = ("__init__", "predict", "loss", "accuracy", "numerical_gradient", "gradient")

#: Which lines of the loop are which step of SGD (patterns on the source lines; tests check each finds lines).
STAGES: dict[object, tuple[str, ...]] = {
    1: (r"\bbatch_mask\s*=", r"\bx_batch\s*=", r"\bt_batch\s*="),
    2: (r"\bgrad\s*=\s*network\.gradient\(", r"\bloss\s*=\s*network\.last_loss"),
    "2-numerical": (r"\bgrad\s*=\s*network\.numerical_gradient\(", r"\bloss\s*=\s*network\.last_loss"),
    3: (r"for key in \(?'W1'", r"for key in \(?\"W1\"", r"network\.params\[key\]\s*-=\s*learning_rate \* grad\[key\]"),
    "epoch": (r"if i % iter_per_epoch", r"\baccuracy\s*=\s*measure\(", r"\btrain_acc\s*=\s*network\.accuracy",
              r"\btest_acc\s*=\s*network\.accuracy"),
}
EPOCH_COLOUR = "#CC79A7"


@dataclass
class Listing:
    """Source lines of one function, with what the page marks on them."""

    title: str  # "nn/sgd.py · sgd_step"
    lines: list[str]
    numbers: list[int]  # each line's number in the file
    filled: dict[int, list] = field(default_factory=dict)  # line index → (start, end) spans of settings put in
    stages: dict[object, list[int]] = field(default_factory=dict)  # stage → line indexes

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def _source(obj) -> tuple[list[str], list[int], str]:
    """The source lines of ``obj`` (dedented), their line numbers in the file, and the file as ``nn/…``. A docstring
    is cut to its first line (the listing is about the code; the file has it all)."""
    lines, first = inspect.getsourcelines(obj)
    lines = [line.rstrip("\n") for line in lines]
    indent = min((len(line) - len(line.lstrip()) for line in lines if line.strip()), default=0)
    lines = [line[indent:] for line in lines]
    numbers = list(range(first, first + len(lines)))
    body = next((k + 1 for k, line in enumerate(lines) if line.rstrip().endswith(":")), None)
    if body is not None and body < len(lines) and lines[body].lstrip().startswith('"""'):
        end = body if lines[body].strip().count('"""') >= 2 and len(lines[body].strip()) > 3 else \
            next((k for k in range(body + 1, len(lines)) if '"""' in lines[k]), body)
        if end > body:
            lines[body] = lines[body].rstrip() + ' …"""'
            del lines[body + 1 : end + 1], numbers[body + 1 : end + 1]
    path = inspect.getsourcefile(obj) or ""
    short = path[path.rfind("/nn/") + 1:] if "/nn/" in path else path.rsplit("/", 1)[-1]
    return lines, numbers, short


def hyperparameters(config: TrainConfig, n_train: int) -> dict[str, str]:
    """The slide's hyperparameters as the session's settings give them (Python literals)."""
    train_size = n_train if config.train_size is None else min(config.train_size, n_train)
    return {
        "iters_num": f"{config.iters}",
        "train_size": f"{train_size}",
        "batch_size": f"{config.batch_size}",
        "learning_rate": f"{config.lr:g}",
        "iter_per_epoch": f"{iterations_per_epoch(train_size, config.batch_size):g}",
        "hidden_size": f"{config.hidden}",
        "weight_init_std": f"{config.weight_init_std:g}",
    }


_ASSIGNMENT = re.compile(r"^(\s*)([A-Za-z_][A-Za-z_0-9]*)\s*=\s*(.+?)\s*$")
#: a keyword argument's default in a ``def`` line: ``iters_num: int = 10_000``
_DEFAULT = re.compile(r"\b([A-Za-z_][A-Za-z_0-9]*)(\s*:\s*[A-Za-z_.]+)?\s*=\s*([0-9][0-9_.eE+-]*)")


def fill_settings(lines: list[str], values: dict[str, str]) -> tuple[list[str], dict[int, list[tuple[int, int]]]]:
    """The lines with the session's settings in place of the hyperparameters: an assignment
    (``iter_per_epoch = max(train_size / batch_size, 1)`` → ``iter_per_epoch = 600  # max(train_size / batch_size, 1)``)
    or a keyword's default in the signature (``learning_rate: float = 0.1`` → ``learning_rate: float = 0.5``).
    Returns the lines and, per changed line, the (start, end) character spans of the values put in."""
    out, filled = [], {}
    in_signature = False
    for k, line in enumerate(lines):
        if line.lstrip().startswith("def "):
            in_signature = True
        spans = []
        if in_signature:
            pieces, last = [], 0
            for m in _DEFAULT.finditer(line):
                if m.group(1) in values:
                    pieces.append(line[last:m.start(3)])
                    start = sum(map(len, pieces))
                    pieces.append(values[m.group(1)])
                    spans.append((start, start + len(values[m.group(1)])))
                    last = m.end(3)
            line = "".join(pieces) + line[last:]
            if line.rstrip().endswith(":") and ")" in line:
                in_signature = False
        else:
            m = _ASSIGNMENT.match(line)
            if m and m.group(2) in values and not m.group(3).startswith("="):
                expr = m.group(3).split("  #")[0].strip()
                head = f"{m.group(1)}{m.group(2)} = "
                line = f"{head}{values[m.group(2)]}  # {expr}"
                spans.append((len(head), len(head) + len(values[m.group(2)])))
        out.append(line)
        if spans:
            filled[k] = spans
    return out, filled


def find_stages(lines: list[str]) -> dict[object, list[int]]:
    """Which line indexes are which step (``STAGES``)."""
    found = {}
    for stage, patterns in STAGES.items():
        found[stage] = [k for k, line in enumerate(lines) if any(re.search(p, line) for p in patterns)]
    return found


def settings_block(config: TrainConfig, n_train: int) -> list[str]:
    """The slide's hyperparameter cell, with the session's settings (for a loop that takes them as a config)."""
    v = hyperparameters(config, n_train)
    return [
        "# ハイパーパラメータ (hyperparameters: your settings)",
        f"iters_num = {v['iters_num']}",
        f"train_size = {v['train_size']}",
        f"batch_size = {v['batch_size']}",
        f"learning_rate = {v['learning_rate']}",
        f"iter_per_epoch = max(train_size / batch_size, 1)  # = {v['iter_per_epoch']}",
        "",
        f"network = TwoLayerNet(input_size=784, hidden_size={v['hidden_size']}, output_size=10,",
        f"                      weight_init_std={v['weight_init_std']})",
    ]


def loop_listings(config: TrainConfig, n_train: int) -> list[Listing]:
    """The training loop's source (and its once-per-epoch measurement), the hyperparameters filled with the
    settings, the steps found."""
    out = []
    for function in stepper_mod.loop_functions():
        lines, numbers, path = _source(function)
        lines, filled = fill_settings(lines, hyperparameters(config, n_train))
        out.append(Listing(f"{path} · {function.__name__}", lines, numbers, filled, find_stages(lines)))
    return out


def method_listings() -> list[Listing]:
    """``TwoLayerNet``'s methods, as the running module has them."""
    out = []
    for name in METHODS:
        lines, numbers, path = _source(getattr(TwoLayerNet, name))
        out.append(Listing(f"{path} · TwoLayerNet.{name}", lines, numbers))
    return out


_COMMENT = re.compile(r"(#.*)$")


def _code_html(line: str) -> str:
    """One source line as HTML: comments grey (a '#' inside a string is rare in these functions)."""
    m = _COMMENT.search(line)
    if m and line.count('"', 0, m.start()) % 2 == 0 and line.count("'", 0, m.start()) % 2 == 0:
        return html.escape(line[: m.start()]) + f'<span style="color:#6a737d">{html.escape(m.group(1))}</span>'
    return html.escape(line)


def to_html(listing: Listing, highlight: dict | None = None, lines: list[int] | None = None, large: bool = False) -> str:
    """The listing as a block of code with line numbers; the lines of each stage in ``highlight`` (stage → True)
    get the stage's colour and a ▶; filled-in settings are bold. ``lines``: only these line indexes (a snippet)."""
    highlight = highlight or {}
    colour_of = {}
    for stage, on in highlight.items():
        if on:
            for k in listing.stages.get(stage, []):
                colour_of[k] = stage_colour(stage)
    rows = []
    shown = range(len(listing.lines)) if lines is None else lines
    # a snippet is dedented to its own lines (the whole listing keeps its indentation)
    cut = 0 if lines is None else min((len(listing.lines[k]) - len(listing.lines[k].lstrip())
                                      for k in shown if listing.lines[k].strip()), default=0)
    for k in shown:
        line = listing.lines[k][cut:]
        if k in listing.filled:
            code, last = "", 0
            for start, end in ((a - cut, b - cut) for a, b in listing.filled[k]):
                code += html.escape(line[last:start]) + (f'<b class="sgd-setting" style="color:#0b5394;background:#fff3bf">'
                                                         f'{html.escape(line[start:end])}</b>')
                last = end
            code += _code_html(line[last:])
        else:
            code = _code_html(line)
        colour = colour_of.get(k)
        style = f"background:{colour}22;border-left:4px solid {colour};" if colour else "border-left:4px solid transparent;"
        mark = "▶" if colour else "&nbsp;"
        # a line too long for the box wraps inside its own column (the values filled in must stay in sight)
        rows.append(f'<div style="{style}padding-left:4px;display:flex">'
                    f'<span style="color:#999;user-select:none;flex:0 0 3.2em;text-align:right">{listing.numbers[k]}</span>'
                    f'<span style="color:{colour or "#999"};flex:0 0 1.6em;text-align:center">{mark}</span>'
                    f'<span style="white-space:pre-wrap;flex:1;padding-left:0.3em">{code}</span></div>')
    size = "0.8rem" if large else "0.82rem"  # lecture mode's root font is larger: ~90 characters still fit
    return (f'<div class="sgd-code" data-title="{html.escape(listing.title)}" style="font-family:ui-monospace,'
            f'SFMono-Regular,Menlo,Consolas,monospace;font-size:{size};line-height:1.45;background:#f8f9fb;'
            f'border:1px solid #e3e6ea;border-radius:6px;padding:6px 0">' + "".join(rows) + "</div>")


def stage_colour(stage) -> str:
    """Step 1, 2, 3: their colours (``ui.step_figures.STEP_COLOURS``); the epoch's measurement: pink."""
    return STEP_COLOURS.get(int(str(stage)[0]), EPOCH_COLOUR) if str(stage)[0].isdigit() else EPOCH_COLOUR


def gradient_stage(gradient: str) -> str | int:
    """The stage of the line that computes the gradient a run of ``gradient`` uses."""
    return 2 if gradient == "backprop" else "2-numerical"


def stage_snippet(listing: Listing, stage) -> list[int]:
    """The line indexes of one stage, with the lines between its first and last (a readable snippet)."""
    found = listing.stages.get(stage) or []
    return list(range(found[0], found[-1] + 1)) if found else []
