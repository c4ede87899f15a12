"""Random distortions of MNIST digits, for training a net that reads real handwriting (data augmentation).

A digit pushed a little to the side, turned by a few degrees, slanted, squeezed or wobbled is still the same
digit: training on such copies teaches the network what does *not* matter, so it reads slanted and narrow digits
it never saw. The distortions are the classic ones of the MNIST literature (Simard, Steinkraus & Platt 2003,
"Best practices for convolutional neural networks applied to visual document analysis"):

- an **affine** map per image: rotation (±15°), shear (slant, ±0.3 ≈ ±17°), scale per axis (narrow to wide) and a
  shift of a pixel or two;
- an **elastic** wobble: a random displacement field, smoothed by a Gaussian of width ``sigma`` and scaled by
  ``alpha`` (Simard's 34 and 4 pixels).

Every output pixel looks up where it came from in the input (the inverse map) and interpolates bilinearly, with
zero (background) outside the 28 × 28 frame. The labels are not touched: ``distort_batch`` returns them as given.

Vectorised over the batch (no Python loop over images), pure NumPy; randomness comes from the
``numpy.random.Generator`` passed in, so a seed gives the same distortions.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

SIDE = 28
#: The model trained with these distortions (``scripts/train_sturdy.py``), shipped beside the book's.
STURDY_PATH = Path(__file__).resolve().parent / "data" / "pretrained_distorted.npz"
#: The centre the affine maps turn and scale about, in row/column index coordinates.
CENTRE = (SIDE - 1) / 2


@dataclass(frozen=True)
class Distortions:
    """How strong the random distortions are (the defaults: what the shipped sturdy model was trained with)."""

    rotation_deg: float = 15.0  # uniform in ±rotation
    shear: float = 0.3  # horizontal shear factor, uniform in ±shear (0.3: a slant of about 17°)
    scale: tuple[float, float] = (0.85, 1.15)  # overall scale, uniform in [low, high]
    aspect: tuple[float, float] = (0.75, 1.25)  # width ÷ height factor (narrow to wide), log-uniform
    shift: float = 2.0  # pixels, uniform in ±shift per axis
    elastic_alpha: float = 34.0  # Simard's alpha: the smoothed field's scale, in pixels
    elastic_sigma: float = 4.0  # Simard's sigma: the smoothing Gaussian's width, in pixels
    elastic_share: float = 0.5  # the share of images that also get the elastic wobble


def random_affine(rng: np.random.Generator, n: int, d: Distortions = Distortions()) -> tuple[np.ndarray, np.ndarray]:
    """``n`` random forward maps ``p_out = M (p_in − c) + c + shift`` as (n, 2, 2) matrices over (row, column)
    and (n, 2) shifts: rotation, shear, scale and aspect drawn independently per image."""
    theta = np.deg2rad(rng.uniform(-d.rotation_deg, d.rotation_deg, n))
    shear = rng.uniform(-d.shear, d.shear, n)
    scale = rng.uniform(*d.scale, n)
    aspect = np.exp(rng.uniform(np.log(d.aspect[0]), np.log(d.aspect[1]), n))
    shift = rng.uniform(-d.shift, d.shift, (n, 2))
    cos, sin = np.cos(theta), np.sin(theta)
    # in (row, column) = (y, x) coordinates, y pointing down
    rotation = np.stack([np.stack([cos, sin], -1), np.stack([-sin, cos], -1)], -2)  # (n, 2, 2)
    slant = np.zeros((n, 2, 2))
    slant[:, 0, 0] = slant[:, 1, 1] = 1
    slant[:, 1, 0] = -shear  # column moves with the row: x' = x − shear · y (top leans right for shear > 0)
    stretch = np.zeros((n, 2, 2))
    stretch[:, 0, 0] = scale / np.sqrt(aspect)
    stretch[:, 1, 1] = scale * np.sqrt(aspect)
    return rotation @ slant @ stretch, shift


def gaussian_matrix(size: int, sigma: float) -> np.ndarray:
    """(size, size) rows of a Gaussian of width ``sigma``, each summing to one over the frame: ``G @ f @ G.T``
    smooths a field ``f`` (a separable Gaussian blur, renormalised at the border)."""
    i = np.arange(size, dtype=np.float64)
    g = np.exp(-0.5 * ((i[:, None] - i[None, :]) / sigma) ** 2)
    return g / g.sum(axis=1, keepdims=True)


def elastic_fields(rng: np.random.Generator, n: int, alpha: float, sigma: float) -> np.ndarray:
    """(n, 2, SIDE, SIDE) displacement fields (rows, columns): uniform noise in [−1, 1], Gaussian-smoothed,
    times ``alpha`` (Simard et al.: a smooth wobble of about a pixel or two for alpha 34, sigma 4)."""
    g = gaussian_matrix(SIDE, sigma)
    noise = rng.uniform(-1, 1, (n, 2, SIDE, SIDE))
    return alpha * (g @ noise @ g.T)


def sample_bilinear(images: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """``images`` (n, h, w) read at the continuous (index) coordinates ``rows``, ``cols`` (n, h', w'), bilinear,
    zero outside the frame."""
    n, h, w = images.shape
    padded = np.zeros((n, h + 2, w + 2), dtype=np.float32)  # a zero border: outside reads as background
    padded[:, 1:-1, 1:-1] = images
    rows = np.clip(rows, -1.0, h)
    cols = np.clip(cols, -1.0, w)
    r0 = np.clip(np.floor(rows), -1, h - 1).astype(np.intp)
    c0 = np.clip(np.floor(cols), -1, w - 1).astype(np.intp)
    wr = (rows - r0).astype(np.float32)
    wc = (cols - c0).astype(np.float32)
    flat = padded.reshape(-1)
    base = (np.arange(n) * (h + 2) * (w + 2)).reshape(n, *([1] * (rows.ndim - 1)))
    top = base + (r0 + 1) * (w + 2) + (c0 + 1)  # index of (r0, c0) in the padded frame
    bottom = top + (w + 2)
    return ((1 - wr) * ((1 - wc) * flat[top] + wc * flat[top + 1])
            + wr * ((1 - wc) * flat[bottom] + wc * flat[bottom + 1]))


def distort(images: np.ndarray, rng: np.random.Generator, d: Distortions = Distortions()) -> np.ndarray:
    """Randomly distorted copies of ``images`` (n, 784) or (n, 28, 28), uint8 0–255 or floats in [0, 1]:
    float32 in [0, 1], shaped like the input."""
    images = np.asarray(images)
    shape = images.shape
    x = images.reshape(-1, SIDE, SIDE)
    x = x.astype(np.float32) / np.float32(255) if x.dtype == np.uint8 else x.astype(np.float32)
    n = len(x)
    forward, shift = random_affine(rng, n, d)
    inverse = np.linalg.inv(forward)  # (n, 2, 2): where each output pixel comes from
    grid = np.stack(np.meshgrid(np.arange(SIDE), np.arange(SIDE), indexing="ij"), 0).astype(np.float64)  # (2, S, S)
    out = grid[None] - CENTRE - shift[:, :, None, None]  # (n, 2, S, S): output point relative to the centre
    if d.elastic_alpha > 0 and d.elastic_share > 0:
        wobble = rng.random(n) < d.elastic_share
        out[wobble] += elastic_fields(rng, int(wobble.sum()), d.elastic_alpha, d.elastic_sigma)
    source = np.einsum("nij,njhw->nihw", inverse, out) + CENTRE  # (n, 2, S, S)
    result = sample_bilinear(x, source[:, 0], source[:, 1])
    np.clip(result, 0, 1, out=result)
    return result.reshape(shape).astype(np.float32, copy=False)


def distort_batch(x: np.ndarray, t: np.ndarray, rng: np.random.Generator, share: float = 0.8,
                  d: Distortions = Distortions()) -> tuple[np.ndarray, np.ndarray]:
    """A mini-batch with a random ``share`` of its images distorted (the rest as they are, scaled to [0, 1]):
    float32 images shaped like ``x``, and the labels ``t`` unchanged (a distorted 7 is still a 7)."""
    x = np.asarray(x)
    out = x.astype(np.float32) / np.float32(255) if x.dtype == np.uint8 else x.astype(np.float32)  # a copy
    pick = np.flatnonzero(rng.random(len(x)) < share)
    if pick.size:
        out[pick] = distort(out[pick], rng, d)
    return out, t
