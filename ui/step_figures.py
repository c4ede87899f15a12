"""Plotly figures of one SGD step (the "Code, step by step" page): data in, figure out. No Streamlit; tested in
tests/test_step_view.py.

Images tile into one heat map (one trace, quick in the browser), as in ``ui.inside_figures``; signed things
(gradients, weight changes) use the diverging scale whose white is exactly 0.
"""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ui.figures import LECTURE_FONT_SIZE, PALETTE
from ui.i18n import t
from ui.inside_figures import DIVERGING, SIDE, symmetric_limit, tile

FONT = {"size": 14}
#: The colours of the three SGD steps, everywhere on the page (the code listing's highlights too).
STEP_COLOURS = {1: PALETTE[0], 2: PALETTE[1], 3: PALETTE[2]}
TRUE_COLOUR, OTHER_COLOUR = PALETTE[1], "#9aa5b1"
#: The mini-batch picture shows at most this many images.
MAX_THUMBNAILS = 100
_GUTTER = 70  # the grey of the lines between thumbnails (0 is paper, 255 ink)


def _font(lecture: bool) -> dict:
    return {"size": LECTURE_FONT_SIZE - 4 if lecture else FONT["size"]}


def _image_axes(fig: go.Figure) -> None:
    fig.update_xaxes(visible=False, constrain="domain")
    fig.update_yaxes(visible=False, autorange="reversed", scaleanchor="x", constrain="domain")


def _title(text: str) -> dict:
    return {"text": text, "x": 0.0, "xanchor": "left"}


def batch_figure(images: np.ndarray, labels: np.ndarray, batch_mask: np.ndarray, lecture: bool = False) -> go.Figure:
    """The mini-batch as one picture: up to ``MAX_THUMBNAILS`` 28 × 28 images, ten to a row, each with its label
    in its corner; hovering a thumbnail says its place in the batch and its index in the training set."""
    n = min(len(images), MAX_THUMBNAILS)
    cols = min(10, max(n, 1))
    rows = math.ceil(n / cols) if n else 1
    pics = np.asarray(images[:n], dtype=np.float64).reshape(n, SIDE, SIDE)
    mosaic = tile(pics, cols, gap=2)
    mosaic = np.where(np.isnan(mosaic), _GUTTER, mosaic).astype(np.uint8)
    fig = go.Figure(go.Heatmap(z=mosaic, colorscale="Greys", zmin=0, zmax=255, showscale=False, hoverinfo="skip"))
    step = SIDE + 2
    # one invisible marker per thumbnail carries its hover text (a per-pixel hover would send 78,000 numbers)
    k = np.arange(n)
    fig.add_trace(go.Scatter(
        x=(k % cols) * step + SIDE / 2, y=(k // cols) * step + SIDE / 2, mode="markers",
        marker={"size": 24, "opacity": 0}, showlegend=False,
        customdata=np.stack([k + 1, np.asarray(batch_mask[:n]), np.asarray(labels[:n])], axis=1),
        hovertemplate=t("step_figures.hover_thumb") + "<extra></extra>",
    ))
    size = _font(lecture)["size"] - 3
    for j in range(n):
        r, c = divmod(j, cols)
        fig.add_annotation(x=c * step + 1, y=r * step + 1, text=str(int(labels[j])), showarrow=False,
                           xanchor="left", yanchor="top", font={"size": size, "color": TRUE_COLOUR})
    shown = t("step_figures.batch_title", n=n) if n == len(images) else \
        t("step_figures.batch_title_first", n=n, total=len(images))
    width_px = 440 if not lecture else 520  # the picture's height: its width follows (square pixels)
    fig.update_layout(title=_title(shown), font=_font(lecture), height=int(width_px * rows / cols) + 50,
                      margin={"l": 4, "r": 4, "t": 44, "b": 4}, plot_bgcolor="white", hovermode="closest")
    _image_axes(fig)
    return fig


def forward_figure(images: np.ndarray, probs: np.ndarray, labels: np.ndarray, places: list[int],
                   lecture: bool = False) -> go.Figure:
    """The forward pass for a few images of the batch: each image over its ten softmax probabilities, the true
    digit's bar in orange (the loss is −log of its height)."""
    n = len(images)
    titles = [t("step_figures.forward_image", place=p + 1, label=int(lab)) for p, lab in zip(places, labels)]
    fig = make_subplots(rows=2, cols=n, row_heights=[0.42, 0.58], vertical_spacing=0.1, horizontal_spacing=0.06,
                        subplot_titles=titles + [""] * n)
    digits = np.arange(10)
    # one y scale for all: up to 1 once the net is sure of some digit, closer in while it guesses (~0.1 each)
    top = min(1.0, max(0.3, float(np.max(probs)) * 1.2)) + 0.05
    for j in range(n):
        fig.add_trace(go.Heatmap(z=np.asarray(images[j], dtype=np.float64).reshape(SIDE, SIDE), colorscale="Greys",
                                 zmin=0, zmax=255, showscale=False, hoverinfo="skip"), row=1, col=j + 1)
        colours = [TRUE_COLOUR if d == labels[j] else OTHER_COLOUR for d in digits]
        fig.add_trace(go.Bar(x=digits, y=probs[j], marker_color=colours, showlegend=False,
                             text=[f"{probs[j][labels[j]]:.2f}" if d == labels[j] else "" for d in digits],
                             textposition="outside", cliponaxis=False,
                             hovertemplate=t("step_figures.hover_prob") + "<extra></extra>"), row=2, col=j + 1)
        fig.update_xaxes(row=1, col=j + 1, visible=False, constrain="domain")
        fig.update_yaxes(row=1, col=j + 1, visible=False, autorange="reversed", scaleanchor=f"x{j + 1}",
                         constrain="domain")
        fig.update_xaxes(row=2, col=j + 1, tickmode="array", tickvals=list(digits), title_text=t("step_figures.digit"))
        fig.update_yaxes(row=2, col=j + 1, range=[0, top], showticklabels=j == 0,
                         title_text=t("step_figures.probability") if j == 0 else None)
    fig.update_layout(title=_title(t("step_figures.forward_title")), font=_font(lecture), height=440 if not lecture else 520,
                      margin={"l": 60, "r": 10, "t": 70, "b": 50}, template="plotly_white", bargap=0.15)
    return fig


def softmax_figure(steps: dict, lecture: bool = False) -> go.Figure:
    """One image's ten scores (left) and the softmax probabilities they become (right); the true digit in orange,
    with −log p written over its bar."""
    digits = np.arange(10)
    label = steps["label"]
    colours = [TRUE_COLOUR if d == label else OTHER_COLOUR for d in digits]
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.12,
                        subplot_titles=(t("step_figures.scores"), t("step_figures.probabilities")))
    fig.add_trace(go.Bar(x=digits, y=steps["scores"], marker_color=colours, showlegend=False,
                         hovertemplate=t("step_figures.hover_score") + "<extra></extra>"), row=1, col=1)
    fig.add_trace(go.Bar(x=digits, y=steps["probs"], marker_color=colours, showlegend=False,
                         hovertemplate=t("step_figures.hover_prob") + "<extra></extra>"), row=1, col=2)
    fig.add_annotation(x=label, y=float(steps["p_true"]), xref="x2", yref="y2", showarrow=True, arrowhead=2, ay=-36,
                       text=t("step_figures.neg_log", p=f"{steps['p_true']:.3f}", loss=f"{steps['loss']:.3f}"),
                       font={"color": TRUE_COLOUR})
    top = float(max(steps["probs"].max(), 0.2))
    fig.update_yaxes(range=[0, min(1.0, top * 1.35) + 0.02], row=1, col=2)
    fig.update_xaxes(tickmode="array", tickvals=list(digits), title_text=t("step_figures.digit"))
    fig.update_layout(font=_font(lecture), height=300 if not lecture else 380, template="plotly_white",
                      margin={"l": 50, "r": 10, "t": 40, "b": 50})
    return fig


def units_figure(columns: np.ndarray, units: list[int], title: str, lecture: bool = False,
                 colorbar_title: str = "") -> go.Figure:
    """Columns of W1 (784 each; a gradient or a change of weights) as 28 × 28 images, one per hidden unit in
    ``units`` (0-based; labelled from 1), on one diverging colour scale centred on 0."""
    columns = np.asarray(columns, dtype=np.float64)
    pics = columns[:, units].T.reshape(len(units), SIDE, SIDE)
    limit = symmetric_limit(pics)
    cols = len(units)
    mosaic = tile(pics, cols, gap=3)
    fig = go.Figure(go.Heatmap(z=mosaic, colorscale=DIVERGING, zmin=-limit, zmax=limit, hoverongaps=False,
                               colorbar={"title": {"text": colorbar_title, "side": "right"}, "thickness": 12,
                                         "exponentformat": "e"},
                               hovertemplate="%{z:.2e}<extra></extra>"))
    for j, unit in enumerate(units):
        fig.add_annotation(x=j * (SIDE + 3) + SIDE / 2, y=-1, text=t("step_figures.unit", unit=unit + 1),
                           showarrow=False, yanchor="bottom", font={"size": _font(lecture)["size"] - 2})
    fig.update_layout(title=_title(title), font=_font(lecture), height=200 if not lecture else 260,
                      margin={"l": 4, "r": 4, "t": 64, "b": 4}, plot_bgcolor="white")
    _image_axes(fig)
    fig.update_yaxes(range=[SIDE + 0.5, -4])
    return fig


def weights_figure(before: np.ndarray, after: np.ndarray, units: list[int], lecture: bool = False) -> go.Figure:
    """W1's columns of ``units`` before and after the step (one colour scale for both) and their change (its own
    scale: it is about a thousandth of the weights)."""
    pics_b = np.asarray(before, dtype=np.float64)[:, units].T.reshape(len(units), SIDE, SIDE)
    pics_a = np.asarray(after, dtype=np.float64)[:, units].T.reshape(len(units), SIDE, SIDE)
    change = pics_a - pics_b
    limit, change_limit = symmetric_limit(pics_b, pics_a), symmetric_limit(change)
    cols = len(units)
    fig = make_subplots(rows=3, cols=1, vertical_spacing=0.08,
                        subplot_titles=(t("step_figures.w_before"), t("step_figures.w_after"),
                                        t("step_figures.w_change")))
    for row, (pics, lim, bar_y) in enumerate(((pics_b, limit, 0.74), (pics_a, limit, None), (change, change_limit, 0.14)),
                                             start=1):
        fig.add_trace(go.Heatmap(
            z=tile(pics, cols, gap=3), colorscale=DIVERGING, zmin=-lim, zmax=lim, hoverongaps=False,
            showscale=bar_y is not None, hovertemplate="%{z:.3e}<extra></extra>",
            colorbar={"len": 0.45, "y": bar_y, "thickness": 12, "exponentformat": "e"} if bar_y is not None else None,
        ), row=row, col=1)
        fig.update_xaxes(row=row, col=1, visible=False, constrain="domain")
        fig.update_yaxes(row=row, col=1, visible=False, autorange="reversed", scaleanchor=f"x{row if row > 1 else ''}",
                         constrain="domain")
    fig.update_layout(font=_font(lecture), height=430 if not lecture else 520, plot_bgcolor="white",
                      margin={"l": 4, "r": 4, "t": 30, "b": 4})
    return fig


def lr_figure(lrs, losses, loss_before: float, lr: float, try_lr: float, try_loss: float,
              lecture: bool = False) -> go.Figure:
    """The batch's loss after one step, for learning rates from 0.001 to 100 (log x): below the dashed line the step
    helped, above it it overshot. The run's learning rate and the one being tried are marked."""
    lrs, losses = np.asarray(lrs, dtype=np.float64), np.asarray(losses, dtype=np.float64)
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=lrs, y=losses, mode="lines", name=t("step_figures.lr_curve"),
                             line={"color": PALETTE[0], "width": 2},
                             hovertemplate=t("step_figures.hover_lr") + "<extra></extra>"))
    fig.add_hline(y=loss_before, line={"dash": "dash", "color": "#555"},
                  annotation_text=t("step_figures.lr_before", loss=f"{loss_before:.3f}"),
                  annotation_position="top left")
    current = np.interp(np.log10(lr), np.log10(lrs), losses) if lrs[0] <= lr <= lrs[-1] else None
    if current is not None:
        fig.add_trace(go.Scatter(x=[lr], y=[current], mode="markers", name=t("step_figures.lr_run", lr=f"{lr:g}"),
                                 marker={"size": 12, "color": STEP_COLOURS[3], "symbol": "circle"}))
    fig.add_trace(go.Scatter(x=[try_lr], y=[try_loss], mode="markers", name=t("step_figures.lr_try", lr=f"{try_lr:g}"),
                             marker={"size": 13, "color": TRUE_COLOUR, "symbol": "diamond"}))
    finite = losses[np.isfinite(losses)]
    top = max(float(finite.max()) if finite.size else loss_before, try_loss if math.isfinite(try_loss) else 0)
    fig.update_xaxes(type="log", title_text=t("step_figures.lr_x"), showline=True, linecolor="#888")
    fig.update_yaxes(title_text=t("step_figures.lr_y"), range=[0, top * 1.08 + 0.1], showline=True, linecolor="#888")
    fig.update_layout(title=_title(t("step_figures.lr_title")), font=_font(lecture), template="plotly_white",
                      height=340 if not lecture else 440, margin={"l": 70, "r": 10, "t": 50, "b": 50},
                      legend={"orientation": "h", "yanchor": "top", "y": -0.22, "x": 0.0}, hovermode="closest")
    return fig
