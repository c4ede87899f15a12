"""One SGD step at a time (ui.stepper, the Code page's step-through): a step draws a new mini-batch and lowers the
loss on it in the book's setting; ten steps and "to the end of the epoch" go as far as they say; the steps handed
to the runner (a thread, or a forked child) carry on as one run of the same seed, to the same losses, accuracies
and weights. Then the page itself in AppTest, and the figures it draws. On the embedded MNIST sample."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nn.mnist import load_embedded
from nn.train import TrainConfig, train
from tests.app_helpers import _app, _open, jobs_of, session_of, setting_of
from ui import runner, state, step_figures as sf, step_view, stepper as stepper_mod

pytestmark = pytest.mark.usefixtures("offline", "run_app_py_on_every_rerun", "sample_only")  # conftest.py; below


@pytest.fixture
def sample_only(monkeypatch):
    monkeypatch.delenv("MNIST_DIR", raising=False)  # the embedded sample: small and the same everywhere


@pytest.fixture(scope="module", autouse=True)
def one_blas_thread():
    """As the app's runner, the command line and the stepper train: one BLAS thread (the same sums in the same
    order), also for the one-go runs the steps are compared with."""
    from nn.blas import limit_blas_threads

    previous = limit_blas_threads(1)
    yield
    if previous is not None:
        limit_blas_threads(previous)


@pytest.fixture(scope="module")
def data():
    d = load_embedded()
    return (d.x_train, d.t_train), (d.x_test, d.t_test)


def _same_run(a, b) -> None:
    assert a.status == b.status == "finished"
    assert a.iterations_done == b.iterations_done
    np.testing.assert_array_equal(a.losses[: a.iterations_done], b.losses[: b.iterations_done])
    assert [(e.iteration, e.train_acc, e.test_acc, e.final) for e in a.epochs] == \
        [(e.iteration, e.train_acc, e.test_acc, e.final) for e in b.epochs]
    for key in ("W1", "b1", "W2", "b2"):
        np.testing.assert_array_equal(a.params[key], b.params[key])


# -- the stepper -------------------------------------------------------------------------------------------------


def test_a_step_draws_a_new_batch_and_lowers_its_loss(data):
    s = stepper_mod.start(TrainConfig(iters=300), data)
    assert s.i == 0 and s.last is None
    first = s.step()
    assert s.i == 1 and first.i == 0 and first.steps == 1 and len(first.batch_mask) == 100
    assert first.epoch is not None  # the book measures at i = 0
    assert first.loss_after < first.loss_before  # the default setting: the step helps the batch it was computed on
    mask = first.batch_mask.copy()
    second = s.step()
    assert second.i == 1 and not np.array_equal(second.batch_mask, mask)
    assert second.loss_after < second.loss_before and second.epoch is None
    assert s.run.losses[1] == pytest.approx(second.loss_before)
    x, t = s.batch()
    assert x.dtype == np.uint8 and x.shape == (100, 784) and np.array_equal(t, second.labels)
    ten = s.step(10)
    assert s.i == 12 and ten.i == 11 and ten.steps == 10
    end = s.step_to_epoch_end()  # 6,000 images in batches of 100: the next measurement at i = 60
    assert end.i == 60 and end.epoch is not None and s.i == 61
    assert stepper_mod.printout(s.run) == [f"train acc, test acc | {e.train_acc:.4f}, {e.test_acc:.4f}"
                                           for e in s.run.epochs]


def test_the_update_is_minus_lr_times_the_gradient_and_backprop_agrees_with_numerical(data):
    s = stepper_mod.start(TrainConfig(iters=50, lr=0.5), data)
    last = s.step(3)
    after = s.network.params
    for key in ("W1", "b1", "W2", "b2"):
        np.testing.assert_allclose(after[key], last.params_before[key] - 0.5 * last.grads[key], rtol=0, atol=1e-6)
    backprop, b_s = s.backprop_gradient()
    numerical, n_s = s.numerical_gradient()
    assert stepper_mod.agreement(backprop, numerical) < 1e-4 and b_s > 0 and n_s > 0
    assert s.numerical_gradient()[0] is numerical  # computed once per step
    # lr 10 overshoots on the same batch; the curve of learning rates has the run's own loss on it
    x, t = s.batch()
    assert stepper_mod.loss_after_step(last.params_before, last.grads, x, t, 10.0) > last.loss_before
    assert stepper_mod.loss_after_step(last.params_before, last.grads, x, t, 0.5) == pytest.approx(last.loss_after, abs=1e-4)
    curve = stepper_mod.lr_curve(last.params_before, last.grads, x, t)
    assert curve.shape == (len(stepper_mod.LR_GRID),) and curve[-1] > last.loss_before > curve.min()


def test_softmax_steps_are_the_losses_numbers():
    steps = stepper_mod.softmax_steps(np.array([1000.0, 0, -1000, 2, 1, 0, 0, 0, 0, 0]), label=3)
    assert np.isfinite(steps["probs"]).all() and steps["probs"].sum() == pytest.approx(1.0)
    assert steps["p_true"] < 1e-6 and steps["loss"] == pytest.approx(-np.log(steps["p_true"] + 1e-7))


@pytest.mark.parametrize("mode", ["thread", "process"])
def test_steps_then_the_runner_give_the_same_run_as_one_go(data, mode):
    config = TrainConfig(iters=130, train_size=1000, batch_size=50)  # 20 iterations an epoch
    one_go = train(config, data)
    s = stepper_mod.start(config, data)
    s.step()
    s.step(10)
    s.step_to_epoch_end()
    assert s.i == 21
    pool = runner.TrainingPool(1, mode=mode)
    blocker = pool.submit(0, TrainConfig(iters=100_000, train_size=1000, batch_size=50), data)  # holds the slot
    job = pool.submit(1, config, data, resume=s.core)
    assert job.place_in_line() is not None  # waiting behind the blocker: it has not trained a step yet
    assert job.run.iterations_done == 21  # its steps show at once, before it trains on
    blocker.stop()
    assert job.join(timeout=60)
    assert not job.error, job.error
    _same_run(job.run, one_go)


# -- the figures ----------------------------------------------------------------------------------------------------


def test_the_figures_show_what_they_say(data):
    s = stepper_mod.start(TrainConfig(iters=20), data)
    last = s.step()
    x, t = s.batch()
    batch = sf.batch_figure(x, t, last.batch_mask)
    assert batch.data[0].z.shape == (10 * 30 - 2, 10 * 30 - 2)  # one picture: ten rows of ten thumbnails
    assert [a.text for a in batch.layout.annotations] == [str(int(d)) for d in t]
    assert list(batch.data[1].customdata[:, 1]) == list(last.batch_mask)  # hovering says each index
    scores, probs = stepper_mod.forward(last.params_before, x[:4])
    forward = sf.forward_figure(x[:4], probs, t[:4], [0, 1, 2, 3])
    bars = [trace for trace in forward.data if trace.type == "bar"]
    assert len(bars) == 4 and all(abs(sum(b.y) - 1) < 1e-9 for b in bars)
    units = stepper_mod.busiest_units(last.grads["W1"], 8)
    grad = sf.units_figure(last.grads["W1"], units, "g")
    assert grad.data[0].zmin == -grad.data[0].zmax  # white is exactly 0
    weights = sf.weights_figure(last.params_before["W1"], s.network.params["W1"], units)
    assert len(weights.data) == 3
    curve = stepper_mod.lr_curve(last.params_before, last.grads, x, t)
    lr = sf.lr_figure(stepper_mod.LR_GRID, curve, last.loss_before, 0.1, 10.0, 4.0)
    assert lr.layout.xaxis.type == "log"


# -- the page ---------------------------------------------------------------------------------------------------------


def _batch_indices(at) -> list[int]:
    chart = next(e for e in at.get("plotly_chart") if e.key == "sgd_step_batch")
    spec = json.loads(chart.proto.spec)
    return [int(v[1]) for v in _values(spec["data"][1]["customdata"])]


def _values(value):
    if isinstance(value, dict) and "bdata" in value:  # Plotly's typed array
        import base64

        shape = tuple(int(n) for n in str(value["shape"]).split(","))
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"]).reshape(shape).tolist()
    return value


def _printouts(at) -> list[list[str]]:
    """The book's printouts on the page (Markdown code blocks), as lists of lines."""
    return [m.value.strip("`").removeprefix("text").strip().splitlines() for m in at.markdown
            if m.value.startswith("```text\ntrain acc, test acc |")]


def _metric(at, label: str) -> float:
    return float(next(m for m in at.metric if m.label == label).value)


def _code_page(iters: int = 200):
    at = _app()
    _open(at, "pages/train.py")
    at.number_input(key=state.KEY_ITERS).set_value(iters).run()
    return _open(at, "pages/code.py")


def test_one_step_then_ten_on_the_page(data):
    at = _code_page()
    assert at.title[0].value == "Code, step by step"
    assert any("Press **One step**" in i.value for i in at.info)
    at.button(key=state.KEY_STEP_ONE).click().run()
    assert not at.exception
    s = session_of(at).stepper
    assert s is not None and s.i == 1
    first = _batch_indices(at)
    assert first == list(s.last.batch_mask)
    before, after = _metric(at, "Batch loss before the update"), _metric(at, "Same batch after the update")
    assert after < before
    assert any("lowered the loss" in m.value for m in at.success)
    # the line the book prints at i = 0, under the listing
    assert _printouts(at) and _printouts(at)[0][0].startswith("train acc, test acc | 0.")
    at.button(key=state.KEY_STEP_ONE).click().run()
    assert session_of(at).stepper is s and s.i == 2
    assert _batch_indices(at) != first  # a new mini-batch
    assert _metric(at, "Same batch after the update") < _metric(at, "Batch loss before the update")
    at.button(key=state.KEY_STEP_TEN).click().run()
    assert s.i == 12 and s.last.i == 11
    assert any("**10 steps** done" in m.value for m in at.markdown)
    # the numerical gradient, on request, agrees with backprop
    at.radio(key=state.KEY_STEP_GRADIENT).set_value("numerical").run()
    assert not at.exception
    assert _metric(at, "Largest relative difference") < 1e-4
    # the settings of the page survive a visit elsewhere and a language switch; the step-through stays
    at.number_input(key=state.KEY_STEP_TRY_LR).set_value(20.0).run()
    at.number_input(key=state.KEY_STEP_EXAMPLE).set_value(3).run()
    _open(at, "pages/loss_curves.py")
    at.button_group(key=state.KEY_LANG_CONTROL).set_value("ja").run()
    _open(at, "pages/code.py")
    assert at.title[0].value == "コードを一歩ずつ"
    assert setting_of(at, "step.try_lr") == 20.0 and setting_of(at, "step.example") == 3
    assert at.number_input(key=state.KEY_STEP_TRY_LR).value == 20.0
    assert at.radio(key=state.KEY_STEP_GRADIENT).value == "numerical"
    assert session_of(at).stepper is s and s.i == 12
    at.button(key=state.KEY_STEP_ONE).click().run()
    assert s.i == 13 and not at.exception
    assert _english_left(at) == set()


def _english_left(at) -> set[str]:
    """Runs of four or more English words on the page, code spans and code blocks aside (the listing is code)."""
    import re

    texts = [e.value for kind in ("markdown", "caption", "info", "success", "warning") for e in getattr(at, kind)]
    texts += [e.label for kind in ("button", "metric", "radio", "number_input") for e in getattr(at, kind)]
    texts += [str(c) for frame in at.dataframe for c in frame.value.columns]
    found = set()
    for text in texts:
        text = re.sub(r"`[^`]*`", "", str(text))
        found |= set(re.findall(r"[A-Za-z][a-z]+(?:[ ,'-]+[a-z]+){3,}", text))
    return found


def test_to_the_end_of_the_epoch_and_continue_as_a_normal_run(data):
    at = _code_page(iters=150)
    at.button(key=state.KEY_STEP_ONE).click().run()
    at.button(key=state.KEY_STEP_EPOCH).click().run()  # 6,000 images, batch 100: the next measurement at i = 60
    s = session_of(at).stepper
    assert s.i == 61 and s.last.epoch is not None
    assert any(i.value.startswith("This step measured the accuracy") for i in at.info)
    at.button(key=state.KEY_STEP_CONTINUE).click().run()
    assert not at.exception
    job = jobs_of(at)[-1]
    assert s.handed_to == job.id
    assert job.join(timeout=60)
    at.run()
    assert not at.exception
    one_go = train(s.config, data)
    _same_run(job.run, one_go)
    assert any(f"as {job.name}" in m.value for m in at.success)
    assert _printouts(at) == [stepper_mod.printout(one_go)]
    # the run is one of the session's runs: Train shows it, with the book's printout under its accuracy table
    _open(at, "pages/train.py")
    assert stepper_mod.printout(one_go) in _printouts(at)
    # a new step-through starts from the settings
    _open(at, "pages/code.py")
    at.button(key=state.KEY_STEP_ONE).click().run()
    assert session_of(at).stepper is not s and session_of(at).stepper.i == 1


def test_softmax_and_gradient_tables_are_the_numbers(data):
    s = stepper_mod.start(TrainConfig(iters=20), data)
    s.step()
    x, t = s.batch()
    scores, _ = stepper_mod.forward(s.last.params_before, x)
    steps = stepper_mod.softmax_steps(scores[0], int(t[0]))
    table = step_view.softmax_table(steps)
    assert len(table) == 10 and table.iloc[int(t[0]), 0].endswith("◀")
    assert table.iloc[:, 3].sum() == pytest.approx(1.0, abs=1e-3)
    text = step_view.softmax_text(steps, 0, s.last.loss_before, len(x))
    assert f"{steps['loss']:.4f}" in text and f"{s.last.loss_before:.4f}" in text
    sizes = step_view.gradient_table(s.last.grads)
    assert list(sizes.iloc[:, 0]) == ["W1", "b1", "W2", "b2"]
    assert list(sizes.iloc[:, 2]) == ["39,200", "50", "500", "10"]


def test_a_step_through_counts_in_the_reload_store_s_budget():
    from types import SimpleNamespace

    from ui import persist, stepper as ui_stepper

    rng = np.random.default_rng(0)
    data = ((rng.integers(0, 256, (500, 784), dtype=np.uint8), rng.integers(0, 10, 500)),
            (rng.integers(0, 256, (100, 784), dtype=np.uint8), rng.integers(0, 10, 100)))
    s = ui_stepper.start(TrainConfig(iters=50, batch_size=20), data)
    s.step()
    weights = sum(v.nbytes for v in s.network.params.values())
    held = s.nbytes()
    assert held >= 3 * weights  # the network, the last step's weights before it and its gradient
    assert held < 3 * weights + 50 * 8 + 200_000 + 500 * 784  # never the shared MNIST arrays
    assert persist.snapshot_bytes(SimpleNamespace(jobs=(), strokes=(), stepper=s)) == held
    assert persist.snapshot_bytes(SimpleNamespace(jobs=(), strokes=(), stepper=None)) == 0
