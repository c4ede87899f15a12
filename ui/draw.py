"""The draw page: a digit drawn on the canvas, prepared like MNIST's, read by the network.

Pure parts (tested without Streamlit): ``drawing_input`` (strokes → the 784 inputs), ``read_digit`` (inputs →
probabilities and hidden activations), the figure builders ``preview_figure``, ``probability_figure`` and
``hidden_figure``, and ``verdict_text``. The rest lays them out on the page.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from nn.preprocess import MNIST_SIDE, preprocess_drawing, rasterize_strokes
from nn.two_layer_net import TwoLayerNet
from ui import canvas, models, state

#: Below this confidence the page also names the runner-up: the network is torn.
UNSURE = 0.6
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
    return preprocess_drawing(rasterize_strokes(strokes))


def read_digit(net: TwoLayerNet, inputs: np.ndarray) -> Reading:
    x = np.asarray(inputs, dtype=np.float32).reshape(1, -1)
    hidden = net.hidden(x)  # (1, hidden)
    logits = hidden @ net.params["W2"] + net.params["b2"]
    shifted = np.exp(logits - logits.max())
    probs = (shifted / shifted.sum())[0]
    return Reading(inputs=x[0], probs=probs.astype(np.float64), hidden=hidden[0].astype(np.float64))


def verdict_text(reading: Reading) -> str:
    """"It reads **7** (93% sure)", naming the runner-up when the network is unsure."""
    text = f"It reads **{reading.digit}** ({reading.confidence:.0%} sure)"
    if reading.confidence < UNSURE:
        second = reading.runner_up
        text += f" — or perhaps {second} ({reading.probs[second]:.0%})"
    return text


def preview_figure(inputs: np.ndarray, title: str = "Its input: 28 × 28", height: int = 300) -> go.Figure:
    """The 784 inputs as the 28 × 28 image they are, one square per pixel, white ink on black."""
    img = np.asarray(inputs, dtype=float).reshape(MNIST_SIDE, MNIST_SIDE)
    fig = go.Figure(
        go.Heatmap(
            z=img, zmin=0, zmax=1, colorscale="gray", showscale=False,
            hovertemplate="row %{y}, column %{x}<br>input %{z:.2f}<extra></extra>",
        )
    )
    fig.update_layout(
        title={"text": title, "x": 0.0, "xanchor": "left", "font": {"size": 15}},
        font=_FONT, height=height, margin={"l": 10, "r": 10, "t": 40, "b": 10}, plot_bgcolor="black",
    )
    fig.update_xaxes(visible=False, range=[-0.5, MNIST_SIDE - 0.5], constrain="domain")
    fig.update_yaxes(visible=False, range=[MNIST_SIDE - 0.5, -0.5], scaleanchor="x", constrain="domain")
    return fig


def probability_figure(
    probs: np.ndarray, true_label: int | None = None, title: str = "Probability of each digit", height: int = 300
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
            hovertemplate="digit %{x}: %{y:.1%}<extra></extra>",
        )
    )
    fig.update_layout(
        title={"text": title, "x": 0.0, "xanchor": "left", "font": {"size": 15}},
        template="plotly_white", font=_FONT, height=height, margin={"l": 50, "r": 10, "t": 40, "b": 45},
        showlegend=False, bargap=0.25, uniformtext={"minsize": 12, "mode": "show"},
    )
    fig.update_xaxes(title_text="digit", tickmode="array", tickvals=list(range(10)), showline=True, linecolor="#888")
    fig.update_yaxes(title_text="probability", range=[0, 1.12], tickformat=".0%", tickvals=[0, 0.25, 0.5, 0.75, 1])
    return fig


def hidden_figure(hidden: np.ndarray, height: int = 150) -> go.Figure:
    """The hidden units' activations (0–1) as one strip of coloured cells, unit 1 on the left."""
    h = np.asarray(hidden, dtype=float).reshape(1, -1)
    units = np.arange(1, h.shape[1] + 1)
    fig = go.Figure(
        go.Heatmap(
            z=h, x=units, zmin=0, zmax=1, colorscale="Viridis", xgap=1,
            colorbar={"title": {"text": "activation", "side": "right"}, "thickness": 12, "len": 1.2},
            hovertemplate="hidden unit %{x}: %{z:.2f}<extra></extra>",
        )
    )
    fig.update_layout(
        font=_FONT, height=height, margin={"l": 10, "r": 10, "t": 10, "b": 45}, plot_bgcolor="white",
    )
    fig.update_xaxes(title_text=f"hidden unit (1–{h.shape[1]})", showgrid=False, zeroline=False)
    fig.update_yaxes(visible=False)
    return fig


# -- models ------------------------------------------------------------------------------------------------------


# -- the page ----------------------------------------------------------------------------------------------------


def model_picker() -> models.ModelChoice | None:
    return models.model_picker(
        state.KEY_DRAW_MODEL, label="Model", caption="Reading with ", empty="No model to read digits with",
        help="The runs you trained in this session, or the pretrained model shipped with SGD Lab.",
    )


@st.fragment
def drawing_section(model_key) -> None:
    """Canvas, reading and a glimpse inside; a stroke reruns only this fragment."""
    left, right = st.columns([1.25, 2.35], gap="medium")
    with left:
        strokes = canvas.digit_canvas(state.KEY_DRAW_CANVAS)
        st.caption("Draw one digit, big, in the middle. It is read each time you lift the pen.")
    inputs = drawing_input(strokes)
    net = models.network_for(model_key)
    if inputs is None or net is None:
        with right:
            if net is None:
                st.warning("This model has no weights any more: pick another one above.")
            else:
                st.info("**Draw a digit** on the black square: the network's reading appears here.")
        return
    reading = read_digit(net, inputs)
    with right:
        middle, verdict = st.columns([1, 1.35], gap="medium")
    with middle:
        st.plotly_chart(preview_figure(reading.inputs), key="sgd_draw_preview", config={"displayModeBar": False})
    with verdict:
        st.markdown(f"### {verdict_text(reading)}")
        st.plotly_chart(probability_figure(reading.probs), key="sgd_draw_probs", config={"displayModeBar": False})
    st.markdown("**A glimpse inside:** the hidden units' activations for this drawing")
    st.plotly_chart(hidden_figure(reading.hidden), key="sgd_draw_hidden", config={"displayModeBar": False})
    st.caption(
        "Each cell is one hidden unit: σ(x·W1 + b1) for your 784 pixels. The output layer weighs these "
        f"{reading.hidden.size} numbers to score each digit."
    )


def _show_test_digit(n_test: int) -> None:
    state.set_draw_test_index(int(state.draw_rng().integers(n_test)))


def test_digit_section(model_key) -> None:
    from ui import data as ui_data

    st.subheader("Show me a test digit")
    data = ui_data.current_data()
    st.caption(f"A random image from the {data.n_test:,} test images ({ui_data.dataset_summary(data)}), never "
               "seen in training: does the network read it right?")
    st.button("Show me a test digit", key=state.KEY_DRAW_TEST_BUTTON, on_click=_show_test_digit, args=(data.n_test,))
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
            preview_figure(image, title=f"Test image #{index:,}"), key="sgd_draw_test_preview",
            config={"displayModeBar": False},
        )
    with right:
        right_or_wrong = ":green[**right**]" if reading.digit == label else ":red[**wrong**]"
        st.markdown(f"**Label {label}** · the network says **{reading.digit}** ({reading.confidence:.0%}) · "
                    f"{right_or_wrong}")
        st.plotly_chart(
            probability_figure(reading.probs, true_label=label), key="sgd_draw_test_probs",
            config={"displayModeBar": False},
        )


def render() -> None:
    st.title("Draw a digit")
    choice = model_picker()
    if choice is None:
        return
    drawing_section(choice.key)
    st.divider()
    test_digit_section(choice.key)
