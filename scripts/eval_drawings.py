"""How many generated drawings each model reads right, with each way of preparing a drawing.

    python -m scripts.eval_drawings [--seed 0] [--per-style 12] [--model NAME=FILE ...] [--calibrate]

(run from the repository root). The drawings are ``scripts/make_drawings.py``'s (seeded: 360 by default). The
models: the book's net (``nn/data/pretrained.npz``), the one trained on distorted digits
(``nn/data/pretrained_distorted.npz``) and any ``--model name=file.npz`` (an SGD Lab model file). The
preprocessings:

- ``canvas``: the canvas as the browser shows it (280 px, the 22-px pen), then cropped, scaled to 20 px and
  centred by mass (``nn.preprocess.preprocess_drawing``): the stroke width depends on the drawing's size;
- ``strokes``: the strokes scaled into the 20-px box, then drawn there with MNIST's pen
  (``nn.preprocess.preprocess_strokes``): the same stroke width whatever the size.

Prints a table of the share read right (and the errors by digit for each model with ``strokes``).
``--calibrate`` (needs MNIST) also compares the ink of the strokes drawn with pens of 1.6–3.4 px with MNIST's,
digit by digit, and reports the accuracy with each pen.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from nn.augment import STURDY_PATH
from nn.model_file import PRETRAINED_PATH, load_model
from nn.preprocess import preprocess_drawing, preprocess_strokes, rasterize_strokes
from scripts.make_drawings import make_drawings

PREPROCESSINGS = {
    "canvas": lambda strokes: preprocess_drawing(rasterize_strokes(strokes)),
    "strokes": preprocess_strokes,
}


def inputs_for(drawings: list[dict], how) -> np.ndarray:
    return np.stack([how(d["strokes"]) for d in drawings])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--per-style", type=int, default=12)
    parser.add_argument("--model", action="append", default=[], metavar="NAME=FILE", help="another model file")
    parser.add_argument("--calibrate", action="store_true", help="compare the pens' ink with MNIST's (needs MNIST)")
    parser.add_argument("--data-dir", help="MNIST for --calibrate (default: $MNIST_DIR)")
    args = parser.parse_args(argv)

    drawings = make_drawings(args.seed, args.per_style)
    labels = np.array([d["digit"] for d in drawings])
    models = {"the book's net": PRETRAINED_PATH, "trained on distorted digits": STURDY_PATH}
    for item in args.model:
        name, _, path = item.partition("=")
        models[name] = Path(path)
    nets = {name: load_model(path).network() for name, path in models.items() if Path(path).is_file()}
    inputs = {}
    for name, how in PREPROCESSINGS.items():
        t0 = time.perf_counter()
        inputs[name] = inputs_for(drawings, how)
        print(f"preprocessing {name!r}: {(time.perf_counter() - t0) / len(drawings) * 1000:.2f} ms a drawing")

    print(f"\n{len(drawings)} drawings (seed {args.seed}), share read right:\n")
    print(f"| model | {' | '.join(PREPROCESSINGS)} |")
    print(f"| --- | {' | '.join('---:' for _ in PREPROCESSINGS)} |")
    for model, net in nets.items():
        cells = [f"{np.mean(net.classify(inputs[p]) == labels):.1%}" for p in PREPROCESSINGS]
        print(f"| {model} | {' | '.join(cells)} |")
    extent = np.array([d["extent"] for d in drawings])
    buckets = [(0.25, 0.5), (0.5, 0.75), (0.75, 0.96)]
    print("\nby the drawing's size (its longer side, share of the canvas):\n")
    print("| model | preprocessing | " + " | ".join(f"{lo:.0%}–{min(hi, 0.95):.0%}" for lo, hi in buckets) + " |")
    print("| --- | --- | " + " | ".join("---:" for _ in buckets) + " |")
    for model, net in nets.items():
        for p in PREPROCESSINGS:
            right = net.classify(inputs[p]) == labels
            cells = [f"{right[(extent >= lo) & (extent < hi)].mean():.1%}" for lo, hi in buckets]
            print(f"| {model} | {p} | {' | '.join(cells)} |")
    for model, net in nets.items():
        wrong = net.classify(inputs["strokes"]) != labels
        by_digit = ", ".join(f"{d}: {int(wrong[labels == d].sum())}" for d in range(10))
        print(f"\n{model}, strokes: {int(wrong.sum())} wrong ({by_digit})")
        for i in np.flatnonzero(wrong)[:12]:
            d = drawings[i]
            print(f"  #{i}: a {d['digit']} ({d['style']}, slant {d['slant']}°, rotation {d['rotation']}°, "
                  f"width {d['aspect']}, size {d['extent']:.0%}) read as {int(net.classify(inputs['strokes'][i]))}")

    if args.calibrate:
        from nn.mnist import load_dataset

        data = load_dataset(args.data_dir, allow_download=False, allow_embedded=False)
        x_test = data.x_test.reshape(-1, 784).astype(np.float32) / 255
        mnist_ink = np.array([x_test[data.t_test == d].sum(1).mean() for d in range(10)])
        print(f"\nMNIST test digits' mean ink: {x_test.sum(1).mean():.0f} "
              f"({', '.join(f'{d}: {v:.0f}' for d, v in enumerate(mnist_ink))})")
        print("| pen (px) | ink ÷ MNIST's, mean over digits | " + " | ".join(nets) + " |")
        for pen in (1.6, 2.0, 2.2, 2.4, 2.6, 2.8, 3.0, 3.4):
            x = np.stack([preprocess_strokes(d["strokes"], pen=pen) for d in drawings])
            ink = np.array([x[labels == d].sum(1).mean() for d in range(10)])
            cells = [f"{np.mean(net.classify(x) == labels):.1%}" for net in nets.values()]
            print(f"| {pen:g} | {np.mean(ink / mnist_ink):.2f} | {' | '.join(cells)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
