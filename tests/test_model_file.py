"""nn.model_file: one .npz per model, no pickle; untrusted files are refused with a one-line reason."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest

from nn.model_file import (
    MAX_MODEL_BYTES,
    PRETRAINED_PATH,
    ModelFileError,
    load_model,
    load_pretrained,
    save_model,
    save_run,
)
from nn.train import TrainConfig, train


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


def _members(data: bytes) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        return {key: npz[key] for key in npz.files}


def _npz(members: dict, allow_pickle: bool = False) -> bytes:
    buffer = io.BytesIO()
    if allow_pickle:
        np.savez(buffer, **members)
    else:
        np.savez(buffer, **{k: np.asarray(v) for k, v in members.items()})
    return buffer.getvalue()


def _with_meta(data: bytes, **changes) -> bytes:
    members = _members(data)
    meta = json.loads(str(members["meta"][()]))
    meta.update(changes)
    members["meta"] = np.array(json.dumps(meta))
    return _npz(members)


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


def _bad_files(good: bytes) -> dict[str, tuple[bytes, str]]:
    members = _members(good)
    missing = {k: v for k, v in members.items() if k != "W2"}
    wrong_shape = dict(members, W1=np.zeros((783, 12), np.float32))
    mismatched = dict(members, W1=np.zeros((784, 11), np.float32))
    nan = dict(members, W2=members["W2"].copy())
    nan["W2"][0, 0] = np.nan
    ints = {k: (v.astype(np.int32) if k in ("W1", "b1", "W2", "b2") else v) for k, v in members.items()}
    pickled = dict(members, W1=np.array([{"evil": 1}], dtype=object))
    bad_json = dict(members, meta=np.array("{not json"))
    not_text_meta = dict(members, meta=np.arange(3))
    return {
        "empty": (b"", "empty"),
        "not a zip": (b"this is not a model file at all" * 10, "not a zip"),
        "truncated": (good[: len(good) // 2], "damaged zip"),
        "missing key": (_npz(missing), "missing W2"),
        "wrong shape": (_npz(wrong_shape), "W1 has shape (783, 12); expected (784, hidden)"),
        "mismatched shapes": (_npz(mismatched), "b1 has shape (12,); expected (11,)"),
        "nan": (_npz(nan), "W2 has 1 non-finite value"),
        "int weights": (_npz(ints), "W1 has dtype int32"),
        "pickle": (_npz(pickled, allow_pickle=True), "pickle"),
        "bad json": (_npz(bad_json), "meta is not valid JSON"),
        "meta not text": (_npz(not_text_meta), "meta must be a single text value"),
        "wrong format": (_with_meta(good, format="something-else"), "not an SGD Lab model"),
        "newer version": (_with_meta(good, version=99), "newer SGD Lab"),
        "sizes mismatch": (_with_meta(good, sizes=[784, 50, 10]), "meta.sizes"),
        "bad config": (_with_meta(good, config={"lr": -1, "hidden": 12}), "meta.config: lr"),
        "bad accuracy": (_with_meta(good, test_acc=7), "meta.test_acc"),
        "bad epochs": (_with_meta(good, epochs=[{"epoch": 0}]), "meta.epochs[0]"),
    }


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
    with pytest.raises(ModelFileError, match=r"too large: 10\.0 MB \(limit 10 MB\)"):
        load_model(big)
    with pytest.raises(ModelFileError, match="too large"):
        load_model(io.BytesIO(b"PK\x03\x04" + bytes(2000)), max_bytes=1000)


def test_a_zip_bomb_is_refused_before_unpacking():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("W1.npy", bytes(100 * 2**20))  # 100 MB of zeros compress to ~100 KB
    with pytest.raises(ModelFileError, match="unpack to 100 MB"):
        load_model(buffer.getvalue())


def test_a_missing_path_says_so(tmp_path):
    with pytest.raises(ModelFileError, match="cannot read"):
        load_model(tmp_path / "nope.npz")
    with pytest.raises(ModelFileError, match="pretrained model is missing"):
        load_pretrained(tmp_path / "nope.npz")
