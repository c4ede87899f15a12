"""Plotly figures for the look-inside pages: data in, figure out. No Streamlit; tested in
tests/test_inside_figures.py.

Weights and gradients are signed, so they use a diverging colour scale whose middle (white) is exactly 0 and
whose ends are ± the same value: red and blue mean the same size either way. Images tile into one heat map
(a mosaic with blank gutters) rather than one subplot per image: one trace, quick to draw in the browser.
"""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ui.i18n import t

SIDE = 28
#: Diverging, colour-blind safe: blue for negative, white at 0, red for positive.
DIVERGING = "RdBu_r"
FONT = {"size": 15}
TITLE_FONT = {"size": 16}


def symmetric_limit(*arrays: np.ndarray) -> float:
    """max |value| over the arrays (NaNs ignored), or 1 when everything is 0: the colour scale's ends ± this."""
    values = [np.abs(np.asarray(a, dtype=np.float64)) for a in arrays]
    finite = [v[np.isfinite(v)] for v in values]
    top = max((float(v.max()) for v in finite if v.size), default=0.0)
    return top if top > 0 else 1.0


def tile(images: np.ndarray, cols: int, gap: int = 1, row_gap: int | None = None) -> np.ndarray:
    """Images (n, h, w) laid out ``cols`` to a row in one float array, gutters (and unused tiles) NaN."""
    images = np.asarray(images, dtype=np.float64)
    n, h, w = images.shape
    cols = max(1, min(cols, n)) if n else 1
    rows = math.ceil(n / cols) if n else 0
    row_gap = gap if row_gap is None else row_gap
    out = np.full((max(rows * (h + row_gap) - row_gap, 0), max(cols * (w + gap) - gap, 0)), np.nan)
    for i in range(n):
        r, c = divmod(i, cols)
        out[r * (h + row_gap) : r * (h + row_gap) + h, c * (w + gap) : c * (w + gap) + w] = images[i]
    return out


def _tile_index(n: int, h: int, w: int, cols: int, gap: int, row_gap: int, values: np.ndarray) -> np.ndarray:
    """Per-pixel hover data: each tile's pixels carry ``values[i]`` of their image (gutters -1)."""
    marks = np.repeat(np.asarray(values, dtype=np.float64)[:, None, None], h * w, axis=1).reshape(n, h, w)
    grid = tile(marks, cols, gap, row_gap)
    return np.where(np.isnan(grid), -1, grid)


def _square_axes(fig: go.Figure) -> None:
    """Hide the axes of an image figure, row 0 on top, square pixels."""
    fig.update_xaxes(visible=False, constrain="domain")
    fig.update_yaxes(visible=False, autorange="reversed", scaleanchor="x", constrain="domain", constraintoward="top")


def _title(text: str) -> dict:
    return {"text": text, "x": 0.0, "xanchor": "left", "font": TITLE_FONT}


# -- gradient check ----------------------------------------------------------------------------------------------


def gradient_heatmaps(numerical: np.ndarray, backprop: np.ndarray, unit: int, height: int = 310) -> go.Figure:
    """One hidden unit's 784 W1 gradients as 28 × 28 images: numerical, backprop (one colour scale, symmetric
    around 0), and their difference on its own symmetric scale (it is millions of times smaller)."""
    num = np.asarray(numerical, dtype=np.float64).reshape(SIDE, SIDE)
    bp = np.asarray(backprop, dtype=np.float64).reshape(SIDE, SIDE)
    diff = num - bp
    limit, diff_limit = symmetric_limit(num, bp), symmetric_limit(diff)
    fig = make_subplots(
        rows=1, cols=3, horizontal_spacing=0.11,
        subplot_titles=(t("inside_figures.grad_numerical"), t("inside_figures.grad_backprop"),
                        t("inside_figures.grad_difference")),
    )
    hover = t("inside_figures.hover_pixel") + "<br>%{z:.3e}<extra>%{fullData.name}</extra>"
    for col, (name, z, axis) in enumerate(
        (("numerical", num, "coloraxis"), ("backprop", bp, "coloraxis"), ("difference", diff, "coloraxis2")), 1
    ):
        fig.add_trace(go.Heatmap(z=z, name=name, coloraxis=axis, hovertemplate=hover), row=1, col=col)
    fig.update_layout(
        title=_title(t("inside_figures.grad_title", unit=unit + 1)),
        font=FONT, height=height, margin={"l": 10, "r": 10, "t": 80, "b": 10}, plot_bgcolor="white",
        coloraxis={"colorscale": DIVERGING, "cmin": -limit, "cmax": limit, "cmid": 0,
                   "colorbar": {"x": 0.655, "len": 1.0, "thickness": 12,
                                "exponentformat": "e"}},
        coloraxis2={"colorscale": DIVERGING, "cmin": -diff_limit, "cmax": diff_limit, "cmid": 0,
                    "colorbar": {"x": 1.0, "len": 1.0, "thickness": 12,
                                 "exponentformat": "e"}},
    )
    for annotation in fig.layout.annotations:
        annotation.font = {"size": 14}
    _square_axes(fig)
    for i in (1, 2, 3):  # each image square
        fig.update_yaxes(scaleanchor=f"x{'' if i == 1 else i}", row=1, col=i)
    return fig


# -- hidden units ------------------------------------------------------------------------------------------------


def weight_images(W1: np.ndarray, per_unit: bool = False) -> np.ndarray:
    """W1 (784, hidden) as ``hidden`` images (hidden, 28, 28); ``per_unit`` divides each by its own max |w|."""
    W = np.asarray(W1, dtype=np.float64)
    images = W.T.reshape(W.shape[1], SIDE, SIDE)
    if per_unit:
        peak = np.abs(images).max(axis=(1, 2), keepdims=True)
        images = np.divide(images, peak, out=np.zeros_like(images), where=peak > 0)
    return images


def weight_grid_figure(
    W1: np.ndarray,
    title: str | None = None,
    per_unit: bool = False,
    limit: float | None = None,
    cols: int = 10,
    height: int | None = None,
) -> go.Figure:
    """The hidden units' weight images in a grid, unit 1 top left; red pixels excite the unit, blue inhibit it.

    The colour scale is symmetric around 0: ± ``limit`` (default: the largest |weight| shown), or ±1 when
    ``per_unit`` (each image scaled by its own largest |weight|).
    """
    images = weight_images(W1, per_unit)
    n = len(images)
    cols = max(1, min(cols, n))
    rows = math.ceil(n / cols)
    z = tile(images, cols, gap=2)
    unit = _tile_index(n, SIDE, SIDE, cols, 2, 2, np.arange(1, n + 1))
    weight = tile(weight_images(W1), cols, gap=2)  # raw weights for the hover, whatever the scaling
    limit = 1.0 if per_unit else (limit if limit and limit > 0 else symmetric_limit(images))
    fig = go.Figure(
        go.Heatmap(
            z=z, customdata=np.dstack([unit, weight]), colorscale=DIVERGING, zmin=-limit, zmax=limit, zmid=0,
            colorbar={"title": {"text": t("inside_figures.weight_of_max" if per_unit else "inside_figures.weight")},
                      "thickness": 14, "len": 0.9},
            hovertemplate=t("inside_figures.hover_unit") + "<extra></extra>",
            hoverongaps=False,
        )
    )
    fig.update_layout(
        title=_title(t("inside_figures.weights_title") if title is None else title), font=FONT,
        height=height or 70 + 75 * rows,
        margin={"l": 10, "r": 10, "t": 50, "b": 10}, plot_bgcolor="white",
    )
    _square_axes(fig)
    return fig


def unit_detail_figure(w_in: np.ndarray, w_out: np.ndarray, unit: int, height: int = 320) -> go.Figure:
    """One hidden unit up close: its 28 × 28 input weights, and the 10 weights by which it votes for each digit."""
    img = np.asarray(w_in, dtype=np.float64).reshape(SIDE, SIDE)
    votes = np.asarray(w_out, dtype=np.float64).reshape(-1)
    limit = symmetric_limit(img)
    fig = make_subplots(rows=1, cols=2, column_widths=[0.42, 0.58], horizontal_spacing=0.12,
                        subplot_titles=(t("inside_figures.unit_inputs", unit=unit + 1),
                                        t("inside_figures.unit_votes", unit=unit + 1)))
    fig.add_trace(go.Heatmap(z=img, colorscale=DIVERGING, zmin=-limit, zmax=limit, zmid=0, showscale=False,
                             hovertemplate=t("inside_figures.hover_weight") + "<extra></extra>"), row=1, col=1)
    fig.add_trace(go.Bar(x=list(range(len(votes))), y=votes,
                         marker_color=["#D55E00" if v > 0 else "#0072B2" for v in votes],
                         hovertemplate=t("inside_figures.hover_vote") + "<extra></extra>"), row=1, col=2)
    fig.update_layout(font=FONT, height=height, margin={"l": 10, "r": 10, "t": 40, "b": 50}, showlegend=False,
                      plot_bgcolor="white")
    fig.update_xaxes(visible=False, constrain="domain", row=1, col=1)
    fig.update_yaxes(visible=False, autorange="reversed", scaleanchor="x", constrain="domain", row=1, col=1)
    fig.update_xaxes(title_text=t("inside_figures.digit"), tickmode="array", tickvals=list(range(len(votes))),
                     row=1, col=2)
    fig.update_yaxes(title_text=t("inside_figures.weight_w2"), zeroline=True, zerolinecolor="#888", row=1, col=2)
    for annotation in fig.layout.annotations:
        annotation.font = {"size": 14}
    return fig


# -- where it errs -----------------------------------------------------------------------------------------------


def confusion_figure(
    counts: np.ndarray, normalised: bool = False, highlight: tuple[int, int] | None = None, height: int = 500
) -> go.Figure:
    """The confusion matrix: row = true digit, column = predicted digit, each cell labelled with its count (or
    its share of the row). The colour scale tops out at the largest *mistake* cell, so the errors show (the
    diagonal, far larger, is simply dark). An invisible marker on every cell makes cells clickable (Streamlit's
    selection events do not fire for heat maps)."""
    counts = np.asarray(counts)
    k = counts.shape[0]
    totals = counts.sum(axis=1, keepdims=True)
    fractions = np.divide(counts, totals, out=np.zeros(counts.shape), where=totals > 0)
    z = fractions if normalised else counts.astype(np.float64)
    off_diagonal = z[~np.eye(k, dtype=bool)]
    top = float(off_diagonal.max()) if off_diagonal.size and off_diagonal.max() > 0 else float(z.max() or 1)
    if normalised:
        text = [[f"{v:.0%}" if v >= 0.005 else ("<1%" if v > 0 else "") for v in row] for row in fractions]
    else:
        text = [[f"{v:,}" if v else "" for v in row] for row in counts]
    digits = list(range(k))
    hover = t("inside_figures.hover_cell") + "<extra></extra>"
    fig = go.Figure(
        go.Heatmap(
            z=z, x=digits, y=digits, text=text, texttemplate="%{text}", textfont={"size": 13},
            colorscale="Blues", zmin=0, zmax=top, xgap=1, ygap=1, hoverinfo="skip",
            colorbar={"title": {"text": t("inside_figures.share_of_row" if normalised else "inside_figures.images")},
                      "thickness": 14,
                      **({"tickformat": ".0%"} if normalised else {})},
        )
    )
    # one invisible marker per cell, on top: it takes the clicks (and shows the hover) for its cell
    xs, ys = np.meshgrid(digits, digits)
    fig.add_trace(
        go.Scatter(
            x=xs.ravel(), y=ys.ravel(), mode="markers", name="cells", showlegend=False,
            customdata=np.column_stack([counts.ravel(), fractions.ravel()]), hovertemplate=hover,
            marker={"size": 30, "color": "rgba(0,0,0,0)", "symbol": "square"},
            selected={"marker": {"opacity": 1}}, unselected={"marker": {"opacity": 1}},
        )
    )
    if highlight is not None:
        true, pred = highlight
        fig.add_shape(type="rect", x0=pred - 0.5, x1=pred + 0.5, y0=true - 0.5, y1=true + 0.5,
                      line={"color": "#D55E00", "width": 3})
    fig.update_layout(
        title=_title(t("inside_figures.confusion_share" if normalised else "inside_figures.confusion_counts")),
        font=FONT, height=height, margin={"l": 70, "r": 10, "t": 50, "b": 60}, template="plotly_white",
        clickmode="event+select", dragmode=False,
    )
    fig.update_xaxes(title_text=t("inside_figures.predicted_digit"), tickmode="array", tickvals=digits, side="bottom",
                     showgrid=False, range=[-0.5, k - 0.5], constrain="domain")
    fig.update_yaxes(title_text=t("inside_figures.true_digit"), tickmode="array", tickvals=digits, autorange="reversed",
                     showgrid=False, scaleanchor="x", constrain="domain")
    return fig


def per_digit_figure(accuracy: np.ndarray, overall: float | None = None, height: int = 380) -> go.Figure:
    """Accuracy on each true digit as horizontal bars, digit 0 on top (the worst in orange), with the overall
    accuracy as a dashed line. Horizontal so that each bar's label fits in a narrow column."""
    acc = np.asarray(accuracy, dtype=np.float64)
    digits = list(range(len(acc)))
    worst = int(np.nanargmin(acc)) if np.isfinite(acc).any() else -1
    fig = go.Figure(
        go.Bar(
            y=digits, x=acc, orientation="h",
            marker_color=["#D55E00" if d == worst else "#0072B2" for d in digits],
            text=[f"{a:.1%}" if np.isfinite(a) else "–" for a in acc], textposition="inside",
            insidetextanchor="start", textfont={"size": 13, "color": "white"},
            hovertemplate=t("inside_figures.hover_right") + "<extra></extra>",
        )
    )
    finite = acc[np.isfinite(acc)]
    low = float(finite.min()) if finite.size else 0.0
    left = max(0.0, math.floor((low - 0.05) * 10) / 10)
    if overall is not None and np.isfinite(overall):
        fig.add_vline(x=overall, line={"color": "#444", "dash": "dash", "width": 1.5})
    title = (t("inside_figures.per_digit_all", acc=f"{overall:.1%}") if overall is not None
             else t("inside_figures.per_digit"))
    fig.update_layout(
        title=_title(title), font=FONT, height=height, template="plotly_white",
        margin={"l": 60, "r": 15, "t": 50, "b": 55}, showlegend=False, bargap=0.2,
        uniformtext={"minsize": 11, "mode": "show"},
    )
    fig.update_yaxes(title_text=t("inside_figures.true_digit"), tickmode="array", tickvals=digits, autorange="reversed")
    fig.update_xaxes(title_text=t("inside_figures.classified_right"), tickformat=".0%", range=[left, 1.0],
                     tickvals=np.round(np.arange(left, 1.0001, 0.05 if left >= 0.7 else 0.1), 2))
    return fig


def gallery_figure(
    images: np.ndarray,
    labels: np.ndarray,
    predictions: np.ndarray,
    confidence: np.ndarray,
    indices: np.ndarray,
    cols: int = 8,
    title: str | None = None,
) -> go.Figure:
    """Test images in a grid, white ink on black, each captioned "true → predicted, confidence"."""
    images = np.asarray(images, dtype=np.float64).reshape(-1, SIDE, SIDE)
    images = images / 255 if images.size and images.max() > 1 else images
    n = len(images)
    row_gap, gap = 9, 3
    cols = max(1, min(cols, n)) if n else cols
    rows = math.ceil(n / cols) if n else 0
    z = tile(images, cols, gap=gap, row_gap=row_gap)
    top_pad = np.full((row_gap, z.shape[1] if n else 0), np.nan)  # room for the first row's captions
    z = np.vstack([top_pad, z]) if n else z
    idx = np.vstack([np.full_like(top_pad, -1), _tile_index(n, SIDE, SIDE, cols, gap, row_gap, indices)]) if n else z
    fig = go.Figure(
        go.Heatmap(
            z=z, customdata=idx, colorscale="gray", zmin=0, zmax=1, showscale=False, hoverongaps=False,
            hovertemplate=t("inside_figures.hover_image") + "<extra></extra>",
        )
    )
    for i in range(n):
        r, c = divmod(i, cols)
        fig.add_annotation(
            x=c * (SIDE + gap) + (SIDE - 1) / 2, y=row_gap + r * (SIDE + row_gap) - 1.2, yanchor="bottom",
            text=f"<b>{int(labels[i])}→{int(predictions[i])}</b> {confidence[i]:.0%}", showarrow=False,
            font={"size": 13, "color": "#1A1A1A"},
        )
    if n == 0:
        fig.add_annotation(text=t("inside_figures.no_images"), showarrow=False, xref="paper", yref="paper", x=0.5,
                           y=0.5, font={"size": 17})
    fig.update_layout(
        title=_title(t("inside_figures.gallery_title") if title is None else title), font=FONT,
        height=90 + 118 * max(rows, 1), plot_bgcolor="white",
        margin={"l": 10, "r": 10, "t": 50, "b": 10},
    )
    _square_axes(fig)
    return fig
