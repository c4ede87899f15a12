"""The draw page: a digit drawn on the canvas, prepared like MNIST's, read by the network.

Pure parts (tested without Streamlit): ``drawing_input`` (strokes → the 784 inputs), ``read_digit`` (inputs →
probabilities and hidden activations), the figure builders ``preview_figure``, ``probability_figure`` and
``hidden_figure``, and ``verdict_text``. The rest lays them out on the page.

The drawing is prepared from its strokes (``nn.preprocess.preprocess_strokes``: scaled into MNIST's 20-px box,
then drawn with MNIST's pen), so a big and a small drawing come out with the same stroke width. The verdict sits
above the canvas, full width: on a phone, where the columns stack, it is in view while drawing, and on a wide
screen its heading has room for "(100% sure)"; it keeps its height, so the canvas stays put between strokes. It is
read after each stroke, and the canvas's caption says so (a digit of two strokes reads wrong until both are down;
waiting after the pen lifts would slow every answer).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from nn.functions import softmax
from nn.preprocess import MNIST_SIDE, preprocess_strokes
from nn.two_layer_net import TwoLayerNet
from ui import canvas, models, state
from ui.i18n import t

#: Below this confidence the page also names the runner-up: the network is torn.
UNSURE = 0.6
#: The verdict's place above the canvas keeps one height whatever it holds (the request to draw or the verdict),
#: so the canvas does not move under the pen between two strokes; on a phone (where Streamlit stacks the
#: columns) it has room for a verdict of two lines.
VERDICT_KEY = "sgd_draw_verdict"
STYLE = (f"<style>.st-key-{VERDICT_KEY} {{ min-height: 3.75rem; }} "
         f"@media (max-width: 640px) {{ .st-key-{VERDICT_KEY} {{ min-height: 6rem; }} }}</style>")
_FONT = {"size": 14}


# -- pure helpers ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reading:
    """What the network made of one image: the inputs, the 10 probabilities, the hidden activations."""

    inputs: np.ndarray  # (784,) float32 in [0, 1]
    probs: np.ndarray  # (10,)
    hidden: np.ndarray  # (hidden,) sigmoid activations in (0, 1)

    @property
    def digit(self) -> int:
        return int(np.argmax(self.probs))

    @property
    def confidence(self) -> float:
        return float(self.probs[self.digit])

    @property
    def runner_up(self) -> int:
        return int(np.argsort(self.probs)[-2])


def drawing_input(strokes) -> np.ndarray | None:
    """The 784 inputs for the canvas strokes, or None when the canvas is (nearly) empty."""
    if not strokes:
        return None
    return preprocess_strokes(strokes)


def read_digit(net: TwoLayerNet, inputs: np.ndarray) -> Reading:
    x = np.asarray(inputs, dtype=np.float32).reshape(1, -1)
    forward = net.forward(x)  # the net's own forward pass: hidden activations and scores, (1, hidden), (1, 10)
    hidden, probs = forward.z1, softmax(forward.a2)[0]
    return Reading(inputs=x[0], probs=probs.astype(np.float64), hidden=hidden[0].astype(np.float64))


def verdict_text(reading: Reading) -> str:
    """"It reads **7** (93% sure)", naming the runner-up when the network is unsure."""
    text = t("draw.reads", digit=reading.digit, confidence=f"{reading.confidence:.0%}")
    if reading.confidence < UNSURE:
        second = reading.runner_up
        text += t("draw.perhaps", digit=second, p=f"{reading.probs[second]:.0%}")
    return text


def preview_figure(inputs: np.ndarray, title: str | None = None, height: int = 300) -> go.Figure:
    """The 784 inputs as the 28 × 28 image they are, one square per pixel, white ink on black."""
    img = np.asarray(inputs, dtype=float).reshape(MNIST_SIDE, MNIST_SIDE)
    fig = go.Figure(
        go.Heatmap(
            z=img, zmin=0, zmax=1, colorscale="gray", showscale=False,
            hovertemplate=t("draw.hover_pixel") + "<extra></extra>",
        )
    )
    fig.update_layout(
        title={"text": t("draw.input_title") if title is None else title, "x": 0.0, "xanchor": "left", "font": {"size": 15}},
        font=_FONT, height=height, margin={"l": 10, "r": 10, "t": 40, "b": 10}, plot_bgcolor="black",
    )
    fig.update_xaxes(visible=False, range=[-0.5, MNIST_SIDE - 0.5], constrain="domain")
    fig.update_yaxes(visible=False, range=[MNIST_SIDE - 0.5, -0.5], scaleanchor="x", constrain="domain")
    return fig


def probability_figure(
    probs: np.ndarray, true_label: int | None = None, title: str | None = None, height: int = 300
) -> go.Figure:
    """The 10 softmax outputs as bars; the top digit stands out (and the true label, when known, is marked)."""
    probs = np.asarray(probs, dtype=float).reshape(10)
    top = int(np.argmax(probs))
    colours = ["#0072B2" if d == top else "#9fb8cc" for d in range(10)]
    if true_label is not None and true_label != top:
        colours[true_label] = "#D55E00"
    fig = go.Figure(
        go.Bar(
            x=list(range(10)), y=probs, marker_color=colours,
            text=[f"{p:.0%}" if p >= 0.005 else "" for p in probs], textposition="outside", cliponaxis=False,
            hovertemplate=t("draw.hover_digit") + "<extra></extra>",
        )
    )
    fig.update_layout(
        title={"text": t("draw.probability_title") if title is None else title, "x": 0.0, "xanchor": "left", "font": {"size": 15}},
        template="plotly_white", font=_FONT, height=height, margin={"l": 50, "r": 10, "t": 40, "b": 45},
        showlegend=False, bargap=0.25, uniformtext={"minsize": 12, "mode": "show"},
    )
    fig.update_xaxes(title_text=t("draw.digit"), tickmode="array", tickvals=list(range(10)), showline=True, linecolor="#888")
    fig.update_yaxes(title_text=t("draw.probability"), range=[0, 1.12], tickformat=".0%", tickvals=[0, 0.25, 0.5, 0.75, 1])
    return fig


def hidden_figure(hidden: np.ndarray, height: int = 150) -> go.Figure:
    """The hidden units' activations (0–1) as one strip of coloured cells, unit 1 on the left."""
    h = np.asarray(hidden, dtype=float).reshape(1, -1)
    units = np.arange(1, h.shape[1] + 1)
    fig = go.Figure(
        go.Heatmap(
            z=h, x=units, zmin=0, zmax=1, colorscale="Viridis", xgap=1,
            colorbar={"title": {"text": t("draw.activation"), "side": "right"}, "thickness": 12, "len": 1.2},
            hovertemplate=t("draw.hover_unit") + "<extra></extra>",
        )
    )
    fig.update_layout(
        font=_FONT, height=height, margin={"l": 10, "r": 10, "t": 10, "b": 45}, plot_bgcolor="white",
    )
    fig.update_xaxes(title_text=t("draw.hidden_axis", n=h.shape[1]), showgrid=False, zeroline=False)
    fig.update_yaxes(visible=False)
    return fig


# -- models ------------------------------------------------------------------------------------------------------


# -- the page ----------------------------------------------------------------------------------------------------


def model_picker() -> models.ModelChoice | None:
    choice = models.model_picker(
        "draw.model", label=t("draw.model"), caption=t("draw.reading_with"), empty=t("draw.no_model"),
        help=t("draw.model_help"), include_sturdy=True,
    )
    if choice is not None and choice.key in (models.PRETRAINED, models.STURDY):
        st.caption(t("draw.lesson"))  # the lesson in data augmentation, beside the two models it compares
    return choice


@st.fragment
def drawing_section(model_key) -> None:
    """Verdict, canvas, input and probabilities, and a glimpse inside; a stroke reruns only this fragment."""
    verdict = st.container(key=VERDICT_KEY)  # drawn first, filled once read: above the canvas on every screen
    left, right = st.columns([1.25, 2.35], gap="medium")
    with left:
        strokes = canvas.digit_canvas(state.KEY_DRAW_CANVAS)
        st.caption(t("draw.canvas_caption"))
        notice = state.flash()  # what the canvas sent and was not taken (ui.canvas.take_strokes)
        if notice:
            st.warning(notice, icon=":material/block:")
    inputs = drawing_input(strokes)
    net = models.network_for(model_key)
    if inputs is None or net is None:
        with verdict:
            if net is None:
                st.warning(t("draw.no_weights"))
            elif strokes:  # a dot, a tiny mark: too little ink to crop and scale like MNIST
                st.info(t("draw.too_small"))
            else:
                st.info(t("draw.draw_first"))
        return
    reading = read_digit(net, inputs)
    with verdict:
        st.markdown(f"### {verdict_text(reading)}")
    with right:
        middle, bars = st.columns([1, 1.35], gap="medium")
    with middle:
        st.plotly_chart(preview_figure(reading.inputs), key="sgd_draw_preview", config={"displayModeBar": False})
    with bars:
        st.plotly_chart(probability_figure(reading.probs), key="sgd_draw_probs", config={"displayModeBar": False})
    st.markdown(t("draw.glimpse"))
    st.plotly_chart(hidden_figure(reading.hidden), key="sgd_draw_hidden", config={"displayModeBar": False})
    st.caption(t("draw.glimpse_caption", n=reading.hidden.size))


def _show_test_digit(n_test: int) -> None:
    state.set_draw_test_index(int(state.draw_rng().integers(n_test)))


def test_digit_section(model_key) -> None:
    from ui import data as ui_data

    st.subheader(t("draw.test_title"))
    data = ui_data.current_data()
    st.caption(t("draw.test_caption", n=f"{data.n_test:,}", summary=ui_data.dataset_summary(data)))
    st.button(t("draw.test_button"), key=state.KEY_DRAW_TEST_BUTTON, on_click=_show_test_digit, args=(data.n_test,))
    index = state.draw_test_index()
    net = models.network_for(model_key)
    if index is None or net is None or not 0 <= index < data.n_test:
        return
    image = data.x_test[index].astype(np.float32) / 255
    label = int(data.t_test[index])
    reading = read_digit(net, image)
    left, right = st.columns([1, 1.35], gap="medium")
    with left:
        st.plotly_chart(
            preview_figure(image, title=t("draw.test_image", index=f"{index:,}")), key="sgd_draw_test_preview",
            config={"displayModeBar": False},
        )
    with right:
        right_or_wrong = t("draw.right") if reading.digit == label else t("draw.wrong")
        st.markdown(t("draw.label_says", label=label, digit=reading.digit, confidence=f"{reading.confidence:.0%}",
                      verdict=right_or_wrong))
        st.plotly_chart(
            probability_figure(reading.probs, true_label=label), key="sgd_draw_test_probs",
            config={"displayModeBar": False},
        )


def render() -> None:
    st.html(STYLE)
    st.title(t("draw.title"))
    choice = model_picker()
    if choice is None:
        return
    drawing_section(choice.key)
    st.divider()
    test_digit_section(choice.key)
