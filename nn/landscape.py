"""Where SGD walks: the loss on a plane through weight space around a run's path, and the path projected on it.

A 784-50-10 net has 39,760 weights, so its loss cannot be drawn; a plane through weight space can. The plane goes
through the run's final weights θ* (its centre) and is spanned by two directions d1, d2; the map is the loss
L(θ* + a·d1 + b·d2) on a fixed set of training images at the points (a, b) of a grid::

    plane = trajectory_plane(path.points, final)          # or random_plane(final, rng)
    lmap = landscape(run, x_train, t_train)               # all of it: plane, grid, the two paths (see there)

Directions (``DIRECTIONS``):

- ``"trajectory"`` (the default): the two main directions of the run's own path, the first two principal
  components of the weight vectors at its accuracy measurements (and its initial weights) relative to θ*
  (Li et al. 2018, §7). The path is high-dimensional but not random: the first two directions hold most of its
  movement (typically 90 % or more of the squared distance), so its projection is a faithful picture of it.
- ``"random"``: two Gaussian directions, filter-normalised (Li et al. 2018, §4): each unit's incoming weights
  (a column of W1 or W2) scaled to that unit's own weight norm in θ*, the biases not moved. They show the shape of
  the minimum as a random slice sees it, but a path of 39,760 numbers is nearly orthogonal to any two random
  directions: its projection is a small knot around the centre. Hence trajectory PCA by default.

The path is projected by least squares onto the plane (exact for a point on the plane). The loss at a path point
is its own loss, not the map's at its shadow (the point is off the plane by what the two directions miss):
``Path.losses``.

The comparison: full-batch gradient descent, the same learning rate from the same initial weights, on the map's
images (so its every step descends exactly the loss the map shows), as many steps as the run took up to
``FULL_BATCH_MAX_STEPS`` (1,000): each full-batch step computes the gradient on all the map's images (1,000 by
default, ten times a mini-batch of the book's), 2.6 ms on an idle core and 6-12 ms on a busy one (measured), so the
book's 10,000 would take 26 s to 2 min; 1,000 keep the whole map within seconds. Both paths are marked by
iteration, so the full-batch one is compared with SGD's up to the same step (hover).

Cost (measured with one BLAS thread, 784-50-10, the default 25 × 25 grid on 1,000 images, ``benchmark`` below):
the grid 0.47 s and 38 MB at its peak (grid points in chunks of ``CHUNK``: a (25, 1,000, 50) float64 array each;
the whole ``landscape`` call peaks at 41 MB), the full-batch path 2.6 s for its 1,000 steps, the PCA of 19 points ×
39,760 weights a few ms: ~3.5 s in all. On the same two cores shared with a test suite and a browser (load 9) it
was 2.6 s + 13.7 s.

The grid is vectorised through the first layer's linearity: x·(W1* + a·D1 + b·D2) = x·W1* + a·x·D1 + b·x·D2, so
the three (images × hidden) products are computed once and each grid point costs only its sigmoid and its
(hidden × 10) second layer, batched over ``CHUNK`` points at a time.

Pure NumPy; randomness passed in (``rng``); no Streamlit, no plotting.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from nn.fast_net import FastTwoLayerNet, LossNotFinite
from nn.functions import CROSS_ENTROPY_EPS, as_label_indices
from nn.train import Run, TrainConfig, snapshot_params, start
from nn.two_layer_net import PARAM_KEYS, TwoLayerNet

DIRECTIONS = ("trajectory", "random")
DEFAULT_DIRECTIONS = "trajectory"
DEFAULT_GRID = 25
DEFAULT_IMAGES = 1000
#: The map's images are drawn from the run's training images with this seed (the same images every time).
IMAGES_SEED = 0
#: Grid points computed together: a (CHUNK, images, hidden) float64 array (25 × 1,000 × 50: 10 MB).
CHUNK = 25
#: The longest full-batch path: at 2.6 ms a step (1,000 images, the book's net, one idle core), 2.6 s; a longer run
#: is compared over its start. A bigger net or more images take fewer steps: at most ``FULL_BATCH_MAX_WORK`` images × weights.
FULL_BATCH_MAX_STEPS = 1000
FULL_BATCH_MAX_WORK = FULL_BATCH_MAX_STEPS * DEFAULT_IMAGES * 39_760
#: A map keeps its full-batch points (float16, for the next map of the same run and images) up to this size.
REUSE_BYTES = 4_000_000
#: The map reaches this far beyond the farthest path point (as a share of it) on each axis.
MARGIN = 0.25
#: The shorter axis spans at least this share of the longer one (a path along d1 alone still has room across).
MIN_ASPECT = 0.3
#: Random directions: the map spans at least ±this (in units of the weights' own norm, filter by filter).
RANDOM_SPAN = 0.5

Progress = Callable[[float, str], None]


# -- weights as one vector -------------------------------------------------------------------------------------


def flatten(params: dict[str, np.ndarray]) -> np.ndarray:
    """W1, b1, W2, b2 as one float64 vector (39,760 numbers for the book's net)."""
    return np.concatenate([np.asarray(params[key], dtype=np.float64).ravel() for key in PARAM_KEYS])


def unflatten(vector: np.ndarray, like: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The inverse of ``flatten``: arrays of ``like``'s shapes (float64)."""
    out, at = {}, 0
    for key in PARAM_KEYS:
        shape = np.shape(like[key])
        size = int(np.prod(shape))
        out[key] = np.asarray(vector[at:at + size], dtype=np.float64).reshape(shape)
        at += size
    return out


# -- the plane ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plane:
    """θ* + a·d1 + b·d2: the centre (flattened final weights), the two directions (2, P) and how they were made."""

    centre: np.ndarray  # (P,)
    directions: np.ndarray  # (2, P)
    kind: str  # "trajectory" | "random"
    explained: tuple[float, float] = (float("nan"), float("nan"))  # trajectory: share of the path's movement
    second_random: bool = False  # trajectory: the path went one way only, so its second direction is a random one

    def project(self, points: np.ndarray) -> np.ndarray:
        """Least-squares (a, b) of each row of ``points`` (n, P): the point of the plane nearest to it (for
        orthonormal directions; the best fit in their own coordinates otherwise). Exact for a point on the plane."""
        offsets = np.atleast_2d(points) - self.centre
        coords, *_ = np.linalg.lstsq(self.directions.T, offsets.T, rcond=None)
        return coords.T

    def point(self, a: float, b: float) -> np.ndarray:
        return self.centre + a * self.directions[0] + b * self.directions[1]


#: A second principal direction holding less of the path's movement than this is noise (the snapshots are float16):
#: a path measured at its start and end only (a run of one epoch or less) goes one way.
MIN_SECOND_SHARE = 1e-4


def trajectory_plane(points: np.ndarray, centre: np.ndarray, second: np.ndarray | None = None) -> Plane:
    """The first two principal directions of ``points`` (n, P) relative to ``centre``: unit vectors, oriented so
    that the first point (the start) has negative coordinates (the path comes in from the lower left). A path that
    goes one way only (its second direction holds under ``MIN_SECOND_SHARE`` of its movement) takes ``second`` (a
    direction, e.g. a filter-normalised random one) instead, made orthogonal to the first and of unit length."""
    offsets = np.atleast_2d(points) - centre
    _, s, vt = np.linalg.svd(offsets, full_matrices=False)
    total = float(np.sum(s ** 2))
    if not total:
        raise ValueError("the path never left its end point")
    one_way = len(s) < 2 or s[1] ** 2 / total < MIN_SECOND_SHARE
    if one_way and second is None:
        raise ValueError("the path spans fewer than two directions (it needs at least two points besides the end)")
    directions = vt[:2].copy() if not one_way else np.stack([vt[0], second - (second @ vt[0]) * vt[0]])
    directions[1] /= np.linalg.norm(directions[1])
    for k in range(2):
        if offsets[0] @ directions[k] > 0:
            directions[k] = -directions[k]
    explained = (float(s[0] ** 2 / total), 0.0 if one_way else float(s[1] ** 2 / total))
    return Plane(centre, directions, "trajectory", explained, second_random=one_way)


def filter_normalised(direction: dict[str, np.ndarray], weights: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``direction`` with each unit's incoming weights (a column of W1 or W2) scaled to the norm of that unit's
    in ``weights``, and the biases zero (Li et al. 2018: the biases are not perturbed)."""
    out = {}
    for key in PARAM_KEYS:
        d = np.asarray(direction[key], dtype=np.float64)
        if key.startswith("b"):
            out[key] = np.zeros_like(d)
            continue
        norms = np.linalg.norm(np.asarray(weights[key], dtype=np.float64), axis=0)
        out[key] = d * (norms / np.maximum(np.linalg.norm(d, axis=0), 1e-300))
    return out


def random_plane(final: dict[str, np.ndarray], rng: np.random.Generator) -> Plane:
    """Two filter-normalised Gaussian directions (see ``filter_normalised``) around ``final``."""
    rows = []
    for _ in range(2):
        draw = {key: rng.standard_normal(np.shape(final[key])) for key in PARAM_KEYS}
        rows.append(flatten(filter_normalised(draw, final)))
    return Plane(flatten(final), np.stack(rows), "random")


# -- the loss on the grid -----------------------------------------------------------------------------------------


def _as_pixels(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x)
    x = x.reshape(len(x), -1)
    return x.astype(np.float64) / 255 if x.dtype == np.uint8 else x.astype(np.float64)


def _mean_cross_entropy(scores: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The net's loss (softmax, then -log(p + eps) of the true class, mean over images) for a batch of score
    arrays (G, N, C) at once: (G,)."""
    scores = scores - scores.max(axis=-1, keepdims=True)
    np.exp(scores, out=scores)
    scores /= scores.sum(axis=-1, keepdims=True)
    n = scores.shape[1]
    p_true = scores[:, np.arange(n), labels]  # (G, N)
    return -np.log(p_true + CROSS_ENTROPY_EPS).mean(axis=1)


def loss_grid(plane: Plane, like: dict[str, np.ndarray], x: np.ndarray, t: np.ndarray, alphas: np.ndarray,
              betas: np.ndarray, progress: Progress | None = None, chunk: int = CHUNK) -> np.ndarray:
    """The loss at θ* + a·d1 + b·d2 for every (a, b) of ``alphas`` × ``betas``: (len(betas), len(alphas)), row j
    for betas[j] (a contour plot's z). ``like``: the shapes of the weights; x, t: images and labels."""
    x = _as_pixels(x)
    labels = as_label_indices(t)
    centre, d1, d2 = (unflatten(v, like) for v in (plane.centre, *plane.directions))
    first = [x @ p["W1"] + p["b1"] for p in (centre, d1, d2)]  # (N, hidden) each: the first layer is linear
    a_grid, b_grid = np.meshgrid(np.asarray(alphas, float), np.asarray(betas, float))  # (nb, na)
    a_flat, b_flat = a_grid.ravel(), b_grid.ravel()
    losses = np.empty(a_flat.size)
    for start_at in range(0, a_flat.size, chunk):
        a = a_flat[start_at:start_at + chunk, None, None]
        b = b_flat[start_at:start_at + chunk, None, None]
        hidden = first[0] + a * first[1] + b * first[2]  # (G, N, hidden)
        np.negative(hidden, out=hidden)
        np.exp(hidden, out=hidden)
        hidden += 1
        np.reciprocal(hidden, out=hidden)  # sigmoid
        W2 = centre["W2"] + a * d1["W2"] + b * d2["W2"]  # (G, hidden, 10)
        b2 = (centre["b2"] + a * d1["b2"] + b * d2["b2"])  # (G, 1, 10)
        losses[start_at:start_at + chunk] = _mean_cross_entropy(hidden @ W2 + b2, labels)
        if progress is not None:
            progress(min(1.0, (start_at + chunk) / a_flat.size), "grid")
    return losses.reshape(a_grid.shape)


def loss_at(params: dict[str, np.ndarray], x: np.ndarray, t: np.ndarray) -> float:
    """``TwoLayerNet.loss`` of ``params`` (in float64) on x, t."""
    return TwoLayerNet.from_params({k: np.asarray(v, dtype=np.float64) for k, v in params.items()}).loss(x, t)


# -- the run's path, and the full-batch one ------------------------------------------------------------------------


@dataclass
class Path:
    """Points of a path through weight space: after ``iterations[k]`` steps the weights were ``points[k]``."""

    iterations: np.ndarray  # (n,) int
    points: np.ndarray  # (n, P) float64
    losses: np.ndarray = field(default_factory=lambda: np.zeros(0))  # (n,) the loss at each point, on the map's images
    coords: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))  # (n, 2) projected on the plane
    seconds: float = 0.0  # how long it took to walk (the full-batch path)


def has_path(run: Run) -> bool:
    """Whether ``run`` kept all its weights at two measurements or more (runs trained since this was added)."""
    snapshots = list(run.snapshots or ())
    return len(snapshots) >= 2 and all(snapshot_params(w) is not None for _, w in snapshots)


def start_state(config: TrainConfig, x_train: np.ndarray, t_train: np.ndarray):
    """The run's initial weights and its training images, as ``nn.train.start`` makes them from the seed."""
    state = start(config.replace(iters=1), ((x_train, t_train), (x_train[:1], t_train[:1])))
    return {k: np.array(v) for k, v in state.network.params.items()}, state.x_train, state.t_train


def map_images(x: np.ndarray, t: np.ndarray, n: int, seed: int = IMAGES_SEED):
    """``n`` of the images (all when there are no more), chosen by ``seed``, in their order."""
    if n >= len(x):
        return x, as_label_indices(t)
    rows = np.sort(np.random.default_rng(seed).choice(len(x), size=n, replace=False))
    return x[rows], as_label_indices(t)[rows]


def full_batch_path(initial: dict[str, np.ndarray], x: np.ndarray, t: np.ndarray, lr: float, steps: int,
                    keep_at: set[int], dtype: str = "float32", progress: Progress | None = None) -> Path:
    """Gradient descent on all of x, t at once, ``steps`` steps of ``lr`` from ``initial``: the weights after 0
    steps and after each step in ``keep_at`` (and the last). Stops early, keeping what it has, if the loss
    overflows (a learning rate that diverges)."""
    net = FastTwoLayerNet.from_params({k: np.asarray(v, dtype=dtype) for k, v in initial.items()})
    iterations, points = [0], [flatten(net.params)]
    every = max(1, steps // 50)
    with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
        for i in range(1, steps + 1):
            try:
                grad = net.gradient(x, t)
            except LossNotFinite:
                break
            for key in PARAM_KEYS:
                net.params[key] -= lr * grad[key]
            if i in keep_at or i == steps:
                iterations.append(i)
                points.append(flatten(net.params))
            if progress is not None and i % every == 0:
                progress(i / steps, "full_batch")
    return Path(np.array(iterations), np.stack(points))


def run_path(run: Run, initial: dict[str, np.ndarray]) -> Path:
    """The run's initial weights, then its weights at each kept measurement (float16 snapshots)."""
    iterations, points = [0], [flatten(initial)]
    for it, w in run.snapshots:
        iterations.append(int(it))
        points.append(flatten(snapshot_params(w)))
    return Path(np.array(iterations), np.stack(points))


# -- the whole map -------------------------------------------------------------------------------------------------


@dataclass
class LossMap:
    """What the landscape page draws: the loss on the grid, the run's path and the full-batch one on it."""

    plane: Plane
    alphas: np.ndarray  # (na,)
    betas: np.ndarray  # (nb,)
    losses: np.ndarray  # (nb, na)
    path: Path  # the run's (mini-batch) path
    full_batch: Path
    full_batch_steps: int  # steps the full-batch path took (≤ the run's)
    run_steps: int
    iters_per_epoch: float
    n_images: int
    centre_loss: float  # the loss at the final weights (the map's centre), computed directly
    seconds: dict[str, float] = field(default_factory=dict)  # "grid", "full_batch", "total"

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in (self.losses, self.path.points, self.full_batch.points,
                                      self.plane.directions, self.plane.centre))


def grid_axes(coords: np.ndarray, size: int, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """Two odd-length symmetric axes through 0 (the centre is a grid point) reaching ``MARGIN`` beyond every
    point of ``coords`` (n, 2); the shorter at least ``MIN_ASPECT`` of the longer; random planes ±``RANDOM_SPAN``."""
    size = int(size) | 1
    reach = np.max(np.abs(coords), axis=0) * (1 + MARGIN) if len(coords) else np.zeros(2)
    if kind == "random":
        reach = np.maximum(reach, RANDOM_SPAN)
    reach = np.maximum(reach, MIN_ASPECT * max(float(reach.max()), 1e-6))
    return np.linspace(-reach[0], reach[0], size), np.linspace(-reach[1], reach[1], size)


def full_batch_steps(run_steps: int, images: int, n_weights: int, most: int = FULL_BATCH_MAX_STEPS) -> int:
    """How many full-batch steps to compare with a run of ``run_steps``: all of them, up to ``most`` and to
    ``FULL_BATCH_MAX_WORK`` (images × weights per step)."""
    return int(max(1, min(run_steps, most, FULL_BATCH_MAX_WORK // max(1, images * n_weights))))


def landscape(run: Run, x_train: np.ndarray, t_train: np.ndarray, *, directions: str = DEFAULT_DIRECTIONS,
              grid: int = DEFAULT_GRID, images: int = DEFAULT_IMAGES, rng: np.random.Generator | None = None,
              full_batch_max_steps: int = FULL_BATCH_MAX_STEPS, full_batch: Path | None = None,
              progress: Progress | None = None) -> LossMap:
    """The loss map of ``run`` (one that ``has_path``) on ``images`` of its own training images (drawn from
    x_train, t_train as the run drew them, then ``map_images``): its plane (``directions``; ``rng`` for random
    ones, default seeded 0), both paths projected, the loss on a ``grid`` × ``grid`` grid. ``progress(share,
    stage)`` is called as it goes (stage "full_batch", then "grid"). ``full_batch``: the full-batch path of an
    earlier map of the same run and images (``LossMap.full_batch``, while it keeps its points), not walked again.

    The map keeps the projections, not the paths' 39,760-number points (only the full-batch ones, float16, up to
    ``REUSE_BYTES``): a few KB plus the grid."""
    if directions not in DIRECTIONS:
        raise ValueError(f"directions must be one of {', '.join(DIRECTIONS)}, got {directions!r}")
    if not has_path(run):
        raise ValueError("the run has not kept its weights at two measurements (train it with this version)")
    t0 = time.perf_counter()
    config = run.config
    initial, x_run, t_run = start_state(config, x_train, t_train)
    x, t = map_images(x_run, t_run, images)
    final = {k: np.asarray(v, dtype=np.float64) for k, v in run.params.items()}

    path = run_path(run, initial)
    run_steps = int(run.iterations_done)
    fb_steps = full_batch_steps(run_steps, len(x), path.points.shape[1], full_batch_max_steps)
    t1 = time.perf_counter()
    if full_batch is not None and full_batch.points.size:
        full = Path(full_batch.iterations, full_batch.points.astype(np.float64), seconds=full_batch.seconds)
    else:
        full = full_batch_path(initial, x, t, config.lr, fb_steps, {int(i) for i in path.iterations if i <= fb_steps},
                               dtype=config.dtype, progress=progress)
        full.seconds = time.perf_counter() - t1

    centre = flatten(final)
    rng = rng if rng is not None else np.random.default_rng(0)
    if directions == "trajectory":
        plane = trajectory_plane(path.points, centre, second=random_plane(final, rng).directions[0])
    else:
        plane = random_plane(final, rng)
    for p in (path, full):
        p.coords = plane.project(p.points)
        p.losses = np.array([loss_at(unflatten(q, final), x, t) for q in p.points])
    path.points = np.zeros((0, path.points.shape[1]))
    keep = full.points.astype(np.float16)
    full.points = keep if keep.nbytes <= REUSE_BYTES else np.zeros((0, keep.shape[1]), np.float16)
    alphas, betas = grid_axes(np.concatenate([path.coords, full.coords]), grid, plane.kind)
    t3 = time.perf_counter()
    losses = loss_grid(plane, final, x, t, alphas, betas, progress=progress)
    t4 = time.perf_counter()
    return LossMap(plane, alphas, betas, losses, path, full, len(full.iterations) and int(full.iterations[-1]),
                   run_steps, run.iters_per_epoch, len(x), loss_at(final, x, t),
                   seconds={"full_batch": full.seconds, "grid": t4 - t3, "total": t4 - t0})


def benchmark(x_train: np.ndarray, t_train: np.ndarray, grid: int = DEFAULT_GRID, images: int = DEFAULT_IMAGES):
    """Seconds and peak traced memory (MB) of ``loss_grid`` for a random plane around a book-sized net (784-50-10)
    on one core: ``python -c "from nn.landscape import benchmark; ..."`` (see the module docstring)."""
    import tracemalloc

    rng = np.random.default_rng(0)
    net = TwoLayerNet(784, 50, 10, weight_init_std=0.1, rng=rng)
    plane = random_plane(net.params, rng)
    x, t = map_images(x_train, t_train, images)
    axis = np.linspace(-1, 1, grid)
    tracemalloc.start()
    t0 = time.perf_counter()
    loss_grid(plane, net.params, x, t, axis, axis)
    seconds = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return seconds, peak / 1e6
