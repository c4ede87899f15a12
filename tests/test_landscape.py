"""nn.landscape (the plane, the projection, the loss on the grid, the full-batch path), the weights a run keeps for
it (nn.train.Snapshot: in memory, pickled, in a model file), and the Loss landscape page in AppTest."""

from __future__ import annotations

import base64
import json
import pickle

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from nn import landscape as nl
from nn.mnist import load_embedded
from nn.model_file import load_model, save_run
from nn.train import Snapshot, TrainConfig, snapshot_params, start, train
from nn.two_layer_net import PARAM_KEYS, TwoLayerNet
from tests.app_helpers import (
    APP,
    FakeJob,
    _app,
    _finish,
    _open,
    _short_run,
    give_jobs,
    jobs_of,
)
from ui import landscape_figures, state


@pytest.fixture(scope="module")
def sample():
    return load_embedded()


@pytest.fixture(scope="module")
def small_run(sample):
    """A real run of a 784-7-10 net on 100 sample images: 13 accuracy measurements, each with all its weights."""
    config = TrainConfig(iters=60, batch_size=20, lr=0.5, hidden=7, train_size=100)
    return train(config, ((sample.x_train, sample.t_train), (sample.x_test[:200], sample.t_test[:200])))


@pytest.fixture(scope="module")
def small_map(small_run, sample):
    return nl.landscape(small_run, sample.x_train, sample.t_train, grid=9, images=80)


def _array(value) -> np.ndarray:
    """A figure array from its JSON: a list, or Plotly's typed array {"dtype", "bdata" (base64), "shape"}."""
    if isinstance(value, dict) and "bdata" in value:
        shape = tuple(int(n) for n in str(value.get("shape", "-1")).split(","))
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"]).reshape(shape).astype(float)
    return np.asarray(value, dtype=float)


def _params(rng, hidden=7):
    return TwoLayerNet(784, hidden, 10, weight_init_std=0.3, rng=rng).params


# -- the plane and the projection ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["orthonormal", "skewed"])
def test_a_path_that_lies_in_the_plane_is_projected_exactly(kind):
    rng = np.random.default_rng(1)
    centre = rng.normal(size=500)
    directions = rng.normal(size=(2, 500))
    if kind == "orthonormal":
        directions = np.linalg.qr(directions.T)[0].T
    plane = nl.Plane(centre, directions, "random")
    coords = rng.normal(scale=3, size=(12, 2))
    points = centre + coords @ directions
    np.testing.assert_allclose(plane.project(points), coords, rtol=1e-10, atol=1e-10)


def test_the_trajectory_plane_holds_a_planar_path_and_its_projection_rebuilds_it():
    rng = np.random.default_rng(2)
    centre = rng.normal(size=300)
    basis = np.linalg.qr(rng.normal(size=(300, 2)))[0].T
    points = centre + rng.normal(size=(10, 2)) @ basis * 5
    plane = nl.trajectory_plane(points, centre)
    assert sum(plane.explained) == pytest.approx(1.0)
    np.testing.assert_allclose(plane.directions @ plane.directions.T, np.eye(2), atol=1e-12)
    coords = plane.project(points)
    rebuilt = np.array([plane.point(a, b) for a, b in coords])
    np.testing.assert_allclose(rebuilt, points, atol=1e-10)
    assert np.all(coords[0] <= 0)  # oriented: the path starts at the lower left


def test_a_path_that_goes_one_way_gets_a_second_direction_made_orthogonal_and_says_so():
    """A run of one epoch is kept at its start and end only: its own second direction would be float16 noise (the
    axis said "0.0 % of its movement"). It takes the one given, orthogonal to the path's, and says so."""
    rng = np.random.default_rng(6)
    centre, way = rng.normal(size=400), rng.normal(size=400)
    points = np.stack([centre - 2 * way, centre - way]) + rng.normal(scale=1e-6, size=(2, 400))  # rounding noise
    with pytest.raises(ValueError, match="fewer than two directions"):
        nl.trajectory_plane(points, centre)
    other = rng.normal(size=400)
    plane = nl.trajectory_plane(points, centre, second=other)
    assert plane.second_random and plane.explained[0] == pytest.approx(1.0) and plane.explained[1] == 0.0
    np.testing.assert_allclose(plane.directions @ plane.directions.T, np.eye(2), atol=1e-12)
    assert abs(plane.directions[0] @ way) == pytest.approx(np.linalg.norm(way), rel=1e-6)  # the path's own way
    rest = other - (plane.directions[0] @ other) * plane.directions[0]  # the given one, less the path's way
    assert abs(plane.directions[1] @ rest) == pytest.approx(np.linalg.norm(rest), rel=1e-9)
    np.testing.assert_allclose(plane.project(points)[:, 1], 0.0, atol=1e-5)  # the path lies on the first axis
    turning = np.concatenate([points, [centre + rng.normal(size=400)]])  # a third point off the line: its own
    assert not nl.trajectory_plane(turning, centre, second=other).second_random


def test_filter_normalised_directions_have_each_units_weight_norm_and_leave_the_biases():
    rng = np.random.default_rng(3)
    weights = _params(rng)
    plane = nl.random_plane(weights, rng)
    for row in plane.directions:
        d = nl.unflatten(row, weights)
        for key in ("W1", "W2"):
            np.testing.assert_allclose(np.linalg.norm(d[key], axis=0), np.linalg.norm(weights[key], axis=0))
        assert not d["b1"].any() and not d["b2"].any()


def test_flatten_and_unflatten_are_inverse():
    params = _params(np.random.default_rng(4))
    back = nl.unflatten(nl.flatten(params), params)
    for key in PARAM_KEYS:
        np.testing.assert_array_equal(back[key], params[key])


def test_the_grid_is_the_net_s_own_loss_at_every_point_it_checks(sample):
    rng = np.random.default_rng(5)
    weights = _params(rng)
    plane = nl.random_plane(weights, rng)
    x, t = sample.x_train[:50], sample.t_train[:50]
    alphas, betas = np.array([-0.5, 0.0, 0.7]), np.array([-0.3, 0.0, 0.2, 0.4])
    grid = nl.loss_grid(plane, weights, x, t, alphas, betas, chunk=5)
    assert grid.shape == (4, 3)
    for j, b in enumerate(betas):
        for i, a in enumerate(alphas):
            direct = TwoLayerNet.from_params(nl.unflatten(plane.point(a, b), weights)).loss(x, t)
            assert grid[j, i] == pytest.approx(direct, rel=1e-10)


def test_the_full_batch_steps_are_bounded_by_the_run_the_cap_and_the_work():
    assert nl.full_batch_steps(300, 1000, 39_760) == 300
    assert nl.full_batch_steps(10_000, 1000, 39_760) == nl.FULL_BATCH_MAX_STEPS
    assert nl.full_batch_steps(10_000, 3000, 39_760) == round(nl.FULL_BATCH_MAX_STEPS / 3)
    assert nl.full_batch_steps(10_000, 1000, 795_010) < nl.FULL_BATCH_MAX_STEPS / 19  # a 1,000-unit net: fewer


# -- a run's map ---------------------------------------------------------------------------------------------------


def test_the_map_s_centre_is_the_run_s_own_loss_on_the_same_images(small_run, small_map, sample):
    _, x_run, t_run = nl.start_state(small_run.config, sample.x_train, sample.t_train)
    x, t = nl.map_images(x_run, t_run, 80)
    direct = TwoLayerNet.from_params(small_run.params).loss(x, t)  # the run's float32 weights, as trained
    mid = len(small_map.alphas) // 2
    assert small_map.alphas[mid] == 0.0 and small_map.betas[mid] == 0.0
    assert small_map.losses[mid, mid] == pytest.approx(direct, rel=1e-5)
    assert small_map.centre_loss == pytest.approx(direct, rel=1e-5)
    assert small_map.n_images == 80


def test_the_map_holds_both_paths_inside_it(small_run, small_map):
    path, full = small_map.path, small_map.full_batch
    assert list(path.iterations) == [0, *[it for it, _ in small_run.snapshots]]
    assert full.iterations[0] == 0 and full.iterations[-1] == small_map.full_batch_steps == 60  # the same length
    for p in (path, full):
        assert np.all(np.abs(p.coords[:, 0]) <= small_map.alphas[-1])
        assert np.all(np.abs(p.coords[:, 1]) <= small_map.betas[-1])
    np.testing.assert_allclose(path.coords[0], full.coords[0])  # the same start
    assert np.abs(path.coords[-1]).max() < 0.02 * small_map.alphas[-1]  # the last snapshot is the end, in float16
    assert path.losses[0] > path.losses[-1]  # SGD went down
    assert small_map.plane.explained[0] > 0.5
    assert small_map.losses.shape == (9, 9) and np.all(np.isfinite(small_map.losses))
    assert path.points.size == 0  # the map keeps projections, not 39,760-number points


def test_the_start_is_the_run_s_initial_weights(small_run, sample):
    initial, _, _ = nl.start_state(small_run.config, sample.x_train, sample.t_train)
    begun = start(small_run.config, ((sample.x_train, sample.t_train), (sample.x_test[:1], sample.t_test[:1])))
    for key in PARAM_KEYS:
        np.testing.assert_array_equal(initial[key], begun.network.params[key])


def test_maps_are_seeded(small_run, small_map, sample):
    again = nl.landscape(small_run, sample.x_train, sample.t_train, grid=9, images=80)
    np.testing.assert_array_equal(again.losses, small_map.losses)
    np.testing.assert_array_equal(again.path.coords, small_map.path.coords)
    np.testing.assert_array_equal(again.full_batch.coords, small_map.full_batch.coords)
    r1, r2 = (nl.landscape(small_run, sample.x_train, sample.t_train, directions="random", grid=7, images=50,
                           rng=np.random.default_rng(9)) for _ in range(2))
    np.testing.assert_array_equal(r1.losses, r2.losses)
    reused = nl.landscape(small_run, sample.x_train, sample.t_train, directions="random", grid=7, images=80,
                          full_batch=small_map.full_batch)  # walked once, projected on another plane
    fresh = nl.landscape(small_run, sample.x_train, sample.t_train, directions="random", grid=7, images=80)
    np.testing.assert_allclose(reused.full_batch.coords, fresh.full_batch.coords, atol=1e-2)


# -- what a run keeps ----------------------------------------------------------------------------------------------


def test_each_snapshot_keeps_all_the_weights_compactly(small_run):
    assert nl.has_path(small_run)
    for it, w in small_run.snapshots:
        assert isinstance(w, Snapshot) and w.dtype == np.float16 and w.shape == (784, 7)  # W1 readers unchanged
        params = snapshot_params(w)
        assert {k: v.dtype for k, v in params.items()} == dict.fromkeys(PARAM_KEYS, np.float16)
    final = snapshot_params(small_run.snapshots[-1][1])
    for key in PARAM_KEYS:
        np.testing.assert_allclose(final[key], small_run.params[key], atol=2e-3)
    back = pickle.loads(pickle.dumps(small_run.snapshots))  # the forked child sends them through a pipe
    assert all(snapshot_params(w) is not None for _, w in back)


def _old_file_run(run):
    """``run`` saved and loaded as a file of the version before the other weights were kept (W1 snapshots only)."""
    import io
    import zipfile

    old = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(save_run(run))) as src, zipfile.ZipFile(old, "w") as dst:
        for info in src.infolist():
            if not info.filename.startswith(("snapshot_b1", "snapshot_W2", "snapshot_b2")):
                dst.writestr(info, src.read(info))
    return load_model(old.getvalue()).to_run()


def test_a_saved_run_draws_its_map_and_an_old_file_says_why_not(small_run, small_map, sample):
    loaded = load_model(save_run(small_run)).to_run()
    assert nl.has_path(loaded)
    again = nl.landscape(loaded, sample.x_train, sample.t_train, grid=9, images=80)
    np.testing.assert_allclose(again.losses, small_map.losses, rtol=1e-4)
    older = _old_file_run(small_run)
    assert len(older.snapshots) == len(small_run.snapshots) and not nl.has_path(older)
    with pytest.raises(ValueError, match="two measurements"):
        nl.landscape(older, sample.x_train, sample.t_train)


def test_the_figure_marks_the_paths_the_start_and_the_end(small_map):
    fig = landscape_figures.landscape_figure(small_map)
    kinds = [trace.type for trace in fig.data]
    assert kinds == ["contour", "scatter", "scatter", "scatter", "scatter"]
    sgd, full, first, end = fig.data[1:]
    assert len(sgd.x) == len(small_map.path.iterations) and len(full.x) == len(small_map.full_batch.iterations)
    assert (end.x[0], end.y[0]) == (0.0, 0.0) and end.marker.symbol == "star"
    assert (first.x[0], first.y[0]) == tuple(small_map.path.coords[0])
    assert sum(1 for s in sgd.text if s) <= landscape_figures.MAX_LABELS
    assert "of its movement" in fig.layout.xaxis.title.text


# -- the page --------------------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("offline", "run_app_py_on_every_rerun")
def test_a_finished_short_run_draws_its_map_with_the_path():
    at = _open(_app(), "pages/landscape.py")
    assert any("No run yet" in i.value for i in at.info)
    _open(at, "pages/train.py")
    _short_run(at, iters=200, train_size=1000)
    _finish(at)
    job = jobs_of(at)[-1]
    _open(at, "pages/landscape.py")
    assert at.selectbox(key=state.KEY_LANDSCAPE_RUN).value == job.id
    assert at.radio(key=state.KEY_LANDSCAPE_DIRECTIONS).value == "trajectory"
    at.selectbox(key=state.KEY_LANDSCAPE_GRID).set_value(15).run()
    assert not at.get("plotly_chart")
    at.button(key=state.KEY_LANDSCAPE_COMPUTE).click().run()
    assert not at.exception
    chart = next(e for e in at.get("plotly_chart") if e.key == "sgd_landscape_chart")
    spec = json.loads(chart.proto.spec)
    contour, sgd, full = spec["data"][:3]
    assert contour["type"] == "contour"
    assert len(_array(sgd["x"])) == len(job.run.snapshots) + 1  # the start, then every kept measurement (forked run)
    assert np.isfinite(_array(contour["z"])).all()
    assert "200 steps" in sgd["name"] and "200 steps" in full["name"]  # a short run: the full length
    assert any("the run's own loss on these images" in c.value for c in at.caption)
    # cached: another page and back draws it again without computing
    _open(at, "pages/train.py")
    _open(at, "pages/landscape.py")
    assert any(e.key == "sgd_landscape_chart" for e in at.get("plotly_chart"))
    assert state.KEY_LANDSCAPE_COMPUTE not in [b.key for b in at.button]
    at.button_group(key=state.KEY_LANG_CONTROL).set_value("ja").run()  # the map and the choices stay
    assert not at.exception
    assert at.title[0].value == "SGD の歩いた道: 損失関数の地形"
    assert any(e.key == "sgd_landscape_chart" for e in at.get("plotly_chart"))
    assert at.selectbox(key=state.KEY_LANDSCAPE_GRID).value == 15


@pytest.mark.usefixtures("offline", "run_app_py_on_every_rerun")
def test_a_run_from_an_old_file_is_listed_and_the_page_says_why_it_has_no_map(small_run):
    at = AppTest.from_file(APP, default_timeout=60)
    give_jobs(at, [FakeJob(1, _old_file_run(small_run))])
    at.switch_page("pages/landscape.py").run()
    assert not at.exception
    assert at.selectbox(key=state.KEY_LANDSCAPE_RUN).value == 1
    assert any("trained with this version" in i.value for i in at.info)
    assert not at.get("plotly_chart") and state.KEY_LANDSCAPE_COMPUTE not in [b.key for b in at.button]
