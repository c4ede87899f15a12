"""Generate drawings of the ten digits as the canvas sends them (stroke lists), varied as hands vary.

    python -m scripts.make_drawings [--seed 0] [--per-style 12] [--out drawings.json] [--png sheet.png]

(run from the repository root). Each digit has three styles (an open or a closed 4, a 7 with or without its bar,
a one- or two-stroke 5, an 8 in one stroke or two loops, a 1 with a flag and a base…), written as control points
in a unit box; each drawing then varies them the way people do:

- the shape itself: every control point moved by up to 4 % of the height before the curve is smoothed;
- slant (shear) up to ±20°, rotation up to ±15°, width from narrow (0.45 of the height) to wide (1.0);
- size: the longer side 25–95 % of the 280-unit canvas, placed anywhere on it (the pen still inside);
- a tremor: a slow wobble of about 1 % of the size along the stroke and a jitter of ±0.6 canvas units;
- points as a browser sends them: every 1.5–4 units along the stroke, rounded to 0.1.

Seeded (``numpy.random.default_rng(seed)``): the same seed gives the same drawings. The default, 10 digits × 3
styles × 12, is 360 drawings. ``scripts/eval_drawings.py`` reads them with each model and preprocessing.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np

from nn.preprocess import CANVAS_SIZE, PEN_WIDTH

C = None  # in a control-point list: the point before is a corner (the curve stops and starts again there)


def arc(cx: float, cy: float, rx: float, ry: float, a0: float, a1: float, n: int | None = None) -> list:
    """Points on an ellipse from angle a0 to a1 (degrees; 0 = right, 90 = down: positive turns clockwise on the
    screen)."""
    n = n or max(3, int(abs(a1 - a0) / 30) + 1)
    return [(cx + rx * math.cos(math.radians(a)), cy + ry * math.sin(math.radians(a))) for a in np.linspace(a0, a1, n)]


#: digit → styles → strokes → control points (x right, y down, the digit's box is [0, 1] × [0, 1]; C: a corner).
STYLES: dict[int, dict[str, list[list]]] = {
    0: {
        "oval": [arc(0.5, 0.5, 0.5, 0.5, -90, -450)],
        "oval clockwise, overlapping": [arc(0.5, 0.5, 0.5, 0.5, -100, 285)],
        "egg": [[(0.55, 0.0), (0.2, 0.15), (0.02, 0.55), (0.3, 0.97), (0.7, 0.97), (0.98, 0.55), (0.8, 0.12),
                 (0.5, 0.02)]],
    },
    1: {
        "stick": [[(0.5, 0.0), (0.5, 1.0)]],
        "flag": [[(0.3, 0.2), (0.6, 0.0), C, (0.6, 0.5), (0.6, 1.0)]],
        "flag and base": [[(0.35, 0.15), (0.6, 0.0), C, (0.6, 0.5), (0.6, 1.0)], [(0.3, 1.0), (0.9, 1.0)]],
    },
    2: {
        "swan": [[(0.05, 0.28), (0.35, 0.02), (0.8, 0.08), (0.85, 0.38), (0.45, 0.72), (0.02, 1.0), C, (0.5, 0.98),
                  (1.0, 0.98)]],
        "looped": [[(0.08, 0.22), (0.45, 0.0), (0.9, 0.2), (0.75, 0.55), (0.2, 0.92), (0.1, 0.8), (0.3, 0.75),
                    (0.55, 0.95), (1.0, 1.0)]],
        "z-like": [[(0.0, 0.15), (0.4, 0.0), (0.85, 0.1), (0.8, 0.3), C, (0.02, 1.0), C, (0.98, 1.0)]],
    },
    3: {
        "two arcs": [[(0.08, 0.15), (0.5, 0.0), (0.9, 0.2), (0.75, 0.42), (0.4, 0.5), C, (0.8, 0.58), (0.95, 0.8),
                      (0.55, 1.0), (0.05, 0.88)]],
        "flat top": [[(0.05, 0.0), (0.95, 0.0), C, (0.45, 0.42), C, (0.85, 0.52), (0.98, 0.78), (0.6, 1.0),
                      (0.05, 0.9)]],
        "round": [[(0.0, 0.2), (0.45, 0.0), (0.95, 0.22), (0.55, 0.5), (0.95, 0.75), (0.5, 1.0), (0.0, 0.82)]],
    },
    4: {
        "open, two strokes": [[(0.25, 0.0), (0.1, 0.55), C, (0.95, 0.55)], [(0.75, 0.05), (0.75, 1.0)]],
        "closed, two strokes": [[(0.6, 0.0), (0.0, 0.65), C, (1.0, 0.65)], [(0.72, 0.2), (0.72, 1.0)]],
        "closed, tall stem": [[(0.55, 0.02), (0.02, 0.62), C, (0.95, 0.62)], [(0.68, 0.0), (0.66, 1.0)]],
    },
    5: {
        "flag last": [[(0.2, 0.0), (0.12, 0.45), C, (0.55, 0.38), (0.92, 0.62), (0.75, 0.95), (0.35, 1.0),
                       (0.0, 0.88)], [(0.2, 0.0), (0.95, 0.0)]],
        "one stroke": [[(0.95, 0.0), (0.18, 0.02), C, (0.1, 0.45), C, (0.5, 0.38), (0.95, 0.62), (0.7, 0.97),
                        (0.0, 0.9)]],
        "round belly": [[(0.25, 0.02), (0.15, 0.42), C, (0.6, 0.4), (1.0, 0.7), (0.6, 1.0), (0.05, 0.85)],
                        [(0.25, 0.02), (1.0, 0.05)]],
    },
    6: {
        "curved stem": [[(0.8, 0.0), (0.35, 0.2), (0.05, 0.65), (0.3, 0.98), (0.75, 0.95), (0.9, 0.7), (0.55, 0.5),
                         (0.15, 0.62)]],
        "straight stem": [[(0.65, 0.0), (0.25, 0.45), (0.08, 0.78), (0.4, 1.0), (0.85, 0.85), (0.75, 0.55),
                           (0.35, 0.55), (0.12, 0.72)]],
        "small loop": [[(0.9, 0.05), (0.4, 0.15), (0.1, 0.5), (0.12, 0.85), (0.5, 1.0), (0.88, 0.82), (0.7, 0.62),
                        (0.3, 0.68)]],
    },
    7: {
        "plain": [[(0.0, 0.0), (1.0, 0.0), C, (0.35, 1.0)]],
        "crossed": [[(0.0, 0.02), (1.0, 0.0), C, (0.4, 1.0)], [(0.35, 0.5), (0.9, 0.5)]],
        "curved stem": [[(0.0, 0.08), (1.0, 0.0), C, (0.65, 0.45), (0.5, 1.0)]],
    },
    8: {
        "one stroke": [[(0.85, 0.12), (0.5, 0.0), (0.15, 0.15), (0.25, 0.38), (0.5, 0.5), (0.85, 0.68), (0.8, 0.93),
                        (0.5, 1.0), (0.15, 0.9), (0.18, 0.68), (0.5, 0.5), (0.8, 0.32), (0.85, 0.12)]],
        "two loops": [arc(0.5, 0.25, 0.33, 0.25, -90, 270), arc(0.5, 0.74, 0.45, 0.26, -90, 270)],
        "from the left": [[(0.2, 0.1), (0.55, 0.0), (0.85, 0.2), (0.55, 0.48), (0.12, 0.72), (0.45, 1.0),
                           (0.9, 0.78), (0.5, 0.48), (0.12, 0.25), (0.25, 0.08)]],
    },
    9: {
        "straight stem": [arc(0.45, 0.27, 0.45, 0.27, 0, -360) + [C, (0.88, 0.6), (0.85, 1.0)]],
        "two strokes": [arc(0.45, 0.27, 0.42, 0.27, -10, -370), [(0.88, 0.05), (0.85, 1.0)]],
        "curved stem": [arc(0.5, 0.27, 0.45, 0.27, 0, -360) + [C, (0.85, 0.65), (0.55, 1.0)]],
    },
}


def catmull_rom(points: np.ndarray, per_segment: int = 16) -> np.ndarray:
    """A smooth curve through ``points`` (centripetal-free, uniform Catmull–Rom), ends extended."""
    if len(points) < 3:
        return np.linspace(points[0], points[-1], per_segment * (len(points) - 1) + 1)
    p = np.concatenate([points[:1] * 2 - points[1:2], points, points[-1:] * 2 - points[-2:-1]])
    s = np.linspace(0, 1, per_segment, endpoint=False)[:, None]
    out = []
    for i in range(1, len(p) - 2):
        p0, p1, p2, p3 = p[i - 1], p[i], p[i + 1], p[i + 2]
        out.append(0.5 * (2 * p1 + (-p0 + p2) * s + (2 * p0 - 5 * p1 + 4 * p2 - p3) * s**2
                          + (-p0 + 3 * p1 - 3 * p2 + p3) * s**3))
    out.append(points[-1:])
    return np.concatenate(out)


def smooth_stroke(controls: list, rng: np.random.Generator, jitter: float) -> np.ndarray:
    """The curve of one stroke: control points moved by up to ``jitter``, smoothed between corners."""
    pieces, current = [], []
    for point in controls:
        if point is C:
            pieces.append(current)
            current = [current[-1]]
        else:
            current.append(point)
    pieces.append(current)
    moved = {}  # the same control point (a corner shared by two pieces) moves once
    curve = []
    for piece in pieces:
        pts = []
        for q in piece:
            if q not in moved:
                moved[q] = np.asarray(q) + rng.uniform(-jitter, jitter, 2)
            pts.append(moved[q])
        pts = np.array(pts)
        if len(pts) >= 2:
            curve.append(catmull_rom(pts) if not curve else catmull_rom(pts)[1:])
    return np.concatenate(curve)


def resample_path(path: np.ndarray, rng: np.random.Generator, low: float, high: float) -> np.ndarray:
    """Points along ``path`` every ``low``–``high`` units (as a moving pen is sampled)."""
    steps = np.hypot(*np.diff(path, axis=0).T)
    along = np.concatenate([[0], np.cumsum(steps)])
    total = along[-1]
    if total == 0:
        return path[:1]
    marks = [0.0]
    while marks[-1] < total:
        marks.append(marks[-1] + rng.uniform(low, high))
    marks[-1] = total
    marks = np.array(marks)
    return np.stack([np.interp(marks, along, path[:, 0]), np.interp(marks, along, path[:, 1])], -1)


def make_drawing(digit: int, style: str, rng: np.random.Generator, size: int = CANVAS_SIZE) -> dict:
    """One drawing of ``digit`` in ``style``: its strokes in canvas units and how it was varied."""
    aspect = rng.uniform(0.45, 1.0)
    slant = rng.uniform(-20, 20)
    rotation = rng.uniform(-15, 15)
    extent = rng.uniform(0.25, 0.95) * size  # the longer side of the finished drawing
    curves = [smooth_stroke(stroke, rng, 0.04) for stroke in STYLES[digit][style]]
    # the box [0, 1]² → width aspect, height 1, centred on the origin; slant, then rotate
    shear, theta = math.tan(math.radians(slant)), math.radians(rotation)
    turn = np.array([[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]])
    shaped = []
    for curve in curves:
        p = (curve - 0.5) * [aspect, 1.0]
        p[:, 0] -= shear * p[:, 1]  # y points down: the top leans right for a positive slant
        shaped.append(p @ turn.T)
    every = np.concatenate(shaped)
    low, high = every.min(0), every.max(0)
    scale = extent / max((high - low).max(), 1e-9)
    span = (high - low) * scale
    margin = PEN_WIDTH / 2 + 1
    room = np.maximum(size - 2 * margin - span, 0)
    origin = margin + rng.uniform(0, 1, 2) * room - low * scale
    wobble_amp = 0.01 * extent
    strokes = []
    for p in shaped:
        q = resample_path(p * scale + origin, rng, 1.5, 4.0)
        phase, freq = rng.uniform(0, 2 * math.pi, 2), rng.uniform(0.02, 0.05, 2)
        k = np.arange(len(q))[:, None]
        q = q + wobble_amp * np.sin(freq * k * 2 * math.pi / 4 + phase) + rng.uniform(-0.6, 0.6, q.shape)
        q = np.clip(q, 0, size)
        strokes.append(np.round(q, 1).tolist())
    return {"digit": digit, "style": style, "strokes": strokes, "slant": round(slant, 1),
            "rotation": round(rotation, 1), "aspect": round(aspect, 2), "extent": round(extent / size, 2)}


def example(digit: int, style: str, *, slant: float = 0.0, rotation: float = 0.0, aspect: float = 0.7,
            height: float = 200.0, spacing: float = 9.0) -> list[list[tuple[int, int]]]:
    """One clean drawing (no jitter, no tremor): ``style`` of ``digit`` slanted, turned and as wide as asked,
    ``height`` units tall around the canvas's centre, a point every ``spacing`` units (whole numbers): for tests
    that draw a particular digit, in AppTest and with the mouse."""
    strokes = []
    for controls in STYLES[digit][style]:
        pieces = smooth_stroke(controls, np.random.default_rng(0), 0.0)
        p = (pieces - 0.5) * [aspect, 1.0]
        p[:, 0] -= math.tan(math.radians(slant)) * p[:, 1]
        theta = math.radians(rotation)
        p = p @ np.array([[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]]).T
        points = resample_path(p * height + CANVAS_SIZE / 2, np.random.default_rng(0), spacing, spacing)
        strokes.append([(round(x), round(y)) for x, y in points])
    return strokes


#: A 6 leaning 25° and turned 5°, 80 % as wide as tall: the book's net reads it as a 5, the net trained on
#: distorted digits as a 6 (tests/test_draw_page.py; tests/browser/test_draw_browser.py draws it with the mouse).
SLANTED_SIX = example(6, "curved stem", slant=25, rotation=5, aspect=0.8)


def make_drawings(seed: int = 0, per_style: int = 12) -> list[dict]:
    """``per_style`` drawings of every style of every digit (360 by default), in a seeded order."""
    rng = np.random.default_rng(seed)
    return [make_drawing(digit, style, rng) for _ in range(per_style) for digit in STYLES for style in STYLES[digit]]


def contact_sheet(drawings: list[dict], columns: int = 30, cell: int = 56) -> np.ndarray:
    """The drawings as the canvas shows them, small, in a grid (white on black), for looking at."""
    from nn.preprocess import rasterize_strokes, resample

    rows = math.ceil(len(drawings) / columns)
    sheet = np.zeros((rows * cell, columns * cell), dtype=np.float32)
    for i, d in enumerate(drawings):
        canvas = rasterize_strokes(d["strokes"])
        small = resample(canvas, (cell - 2, cell - 2), (cell - 2) / CANVAS_SIZE, (0.0, 0.0))
        r, c = divmod(i, columns)
        sheet[r * cell + 1 : (r + 1) * cell - 1, c * cell + 1 : (c + 1) * cell - 1] = small
        sheet[r * cell, c * cell : (c + 1) * cell] = 0.3
    return sheet


def write_png(img: np.ndarray, path: Path) -> None:
    """A grayscale PNG from a float image in [0, 1] (standard library only)."""
    import struct
    import zlib

    a = (np.clip(img, 0, 1) * 255).astype(np.uint8)
    raw = b"".join(b"\x00" + row.tobytes() for row in a)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", a.shape[1], a.shape[0], 8, 0, 0, 0, 0)
    Path(path).write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw))
                           + chunk(b"IEND", b""))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--per-style", type=int, default=12, help="drawings per style (3 styles per digit)")
    parser.add_argument("--out", type=Path, default=Path("drawings.json"))
    parser.add_argument("--png", type=Path, help="also write a contact sheet of the drawings")
    args = parser.parse_args(argv)
    drawings = make_drawings(args.seed, args.per_style)
    args.out.write_text(json.dumps({"seed": args.seed, "canvas": CANVAS_SIZE, "drawings": drawings}))
    print(f"{len(drawings)} drawings → {args.out}")
    if args.png:
        write_png(contact_sheet(drawings), args.png)
        print(f"contact sheet → {args.png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
