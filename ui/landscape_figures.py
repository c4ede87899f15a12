"""The loss-landscape figure: data in (an ``nn.landscape.LossMap``), figure out. No Streamlit.

The loss spans a factor of ten or more across a map (≈ 2.3, a uniform guess, at the start of the path; a tenth of
that at its end), so the colours follow log10 of the loss, with the colour bar labelled in loss itself: on a linear
scale the whole valley the path ends in would be one colour.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from ui.i18n import t

FONT = {"size": 15}
#: Colours on the (dark-to-light) Viridis map: the run's path warm and solid, the full-batch one white and dashed.
SGD_COLOUR = "#ff3d7f"
FULL_BATCH_COLOUR = "#ffffff"
FINAL_COLOUR = "#ffd400"
#: At most this many epoch labels along the path (every marker still has its hover text).
MAX_LABELS = 6
_TICKS = (0.01, 0.02, 0.03, 0.05, 0.07, 0.1, 0.15, 0.2, 0.3, 0.5, 0.7, 1, 1.5, 2, 2.5, 3, 5, 7, 10, 15, 20)
MAX_TICKS = 6


def epoch_of(iteration: int, iters_per_epoch: float) -> float:
    """The epoch of a measurement taken after ``iteration`` steps (the book measures after step 0, ipe, 2 ipe…)."""
    return max(0.0, (iteration - 1) / iters_per_epoch) if iteration > 0 else 0.0


def label_indices(n: int, most: int = MAX_LABELS) -> list[int]:
    """Which of ``n`` path points (0 the start) get a text label: evenly spaced, the start and the end included."""
    if n <= most:
        return list(range(n))
    return sorted(set(np.linspace(0, n - 1, most).round().astype(int).tolist()))


def _colour_ticks(losses: np.ndarray) -> tuple[list[float], list[str]]:
    lo, hi = float(np.nanmin(losses)), float(np.nanmax(losses))
    ticks = [v for v in _TICKS if lo <= v <= hi] or [round(lo, 3), round(hi, 3)]
    while len(ticks) > MAX_TICKS:  # a wide range: every other one (a narrow one keeps its 1.5 and 2.5)
        ticks = ticks[::2]
    return [float(np.log10(v)) for v in ticks], [f"{v:g}" for v in ticks]


def share_text(share: float) -> str:
    """A share of the path's movement: "91%", or "0.4%" below one per cent (not a bare "0%")."""
    return f"{share:.0%}" if share >= 0.01 or share == 0 else f"{share:.1%}"


def _hover(kind: str, iterations, epochs, losses) -> list[str]:
    return [t("landscape.hover_point", what=kind, it=f"{int(i):,}", epoch=f"{e:.2f}", loss=f"{l:.3f}")
            for i, e, l in zip(iterations, epochs, losses)]


def landscape_figure(lmap, *, height: int = 560, lecture: bool = False) -> go.Figure:
    """Contours of the loss on the map's plane, the run's path and the full-batch one on it, the start and the end
    (the map's centre) marked."""
    losses = np.asarray(lmap.losses, dtype=np.float64)
    z = np.log10(np.maximum(losses, 1e-12))
    tickvals, ticktext = _colour_ticks(losses)
    fig = go.Figure()
    fig.add_trace(go.Contour(
        x=lmap.alphas, y=lmap.betas, z=z, customdata=losses, colorscale="Viridis", ncontours=24,
        contours={"coloring": "heatmap", "showlines": True}, line={"width": 0.5, "color": "rgba(255,255,255,0.35)"},
        colorbar={"title": {"text": t("landscape.colour_title")}, "tickvals": tickvals, "ticktext": ticktext},
        hovertemplate=t("landscape.hover_map") + "<extra></extra>", name=t("landscape.loss_name"),
    ))
    ipe = lmap.iters_per_epoch
    for path, colour, dash, name, symbol in (  # full batch on top: where it follows SGD's path it still shows
        (lmap.path, SGD_COLOUR, "solid", t("landscape.sgd_name", n=f"{lmap.run_steps:,}"), "circle"),
        (lmap.full_batch, FULL_BATCH_COLOUR, "dash", t("landscape.full_batch_name", n=f"{lmap.full_batch_steps:,}",
                                                           images=f"{lmap.n_images:,}"), "diamond"),
    ):
        epochs = [epoch_of(int(i), ipe) for i in path.iterations]
        labelled = set(label_indices(len(path.iterations))) if path is lmap.path and lmap.plane.kind == "trajectory" \
            else set()  # on a random plane the path is a knot at the centre: labels would cover the star
        text = [t("landscape.epoch_label", epoch=f"{e:.0f}" if e >= 1 or e == 0 else f"{e:.1f}") if k in labelled
                else "" for k, e in enumerate(epochs)]
        fig.add_trace(go.Scatter(
            x=path.coords[:, 0], y=path.coords[:, 1], mode="lines+markers+text" if labelled else "lines+markers",
            name=name, line={"color": colour, "width": 3 if path is lmap.path else 2, "dash": dash},
            marker={"size": 8 if path is lmap.path else 6, "symbol": symbol, "color": colour,
                    "line": {"width": 1, "color": "#222"}},
            text=text, textposition="top center", textfont={"color": "#fff", "size": 13 if not lecture else 16},
            hovertext=_hover(name, path.iterations, epochs, path.losses), hoverinfo="text",
        ))
    start = lmap.path.coords[0]
    fig.add_trace(go.Scatter(
        x=[start[0]], y=[start[1]], mode="markers", name=t("landscape.start_name"),
        marker={"size": 13, "symbol": "circle-open", "color": "#fff", "line": {"width": 3}},
        hovertext=[t("landscape.start_hover", loss=f"{lmap.path.losses[0]:.3f}")], hoverinfo="text",
    ))
    fig.add_trace(go.Scatter(
        x=[0.0], y=[0.0], mode="markers", name=t("landscape.final_name"),
        marker={"size": 20, "symbol": "star", "color": FINAL_COLOUR, "line": {"width": 1.5, "color": "#222"}},
        hovertext=[t("landscape.final_hover", loss=f"{lmap.centre_loss:.3f}")], hoverinfo="text",
    ))
    if lmap.plane.kind == "trajectory":
        x_title = t("landscape.axis_pca", n=1, share=share_text(lmap.plane.explained[0]))
        y_title = t("landscape.axis_pca", n=2, share=share_text(lmap.plane.explained[1])) \
            if not lmap.plane.second_random else t("landscape.axis_random", n=2)
    else:
        x_title, y_title = t("landscape.axis_random", n=1), t("landscape.axis_random", n=2)
    font = {"size": 18} if lecture else FONT
    fig.update_layout(
        height=height, margin={"l": 60, "r": 20, "t": 30, "b": 50}, font=font,
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.01, "xanchor": "left", "x": 0,
                "bgcolor": "#3b0f4f", "font": {"color": "#fff"}},  # dark, like the valley: the white line shows
        xaxis={"title": {"text": x_title}, "range": [float(lmap.alphas[0]), float(lmap.alphas[-1])]},
        yaxis={"title": {"text": y_title}, "range": [float(lmap.betas[0]), float(lmap.betas[-1])]},
        plot_bgcolor="#440154",
    )
    return fig
