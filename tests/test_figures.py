"""ui.figures: pure Plotly builders, tested without Streamlit."""

import numpy as np
import pytest

from ui import figures


def test_downsample_keeps_extremes_order_and_bound():
    rng = np.random.default_rng(1)
    y = rng.random(10_000)
    y[1234], y[8765] = 5.0, -3.0
    x = np.arange(1, 10_001)
    xs, ys = figures.downsample_minmax(x, y, 2000)
    assert len(xs) <= 2000
    assert ys.max() == 5.0 and ys.min() == -3.0
    assert np.all(np.diff(xs) > 0)
    assert xs[0] <= 10 and xs[-1] >= 9_990  # the first and last buckets (10 points each) are represented
    # every kept point is a real point
    assert np.array_equal(y[xs - 1], ys)


def test_downsample_short_series_unchanged_and_nans_dropped():
    y = np.array([1.0, np.nan, 2.0, 3.0])
    xs, ys = figures.downsample_minmax(np.arange(4), y, 2000)
    assert xs.tolist() == [0, 2, 3] and ys.tolist() == [1.0, 2.0, 3.0]


def test_ema_matches_tensorboard_debiased_average():
    y = np.array([1.0, 2.0, 3.0])
    out = figures.ema(y, 0.5)
    # debiased: first value equals the first point; then weighted means
    assert out[0] == pytest.approx(1.0)
    assert out[1] == pytest.approx((0.25 * 1 + 0.5 * 2) / 0.75)
    assert out[2] == pytest.approx((0.125 * 1 + 0.25 * 2 + 0.5 * 3) / 0.875)
    assert np.array_equal(figures.ema(y, 0.0), y)
    with pytest.raises(ValueError):
        figures.ema(y, 1.0)


def test_live_loss_figure_spans_the_planned_run_with_titles():
    losses = np.full(10_000, np.nan)
    losses[:3000] = np.linspace(2.3, 0.4, 3000)
    fig = figures.live_loss_figure(losses, 3000, 10_000, name="#1 lr 0.1")
    assert fig.layout.xaxis.title.text == "iteration (SGD steps)"
    assert fig.layout.yaxis.title.text == "loss (cross-entropy)"
    assert tuple(fig.layout.xaxis.range) == (0, 10_000)
    lo, hi = fig.layout.yaxis.range
    assert lo <= 0.4 and 2.3 <= hi < 3.0
    assert len(fig.data[0].x) <= figures.MAX_POINTS
    assert fig.data[0].x[-1] == 3000


def test_live_loss_figure_before_first_iteration_is_readable():
    fig = figures.live_loss_figure(np.full(100, np.nan), 0, 100)
    assert "waiting" in fig.layout.title.text
    assert tuple(fig.layout.yaxis.range) == (0, 2.5)


def _series(name, n, ipe=600.0, colour="#0072B2", done=None):
    losses = np.full(n, np.nan)
    done = n if done is None else done
    losses[:done] = 2.3 * np.exp(-np.arange(done) / 2000) + 0.1
    return figures.LossSeries(name, losses, ipe, colour)


def test_loss_curves_overlay_raw_and_smoothed_with_names_and_colours():
    a, b = _series("run A", 10_000), _series("run B", 5_000, colour="#D55E00")
    fig = figures.loss_curves_figure([a, b], smoothing=0.6)
    named = [t for t in fig.data if t.showlegend is not False]
    assert [t.name for t in named] == ["run A", "run B"]
    assert [t.line.color for t in named] == ["#0072B2", "#D55E00"]
    raw = [t for t in fig.data if t.name.endswith("(raw)")]
    assert len(raw) == 2 and all(t.opacity < 0.5 for t in raw)
    assert fig.layout.showlegend is True


def test_loss_curves_epochs_log_scale_and_first_thousand():
    s = _series("run A", 10_000)
    fig = figures.loss_curves_figure([s], smoothing=0.0, log_y=True, x_axis="epoch")
    assert fig.layout.yaxis.type == "log"
    assert "epoch" in fig.layout.xaxis.title.text
    assert max(fig.data[0].x) == pytest.approx(10_000 / 600)
    first = figures.loss_curves_figure([s], smoothing=0.0, first=1000)
    assert max(first.data[0].x) == 1000
    assert tuple(first.layout.xaxis.range) == (0, 1000)
    with pytest.raises(ValueError):
        figures.loss_curves_figure([s], x_axis="seconds")


def test_loss_curves_without_data_says_so():
    fig = figures.loss_curves_figure([_series("empty", 100, done=0)])
    assert "No loss recorded yet" in fig.layout.annotations[0].text


def _acc(name="run", colour="#0072B2"):
    return figures.AccuracySeries(
        name,
        epoch=np.arange(5.0),
        iteration=np.arange(5.0) * 600 + 1,
        train_acc=np.array([0.1, 0.8, 0.9, 0.95, 1.0]),
        test_acc=np.array([0.1, 0.78, 0.86, 0.85, 0.84]),
        colour=colour,
    )


def test_accuracy_figure_marks_best_test_and_shades_gap():
    fig = figures.accuracy_figure([_acc()])
    names = [t.name for t in fig.data]
    assert names == ["train", "test", "best test 86.0%"]
    best = fig.data[2]
    assert best.x[0] == 2.0 and best.y[0] == pytest.approx(86.0)
    assert fig.data[1].fill == "tonexty"
    assert fig.layout.yaxis.title.text == "accuracy (%)"
    lo, hi = fig.layout.yaxis.range
    assert lo <= 10 and hi >= 100
    assert fig.data[1].line.dash == "dash"


def test_accuracy_figure_several_runs_by_iteration_no_shading():
    fig = figures.accuracy_figure([_acc("book"), _acc("overfit", "#D55E00")], x_axis="iteration", shade_gap=False)
    assert "book: train" in [t.name for t in fig.data] and "overfit: test" in [t.name for t in fig.data]
    assert all(t.fill in (None, "none") for t in fig.data)
    assert fig.layout.xaxis.title.text == "iteration (SGD steps)"


def test_gap_figure_in_percentage_points():
    s = _acc()
    fig = figures.gap_figure(s.epoch, s.train_acc, s.test_acc)
    assert np.allclose(fig.data[0].y, [0, 2, 4, 10, 16])
    assert "percentage points" in fig.layout.yaxis.title.text
    assert fig.layout.yaxis.range[1] >= 16
    assert fig.data[0].type == "bar"
    many = figures.gap_figure(np.arange(500.0), np.full(500, 1.0), np.full(500, 0.83))
    assert many.data[0].type == "scatter" and many.data[0].fill == "tozeroy"
    assert np.allclose(many.data[0].y, 17.0)
