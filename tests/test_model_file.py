"""nn.model_file: one .npz per model, no pickle; untrusted files are refused with a one-line reason."""

from __future__ import annotations

import io
import re
import zipfile

import numpy as np
import pytest

from nn.model_file import (
    MAX_MODEL_BYTES,
    MAX_MODEL_MB,
    PRETRAINED_PATH,
    ModelFileError,
    load_model,
    load_pretrained,
    save_model,
    save_run,
)
from nn.train import TrainConfig, train
from tests.helpers import _bad_files, _members, _npz, _with_meta


@pytest.fixture(scope="module")
def small_run():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(300, 784), dtype=np.uint8)
    t = rng.integers(0, 10, size=300)
    config = TrainConfig(iters=40, batch_size=20, hidden=12, seed=3)
    return train(config, ((x[:200], t[:200]), (x[200:], t[200:])), data_source="random test data")


@pytest.fixture(scope="module")
def good_bytes(small_run):
    return save_run(small_run, name="small")


# -- round trip ------------------------------------------------------------------------------------------------


def test_round_trip_keeps_weights_config_history_and_predictions(small_run, good_bytes, tmp_path):
    path = tmp_path / "model.npz"
    path.write_bytes(good_bytes)
    for source in (path, str(path), good_bytes, io.BytesIO(good_bytes)):
        model = load_model(source)
        for key in ("W1", "b1", "W2", "b2"):
            np.testing.assert_array_equal(model.params[key], small_run.params[key])
            assert model.params[key].dtype == np.float32
            assert not model.params[key].flags.writeable
        assert model.config == small_run.config
        assert model.sizes == (784, 12, 10)
        assert model.meta["activation"] == "sigmoid" and model.meta["dtype"] == "float32"
        assert model.meta["data_source"] == "random test data"
        assert model.meta["created"][:2] == "20"
        assert model.test_acc == small_run.epochs[-1].test_acc
        np.testing.assert_array_equal(model.losses, small_run.losses[:40].astype(np.float32))
        assert model.epochs == small_run.epochs

    run = load_model(good_bytes).to_run()
    assert run.status == "finished" and run.iterations_done == 40 and run.n_train == 200 and run.n_test == 100
    assert list(run.accuracy_frame()["test_acc"]) == [e.test_acc for e in small_run.epochs]
    x = np.random.default_rng(1).random((20, 784), dtype=np.float32)
    np.testing.assert_array_equal(run.network().predict(x), small_run.network().predict(x))


def test_save_model_writes_to_a_file_object_and_float64_survives(tmp_path):
    rng = np.random.default_rng(0)
    params = {"W1": rng.normal(size=(784, 5)), "b1": np.zeros(5), "W2": rng.normal(size=(5, 10)), "b2": np.ones(10)}
    buffer = io.BytesIO()
    data = save_model(buffer, params, TrainConfig(hidden=5, dtype="float64"))
    assert buffer.getvalue() == data
    model = load_model(data)
    assert model.params["W1"].dtype == np.float64 and model.losses is None and model.test_acc is None
    np.testing.assert_array_equal(model.params["W2"], params["W2"])
    assert "pickle" not in zipfile.ZipFile(io.BytesIO(data)).namelist()


def test_the_shipped_pretrained_model():
    assert PRETRAINED_PATH.stat().st_size < 1_000_000
    model = load_pretrained()
    assert model.sizes == (784, 50, 10)
    assert model.config == TrainConfig()  # the book's settings: 10,000 iterations, batch 100, lr 0.1
    assert model.test_acc >= 0.94
    assert "full MNIST" in model.meta["data_source"]
    assert len(model.losses) == 10_000 and model.losses[-1] < model.losses[0]
    assert "test accuracy 9" in model.describe()


# -- untrusted files: each fault, its message --------------------------------------------------------------------


@pytest.mark.parametrize(
    "case",
    ["empty", "not a zip", "truncated", "missing key", "wrong shape", "mismatched shapes", "nan", "int weights",
     "pickle", "bad json", "meta not text", "wrong format", "newer version", "sizes mismatch", "bad config",
     "bad accuracy", "bad epochs"],
)
def test_bad_files_each_get_their_one_line_message(good_bytes, case):
    data, expected = _bad_files(good_bytes)[case]
    with pytest.raises(ModelFileError) as info:
        load_model(data)
    message = str(info.value)
    assert expected in message, message
    assert "\n" not in message and len(message) < 200


def test_size_limit_is_checked_before_reading(good_bytes, tmp_path):
    with pytest.raises(ModelFileError, match="too large"):
        load_model(good_bytes, max_bytes=1000)
    big = tmp_path / "big.npz"
    big.write_bytes(b"PK\x03\x04" + bytes(MAX_MODEL_BYTES))
    with pytest.raises(ModelFileError, match=rf"too large: {MAX_MODEL_BYTES + 4:,} bytes \(limit {MAX_MODEL_BYTES:,} "
                                             rf"bytes, {MAX_MODEL_MB} MB\)"):
        load_model(big)
    with pytest.raises(ModelFileError, match="too large"):
        load_model(io.BytesIO(b"PK\x03\x04" + bytes(2000)), max_bytes=1000)


def test_a_zip_bomb_is_refused_before_unpacking():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("W1.npy", bytes(100 * 2**20))  # 100 MB of zeros compress to ~100 KB
    with pytest.raises(ModelFileError, match="unpack to 105 MB"):  # 100 MiB, in decimal MB as every limit is
        load_model(buffer.getvalue())


def test_a_missing_path_says_so(tmp_path):
    with pytest.raises(ModelFileError, match="cannot read"):
        load_model(tmp_path / "nope.npz")
    with pytest.raises(ModelFileError, match="pretrained model is missing"):
        load_pretrained(tmp_path / "nope.npz")


# -- W1 snapshots, the upload limit, and what a saved run must be ---------------------------------------------------


def test_snapshots_travel_with_the_run(small_run, good_bytes):
    assert len(small_run.snapshots) >= 2
    model = load_model(good_bytes)
    assert [it for it, _ in model.snapshots] == [it for it, _ in small_run.snapshots]
    for (_, saved), (_, original) in zip(model.snapshots, small_run.snapshots):
        assert saved.dtype == np.float16 and not saved.flags.writeable
        np.testing.assert_array_equal(saved, original)
    assert [it for it, _ in model.to_run().snapshots] == [it for it, _ in small_run.snapshots]


def _book_like_run(hidden: int, n_snapshots: int) -> "Run":
    from nn.train import EpochRecord, Run

    rng = np.random.default_rng(0)
    params = {"W1": rng.normal(0, 0.1, (784, hidden)).astype(np.float32), "b1": np.zeros(hidden, np.float32),
              "W2": rng.normal(0, 0.1, (hidden, 10)).astype(np.float32), "b2": np.zeros(10, np.float32)}
    snapshots = [(400 * i + 1, rng.normal(0, 0.1, (784, hidden)).astype(np.float16)) for i in range(n_snapshots)]
    return Run(TrainConfig(hidden=hidden), n_train=60_000, n_test=10_000, status="finished",
               losses=rng.random(10_000) + 0.1, iterations_done=10_000, params=params, snapshots=snapshots,
               epochs=[EpochRecord(0.0, 1, 0.1, 0.1, 1.0)])


def test_a_book_sized_run_fits_the_limit_and_big_nets_keep_the_snapshots_that_fit():
    data = save_run(_book_like_run(50, 18))  # the book's run records 18 snapshots
    assert len(data) < MAX_MODEL_BYTES / 2 and len(load_model(data).snapshots) == 18
    big = _book_like_run(1_000, 24)  # each snapshot is 1.5 MB: only a few fit, evenly spaced, the latest kept
    data = save_run(big)
    kept = load_model(data).snapshots
    assert len(data) <= MAX_MODEL_BYTES and 1 <= len(kept) < 24
    assert kept[-1][0] == big.snapshots[-1][0] and kept[0][0] == big.snapshots[0][0]


def test_the_app_upload_limit_is_the_model_file_limit():
    import tomllib
    from pathlib import Path

    config = tomllib.loads((Path(__file__).resolve().parent.parent / ".streamlit" / "config.toml").read_text())
    assert config["server"]["maxUploadSize"] == MAX_MODEL_MB
    assert MAX_MODEL_BYTES == MAX_MODEL_MB * 1000 * 1000  # decimal MB, as Streamlit's uploader counts them


@pytest.mark.parametrize(
    "case, expected",
    [("nan snapshot", "snapshots has non-finite values"), ("snapshot shape", "snapshots has dtype float16 and shape"),
     ("one of the pair", "snapshots and snapshot_iters come together"),
     ("snapshot beyond the end", "snapshot_iters must increase"), ("short loss", "loss has 39 values"),
     ("running", "meta.status is 'running'"), ("epoch beyond the end", "beyond iterations_done")],
)
def test_inconsistent_histories_are_refused(good_bytes, case, expected):
    members = _members(good_bytes)
    if case == "nan snapshot":
        members["snapshots"] = members["snapshots"].copy()
        members["snapshots"][0, 0, 0] = np.nan
    elif case == "snapshot shape":
        members["snapshots"] = members["snapshots"][:, :, :5]
    elif case == "one of the pair":
        del members["snapshot_iters"]
    elif case == "snapshot beyond the end":
        members["snapshot_iters"] = members["snapshot_iters"] + 1000
    elif case == "short loss":
        members["loss"] = members["loss"][:39]
    data = _npz(members)
    if case == "running":
        data = _with_meta(good_bytes, status="running")
    if case == "epoch beyond the end":
        data = _with_meta(good_bytes, epochs=[{"epoch": 0, "iteration": 41, "train_acc": 0.1, "test_acc": 0.1,
                                               "elapsed_s": 0.1}])
    with pytest.raises(ModelFileError, match=expected.replace("(", r"\(")):
        load_model(data)


@pytest.mark.parametrize(
    "case", ["empty", "not a zip", "truncated", "missing key", "wrong shape", "nan", "int weights", "pickle",
             "wrong format", "newer version"],
)
def test_common_upload_faults_are_told_in_japanese(good_bytes, case, monkeypatch):
    from ui import i18n

    data, _ = _bad_files(good_bytes)[case]
    with pytest.raises(ModelFileError) as info:
        load_model(data)
    monkeypatch.setattr(i18n, "language", lambda: "ja")
    translated = i18n.translate_core(str(info.value))
    assert translated != str(info.value) and re.search(r"[\u3040-\u30ff]", translated), translated


@pytest.mark.parametrize("change", ["mixed", "loss", "accuracy"])
def test_more_upload_faults_are_told_in_japanese(good_bytes, change, monkeypatch):
    from ui import i18n

    members = _members(good_bytes)
    if change == "mixed":
        members["b1"] = members["b1"].astype(np.float64)
        data = _npz(members)
    elif change == "loss":
        members["loss"] = members["loss"].copy()
        members["loss"][3] = np.nan
        data = _npz(members)
    else:
        data = _with_meta(good_bytes, test_acc=1.5)
    with pytest.raises(ModelFileError) as info:
        load_model(data)
    monkeypatch.setattr(i18n, "language", lambda: "ja")
    translated = i18n.translate_core(str(info.value))
    assert translated != str(info.value) and re.search(r"[\u3040-\u30ff]", translated), translated


def test_an_oversized_upload_is_told_in_japanese(monkeypatch):
    from ui import i18n

    with pytest.raises(ModelFileError) as info:
        load_model(b"x" * 2048, max_bytes=1024)
    monkeypatch.setattr(i18n, "language", lambda: "ja")
    assert i18n.translate_core(str(info.value)).startswith("ファイルが大きすぎます")
