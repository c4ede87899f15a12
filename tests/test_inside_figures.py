"""ui.inside_figures: pure Plotly builders, checked without Streamlit (shapes, symmetric colour scales, labels)."""

from __future__ import annotations

import numpy as np
import pytest

from ui import inside_figures as f


def test_tile_lays_images_out_with_nan_gutters():
    images = np.arange(5 * 2 * 3, dtype=float).reshape(5, 2, 3)
    grid = f.tile(images, cols=2, gap=1)
    assert grid.shape == (3 * 2 + 2, 2 * 3 + 1)
    np.testing.assert_array_equal(grid[0:2, 0:3], images[0])
    np.testing.assert_array_equal(grid[0:2, 4:7], images[1])
    np.testing.assert_array_equal(grid[6:8, 0:3], images[4])
    assert np.isnan(grid[2]).all() and np.isnan(grid[:, 3]).all()  # gutters
    assert np.isnan(grid[6:8, 4:7]).all()  # the unused sixth tile
    assert f.tile(images, cols=5, gap=0, row_gap=4).shape == (2, 15)


def test_weight_grid_has_one_tile_per_unit_and_a_scale_symmetric_around_zero():
    rng = np.random.default_rng(0)
    W1 = rng.normal(0, 0.05, (784, 50))
    W1[3, 7] = 0.9  # one large positive weight; the scale must still be symmetric
    fig = f.weight_grid_figure(W1)
    heat = fig.data[0]
    z = np.asarray(heat.z, dtype=float)
    assert z.shape == (5 * 28 + 4 * 2, 10 * 28 + 9 * 2)
    assert heat.zmid == 0 and heat.zmin == -heat.zmax == pytest.approx(-0.9)
    # unit 8 (column 7) sits in row 0, column 7 of the grid; pixel 3 is row 0, column 3 of its image
    np.testing.assert_allclose(z[0:28, 7 * 30 : 7 * 30 + 28], W1[:, 7].reshape(28, 28))
    custom = np.asarray(heat.customdata, dtype=float)
    assert custom[0, 7 * 30 + 3, 0] == 8 and custom[0, 7 * 30 + 3, 1] == pytest.approx(0.9)
    assert "28 × 28" in fig.layout.title.text and heat.colorbar.title.text == "weight"
    assert fig.layout.yaxis.autorange == "reversed" and fig.layout.yaxis.scaleanchor == "x"  # unit 1 top left


def test_weight_grid_per_unit_and_given_limit():
    W1 = np.zeros((784, 12))
    W1[:, 0], W1[:, 1] = 0.01, -2.0
    fig = f.weight_grid_figure(W1, per_unit=True, cols=5)
    heat = fig.data[0]
    z = np.asarray(heat.z, dtype=float)
    assert z.shape == (3 * 28 + 2 * 2, 5 * 28 + 4 * 2)
    assert (heat.zmin, heat.zmid, heat.zmax) == (-1, 0, 1)
    assert np.nanmax(z[0:28, 0:28]) == 1 and np.nanmin(z[0:28, 30:58]) == -1  # each unit scaled by its own max
    assert np.all(z[0:28, 60:88] == 0)  # an all-zero unit stays 0, no division by zero
    shared = f.weight_grid_figure(W1, limit=3.0).data[0]
    assert (shared.zmin, shared.zmax) == (-3.0, 3.0)


def test_gradient_heatmaps_show_both_gradients_on_one_symmetric_scale_and_their_difference():
    rng = np.random.default_rng(1)
    bp = rng.normal(0, 1e-3, 784)
    num = bp + rng.normal(0, 1e-11, 784)
    fig = f.gradient_heatmaps(num, bp, unit=4)
    assert [t.name for t in fig.data] == ["numerical", "backprop", "difference"]
    assert all(np.asarray(t.z).shape == (28, 28) for t in fig.data)
    assert fig.data[0].coloraxis == fig.data[1].coloraxis == "coloraxis" and fig.data[2].coloraxis == "coloraxis2"
    limit = max(np.abs(num).max(), np.abs(bp).max())
    for axis, top in ((fig.layout.coloraxis, limit), (fig.layout.coloraxis2, np.abs(num - bp).max())):
        assert axis.cmid == 0 and axis.cmin == -axis.cmax
        assert axis.cmax == pytest.approx(top)
    np.testing.assert_allclose(np.asarray(fig.data[2].z), (num - bp).reshape(28, 28))
    assert "hidden unit 5" in fig.layout.title.text
    titles = [a.text for a in fig.layout.annotations]
    assert titles == ["numerical (central differences)", "backpropagation", "numerical − backprop"]


def test_gradient_heatmaps_of_an_all_zero_slice_still_have_a_valid_scale():
    fig = f.gradient_heatmaps(np.zeros(784), np.zeros(784), unit=0)
    assert fig.layout.coloraxis.cmax == 1.0 and fig.layout.coloraxis2.cmin == -1.0


def test_confusion_figure_counts_shares_labels_and_click_targets():
    counts = np.diag(np.full(10, 90))
    counts[4, 9], counts[7, 1] = 12, 3
    fig = f.confusion_figure(counts)
    heat, cells = fig.data
    assert np.asarray(heat.z).shape == (10, 10)
    assert heat.zmin == 0 and heat.zmax == 12  # tops out at the largest mistake
    assert heat.text[4][9] == "12" and heat.text[4][8] == "" and heat.text[0][0] == "90"
    assert fig.layout.xaxis.title.text == "predicted digit" and fig.layout.yaxis.title.text == "true digit"
    assert fig.layout.yaxis.autorange == "reversed"  # digit 0 on top
    assert len(cells.x) == 100 and fig.layout.clickmode == "event+select"
    share = f.confusion_figure(counts, normalised=True, highlight=(4, 9))
    z = np.asarray(share.data[0].z, dtype=float)
    np.testing.assert_allclose(z.sum(axis=1), 1.0)
    assert z[4, 9] == pytest.approx(12 / 102) and share.data[0].text[4][9] == "12%"
    rect = share.layout.shapes[0]
    assert (rect.x0, rect.x1, rect.y0, rect.y1) == (8.5, 9.5, 3.5, 4.5)
    assert "share" in share.layout.title.text


def test_per_digit_figure_marks_the_worst_digit_and_the_overall_accuracy():
    acc = np.array([0.99, 0.98, 0.93, 0.94, 0.95, 0.91, 0.96, 0.94, 0.95, 0.92])
    fig = f.per_digit_figure(acc, overall=0.947)
    bar = fig.data[0]
    assert list(bar.y) == list(range(10)) and bar.orientation == "h"
    np.testing.assert_allclose(bar.x, acc)
    assert bar.marker.color[5] == "#D55E00" and bar.marker.color[0] == "#0072B2"
    assert bar.text[5] == "91.0%"
    assert fig.layout.shapes[0].x0 == pytest.approx(0.947)
    assert "94.7%" in fig.layout.title.text
    assert fig.layout.xaxis.title.text == "classified right" and fig.layout.yaxis.title.text == "true digit"
    lo, hi = fig.layout.xaxis.range
    assert lo <= 0.91 - 0.05 + 1e-9 and hi == 1.0


def test_gallery_captions_each_image():
    rng = np.random.default_rng(2)
    images = rng.integers(0, 256, (11, 784), dtype=np.uint8)
    labels, preds = np.arange(11) % 10, (np.arange(11) + 1) % 10
    conf = np.linspace(0.99, 0.5, 11)
    fig = f.gallery_figure(images, labels, preds, conf, np.arange(100, 111), cols=4)
    heat = fig.data[0]
    z = np.asarray(heat.z, dtype=float)
    assert z.shape == (9 + 3 * 28 + 2 * 9, 4 * 28 + 3 * 3)
    assert np.nanmax(z) <= 1 and (heat.zmin, heat.zmax) == (0, 1)
    np.testing.assert_allclose(z[9:37, 0:28], images[0].reshape(28, 28) / 255)
    texts = [a.text for a in fig.layout.annotations]
    assert len(texts) == 11 and texts[0] == "<b>0→1</b> 99%" and texts[10] == "<b>0→1</b> 50%"
    assert np.asarray(heat.customdata, dtype=float)[9, 0] == 100
    empty = f.gallery_figure(np.zeros((0, 784)), [], [], [], [])
    assert "No test images" in empty.layout.annotations[0].text


def test_unit_detail_shows_input_weights_and_votes():
    w_in, w_out = np.linspace(-1, 2, 784), np.linspace(-1, 1, 10)
    fig = f.unit_detail_figure(w_in, w_out, unit=2)
    heat, bars = fig.data
    assert np.asarray(heat.z).shape == (28, 28) and heat.zmid == 0 and heat.zmin == -heat.zmax == -2
    assert len(bars.y) == 10 and bars.marker.color[0] == "#0072B2" and bars.marker.color[9] == "#D55E00"
    assert "unit 3" in fig.layout.annotations[0].text
