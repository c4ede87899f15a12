"""The draw page: pure figure builders and helpers, the canvas value's validation, and the page in AppTest."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from nn.augment import STURDY_PATH
from nn.model_file import load_model, load_pretrained
from nn.train import TrainConfig, train
from scripts.make_drawings import SLANTED_SIX
from tests.app_helpers import FakeJob, draw_on, give_jobs, session_of
from ui import draw, models, settings, state
from ui.canvas import MAX_POINTS, parse_strokes

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "draw.py")
ONE = [[[142, 45], [141, 140], [140, 240]]]
ZERO = [[[round(140 + 58 * math.sin(t), 1), round(140 - 90 * math.cos(t), 1)] for t in np.linspace(0, 6.3, 41)]]
BOOK, STURDY = "The book's net (pretrained)", "Trained on distorted digits (pretrained)"


# -- pure helpers and figures ----------------------------------------------------------------------------------


def test_drawing_input_and_reading():
    assert draw.drawing_input([]) is None
    assert draw.drawing_input(parse_strokes([[[100, 100]]])) is None  # a single tap is no digit
    x = draw.drawing_input(parse_strokes(ONE))
    assert x.shape == (784,)
    reading = draw.read_digit(load_pretrained().network(), x)
    assert reading.probs.shape == (10,) and reading.probs.sum() == pytest.approx(1.0)
    assert reading.hidden.shape == (50,) and np.all((reading.hidden > 0) & (reading.hidden < 1))
    assert reading.digit == 1 and reading.confidence > 0.6
    assert draw.verdict_text(reading) == f"It reads **1** ({reading.confidence:.0%} sure)"


def test_a_slanted_six_is_read_right_by_the_net_trained_on_distorted_digits_only():
    x = draw.drawing_input(parse_strokes(SLANTED_SIX))
    book = draw.read_digit(load_pretrained().network(), x)
    sturdy = draw.read_digit(load_model(STURDY_PATH).network(), x)
    assert book.digit == 5 and sturdy.digit == 6 and sturdy.confidence > 0.8


def test_the_draw_pages_model_setting_takes_the_sturdy_model_and_only_it_does():
    assert settings.check_or_default("draw.model", models.STURDY) == models.STURDY
    assert settings.check_or_default("draw.model", models.PRETRAINED) == models.PRETRAINED
    assert settings.check_or_default("draw.model", "other") is None
    assert settings.check_or_default("units.model", models.STURDY) is None  # the look-inside pages: not offered


def test_an_unsure_verdict_names_the_runner_up():
    probs = np.array([0.02, 0.0, 0.0, 0.45, 0.0, 0.0, 0.0, 0.0, 0.38, 0.15])
    reading = draw.Reading(inputs=np.zeros(784), probs=probs, hidden=np.zeros(50))
    assert draw.verdict_text(reading) == "It reads **3** (45% sure) — or perhaps 8 (38%)"


def test_preview_figure_is_the_28_by_28_input():
    x = np.linspace(0, 1, 784, dtype=np.float32)
    fig = draw.preview_figure(x)
    heat = fig.data[0]
    assert np.asarray(heat.z).shape == (28, 28)
    np.testing.assert_allclose(np.asarray(heat.z)[0, :3], x[:3], rtol=1e-6)
    assert (heat.zmin, heat.zmax) == (0, 1)
    assert list(fig.layout.yaxis.range) == [27.5, -0.5]  # row 0 on top, as the image is drawn
    assert fig.layout.yaxis.scaleanchor == "x"  # square pixels


def test_probability_figure_shows_ten_bars_and_marks_top_and_truth():
    probs = np.array([0.01, 0.02, 0.05, 0.7, 0.02, 0.1, 0.02, 0.03, 0.04, 0.01])
    fig = draw.probability_figure(probs, true_label=5)
    bar = fig.data[0]
    assert list(bar.x) == list(range(10))
    np.testing.assert_allclose(bar.y, probs)
    assert bar.marker.color[3] == "#0072B2" and bar.marker.color[5] == "#D55E00"
    assert bar.text[3] == "70%"
    assert list(fig.layout.yaxis.range) == [0, 1.12]


def test_hidden_figure_is_one_strip_of_cells():
    h = np.linspace(0, 1, 50)
    fig = draw.hidden_figure(h)
    heat = fig.data[0]
    assert np.asarray(heat.z).shape == (1, 50)
    assert list(heat.x) == list(range(1, 51))
    assert "1–50" in fig.layout.xaxis.title.text


def test_canvas_values_are_validated():
    assert parse_strokes(None) == [] and parse_strokes("junk") == [] and parse_strokes({"strokes": 3}) == []
    junk = [[5, "x"], [True, 1], [float("nan"), 1]]
    strokes = parse_strokes({"strokes": [[[1, 2], [3, 4]], "bad", junk, [[9e9, -9e9]]]})
    assert len(strokes) == 2
    np.testing.assert_array_equal(strokes[0], [[1, 2], [3, 4]])
    np.testing.assert_array_equal(strokes[1], [[560, -280]])  # clamped near the canvas
    many = parse_strokes([[[1, 1]] * (MAX_POINTS + 500)])
    assert sum(len(s) for s in many) == MAX_POINTS


# -- the page in AppTest ---------------------------------------------------------------------------------------


def _page() -> AppTest:
    return AppTest.from_file(PAGE, default_timeout=60)


def _texts(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption] + [i.value for i in at.info]
    return "\n".join(parts)


def _chart_keys(at: AppTest) -> set[str]:
    return {element.key for element in at.get("plotly_chart")}


def test_empty_canvas_asks_for_a_digit_and_never_guesses():
    at = _page().run()
    assert not at.exception
    assert "Draw a digit" in at.info[0].value
    assert "It reads" not in _texts(at)
    assert not _chart_keys(at) & {"sgd_draw_preview", "sgd_draw_probs"}
    # no run yet: it reads with the net trained on distorted digits, says so, and says why it reads slants better
    assert at.selectbox(key=state.KEY_DRAW_MODEL).value == models.STURDY
    assert f"Reading with **{STURDY}**" in _texts(at)
    assert "data augmentation" in _texts(at)


def test_the_verdict_comes_before_the_canvas_and_reading_after_each_stroke_is_said():
    """Above the canvas: a phone, where the columns stack, shows it without scrolling past the canvas."""
    at = _page()
    draw_on(at, SLANTED_SIX)
    at.run()
    assert not at.exception
    order = [(type(e).__name__, getattr(e, "value", "")) for e in at.main]
    verdict = next(i for i, (_, v) in enumerate(order) if isinstance(v, str) and v.startswith("### It reads **6**"))
    canvas = next(i for i, (kind, _) in enumerate(order) if kind == "UnknownElement")
    assert verdict < canvas, order
    assert "It is read after each stroke" in _texts(at)


def test_a_drawn_one_is_read_with_preview_probabilities_and_hidden_strip():
    at = _page()
    draw_on(at, ONE)
    at.run()
    assert not at.exception
    assert "It reads **1**" in _texts(at)
    assert {"sgd_draw_preview", "sgd_draw_probs", "sgd_draw_hidden"} <= _chart_keys(at)
    assert not at.info

    draw_on(at, ZERO)
    at.run()
    assert "It reads **0**" in _texts(at)

    draw_on(at, [])  # Clear
    at.run()
    assert "Draw a digit" in at.info[0].value and "It reads" not in _texts(at)


class _Job(FakeJob):
    """Stands in for ui.runner.TrainingJob: what the draw page reads."""

    def __init__(self, job_id, run):
        self.id, self.run = job_id, run

    @property
    def name(self):
        return f"#{self.id} {self.run.name}"

    def status_text(self):
        return f"{self.run.status}: test {self.run.last.test_acc:.1%}"


@pytest.fixture(scope="module")
def finished_run():
    rng = np.random.default_rng(0)
    x, t = rng.integers(0, 256, (120, 784), dtype=np.uint8), rng.integers(0, 10, 120)
    return train(TrainConfig(iters=30, batch_size=10, lr=0.5, hidden=7), ((x, t), (x[:20], t[:20])))


def test_a_weak_run_is_not_the_default_but_can_be_chosen_and_the_choice_stays(finished_run):
    """The run reads 15 % of its test digits: the model trained on distorted digits reads with, until the student
    picks the book's net or the run; then the run's 7 hidden units read, and the choice stays."""
    at = _page()
    give_jobs(at, [_Job(1, finished_run)])
    draw_on(at, ONE)
    at.run()
    assert not at.exception
    picker = at.selectbox(key=state.KEY_DRAW_MODEL)
    assert picker.value == models.STURDY
    assert list(picker.options) == [f"Run #1 {finished_run.name}", BOOK, STURDY]
    assert f"Reading with **{STURDY}**" in _texts(at) and "It reads **1**" in _texts(at)

    picker.set_value(models.PRETRAINED).run()  # the book's net, a click away
    assert f"Reading with **{BOOK}**" in _texts(at) and "It reads **1**" in _texts(at)

    picker.set_value(1).run()
    assert f"Reading with **Run #1 {finished_run.name}**" in _texts(at)
    assert "It reads" in _texts(at)
    hidden = next(e for e in at.get("plotly_chart") if e.key == "sgd_draw_hidden")
    spec = json.loads(hidden.proto.spec)
    assert spec["layout"]["xaxis"]["title"]["text"] == "hidden unit (1–7)"  # the run's 7, not the pretrained 50
    at.run()
    assert at.selectbox(key=state.KEY_DRAW_MODEL).value == 1  # the choice stays


def test_a_run_as_good_as_the_pretrained_model_is_the_default(finished_run):
    from dataclasses import replace

    good = replace(finished_run.last, test_acc=0.95)

    class _Good(_Job):
        pass

    job = _Good(1, finished_run)
    at = _page()
    give_jobs(at, [job])
    original = type(finished_run).last
    try:
        type(finished_run).last = property(lambda run: good)  # this run reads 95 % of the test digits
        at.run()
    finally:
        type(finished_run).last = original
    assert at.selectbox(key=state.KEY_DRAW_MODEL).value == 1


def test_show_me_a_test_digit_says_whether_it_was_right():
    at = _page()
    at.session_state[state.KEY_DRAW_RNG] = np.random.default_rng(5)
    at.run()
    assert not any("the network says" in m.value for m in at.markdown)
    at.button(key=state.KEY_DRAW_TEST_BUTTON).click().run()
    assert not at.exception
    verdict = next(m.value for m in at.markdown if "the network says" in m.value)
    assert ("right" in verdict) != ("wrong" in verdict)
    index = session_of(at).draw_test_index
    assert isinstance(index, int) and index >= 0
    assert {"sgd_draw_test_preview", "sgd_draw_test_probs"} <= _chart_keys(at)
