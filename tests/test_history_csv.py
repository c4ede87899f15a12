"""The loss-curves page's CSV download: every run's history, one row per iteration or per measurement."""

import io
from types import SimpleNamespace

import numpy as np
import pandas as pd

from nn.train import TrainConfig, train
from ui.compare_view import accuracy_history_csv, loss_history_csv


def _jobs():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(300, 784), dtype=np.uint8)
    t = rng.integers(0, 10, size=300)
    data = ((x, t), (x[:50], t[:50]))
    a = train(TrainConfig(iters=7, batch_size=100), data)  # 3 iterations per epoch: measured at 1, 4, 7
    b = train(TrainConfig(iters=4, batch_size=100, lr=0.5), data)
    return [SimpleNamespace(name="#1 a", run=a), SimpleNamespace(name="#2 b", run=b)]


def test_loss_csv_has_every_iteration_of_every_run():
    jobs = _jobs()
    frame = pd.read_csv(io.StringIO(loss_history_csv(jobs)))
    assert list(frame.columns) == ["run", "iteration", "epoch", "loss"]
    assert frame["run"].tolist() == ["#1 a"] * 7 + ["#2 b"] * 4
    assert frame["iteration"].tolist() == [1, 2, 3, 4, 5, 6, 7, 1, 2, 3, 4]
    np.testing.assert_allclose(frame["loss"][:7], jobs[0].run.losses, rtol=1e-5)


def test_accuracy_csv_has_every_measurement():
    frame = pd.read_csv(io.StringIO(accuracy_history_csv(_jobs())))
    assert list(frame.columns) == ["run", "epoch", "iteration", "train_acc", "test_acc", "gap", "elapsed_s", "final"]
    assert frame[frame["run"] == "#1 a"]["iteration"].tolist() == [1, 4, 7]
    np.testing.assert_allclose(frame["gap"], frame["train_acc"] - frame["test_acc"], atol=1e-6)


def test_no_runs_gives_just_the_header():
    assert loss_history_csv([]) == "run,iteration,epoch,loss\n"
    assert accuracy_history_csv([]).startswith("run,epoch,iteration,")
