"""The look-inside pages in AppTest: gradient check (pass, and fail for a broken backprop), hidden units
(grid and snapshot slider), where it errs (metrics, filters, gallery). They run on the embedded MNIST sample."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from nn import inspect as ni
from nn.mnist import load_embedded
from nn.model_file import load_pretrained
from nn.train import TrainConfig, train
from nn.two_layer_net import TwoLayerNet
from tests.app_helpers import FakeJob, give_jobs
from ui import inside, state

PAGES = Path(__file__).resolve().parents[1] / "pages"


@pytest.fixture(autouse=True)
def offline_sample(monkeypatch, tmp_path):
    """Every page here reads the embedded sample: no MNIST_DIR, no cache, no download."""
    monkeypatch.delenv("MNIST_DIR", raising=False)
    monkeypatch.setenv("SGDLAB_OFFLINE", "1")
    monkeypatch.setenv("SGDLAB_CACHE_DIR", str(tmp_path / "cache"))


def _page(name: str) -> AppTest:
    return AppTest.from_file(str(PAGES / f"{name}.py"), default_timeout=60)


def _chart(at: AppTest, key: str) -> dict:
    element = next(e for e in at.get("plotly_chart") if e.key == key)
    return json.loads(element.proto.spec)


def _array(value) -> np.ndarray:
    """A figure array from its JSON: a list, or Plotly's typed array {"dtype", "bdata" (base64), "shape"}."""
    if isinstance(value, dict) and "bdata" in value:
        shape = tuple(int(n) for n in str(value.get("shape", "-1")).split(","))
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"]).reshape(shape).astype(float)
    return np.asarray(value, dtype=float)


def _chart_keys(at: AppTest) -> set[str]:
    return {e.key for e in at.get("plotly_chart")}


class FlippedSignNet(TwoLayerNet):
    """A test double: backprop with the sign of dL/dW1 flipped."""

    def gradient(self, x, t):
        grads = super().gradient(x, t)
        grads["W1"] = -grads["W1"]
        return grads


class _Run:
    """Stands in for nn.train.Run where the pages only need weights (and no snapshots)."""

    def __init__(self, net: TwoLayerNet, iterations: int = 100):
        self._net, self.params, self.iterations_done = net, dict(net.params), iterations
        self.status, self.snapshots, self.config = "finished", [], TrainConfig(iters=iterations)
        self.iters_per_epoch = 600.0
        self.last, self.done, self.reason = None, True, ""

    def network(self):
        return type(self._net).from_params(self.params)


class _Job(FakeJob):
    """Stands in for ui.runner.TrainingJob."""

    def __init__(self, job_id, run):
        self.id, self.run = job_id, run

    @property
    def name(self):
        return f"#{self.id} {self.run.config.label()}"

    def status_text(self):
        return f"{self.run.status}"


@pytest.fixture(scope="module")
def small_run():
    """A real run of a 784-7-10 net on 100 sample images: 12 accuracy measurements, so 12 W1 snapshots."""
    data = load_embedded()
    config = TrainConfig(iters=60, batch_size=20, lr=0.5, hidden=7, train_size=100)
    return train(config, ((data.x_train, data.t_train), (data.x_test[:200], data.t_test[:200])))


# -- gradient check ----------------------------------------------------------------------------------------------


def test_gradient_check_passes_for_the_pretrained_model_with_the_core_numbers():
    at = _page("gradient_check").run()
    assert not at.exception
    assert at.selectbox(key=state.KEY_GRAD_MODEL).value == inside.PRETRAINED
    assert at.success and at.success[0].value.startswith("**Pass**") and not at.error
    table = at.dataframe[0].value
    assert list(table["parameter"]) == ["W1", "b1", "W2", "b2", "b1, b2"]
    assert set(table["result"]) == {"pass"}
    # the page's numbers are nn.inspect's on the same batch (timings aside)
    x, t = inside.check_batch(inside.DEFAULT_BATCH, 0)
    check = ni.gradient_check(load_pretrained().network(), x, t, repeats=1)
    assert list(table["largest relative error"][:4]) == [f"{c.max_rel_error:.1e}" for c in check.checks]
    labels = [m.label for m in at.metric]
    assert labels == ["Backpropagation", "Numerical, fast (nn.numgrad)", "Numerical, book's loop"]
    assert at.metric[2].value.startswith("≈") and "estimate" in at.metric[2].delta
    assert any("39,760" in c.value and "estimate" in c.value for c in at.caption)
    spec = _chart(at, "sgd_grad_heatmaps")
    unit = at.number_input(key=state.KEY_GRAD_UNIT).value
    assert unit == ni.busiest_unit(check.backprop) + 1
    assert f"hidden unit {unit}'s" in spec["layout"]["title"]["text"]
    assert spec["layout"]["coloraxis"]["cmin"] == -spec["layout"]["coloraxis"]["cmax"]

    at.number_input(key=state.KEY_GRAD_UNIT).set_value(3).run()
    assert "hidden unit 3's" in _chart(at, "sgd_grad_heatmaps")["layout"]["title"]["text"]


def test_a_backprop_with_a_flipped_sign_makes_the_page_say_fail():
    at = _page("gradient_check")
    broken = FlippedSignNet.from_params({k: v.astype(np.float32) for k, v in load_pretrained().params.items()})
    give_jobs(at, [_Job(1, _Run(broken))], choose={"grad.model": 1})
    at.run()
    assert not at.exception
    assert at.selectbox(key=state.KEY_GRAD_MODEL).value == 1
    assert not at.success and at.error[0].value.startswith("**Fail**") and "W1" in at.error[0].value
    table = at.dataframe[0].value
    assert dict(zip(table["parameter"], table["result"])) == {
        "W1": "FAIL", "b1": "pass", "W2": "pass", "b2": "pass", "b1, b2": "pass"}
    assert float(table["largest relative error"][0]) == pytest.approx(2.0, rel=1e-6)

    at.selectbox(key=state.KEY_GRAD_MODEL).set_value(inside.PRETRAINED).run()
    assert at.success and not at.error


def test_a_fresh_seeded_network_and_a_bigger_batch():
    at = _page("gradient_check").run()
    at.selectbox(key=state.KEY_GRAD_MODEL).set_value(inside.FRESH).run()
    assert not at.exception and at.success
    first = at.session_state[state.KEY_GRAD_RESULT]
    assert first["key"][0] == (inside.FRESH, 0)
    at.number_input(key=state.KEY_GRAD_FRESH_SEED).set_value(7).run()
    again = at.session_state[state.KEY_GRAD_RESULT]
    assert at.success and again["key"][0] == (inside.FRESH, 7)
    assert not np.array_equal(again["value"].backprop["W2"], first["value"].backprop["W2"])  # other weights
    at.select_slider(key=state.KEY_GRAD_BATCH).set_value(100).run()
    assert not at.exception and at.success
    assert any("Batch: 100 training images" in c.value for c in at.caption)


# -- hidden units ------------------------------------------------------------------------------------------------


def test_hidden_units_of_a_run_with_snapshots(small_run):
    assert len(small_run.snapshots) >= 2
    at = _page("hidden_units")
    give_jobs(at, [_Job(1, small_run)], choose={"units.model": 1})
    at.run()
    assert not at.exception
    grid = _chart(at, "sgd_units_grid")["data"][0]
    assert _array(grid["z"]).shape == (28, 7 * 28 + 6 * 2)  # 7 units, one row
    assert grid["zmid"] == 0 and grid["zmin"] == -grid["zmax"]
    slider = at.select_slider(key=state.KEY_UNITS_SNAPSHOT)
    iterations = [it for it, _ in small_run.snapshots]
    assert slider.value == iterations[0]
    first = _chart(at, "sgd_units_snapshot_grid")
    assert iterations[0] == 1 and "W1 after 1 iteration (" in first["layout"]["title"]["text"]
    slider.set_value(iterations[-1]).run()
    last = _chart(at, "sgd_units_snapshot_grid")
    assert f"after {iterations[-1]:,} iterations" in last["layout"]["title"]["text"]
    assert last["data"][0]["zmax"] == first["data"][0]["zmax"]  # one colour scale for every snapshot
    assert not np.allclose(_array(last["data"][0]["z"]),
                           _array(first["data"][0]["z"]), equal_nan=True)

    at.radio(key=state.KEY_UNITS_SCALE).set_value("per unit").run()
    assert _chart(at, "sgd_units_grid")["data"][0]["zmax"] == 1
    at.number_input(key=state.KEY_UNITS_UNIT).set_value(7).run()
    assert "unit 7" in _chart(at, "sgd_units_detail")["layout"]["annotations"][0]["text"]


def test_hidden_units_of_the_pretrained_model_explain_the_missing_snapshots():
    at = _page("hidden_units").run()
    assert not at.exception
    grid = _chart(at, "sgd_units_grid")["data"][0]
    assert _array(grid["z"]).shape == (5 * 28 + 4 * 2, 10 * 28 + 9 * 2)
    assert "sgd_units_snapshot_grid" not in _chart_keys(at)
    assert "keeps only its final weights" in at.info[0].value


# -- where it errs -----------------------------------------------------------------------------------------------


def test_errors_page_metrics_matrix_and_gallery():
    at = _page("errors").run()
    assert not at.exception
    data = load_embedded()
    e = ni.evaluate(load_pretrained().network(), data.x_test, data.t_test)
    assert at.metric[0].value == f"{e.accuracy:.2%}"
    assert at.metric[1].value == f"{e.n_wrong:,} of {e.n:,}"
    matrix = _chart(at, state.KEY_ERRORS_CHART)
    counts = ni.confusion_matrix(e.labels, e.predictions)
    np.testing.assert_array_equal(_array(matrix["data"][0]["z"]), counts)
    assert {"sgd_errors_per_digit", "sgd_errors_gallery"} <= _chart_keys(at)
    shown = min(inside.GALLERY_MAX, e.n_wrong)
    assert any(f"Showing {shown} of {e.n_wrong:,} misclassified" in c.value for c in at.caption)
    gallery = _chart(at, "sgd_errors_gallery")
    top = ni.mistakes(e)[0]
    first_caption = gallery["layout"]["annotations"][0]["text"]
    assert first_caption == f"<b>{e.labels[top]}→{e.predictions[top]}</b> {e.confidence[top]:.0%}"

    # a cell: true 4 read as 9, most and least confident first
    at.selectbox(key=state.KEY_ERRORS_TRUE).set_value(4)
    at.selectbox(key=state.KEY_ERRORS_PRED).set_value(9).run()
    cell = ni.mistakes(e, 4, 9)
    assert any(f"of {len(cell):,} misclassified test images of a 4 read as 9" in c.value for c in at.caption)
    assert _chart(at, state.KEY_ERRORS_CHART)["layout"]["shapes"][0]["x0"] == 8.5  # the chosen cell is framed
    at.radio(key=state.KEY_ERRORS_ORDER).set_value("least").run()
    worst_last = _chart(at, "sgd_errors_gallery")["layout"]["annotations"][0]["text"]
    assert worst_last.endswith(f"{e.confidence[cell[-1]]:.0%}")

    at.radio(key=state.KEY_ERRORS_NORMALISE).set_value("share").run()
    z = _array(_chart(at, state.KEY_ERRORS_CHART)["data"][0]["z"])
    np.testing.assert_allclose(z.sum(axis=1), 1.0)

    at.selectbox(key=state.KEY_ERRORS_PRED).set_value(4).run()  # the diagonal: the 4s read right
    assert any("test images of 4 classified right" in c.value for c in at.caption)


def test_errors_page_caches_the_evaluation_per_run_and_iteration(small_run):
    at = _page("errors")
    give_jobs(at, [_Job(1, small_run)], choose={"errors.model": 1})
    at.run()
    assert not at.exception and at.selectbox(key=state.KEY_ERRORS_MODEL).value == 1
    entry = at.session_state[state.KEY_ERRORS_RESULT]
    assert entry["key"][0] == ("run", 1, small_run.iterations_done)
    at.radio(key=state.KEY_ERRORS_NORMALISE).set_value("share").run()
    assert at.session_state[state.KEY_ERRORS_RESULT]["value"] is entry["value"]  # not recomputed


@pytest.mark.parametrize("name, title", [("gradient_check", "Gradient check"), ("hidden_units", "What the hidden "
                                         "units learned"), ("errors", "Where it errs")])
def test_the_pages_are_reached_through_the_app(name, title):
    at = AppTest.from_file(str(PAGES.parent / "app.py"), default_timeout=60).run()
    at.switch_page(f"pages/{name}.py").run()
    assert not at.exception
    assert at.title[0].value == title


def test_hidden_units_of_a_very_wide_net_draw_the_first_hundred():
    """A 2,000-unit net (the command line trains one) drew a 64 MB figure, over Streamlit's message limit."""
    net = TwoLayerNet(784, 2000, 10, weight_init_std=0.01, rng=0)
    at = _page("hidden_units")
    give_jobs(at, [_Job(1, _Run(net))], choose={"units.model": 1})
    at.run()
    assert not at.exception
    grid = _array(_chart(at, "sgd_units_grid")["data"][0]["z"])
    assert grid.size < 200 * 28 * 28  # about 100 units, not 2,000
    assert any("first 100 of the 2,000 hidden units" in c.value for c in at.caption)
