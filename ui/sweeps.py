"""Sweeps: one or two training options varied over a few values, every other option the book's (§4.5).

Pure (no Streamlit): the grid of configs (``grid``), what fits in a session (``fits``), a run's loss against
iterations, images seen or seconds (``x_values``), and the two figures of the "Compare settings" page — small
multiples of loss curves on shared axes (``small_multiples_figure``) and the final test accuracy as a heat map, or
as bars for a one-option sweep (``accuracy_figure``). ``ui.sweep_view`` submits the runs and draws these.

A sweep is no new kind of run: each cell is an ordinary training job of the session (same line, same limits, same
model files); the sweep only remembers which jobs are its cells (``Sweep``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from nn.train import TrainConfig
from ui import figures
from ui.i18n import t

#: The options a sweep can vary (TrainConfig fields) and the values offered for each, smallest first.
VARIABLES: dict[str, tuple] = {
    "lr": (0.001, 0.01, 0.1, 1.0, 10.0),
    "batch_size": (1, 10, 100, 1000),
    "hidden": (10, 50, 100, 300),
    "train_size": (300, 1000, 10_000, 60_000),
    "weight_init_std": (0.001, 0.01, 0.1, 1.0),
}
#: Short names for labels (the same in every language: they are the code's names, as on the slides).
SHORT = {"lr": "lr", "batch_size": "batch", "hidden": "hidden", "train_size": "images", "weight_init_std": "std"}
NONE = "none"
#: The two presets (their names are their ids) and what they set: x, its values, y, its values, x axis.
PRESETS: dict[str, dict] = {
    "lr": {"x": "lr", "x_values": [0.001, 0.1, 10.0], "y": NONE, "y_values": [], "iters": 2_000,
           "axis": "iterations"},
    "batch": {"x": "batch_size", "x_values": [1, 10, 100, 1000], "y": NONE, "y_values": [], "iters": 2_000,
              "axis": "images"},
}
CUSTOM = "custom"
#: The values a newly chosen option starts with (across: x; down: y, a shorter list to keep the grid small).
DEFAULT_X_VALUES = {"lr": [0.001, 0.1, 10.0], "batch_size": [1, 10, 100, 1000], "hidden": [10, 50, 300],
                    "train_size": [300, 10_000, 60_000], "weight_init_std": [0.001, 0.01, 1.0]}
DEFAULT_Y_VALUES = {"lr": [0.01, 0.1], "batch_size": [10, 100], "hidden": [10, 50], "train_size": [1000, 60_000],
                    "weight_init_std": [0.01, 1.0]}
X_AXES = ("iterations", "images", "seconds")
BAD = "#D55E00"  # a diverged run (Okabe-Ito vermilion)
LINE = "#0072B2"


def offered(name: str, n_train: int | None = None) -> tuple:
    """The values the page offers for ``name``; for training images, those below the ``n_train`` images loaded,
    then all of them (on the 6,000-image sample, 10,000 and 60,000 would both mean the same 6,000)."""
    values = VARIABLES[name]
    if name != "train_size" or n_train is None:
        return values
    return (*(v for v in values if v < n_train), n_train)


def value_text(name: str, value) -> str:
    """A value as people write it: 0.001, 0.1, 10; 1,000; 60,000."""
    if name in ("batch_size", "hidden", "train_size"):
        return f"{int(value):,}"
    return f"{float(value):g}"


def cell_label(x: str, xv, y: str | None = None, yv=None) -> str:
    """"lr 0.1" or "lr 0.1 · batch 100"."""
    text = f"{SHORT[x]} {value_text(x, xv)}"
    return text if y in (None, NONE) else f"{text} · {SHORT[y]} {value_text(y, yv)}"


def _typed(name: str, value):
    return int(value) if name in ("batch_size", "hidden", "train_size") else float(value)


@dataclass(frozen=True)
class Cell:
    """One run of a sweep: its place (column ``i`` of x, row ``j`` of y), its config and label."""

    i: int
    j: int
    config: TrainConfig
    label: str


def grid(base: TrainConfig, x: str, xs, y: str | None = None, ys=(), n_train: int | None = None) -> list[Cell]:
    """The runs of a sweep: ``xs`` × ``ys`` (or ``xs`` alone when ``y`` is None/"none"), row by row, each ``base``
    with those values. ``n_train``: the training images loaded; a ``train_size`` of that many or more means all.
    Duplicate values are dropped; values are sorted, smallest first."""
    if x not in VARIABLES or (y not in (None, NONE) and (y not in VARIABLES or y == x)):
        raise ValueError(f"cannot sweep {x!r} × {y!r}")
    xs = sorted({_typed(x, v) for v in xs})
    ys = sorted({_typed(y, v) for v in ys}) if y not in (None, NONE) else [None]
    cells = []
    for j, yv in enumerate(ys):
        for i, xv in enumerate(xs):
            changes = {x: xv} if yv is None else {x: xv, y: yv}
            if "train_size" in changes and n_train is not None and changes["train_size"] >= n_train:
                changes["train_size"] = None
            cells.append(Cell(i, j, base.replace(**changes), cell_label(x, xv, y, yv)))
    return cells


def free_places(live: int, max_jobs: int) -> int:
    """How many new runs a session can take without dropping a live one: its ``max_jobs`` less the ``live`` jobs
    (training or waiting); finished ones make room (the oldest first)."""
    return max(0, max_jobs - live)


def fits(n_runs: int, live: int, max_jobs: int) -> bool:
    return 0 < n_runs <= free_places(live, max_jobs)


@dataclass
class Sweep:
    """What the session keeps of its latest sweep: the options varied, their values, and its cells' job ids
    (in ``grid`` order: row by row). Small plain data: it goes into the reload store with the session."""

    x: str
    xs: list
    y: str
    ys: list
    iters: int
    job_ids: list[int] = field(default_factory=list)

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, columns)."""
        return (len(self.ys) if self.y != NONE else 1), len(self.xs)

    def label(self, index: int) -> str:
        rows, cols = self.shape
        j, i = divmod(index, cols)
        return cell_label(self.x, self.xs[i], self.y, self.ys[j] if self.y != NONE else None)


# -- series ------------------------------------------------------------------------------------------------------


def x_values(run, axis: str) -> np.ndarray:
    """The x of each recorded loss of ``run`` (iterations 1…n): the iteration, the images seen (iteration ×
    batch), or the seconds since the start (interpolated between the run's measurements, which record the time;
    measuring accuracy is part of a run's cost)."""
    n = run.iterations_done
    it = np.arange(1, n + 1, dtype=float)
    if axis == "images":
        return it * run.config.batch_size
    if axis == "seconds":
        points = [(0.0, 0.0)] + [(float(e.iteration), float(e.elapsed_s)) for e in run.epochs]
        if n > points[-1][0]:
            points.append((float(n), float(run.elapsed_s)))
        px, py = np.array(points).T
        return np.interp(it, px, py)
    return it


def loss_series(run, axis: str, smoothing: float = 0.9, max_points: int = 600) -> tuple:
    """(x, raw loss, smoothed loss), at most ``max_points`` points each (min/max kept)."""
    n = run.iterations_done
    losses = np.asarray(run.losses[:n], dtype=float)
    x = x_values(run, axis)
    smooth = figures.ema(losses, smoothing) if n else losses
    xr, raw = figures.downsample_minmax(x, losses, max_points)
    step = max(1, -(-n // max_points))
    return xr, raw, (x[::step], smooth[::step])


def final_accuracy(run) -> float | None:
    """The run's last test accuracy (0–1), None before its first measurement."""
    last = run.last
    return None if last is None else float(last.test_acc)


def _axis_title(axis: str) -> str:
    return {"iterations": t("sweep.axis_iterations"), "images": t("sweep.axis_images"),
            "seconds": t("sweep.axis_seconds")}[axis]


def small_multiples_figure(sweep: Sweep, runs: list, axis: str = "iterations", lecture: bool = False) -> go.Figure:
    """One panel per cell (rows: y's values, columns: x's), each the run's mini-batch loss (faint) and its moving
    average, on shared axes: log loss (a diverged run, whose loss is capped near 16, stays on the chart), and a log x
    for images seen or seconds (a batch-1000 run sees 1,000 × the images of a batch-1 run). A diverged run is drawn
    in red and its panel says so. ``runs``: the cells' ``Run`` records in grid order (None: the run is gone)."""
    rows, cols = sweep.shape
    titles = []
    for k, run in enumerate(runs):
        label = sweep.label(k)
        if run is None:
            titles.append(f"{label}: {t('sweep.gone')}")
        elif run.status == "diverged":
            titles.append(f"<b style='color:{BAD}'>{label}: {t('sweep.diverged_at', it=f'{run.iterations_done:,}')}</b>")
        else:
            acc = final_accuracy(run)
            titles.append(label if acc is None else f"{label}: {t('sweep.test', acc=f'{acc:.1%}')}")
    fig = make_subplots(rows=rows, cols=cols, shared_xaxes="all", shared_yaxes="all", subplot_titles=titles,
                        horizontal_spacing=0.04, vertical_spacing=0.12 if rows > 1 else 0.0)
    log_x = axis != "iterations"
    ends = []  # each run's first and last x: the shared x range spans them all (autorange cut the longest short)
    for k, run in enumerate(runs):
        j, i = divmod(k, cols)
        if run is None or run.iterations_done == 0:
            fig.add_trace(go.Scatter(x=[], y=[], showlegend=False), row=j + 1, col=i + 1)
            continue
        xr, raw, (xs, smooth) = loss_series(run, axis)
        ends += [float(xr[0]), float(xr[-1])] if len(xr) else []
        colour = BAD if run.status == "diverged" else LINE
        fig.add_trace(go.Scatter(x=xr, y=np.maximum(raw, 1e-3), mode="lines", line={"color": colour, "width": 1},
                                 opacity=0.25, name=t("sweep.raw"), legendgroup="raw", showlegend=k == 0,
                                 hoverinfo="skip"), row=j + 1, col=i + 1)
        fig.add_trace(go.Scatter(x=xs, y=np.maximum(smooth, 1e-3), mode="lines", line={"color": colour, "width": 2.5},
                                 name=t("sweep.smoothed"), legendgroup="smooth", showlegend=k == 0,
                                 hovertemplate=f"{sweep.label(k)}<br>%{{x:,.4g}}: %{{y:.3f}}<extra></extra>"),
                      row=j + 1, col=i + 1)
    fig.add_hline(y=math.log(10), line={"color": "#888", "dash": "dot", "width": 1})  # a uniform guess's loss
    font = figures.LECTURE_FONT_SIZE if lecture else figures.FONT_SIZE
    height = (260 if lecture else 220) * rows + 120
    fig.update_layout(template="plotly_white", font={"size": font - 2}, height=max(height, 360),
                      margin={"l": 70, "r": 20, "t": 50, "b": 60},
                      legend={"orientation": "h", "yanchor": "bottom", "y": 1.0 + 40 / max(height, 360),
                              "xanchor": "right", "x": 1.0},
                      title={"text": t("sweep.curves_title"), "x": 0.0, "xanchor": "left", "y": 0.995,
                             "yanchor": "top"})
    fig.update_annotations(font={"size": font - 3})
    fig.update_yaxes(type="log", range=[math.log10(0.03), math.log10(20)], showline=True, linecolor="#888",
                     tickvals=[0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10])
    fig.update_yaxes(title_text=t("sweep.loss_axis"), col=1)
    fig.update_xaxes(type="log" if log_x else "linear", showline=True, linecolor="#888")
    if ends and log_x:
        low, high = max(min(ends), 1e-3), max(max(ends), 1e-3)
        fig.update_xaxes(range=[math.log10(low) - 0.05, math.log10(high) + 0.05])
    elif ends:
        fig.update_xaxes(range=[0, max(ends) * 1.01])
    fig.update_xaxes(title_text=_axis_title(axis), row=rows)
    return fig


def accuracy_figure(sweep: Sweep, runs: list, lecture: bool = False) -> go.Figure:
    """The final test accuracy of each cell: a heat map (x's values across, y's up) with the percentage written in
    each cell, or bars for a one-option sweep. A diverged run is marked "diverged" (and its bar red); a run not
    measured yet is left blank."""
    rows, cols = sweep.shape
    acc = np.full((rows, cols), np.nan)
    text = [["" for _ in range(cols)] for _ in range(rows)]
    for k, run in enumerate(runs):
        j, i = divmod(k, cols)
        if run is None:
            text[j][i] = t("sweep.gone")
            continue
        a = final_accuracy(run)
        if a is not None:
            acc[j, i] = 100 * a
        if run.status == "diverged":
            text[j][i] = t("sweep.diverged") + ("" if a is None else f"<br>{100 * a:.1f}%")
        elif a is not None:
            text[j][i] = f"{100 * a:.1f}%" + ("" if run.done else " …")
        elif not run.done:
            text[j][i] = "…"
    xs = [value_text(sweep.x, v) for v in sweep.xs]
    font = figures.LECTURE_FONT_SIZE if lecture else figures.FONT_SIZE
    x_title = f"{SHORT[sweep.x]} ({t(f'sweep.var_{sweep.x}')})"
    if sweep.y == NONE:
        colours = [BAD if run is not None and run.status == "diverged" else LINE for run in runs]
        fig = go.Figure(go.Bar(x=xs, y=np.nan_to_num(acc[0], nan=0.0), marker_color=colours, text=text[0],
                               textposition="outside", cliponaxis=False,
                               hovertemplate="%{x}: %{y:.1f}%<extra></extra>"))
        fig.update_yaxes(range=[0, 110], title_text=t("sweep.acc_axis"))
        fig.update_xaxes(type="category", title_text=x_title)
    else:
        ys = [value_text(sweep.y, v) for v in sweep.ys]
        fig = go.Figure(go.Heatmap(z=acc, x=xs, y=ys, zmin=0, zmax=100, colorscale="Viridis",
                                   colorbar={"title": {"text": t("sweep.acc_axis")}},
                                   hovertemplate="%{x} · %{y}: %{z:.1f}%<extra></extra>"))
        # the cells' texts as a text layer of their own: a heat map leaves a cell with no value yet (a run still
        # training) blank, text and all; dark text on the light end of the scale, light text elsewhere
        cells = [(i, j) for j in range(rows) for i in range(cols)]
        fig.add_trace(go.Scatter(
            x=[xs[i] for i, _ in cells], y=[ys[j] for _, j in cells], mode="text", hoverinfo="skip", showlegend=False,
            text=[text[j][i] for i, j in cells], textfont={"size": font, "color": [
                "#222" if not np.isfinite(acc[j, i]) or acc[j, i] > 60 else "#fff" for i, j in cells]}))
        fig.update_xaxes(type="category", title_text=x_title)
        fig.update_yaxes(type="category", title_text=f"{SHORT[sweep.y]} ({t(f'sweep.var_{sweep.y}')})",
                         autorange="reversed")  # the first value on top, as in the small multiples
    fig.update_layout(template="plotly_white", font={"size": font}, height=max(320, 90 * rows + 200) if not lecture
                      else figures.LECTURE_HEIGHT, margin={"l": 80, "r": 20, "t": 60, "b": 60},
                      title={"text": t("sweep.acc_title"), "x": 0.0, "xanchor": "left"})
    return fig
