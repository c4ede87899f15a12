"""Plotly figure builders: data in, figure out. No Streamlit; tested in tests/test_figures.py.

Every figure names its axes with units, has a legend when it shows more than one thing, and a range that
shows the data (a chart that renders but tells nothing is a bug). Texts come from ``ui.i18n.t`` (English outside
a Streamlit run); ``lecture=True`` sizes a figure for a projector (taller, larger type).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

from ui.i18n import t

#: Colours that stay distinct on a projector and for the common colour-vision deficiencies (Okabe-Ito).
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442")
TRAIN_DASH, TEST_DASH = "solid", "dash"
MAX_POINTS = 2000
FONT_SIZE = 16
#: Lecture mode: larger type, and charts as tall as a 1280 × 720 projector shows below a page's title.
LECTURE_FONT_SIZE = 22
LECTURE_HEIGHT = 520


def colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def _base_layout(
    fig: go.Figure, title: str, x_title: str, y_title: str, height: int = 420, lecture: bool = False
) -> go.Figure:
    fig.update_layout(
        title={"text": title, "x": 0.0, "xanchor": "left"},
        template="plotly_white",
        font={"size": LECTURE_FONT_SIZE if lecture else FONT_SIZE},
        height=max(height, LECTURE_HEIGHT) if lecture else height,
        margin={"l": 80, "r": 20, "t": 60, "b": 60},
        # below the plot, left-aligned: long run names flow onto more rows instead of being cut off
        legend={"orientation": "h", "yanchor": "top", "y": -0.2, "xanchor": "left", "x": 0.0},
        hovermode="x unified",
    )
    # automargin: the margins grow to fit tick labels and axis titles (nothing cut off at the left edge)
    fig.update_xaxes(title_text=x_title, showline=True, linecolor="#888", zeroline=False, automargin=True)
    fig.update_yaxes(title_text=y_title, showline=True, linecolor="#888", zeroline=False, automargin=True)
    return fig


# -- series helpers --------------------------------------------------------------------------------------------


def downsample_minmax(x: np.ndarray, y: np.ndarray, max_points: int = MAX_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """At most ``max_points`` points that keep the look of a noisy curve: each bucket's minimum and maximum,
    in order (plain striding would hide the spikes of a loss curve). NaNs are dropped."""
    x = np.asarray(x)
    y = np.asarray(y, dtype=float)
    keep = np.isfinite(y)
    x, y = x[keep], y[keep]
    n = len(y)
    if n <= max_points:
        return x, y
    size = -(-n // max(1, max_points // 2))  # bucket length, so that 2 points per bucket fit
    rows = -(-n // size)
    padded = np.full(rows * size, np.nan)
    padded[:n] = y
    grid = padded.reshape(rows, size)
    base = np.arange(rows) * size
    i_lo = base + np.nanargmin(grid, axis=1)
    i_hi = base + np.nanargmax(grid, axis=1)
    idx = np.sort(np.stack([i_lo, i_hi], axis=1), axis=1).ravel()
    return x[idx], y[idx]


def ema(values, smoothing: float) -> np.ndarray:
    """TensorBoard's smoothing: an exponential moving average with weight ``smoothing`` in [0, 1), debiased
    so the start is not pulled towards 0. NaNs are skipped (they keep the previous value)."""
    values = np.asarray(values, dtype=float)
    if not 0 <= smoothing < 1:
        raise ValueError(f"smoothing must be in [0, 1), got {smoothing}")
    out = np.empty_like(values)
    last, weight = 0.0, 0.0
    for i, v in enumerate(values):
        if np.isfinite(v):
            last = smoothing * last + (1 - smoothing) * v
            weight = smoothing * weight + (1 - smoothing)
        out[i] = last / weight if weight > 0 else np.nan
    return out


@dataclass(frozen=True)
class LossSeries:
    """One run's per-iteration loss for a figure."""

    name: str
    losses: np.ndarray  # length >= iterations done; NaN where not done yet
    iters_per_epoch: float
    colour: str = PALETTE[0]


def _loss_range(ys: list[np.ndarray], log_y: bool) -> list[float] | None:
    finite = np.concatenate([y[np.isfinite(y)] for y in ys]) if ys else np.zeros(0)
    if finite.size == 0:
        return None
    lo, hi = float(np.percentile(finite, 0.5)), float(np.percentile(finite, 99.9))
    if log_y:
        lo = max(lo, 1e-4)
        return [np.log10(lo) - 0.05, np.log10(max(hi, lo * 1.01)) + 0.05]
    pad = 0.05 * (hi - lo or 1.0)
    return [max(0.0, lo - pad), hi + pad]


# -- figures ---------------------------------------------------------------------------------------------------


def live_loss_figure(
    losses: np.ndarray, iterations_done: int, total_iters: int, name: str = "", max_points: int = MAX_POINTS,
    lecture: bool = False,
) -> go.Figure:
    """The loss curve of a run in progress; the x axis spans the whole planned run so the curve grows."""
    n = int(iterations_done)
    x = np.arange(1, n + 1)
    xs, ys = downsample_minmax(x, np.asarray(losses[:n], dtype=float), max_points)
    fig = go.Figure(
        go.Scatter(
            x=xs, y=ys, mode="lines", name=name or t("figures.loss"), line={"color": PALETTE[0], "width": 1.5},
            hovertemplate=t("figures.hover_loss") + "<extra></extra>",
        )
    )
    title = t("figures.live_title") if n else t("figures.live_waiting")
    _base_layout(fig, title, t("figures.x_iteration"), t("figures.y_loss"), height=380, lecture=lecture)
    fig.update_xaxes(range=[0, max(total_iters, 1)])
    y_range = _loss_range([ys], log_y=False) if n else [0, 2.5]
    fig.update_yaxes(range=y_range)
    fig.update_layout(showlegend=False, hovermode="closest")
    return fig


#: The live chart's points: a few hundred min/max points show a noisy loss curve on a chart 700 px wide.
LIVE_POINTS = 400


class LiveLossFigure:
    """The live loss chart of one run, kept between refreshes: the first ``figure()`` builds it
    (``live_loss_figure``: ~40 ms of CPU, half of it Plotly's template), later ones only put the new points and
    y range into it (~3 ms), so that a chart refresh costs the server little. Keep one per page and session
    (not shared: it is mutated); it builds anew when what its layout shows changes."""

    def __init__(self) -> None:
        self._fig: go.Figure | None = None
        self._layout_key = None

    def figure(self, losses: np.ndarray, iterations_done: int, total_iters: int, name: str = "",
               lecture: bool = False, max_points: int = LIVE_POINTS) -> go.Figure:
        n = int(iterations_done)
        layout_key = (total_iters, name, lecture, bool(n), t("figures.live_title"))  # the title is in a language
        if self._fig is None or layout_key != self._layout_key:
            self._fig = live_loss_figure(losses, n, total_iters, name=name, max_points=max_points, lecture=lecture)
            self._layout_key = layout_key
            return self._fig
        xs, ys = downsample_minmax(np.arange(1, n + 1), np.asarray(losses[:n], dtype=float), max_points)
        with self._fig.batch_update():
            self._fig.data[0].x, self._fig.data[0].y = xs, ys
            self._fig.layout.yaxis.range = _loss_range([ys], log_y=False)
        return self._fig


def loss_curves_figure(
    series: list[LossSeries],
    smoothing: float = 0.6,
    log_y: bool = False,
    x_axis: str = "iteration",
    first: int | None = None,
    title: str | None = None,
    max_points: int = MAX_POINTS,
    lecture: bool = False,
) -> go.Figure:
    """Several runs' loss overlaid: the raw curve faint, its EMA-smoothed curve bold, one colour per run.

    ``x_axis`` is "iteration" or "epoch"; ``first`` limits to the first N iterations (the slides' 1,000).
    """
    if x_axis not in ("iteration", "epoch"):
        raise ValueError(f"x_axis must be 'iteration' or 'epoch', got {x_axis!r}")
    fig = go.Figure()
    shown = []
    for s in series:
        y = np.asarray(s.losses, dtype=float)
        done = int(np.flatnonzero(np.isfinite(y))[-1] + 1) if np.isfinite(y).any() else 0
        if first is not None:
            done = min(done, first)
        y = y[:done]
        if done == 0:
            continue
        it = np.arange(1, done + 1)
        x = it / s.iters_per_epoch if x_axis == "epoch" else it
        xr, yr = downsample_minmax(x, y, max_points)
        shown.append(yr)
        hover = "%{x:,.2f}" if x_axis == "epoch" else "%{x:,}"
        if smoothing > 0:
            fig.add_trace(
                go.Scatter(
                    x=xr, y=yr, mode="lines", name=t("figures.raw", name=s.name), legendgroup=s.name, showlegend=False,
                    line={"color": s.colour, "width": 1}, opacity=0.25, hoverinfo="skip",
                )
            )
            xs, ys = downsample_minmax(x, ema(y, smoothing), max_points)
        else:
            xs, ys = xr, yr
        fig.add_trace(
            go.Scatter(
                x=xs, y=ys, mode="lines", name=s.name, legendgroup=s.name,
                line={"color": s.colour, "width": 2.5},
                hovertemplate=f"{t('figures.' + x_axis)} {hover}<br>{t('figures.loss')} %{{y:.3f}}"
                f"<extra>{s.name}</extra>",
            )
        )
    x_title = t("figures.x_iteration") if x_axis == "iteration" else t("figures.x_epoch")
    y_title = t("figures.y_loss_log") if log_y else t("figures.y_loss")
    _base_layout(fig, t("figures.live_title") if title is None else title, x_title, y_title, lecture=lecture)
    fig.update_layout(hovermode="closest", showlegend=True)
    if log_y:
        fig.update_yaxes(type="log")
    y_range = _loss_range(shown, log_y)
    if y_range:
        fig.update_yaxes(range=y_range)
    if first is not None and x_axis == "iteration":
        fig.update_xaxes(range=[0, first])
    if not shown:
        fig.add_annotation(text=t("figures.no_loss"), showarrow=False,
                           xref="paper", yref="paper", x=0.5, y=0.5, font={"size": FONT_SIZE + 2})
    return fig


@dataclass(frozen=True)
class AccuracySeries:
    """One run's accuracy measurements for a figure (fractions in [0, 1])."""

    name: str
    epoch: np.ndarray
    iteration: np.ndarray
    train_acc: np.ndarray
    test_acc: np.ndarray
    colour: str = PALETTE[0]


def _acc_range(values: list[np.ndarray]) -> list[float]:
    finite = np.concatenate([v[np.isfinite(v)] for v in values]) if values else np.zeros(0)
    if finite.size == 0:
        return [0, 100]
    lo = float(finite.min()) * 100
    return [max(0.0, np.floor(lo / 5) * 5 - 2), 101]


def accuracy_figure(
    series: list[AccuracySeries],
    x_axis: str = "epoch",
    shade_gap: bool = True,
    mark_best: bool = True,
    title: str | None = None,
    lecture: bool = False,
) -> go.Figure:
    """Train (solid) and test (dashed) accuracy per measurement for one or several runs; for a single run
    the gap between them is shaded; each run's best test accuracy is marked with a star."""
    if x_axis not in ("epoch", "iteration"):
        raise ValueError(f"x_axis must be 'epoch' or 'iteration', got {x_axis!r}")
    fig = go.Figure()
    values = []
    for s in series:
        x = np.asarray(s.epoch if x_axis == "epoch" else s.iteration, dtype=float)
        train = 100 * np.asarray(s.train_acc, dtype=float)
        test = 100 * np.asarray(s.test_acc, dtype=float)
        if len(x) == 0:
            continue
        values += [train / 100, test / 100]
        prefix = f"{s.name}: " if len(series) > 1 else ""
        fmt = "%{x:,.2f}" if x_axis == "epoch" else "%{x:,}"
        fig.add_trace(
            go.Scatter(
                x=x, y=train, mode="lines+markers", name=f"{prefix}{t('figures.train')}", legendgroup=s.name,
                line={"color": s.colour, "width": 3, "dash": TRAIN_DASH}, marker={"size": 6},
                hovertemplate=f"{t('figures.' + x_axis)} {fmt}<br>{t('figures.train')} %{{y:.2f}}%"
                f"<extra>{s.name}</extra>",
            )
        )
        fig.add_trace(
            go.Scatter(
                x=x, y=test, mode="lines+markers", name=f"{prefix}{t('figures.test')}", legendgroup=s.name,
                line={"color": s.colour, "width": 3, "dash": TEST_DASH}, marker={"size": 6, "symbol": "square"},
                fill="tonexty" if shade_gap and len(series) == 1 else None,
                fillcolor="rgba(213, 94, 0, 0.15)",
                hovertemplate=f"{t('figures.' + x_axis)} {fmt}<br>{t('figures.test')} %{{y:.2f}}%"
                f"<extra>{s.name}</extra>",
            )
        )
        if mark_best:
            best = int(np.nanargmax(test))
            fig.add_trace(
                go.Scatter(
                    x=[x[best]], y=[test[best]], mode="markers",
                    name=prefix + t("figures.best_test", acc=f"{test[best]:.1f}"),
                    legendgroup=s.name,
                    marker={"symbol": "star", "size": 18, "color": "#E69F00", "line": {"color": "#000", "width": 1}},
                    hovertemplate=f"{t('figures.best_test_hover')}<br>{t('figures.' + x_axis)} {fmt}<br>"
                    f"%{{y:.2f}}%<extra>{s.name}</extra>",
                )
            )
    x_title = t("figures.x_epoch") if x_axis == "epoch" else t("figures.x_iteration")
    _base_layout(fig, t("figures.accuracy_title") if title is None else title, x_title, t("figures.y_accuracy"),
                 lecture=lecture)
    fig.update_yaxes(range=_acc_range(values), ticksuffix="%")
    fig.update_layout(hovermode="closest")
    if not values:
        fig.add_annotation(text=t("figures.no_accuracy"), showarrow=False, xref="paper", yref="paper",
                           x=0.5, y=0.5, font={"size": FONT_SIZE + 2})
    return fig


def gap_figure(
    epoch: np.ndarray, train_acc: np.ndarray, test_acc: np.ndarray, colour_: str = PALETTE[1], lecture: bool = False
) -> go.Figure:
    """The gap train - test in percentage points at each measurement."""
    gap = 100 * (np.asarray(train_acc, dtype=float) - np.asarray(test_acc, dtype=float))
    x = np.asarray(epoch, dtype=float)
    hover = f"{t('figures.epoch')} %{{x:,.2f}}<br>{t('figures.gap_hover')} %{{y:.2f}} {t('figures.pp')}<extra></extra>"
    if len(gap) <= 40:  # a few epochs (the book's 17): one bar each
        trace = go.Bar(x=x, y=gap, marker={"color": colour_}, name=t("figures.gap_name"), hovertemplate=hover)
    else:  # hundreds of epochs (the overfitting experiment): bars would be hairlines, draw an area
        trace = go.Scatter(x=x, y=gap, mode="lines", fill="tozeroy", line={"color": colour_, "width": 2},
                           name=t("figures.gap_name"), hovertemplate=hover)
    fig = go.Figure(trace)
    _base_layout(fig, t("figures.gap_title"), t("figures.x_epoch"), t("figures.y_gap"), height=420, lecture=lecture)
    top = max(2.0, float(np.nanmax(gap)) * 1.15) if len(gap) else 2.0
    bottom = min(0.0, float(np.nanmin(gap)) * 1.15) if len(gap) else 0.0
    fig.update_yaxes(range=[bottom, top], ticksuffix=" " + t("figures.pp"))
    fig.update_layout(showlegend=False, hovermode="closest")
    return fig
