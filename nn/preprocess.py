"""A drawn digit prepared the way MNIST's digits were, so that a net trained on MNIST can read it.

MNIST's recipe (LeCun, Cortes, Burges): the ink's bounding box was scaled so that its longer side is 20 pixels,
keeping the aspect ratio, with anti-aliasing; the result was placed in a 28×28 frame so that its centre of mass
sits at the frame's centre. Measured on the 10,000 test images: every digit's inked box has a longer side of
19–20 px, and the mean centre of mass, in row/column indices, is (13.99, 14.01) — so the target is (14, 14).

``preprocess_drawing(img)`` does exactly that to a drawing of any size in one resampling step: the crop is
mapped onto the frame by ``x_out = (x_in − com) · s + target`` per axis (``s = 20 / longer side``), with
weights that average the covered area (exact box-filter integration, separable: ``Wy @ crop @ Wx.T``), so the
centre of mass lands on the target to a fraction of a pixel without shifting and resampling twice.

A drawing made on the canvas has a second, better way in, because the canvas sends its *strokes*:
``preprocess_strokes(strokes)`` scales the strokes' centre lines into the 20-px box first and only then draws
them, in the 28×28 frame, with a pen as wide as MNIST's (``MNIST_PEN``). Drawn big or small, the digit comes
out with MNIST's stroke width; scaling the 280-px bitmap instead thins a big drawing's 22-px line to ~1.5 px and
thickens a small one's to ~5 px. (``scripts/eval_drawings.py`` measures both ways on generated drawings.)

Coordinates are continuous: pixel ``i`` covers ``[i, i + 1)``, its centre is ``i + 0.5``.
Pure NumPy (no Pillow, no SciPy).
"""

from __future__ import annotations

import math
from typing import Iterable, Sequence

import numpy as np

#: The side of the square drawing canvas, in its own (logical) pixels.
CANVAS_SIZE = 280
#: The pen's width on a ``CANVAS_SIZE`` canvas. MNIST strokes are 2.5–3 px wide in the 20-px box (the mean ink
#: per row of a test-set "1" is 3.2 px, slant included), i.e. 12–15 % of the digit's height. A digit drawn
#: 150–190 px tall on the canvas (what people do on a 280-px square) with a 22-px pen comes out 2.3–2.9 px wide.
PEN_WIDTH = 22.0
MNIST_SIDE = 28
#: The longer side of the ink's bounding box after scaling, in pixels of the 28×28 frame.
BOX_SIDE = 20
#: Where the centre of mass goes, as (row, column) indices of the 28×28 frame.
COM_TARGET = (14.0, 14.0)
#: Pixel values below this (on a 0–1 scale) are background: faint specks must not move the box or the centre.
INK_FLOOR = 0.05
#: Less ink than this fraction of the canvas area is "nearly empty": no guess. A single tap of the 22-px pen
#: leaves 0.48 % of a 280-px canvas; the smallest real stroke (a 40-px "1") leaves about 1.6 %.
MIN_INK_FRACTION = 0.006


def as_unit_image(img: np.ndarray) -> np.ndarray:
    """A 2-D grayscale image as float32 in [0, 1] (uint8 is divided by 255; floats are clipped)."""
    img = np.asarray(img)
    if img.ndim != 2 or img.shape[0] == 0 or img.shape[1] == 0:
        raise ValueError(f"expected a 2-D grayscale image, got an array of shape {img.shape}")
    if img.dtype == np.uint8:
        return img.astype(np.float32) / np.float32(255)
    if img.dtype == np.bool_:
        return img.astype(np.float32)
    if img.dtype.kind not in "fiu":
        raise ValueError(f"expected numeric pixels, got dtype {img.dtype}")
    out = img.astype(np.float32)
    if not np.all(np.isfinite(out)):
        raise ValueError("the image has NaN or infinite pixels")
    return np.clip(out, 0, 1, out=out)


def ink_bbox(img: np.ndarray, floor: float = INK_FLOOR) -> tuple[int, int, int, int] | None:
    """``(top, bottom, left, right)`` (bottom/right exclusive) of the pixels above ``floor``, or None."""
    ink = img > floor
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    if rows.size == 0:
        return None
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def center_of_mass(img: np.ndarray) -> tuple[float, float]:
    """(row, column) of the intensity-weighted centre, in continuous coordinates (pixel centres at i + 0.5)."""
    total = float(img.sum(dtype=np.float64))
    rows = img.sum(axis=1, dtype=np.float64) @ (np.arange(img.shape[0]) + 0.5)
    cols = img.sum(axis=0, dtype=np.float64) @ (np.arange(img.shape[1]) + 0.5)
    return rows / total, cols / total


def area_weights(n_in: int, n_out: int, scale: float, shift: float) -> np.ndarray:
    """(n_out, n_in) weights resampling a line of pixels under ``x_out = x_in · scale + shift``.

    Output pixel ``o`` is the mean of the input over its preimage ``[(o − shift) / scale, (o + 1 − shift) /
    scale)``: each input pixel weighs by the length it shares with that interval (exact area averaging, the
    anti-aliasing of a box filter). Input beyond ``[0, n_in)`` counts as zero (background).
    """
    start = (np.arange(n_out, dtype=np.float64)[:, None] - shift) / scale  # (n_out, 1)
    stop = start + 1 / scale
    left = np.arange(n_in, dtype=np.float64)[None, :]  # (1, n_in)
    overlap = np.minimum(stop, left + 1) - np.maximum(start, left)
    return np.clip(overlap, 0, None) * scale


def linear_weights(n_in: int, n_out: int, scale: float, shift: float) -> np.ndarray:
    """Like ``area_weights`` with a tent (linear) filter, widened by ``1 / scale`` when shrinking (Pillow's
    anti-aliased BILINEAR): smooth when enlarging, where area averaging would look blocky."""
    support = max(1.0 / scale, 1.0)
    centres = (np.arange(n_out, dtype=np.float64)[:, None] + 0.5 - shift) / scale
    # every tap any output pixel reaches, beyond the line too (zeros there), so each row sums to one
    lo = min(0, math.floor(centres.min() - support) - 1)
    hi = max(n_in, math.ceil(centres.max() + support) + 1)
    taps = np.arange(lo, hi, dtype=np.float64)[None, :] + 0.5
    w = np.clip(1 - np.abs(taps - centres) / support, 0, None)
    w /= w.sum(axis=1, keepdims=True)
    return w[:, -lo : -lo + n_in]


def resample(img: np.ndarray, out_shape: tuple[int, int], scale: float, shift: tuple[float, float], kernel="area"):
    """``img`` mapped by ``out = in · scale + shift`` per axis onto an ``out_shape`` grid (separable weights)."""
    weights = area_weights if kernel == "area" else linear_weights
    wy = weights(img.shape[0], out_shape[0], scale, shift[0])
    wx = weights(img.shape[1], out_shape[1], scale, shift[1])
    return (wy @ img.astype(np.float64) @ wx.T).astype(np.float32)


def ink_fraction(img: np.ndarray) -> float:
    """The amount of ink as a fraction of the image area (1.0: every pixel fully inked)."""
    return float(img.sum(dtype=np.float64)) / img.size


def preprocess_drawing(
    img: np.ndarray, *, min_ink: float = MIN_INK_FRACTION, floor: float = INK_FLOOR
) -> np.ndarray | None:
    """The 784 float32 values in [0, 1] the network expects, from a grayscale drawing (ink bright on dark).

    ``img`` is 2-D, any size, uint8 0–255 or float 0–1. Returns None when the drawing is empty or nearly empty
    (less ink than ``min_ink`` of the area, 0.6 % by default): then there is nothing to read, and no guess.
    """
    img = as_unit_image(img)
    img = np.where(img >= floor, img, np.float32(0))
    box = ink_bbox(img, floor)
    if box is None or ink_fraction(img) < min_ink:
        return None
    top, bottom, left, right = box
    crop = img[top:bottom, left:right]
    scale = BOX_SIDE / max(crop.shape)
    com_row, com_col = center_of_mass(crop)
    # continuous target = index + 0.5; choose the shift so that the crop's centre of mass lands there
    shift = (COM_TARGET[0] + 0.5 - com_row * scale, COM_TARGET[1] + 0.5 - com_col * scale)
    out = resample(crop, (MNIST_SIDE, MNIST_SIDE), scale, shift)
    return np.clip(out, 0, 1, out=out).reshape(-1)


# ------------------------------------------------------------------------------------ from strokes, MNIST's pen

#: The pen that draws normalised strokes in the 28×28 frame, in its pixels: chosen so that drawings of the ten
#: digits carry as much ink as MNIST's digits of the same kind (``scripts/eval_drawings.py --calibrate``: MNIST's
#: test digits hold 104 units of ink on average, from 60 for a "1" to 135 for a "0"; a 2.4-px pen gives the
#: generated drawings 1.01 times MNIST's ink, digit by digit on average).
MNIST_PEN = 2.4
#: Strokes closer than this (in pixels of the 28×28 frame) to the last point kept are skipped: a browser sends a
#: point per canvas unit, a fifteenth of a pixel here, and fewer segments draw faster with the same result.
MIN_SEGMENT = 0.25


def stroke_ink_area(strokes: Iterable[Sequence[Sequence[float]]], width: float = PEN_WIDTH) -> float:
    """The ink the canvas shows for ``strokes`` drawn ``width`` wide, in square canvas units, counting overlaps
    twice: each stroke's length times the pen's width plus the pen's round ends (exact for a single stroke that
    does not cross itself)."""
    area = 0.0
    for stroke in strokes:
        points = np.asarray(stroke, dtype=np.float64).reshape(-1, 2)
        if len(points):
            area += float(np.hypot(*np.diff(points, axis=0).T).sum()) * width + math.pi * (width / 2) ** 2
    return area


def normalise_strokes(
    strokes: Iterable[Sequence[Sequence[float]]], pen: float = MNIST_PEN, box: float = BOX_SIDE
) -> list[np.ndarray] | None:
    """The strokes moved and scaled into the 28×28 frame so that, drawn ``pen`` pixels wide, the ink's bounding
    box has a longer side of ``box`` (20) pixels and is centred in the frame (the centre of mass comes later);
    the aspect ratio is kept. Points closer than ``MIN_SEGMENT`` to the previous one are dropped. None if there
    are no points."""
    arrays = [np.asarray(s, dtype=np.float64).reshape(-1, 2) for s in strokes]
    arrays = [a for a in arrays if len(a)]
    if not arrays:
        return None
    every = np.concatenate(arrays)
    low, high = every.min(axis=0), every.max(axis=0)
    extent = float((high - low).max())
    scale = (box - pen) / extent if extent > 0 else 0.0  # centre lines + the pen's width = the box
    centre = MNIST_SIDE / 2
    out = []
    for a in arrays:
        p = (a - (low + high) / 2) * scale + centre  # (n, 2) as (x, y)
        kept = [p[0]]
        for q in p[1:-1]:
            if math.hypot(q[0] - kept[-1][0], q[1] - kept[-1][1]) >= MIN_SEGMENT:
                kept.append(q)
        if len(p) > 1:
            kept.append(p[-1])  # the stroke still ends where it ended
        out.append(np.array(kept))
    return out


def preprocess_strokes(
    strokes: Iterable[Sequence[Sequence[float]]], *, pen: float = MNIST_PEN, size: int = CANVAS_SIZE,
    min_ink: float = MIN_INK_FRACTION,
) -> np.ndarray | None:
    """The 784 inputs for a drawing given as strokes in canvas units (``size`` × ``size``): the strokes are
    scaled into the 20-px box and drawn there with MNIST's pen (``normalise_strokes``), then moved, as vectors,
    so that the centre of mass sits at (14, 14), and drawn again. Whatever the drawing's size on the canvas, the
    stroke comes out ``pen`` pixels wide. None when the canvas shows less ink than ``min_ink`` of its area (the
    same rule as ``preprocess_drawing``: a tap or a dot is no digit)."""
    strokes = [np.asarray(s, dtype=np.float64).reshape(-1, 2) for s in strokes]
    if stroke_ink_area(strokes) < min_ink * size * size:
        return None
    frame = normalise_strokes(strokes, pen)
    if frame is None:
        return None
    first = rasterize_strokes(frame, MNIST_SIDE, pen)
    com_row, com_col = center_of_mass(first)
    shift = np.array([COM_TARGET[1] + 0.5 - com_col, COM_TARGET[0] + 0.5 - com_row])  # (x, y)
    out = rasterize_strokes([s + shift for s in frame], MNIST_SIDE, pen)
    return out.reshape(-1)


# ------------------------------------------------------------------------------------------- making drawings


def rasterize_strokes(
    strokes: Iterable[Sequence[Sequence[float]]], size: int = CANVAS_SIZE, width: float = PEN_WIDTH
) -> np.ndarray:
    """The canvas a browser shows for ``strokes``: float32 (size, size), white ink (1) on black (0).

    Each stroke is a sequence of (x, y) points in canvas pixels; it is drawn as a round-capped, round-joined
    polyline ``width`` pixels wide (a single point is a dot), with a one-pixel anti-aliased edge.
    """
    if size <= SMALL_FRAME:
        return _rasterize_small(strokes, size, width)
    canvas = np.zeros((size, size), dtype=np.float32)
    radius = width / 2
    reach = radius + 1.0
    for stroke in strokes:
        points = np.asarray(stroke, dtype=np.float64).reshape(-1, 2)
        if len(points) == 0:
            continue
        starts = points[:-1] if len(points) > 1 else points
        ends = points[1:] if len(points) > 1 else points
        for (ax, ay), (bx, by) in zip(starts, ends):
            x0, x1 = max(int(min(ax, bx) - reach), 0), min(int(math.ceil(max(ax, bx) + reach)), size)
            y0, y1 = max(int(min(ay, by) - reach), 0), min(int(math.ceil(max(ay, by) + reach)), size)
            if x0 >= x1 or y0 >= y1:
                continue
            px = np.arange(x0, x1, dtype=np.float64)[None, :] + 0.5 - ax
            py = np.arange(y0, y1, dtype=np.float64)[:, None] + 0.5 - ay
            dx, dy = bx - ax, by - ay
            length2 = dx * dx + dy * dy
            t = np.clip((px * dx + py * dy) / length2, 0, 1) if length2 > 0 else 0.0
            distance = np.hypot(px - t * dx, py - t * dy)  # to the nearest point of the segment
            ink = np.clip(radius + 0.5 - distance, 0, 1).astype(np.float32)
            window = canvas[y0:y1, x0:x1]
            np.maximum(window, ink, out=window)
    return canvas


#: Frames at most this wide are drawn with every segment at once (``_rasterize_small``): the 28×28 input.
SMALL_FRAME = 64


def _rasterize_small(strokes, size: int, width: float, chunk: int = 256) -> np.ndarray:
    """``rasterize_strokes`` for a small frame, the same pixels: each pixel's distance to the nearest segment of
    any stroke, computed for all pixels and ``chunk`` segments at a time (no Python loop over segments)."""
    segments = []
    for stroke in strokes:
        points = np.asarray(stroke, dtype=np.float64).reshape(-1, 2)
        if len(points):
            ends = points[1:] if len(points) > 1 else points
            segments.append(np.concatenate([points[:-1] if len(points) > 1 else points, ends], axis=1))
    nearest = np.full(size * size, np.inf)
    if segments:
        seg = np.concatenate(segments)  # (m, 4): ax, ay, bx, by
        centres = np.arange(size, dtype=np.float64) + 0.5
        px = np.tile(centres, size)[:, None]  # (size², 1): x of every pixel, row by row
        py = np.repeat(centres, size)[:, None]
        for i in range(0, len(seg), chunk):
            ax, ay, bx, by = seg[i : i + chunk].T  # (k,)
            dx, dy = bx - ax, by - ay
            length2 = dx * dx + dy * dy
            t = np.clip(((px - ax) * dx + (py - ay) * dy) / np.where(length2 > 0, length2, 1), 0, 1)  # (size², k)
            distance = np.hypot(px - ax - t * dx, py - ay - t * dy)
            np.minimum(nearest, distance.min(axis=1), out=nearest)
    ink = np.clip(width / 2 + 0.5 - nearest, 0, 1)
    return ink.reshape(size, size).astype(np.float32)


def render_to_canvas(
    img28: np.ndarray,
    size: int = CANVAS_SIZE,
    *,
    zoom: float = 10.0,
    offset: tuple[float, float] = (0.0, 0.0),
    pen: float = 0.0,
    level: float = 0.5,
) -> np.ndarray:
    """An MNIST image as if drawn on the canvas with a felt pen: float32 (size, size), ink 1 on 0.

    The 28×28 frame is enlarged ``zoom`` times (10: the frame fills a 280-px canvas, the digit is ~200 px tall)
    with a smooth filter, centred on the canvas and moved by ``offset`` (rows, columns) pixels; then inked
    solid where the grey is above ``level`` (0.5 keeps MNIST's stroke width), with a one-pixel soft edge, and
    thickened by ``pen`` extra pixels (a disk-shaped dilation). Used to test the preprocessing.
    """
    img = as_unit_image(np.asarray(img28).reshape(MNIST_SIDE, MNIST_SIDE))
    shift = tuple(size / 2 + o - MNIST_SIDE * zoom / 2 for o in offset)
    grey = resample(img, (size, size), zoom, shift, kernel="linear")
    ink = np.clip((grey - level) * zoom + 0.5, 0, 1).astype(np.float32)
    radius = pen / 2
    if radius >= 0.5:
        ink = _dilate_disk(ink, radius)
    return ink


def _dilate_disk(img: np.ndarray, radius: float) -> np.ndarray:
    """The maximum of ``img`` over a disk of ``radius`` pixels around each pixel (grey-level dilation)."""
    r = int(math.floor(radius))
    out = img.copy()
    h, w = img.shape
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            if (dx or dy) and dx * dx + dy * dy <= radius * radius:
                target = out[max(dy, 0) : h + min(dy, 0), max(dx, 0) : w + min(dx, 0)]
                source = img[max(-dy, 0) : h + min(-dy, 0), max(-dx, 0) : w + min(-dx, 0)]
                np.maximum(target, source, out=target)
    return out
