"""nn.preprocess: a drawing prepared like MNIST's digits (box 20 px, centre of mass at (14, 14)) and read right."""

from __future__ import annotations

import math
import os

import numpy as np
import pytest

from nn import preprocess
from nn.model_file import load_pretrained
from nn.preprocess import (
    BOX_SIDE,
    CANVAS_SIZE,
    MIN_INK_FRACTION,
    MNIST_PEN,
    PEN_WIDTH,
    area_weights,
    linear_weights,
    normalise_strokes,
    preprocess_drawing,
    preprocess_strokes,
    rasterize_strokes,
    render_to_canvas,
    stroke_ink_area,
)

ONE = [[(142, 45), (140, 240)]]
SEVEN = [[(88, 55), (150, 53), (198, 52), (170, 110), (145, 170), (128, 238)]]
ZERO = [[(140 + 58 * math.sin(t), 140 - 90 * math.cos(t)) for t in np.linspace(0, 2 * math.pi, 41)]]


@pytest.fixture(scope="module")
def net():
    return load_pretrained().network()


@pytest.fixture(scope="module")
def mnist_test():
    if not os.environ.get("MNIST_DIR"):
        pytest.skip("MNIST_DIR is not set: the round-trip test needs the genuine MNIST test set")
    from nn.mnist import load_dataset

    data = load_dataset(os.environ["MNIST_DIR"])
    return data.x_test, data.t_test


def com_index(x784: np.ndarray) -> tuple[float, float]:
    img = x784.reshape(28, 28).astype(np.float64)
    i = np.arange(28)
    return float(img.sum(1) @ i / img.sum()), float(img.sum(0) @ i / img.sum())


def ink_extent(x784: np.ndarray, floor: float = 0.05) -> tuple[int, int]:
    img = x784.reshape(28, 28) > floor
    rows, cols = np.flatnonzero(img.any(1)), np.flatnonzero(img.any(0))
    return int(rows[-1] - rows[0] + 1), int(cols[-1] - cols[0] + 1)


# -- empty and nearly empty ----------------------------------------------------------------------------------


@pytest.mark.parametrize("img", [np.zeros((280, 280), np.uint8), np.zeros((280, 280)), np.zeros((50, 80))])
def test_empty_canvas_gives_none(img):
    assert preprocess_drawing(img) is None


def test_a_single_tap_or_faint_noise_is_nearly_empty():
    dot = rasterize_strokes([[(100, 100)]])
    assert 0.004 < dot.mean() < MIN_INK_FRACTION  # a tap of the 22-px pen: 0.48 % of the canvas
    assert preprocess_drawing(dot) is None
    rng = np.random.default_rng(0)
    noise = rng.uniform(0, 0.04, (280, 280))  # below the ink floor everywhere
    assert preprocess_drawing(noise) is None
    assert preprocess_drawing(rasterize_strokes([[(100, 100), (100, 140)]])) is not None  # a short stroke counts


def test_bad_input_is_refused_with_a_clear_error():
    with pytest.raises(ValueError, match="2-D"):
        preprocess_drawing(np.zeros((3, 280, 280)))
    with pytest.raises(ValueError, match="NaN"):
        preprocess_drawing(np.full((28, 28), np.nan))


# -- MNIST's recipe --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("strokes", [ONE, SEVEN, ZERO], ids=["one", "seven", "zero"])
def test_box_of_20_and_centre_of_mass_at_14_14(strokes):
    x = preprocess_drawing(rasterize_strokes(strokes))
    assert x.shape == (784,) and x.dtype == np.float32
    assert 0 <= x.min() and x.max() <= 1
    assert x.max() > 0.95  # solid strokes stay solid
    cy, cx = com_index(x)
    assert abs(cy - 14) < 0.05 and abs(cx - 14) < 0.05, (cy, cx)
    assert max(ink_extent(x)) in (BOX_SIDE, BOX_SIDE + 1)  # + a partly covered pixel (sub-pixel shift)


def test_aspect_ratio_is_kept():
    wide = np.zeros((200, 300), np.float32)
    wide[80:120, 30:270] = 1  # a 240 × 40 bar
    h, w = ink_extent(preprocess_drawing(wide))
    assert w in (BOX_SIDE, BOX_SIDE + 1) and h in (4, 5)  # 40 / 240 · 20 = 3.3 px, spread over at most one more


def test_uint8_and_float_give_the_same_result():
    canvas = rasterize_strokes(SEVEN)
    as_uint8 = np.round(canvas * 255).astype(np.uint8)
    np.testing.assert_allclose(preprocess_drawing(as_uint8), preprocess_drawing(canvas), atol=2e-3)


def test_resampling_weights_preserve_ink_and_flat_grey():
    for n_in, n_out, scale, shift in [(200, 28, 0.1, 4.0), (13, 28, 1.5, 3.3), (28, 28, 1.0, 0.25)]:
        area, linear = area_weights(n_in, n_out, scale, shift), linear_weights(n_in, n_out, scale, shift)
        for w in (area, linear):
            assert w.shape == (n_out, n_in) and np.all(w >= 0)
            # an output pixel whose filter lies inside the input sees a flat grey as that same grey
            inside = [o for o in range(n_out) if 2 / scale < (o + 0.5 - shift) / scale < n_in - 2 / scale]
            np.testing.assert_allclose(w[inside].sum(axis=1), 1.0, rtol=1e-9)
        # area averaging moves each input pixel's ink, all of it, into the output (scaled by the area ratio)
        inside = [j for j in range(n_in) if 2 < j * scale + shift < n_out - 3]
        np.testing.assert_allclose(area[:, inside].sum(axis=0), scale, rtol=1e-9)


def test_strokes_are_drawn_with_the_pen_width():
    line = rasterize_strokes([[(40, 140), (240, 140)]])  # 200 px long
    expected = 200 * PEN_WIDTH + math.pi * (PEN_WIDTH / 2) ** 2
    assert line.sum() == pytest.approx(expected, rel=0.01)
    column = line[:, 140]
    assert (column > 0.5).sum() == pytest.approx(PEN_WIDTH, abs=1)
    assert line.dtype == np.float32 and line.shape == (CANVAS_SIZE, CANVAS_SIZE)
    rasterize_strokes([[(-500, -500), (900, 900)]])  # far outside the canvas: clipped, no error


# -- shifted, scaled: same reading -----------------------------------------------------------------------------


def _moved(strokes, scale=1.0, dx=0.0, dy=0.0):
    return [[(140 + (x - 140) * scale + dx, 140 + (y - 140) * scale + dy) for x, y in s] for s in strokes]


@pytest.mark.parametrize("strokes,digit", [(ONE, 1), (SEVEN, 7), (ZERO, 0)], ids=["one", "seven", "zero"])
def test_same_digit_shifted_or_scaled_reads_the_same(net, strokes, digit):
    base = preprocess_drawing(rasterize_strokes(strokes))
    assert net.classify(base) == digit
    for scale, dx, dy in [(1.0, -40, 25), (1.0, 30, -20), (0.7, -50, 40), (0.55, 60, -60), (1.15, 0, 0)]:
        x = preprocess_drawing(rasterize_strokes(_moved(strokes, scale, dx, dy)))
        assert net.classify(x) == digit, (scale, dx, dy)
        if scale == 1.0:  # a pure shift changes nothing the network sees
            np.testing.assert_allclose(x, base, atol=0.02)


def test_mnist_digit_shifted_or_scaled_on_the_canvas_reads_the_same(net, mnist_test):
    x_test, _ = mnist_test
    images = x_test[:200]
    base = np.stack([preprocess_drawing(render_to_canvas(im)) for im in images])
    base_pred = net.classify(base)
    for zoom, offset in [(10.0, (0, 0)), (10.0, (-30, 40)), (6.0, (60, -50)), (7.5, (-70, -60))]:
        moved = np.stack([preprocess_drawing(render_to_canvas(im, zoom=zoom, offset=offset)) for im in images])
        agree = np.mean(net.classify(moved) == base_pred)
        assert np.abs(moved - base).mean() < 0.03, (zoom, offset)
        assert agree >= 0.98, (zoom, offset, agree)


# -- the round trip the issue asks for ------------------------------------------------------------------------


def test_mnist_blown_up_with_a_thick_pen_keeps_its_accuracy(net, mnist_test):
    """1,000 test images → canvas (280 px, felt-pen look, 4 px thicker) → preprocess → within 1.5 points."""
    x_test, t_test = mnist_test
    rng = np.random.default_rng(2024)
    idx = rng.choice(len(x_test), size=1000, replace=False)
    images, labels = x_test[idx], t_test[idx]
    original = float(np.mean(net.classify(images) == labels))
    drawn = np.stack([preprocess_drawing(render_to_canvas(im, pen=4)) for im in images])
    assert drawn.shape == (1000, 784)
    round_trip = float(np.mean(net.classify(drawn) == labels))
    print(f"\naccuracy on 1,000 MNIST test images: original {original:.3f}, drawn and preprocessed {round_trip:.3f}")
    assert original > 0.93
    assert abs(round_trip - original) <= 0.015


# -- from strokes: scaled into the box first, drawn with MNIST's pen -----------------------------------------------


def test_strokes_fill_the_20_px_box_with_the_centre_of_mass_at_14_14():
    for strokes in (ONE, SEVEN, ZERO):
        x = preprocess_strokes(strokes)
        assert x.shape == (784,) and x.dtype == np.float32 and 0 <= x.min() and x.max() <= 1
        height, width = ink_extent(x)
        assert max(height, width) in (BOX_SIDE, BOX_SIDE + 1, BOX_SIDE + 2)  # the pen's soft edge: a pixel more
        row, col = com_index(x)
        assert abs(row - 14) < 0.05 and abs(col - 14) < 0.05  # exact: the strokes are moved, not the pixels
    height, width = ink_extent(preprocess_strokes(ONE))
    assert width <= 5  # a "1" stays narrow: the aspect ratio is kept


def test_stroke_width_is_mnists_whatever_the_drawing_size():
    """A digit drawn small or big: from strokes the same input; from the canvas bitmap, a thin or a fat stroke."""
    small, big = _moved(ZERO, 0.3), _moved(ZERO, 1.45)
    by_strokes = [preprocess_strokes(s) for s in (small, ZERO, big)]
    for x in by_strokes[1:]:
        np.testing.assert_allclose(x, by_strokes[0], atol=0.05)
    by_canvas = [preprocess_drawing(rasterize_strokes(s)) for s in (small, big)]
    ink_small, ink_big = (x.sum() for x in by_canvas)
    assert ink_small > 2 * ink_big  # the 22-px pen scaled with the drawing: a small one is much thicker
    # the pen: as much ink per unit of line as MNIST-like strokes, ``MNIST_PEN`` wide
    line = preprocess_strokes([[(40, 140), (240, 140)]])
    assert line.reshape(28, 28)[:, 14].sum() == pytest.approx(MNIST_PEN, abs=0.15)


def test_strokes_nearly_empty_or_empty_give_none():
    assert preprocess_strokes([]) is None
    assert preprocess_strokes([[(100, 100)]]) is None  # a tap
    assert preprocess_strokes([[(100, 100), (102, 101)]]) is None  # a dot
    assert preprocess_strokes([[(140, 100), (140, 140)]]) is not None  # a short "1" is a digit
    assert stroke_ink_area([[(0, 0), (10, 0)]], width=2) == pytest.approx(20 + math.pi)


def test_strokes_moved_or_scaled_give_the_same_input():
    base = preprocess_strokes(SEVEN)
    for scale, dx, dy in [(1.0, -40, 25), (0.55, 60, -60), (1.15, 0, 0), (0.3, -80, 70)]:
        np.testing.assert_allclose(preprocess_strokes(_moved(SEVEN, scale, dx, dy)), base, atol=0.05)


def test_normalised_strokes_drop_crowded_points_but_keep_the_ends():
    dense = [[(140, 40 + i * 0.5) for i in range(401)]]  # a point every half canvas unit
    (stroke,) = normalise_strokes(dense)
    assert 10 < len(stroke) < 100
    np.testing.assert_allclose(stroke[0], (14, 4 + MNIST_PEN / 2))
    np.testing.assert_allclose(stroke[-1], (14, 24 - MNIST_PEN / 2))


def test_the_small_frame_rasteriser_draws_the_same_pixels(monkeypatch):
    rng = np.random.default_rng(0)
    strokes = [rng.uniform(-2, 30, (25, 2)), rng.uniform(0, 28, (1, 2)), [(5, 5), (5, 5), (9, 9)]]
    fast = rasterize_strokes(strokes, 28, 2.4)
    monkeypatch.setattr(preprocess, "SMALL_FRAME", 0)
    np.testing.assert_array_equal(fast, rasterize_strokes(strokes, 28, 2.4))


@pytest.mark.parametrize("strokes,digit", [(ONE, 1), (SEVEN, 7), (ZERO, 0)], ids=["one", "seven", "zero"])
def test_strokes_read_right(net, strokes, digit):
    assert net.classify(preprocess_strokes(strokes)) == digit
