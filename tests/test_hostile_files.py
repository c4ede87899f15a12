"""Hostile input, kept as tests: what a tampered browser or a crafted model file can send, and what SGD Lab does.

Each case asserts the message a student sees, that nothing already in the session is lost (runs, settings, the
drawing), and for a case that costs resources, a bound measured here (generous: several times what it takes now,
far below what it took before). The cases only a real browser shows are in tests/browser/test_hostile_browser.py.

- canvas values (``ui.canvas.read_strokes`` / ``take_strokes``): 2.6 M points, more than 100 strokes, non-numbers,
  NaN, huge coordinates, nesting 5,000 deep; a single dot;
- model files (``nn.model_file.load_model``, the Train page's uploader): pickle, a zip bomb, ``meta`` nested
  100,000 deep, a 5,000-digit number, a config claiming 10³⁰ iterations, a file of exactly the size limit and one
  byte over, a 4,096-unit net, any other exception;
- work per page: the gradient check of a 1,000-unit net.
"""

from __future__ import annotations

import io
import json
import reprlib
import time
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from nn import inspect as ni
from nn import model_file
from nn.model_file import (
    MAX_MODEL_BYTES,
    MAX_MODEL_MB,
    ModelFileError,
    load_model,
    save_model,
    save_run,
)
from nn.train import EpochRecord, TrainConfig, train
from tests.app_helpers import APP, FakeJob, give_jobs, jobs_of, session_of
from tests.helpers import _members, _npz, padded_to
from ui import state
from ui.canvas import MAX_POINTS, MAX_STROKES, parse_strokes, read_strokes

PAGES = Path(__file__).resolve().parents[1] / "pages"
ONE = [[[142.0, 45.0], [141.0, 140.0], [140.0, 240.0]]]
TOO_BIG = ("The canvas sent more than SGD Lab reads (at most 100 strokes and 20,000 points): it was not taken, "
           "and your drawing is as it was.")
UNREADABLE = "The canvas sent something that is not a drawing: it was not taken, and your drawing is as it was."


@pytest.fixture(autouse=True)
def offline_sample(monkeypatch, tmp_path):
    """The embedded MNIST sample: no MNIST_DIR, no cache, no download."""
    monkeypatch.delenv("MNIST_DIR", raising=False)
    monkeypatch.setenv("SGDLAB_OFFLINE", "1")
    monkeypatch.setenv("SGDLAB_MIRRORS", "http://127.0.0.1:9/")
    monkeypatch.setenv("SGDLAB_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def small_run():
    rng = np.random.default_rng(0)
    x, t = rng.integers(0, 256, (300, 784), dtype=np.uint8), rng.integers(0, 10, 300)
    return train(TrainConfig(iters=40, batch_size=20, hidden=12, seed=3), ((x[:200], t[:200]), (x[200:], t[200:])))


@pytest.fixture(scope="module")
def good(small_run) -> bytes:
    return save_run(small_run, name="small")


def _deep(levels: int, inner=None):
    """A list nested ``levels`` deep, built without recursion."""
    value = [1.0, 2.0] if inner is None else inner
    for _ in range(levels):
        value = [value]
    return value


def _measured(fn):
    """fn()'s result (or the exception it raised), its peak of Python memory (bytes) and its CPU seconds."""
    tracemalloc.start()
    cpu = time.process_time()
    try:
        result = fn()
    except Exception as exc:  # noqa: BLE001 - the caller looks at it
        result = exc
    seconds = time.process_time() - cpu
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return result, peak, seconds


# -- canvas values ---------------------------------------------------------------------------------------------------


def test_a_huge_canvas_value_is_refused_without_being_copied():
    """2.6 M points in one stroke (24 MB of JSON in a browser): refused by counting, nothing parsed or kept."""
    huge = {"strokes": [[[i % 280, (i * 7) % 280] for i in range(2_600_000)]]}
    (strokes, problem), peak, seconds = _measured(lambda: read_strokes(huge))
    assert (strokes, problem) == (None, "too_big")
    assert peak < 1_000_000 and seconds < 1.0, (peak, seconds)  # it counts, it does not copy
    assert read_strokes({"strokes": [[[1, 1]]] * (MAX_STROKES + 1)}) == (None, "too_big")
    assert read_strokes({"strokes": [[[1, 1]] * 100] * (MAX_POINTS // 100 + 1)}) == (None, "too_big")
    at_limit, problem = read_strokes({"strokes": [[[1, 1]] * (MAX_POINTS // MAX_STROKES)] * MAX_STROKES})
    assert problem is None and sum(len(s) for s in at_limit) == MAX_POINTS


@pytest.mark.parametrize("value", [
    None, "junk", 3, {"strokes": 3}, {"other": []}, {"strokes": ["bad"]},
    {"strokes": [[[5, "x"]]]}, {"strokes": [[[True, 1]]]}, {"strokes": [[[1, None]]]},  # JSON's NaN arrives as null
    {"strokes": [[[float("nan"), 1]]]}, {"strokes": [[[10**400, 1]]]}, {"strokes": [[[1, 2, 3]]]},
    {"strokes": [[_deep(5000)]]}, {"strokes": _deep(5000)}, _deep(5000),
], ids=lambda v: reprlib.repr(v)[:30])
def test_a_canvas_value_that_is_not_a_drawing_is_refused(value):
    (strokes, problem), _, seconds = _measured(lambda: read_strokes(value))
    assert (strokes, problem) == (None, "unreadable") and seconds < 1.0


def test_huge_coordinates_are_clamped_and_taken():
    strokes, problem = read_strokes({"strokes": [[[9e9, -9e9], [140, 140]]]})
    assert problem is None
    np.testing.assert_array_equal(strokes[0], [[560, -280], [140, 140]])


def test_the_tolerant_parser_still_drops_and_caps():
    """``parse_strokes`` (what the session's own strokes go through) keeps what it can, as before."""
    assert parse_strokes({"strokes": [[[1, 2]], "bad", [[5, "x"], [float("nan"), 1]], [[9e9, 0]]]})[1].tolist() == [
        [560, 0]]
    assert len(parse_strokes([[[1, 1]]] * (MAX_STROKES + 5))) == MAX_STROKES
    assert sum(len(s) for s in parse_strokes([[[1, 1]] * (MAX_POINTS + 500)])) == MAX_POINTS
    assert parse_strokes([[[10**400, 1], [1, 2]]])[0].tolist() == [[1, 2]]


def _canvas_app():
    """The draw page, after the canvas's callback took the value the test left in ``hostile_value`` (AppTest
    cannot drive the component itself, so the script does what Streamlit does before a run: call the callback)."""
    import streamlit as st

    from ui import canvas, draw, state

    if "hostile_value" in st.session_state:
        canvas.take_strokes(state.KEY_DRAW_CANVAS, st.session_state.pop("hostile_value"))
    draw.render()


def _session_with_everything(at: AppTest, run) -> None:
    """A session with a run, a setting of its own and a drawing: what must survive."""
    give_jobs(at, [FakeJob(1, run)])
    session_of(at).values["train.lr"] = 0.5
    session_of(at).strokes = [list(map(list, stroke)) for stroke in ONE]


def _kept_everything(at: AppTest, run) -> None:
    assert [j.run for j in jobs_of(at)] == [run]
    assert session_of(at).values["train.lr"] == 0.5
    assert session_of(at).strokes == ONE


@pytest.mark.parametrize("value, message", [
    ({"strokes": [[[i % 280, i % 200] for i in range(MAX_POINTS + 1)]]}, TOO_BIG),
    ({"strokes": [[[10, 10]]] * (MAX_STROKES + 1)}, TOO_BIG),
    ({"strokes": [[[5, "x"], [float("nan"), 1]]]}, UNREADABLE),
    ({"strokes": [[_deep(5000)]]}, UNREADABLE),
    ({"strokes": "junk"}, UNREADABLE),
])
def test_a_refused_canvas_value_says_so_in_one_line_and_keeps_the_drawing(small_run, value, message):
    at = AppTest.from_function(_canvas_app, default_timeout=60)
    _session_with_everything(at, small_run)
    at.run()
    assert not at.exception
    at.session_state["hostile_value"] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert [w.value for w in at.warning] == [message]
    assert any("It reads" in m.value for m in at.markdown)  # the drawing before it, still read
    _kept_everything(at, small_run)
    at.run()  # a one-line notice, once
    assert not at.warning and any("It reads" in m.value for m in at.markdown)


def test_a_drawing_is_taken_and_clear_still_clears(small_run):
    at = AppTest.from_function(_canvas_app, default_timeout=60)
    _session_with_everything(at, small_run)
    at.session_state["hostile_value"] = {"strokes": [[[140, 40], [140, 240]], [[120, 60], [142, 40]]]}
    at.run()
    assert not at.exception and not at.warning
    assert len(session_of(at).strokes) == 2
    at.session_state["hostile_value"] = {"strokes": []}
    at.run()
    assert session_of(at).strokes == [] and "Draw a digit" in at.info[0].value


def test_a_single_dot_is_too_small_to_read(small_run):
    """A tap leaves a dot: the page says it is too small, instead of still asking for a digit."""
    at = AppTest.from_function(_canvas_app, default_timeout=60)
    _session_with_everything(at, small_run)
    at.session_state["hostile_value"] = {"strokes": [[[140, 140]]]}
    at.run()
    assert not at.exception and not at.warning
    assert [i.value for i in at.info] == [
        ("**Too small to read:** a dot or a tiny mark is not a digit yet. Draw the digit big, across most of the "
        "black square.")]
    assert not any("It reads" in m.value for m in at.markdown)
    at.session_state["hostile_value"] = {"strokes": []}
    at.run()
    assert "Draw a digit" in at.info[0].value


# -- model files: the core -------------------------------------------------------------------------------------------


def _with_meta_text(good: bytes, text: str) -> bytes:
    members = _members(good)
    members["meta"] = np.array(text)
    return _npz(members)


def _meta(good: bytes) -> dict:
    return json.loads(str(_members(good)["meta"][()]))


def _refused(data: bytes) -> tuple[str, int, float]:
    """load_model's one-line refusal, its peak of Python memory and its CPU seconds."""
    error, peak, seconds = _measured(lambda: load_model(data))
    assert isinstance(error, ModelFileError), error
    message = str(error)
    assert "\n" not in message and len(message) < 300, message
    assert error.args[0].code, message  # coded: the app says it in the student's language
    return message, peak, seconds


def test_meta_nested_100000_deep_is_refused_in_one_line(good):
    message, _, seconds = _refused(_with_meta_text(good, "[" * 100_000 + "]" * 100_000))
    assert message == "meta is nested more than 8 levels deep" and seconds < 2.0
    meta = _meta(good)
    meta["name"] = _deep(50)  # deep, but within what Python reads
    assert _refused(_with_meta_text(good, json.dumps(meta)))[0] == "meta is nested more than 8 levels deep"


def test_a_5000_digit_number_in_meta_is_refused_in_one_line(good):
    text = json.dumps(_meta(good)).replace('"n_train": 200', '"n_train": 1' + "0" * 4999)
    message, _, seconds = _refused(_with_meta_text(good, text))
    assert message == "meta holds a number with 5,000 digits (at most 100)" and seconds < 1.0


BIG = "1" + "0" * 30  # 10³⁰, as a message quotes it


@pytest.mark.parametrize("change, expected", [
    ({"config": {"iters": 10**30}}, f"meta.config: iters must be in 1 – 1,000,000, got {BIG}"),
    ({"config": {"hidden": 4096}}, "meta.config: hidden must be in 1 – 1,000, got 4096"),
    ({"config": {"lr": 1e308}}, "meta.config: lr must be in 0.0001 – 100, got 1e+308"),
    ({"iterations_done": 10**30}, f"meta.iterations_done must be a whole number in 0 – 40, got {BIG}"),
    ({"n_train": 10**12}, "meta.n_train must be a whole number in 0 – 10,000,000, got 1000000000000"),
    ({"elapsed_s": 1e300}, "meta.elapsed_s must be between 0 and 1,000,000,000 seconds, got 1e+300"),
    ({"elapsed_s": -1}, "meta.elapsed_s must be between 0 and 1,000,000,000 seconds, got -1"),
    ({"status": "x" * 100_000}, f"meta.status is '{'x' * 37}...{'x' * 38}'; a saved run is finished, stopped, diverged"),
])
def test_a_config_or_count_beyond_the_limits_is_refused_naming_the_field(good, change, expected):
    """The same limits as everywhere (nn.options, through TrainConfig.errors()), and bounded counts and times; a
    value quoted from the file is cut short."""
    meta = _meta(good)
    for key, value in change.items():
        if key == "config":
            meta["config"].update(value)
        else:
            meta[key] = value
    assert _refused(_with_meta_text(good, json.dumps(meta)))[0] == expected


def test_a_4096_unit_model_of_zeros_is_refused_at_once():
    """50 KB that used to hold the Gradient check page for two minutes."""
    params = {"W1": np.zeros((784, 4096), np.float32), "b1": np.zeros(4096, np.float32),
              "W2": np.zeros((4096, 10), np.float32), "b2": np.zeros(10, np.float32)}
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **params, meta=np.array("{}"))
    data = buffer.getvalue()
    assert len(data) < 100_000
    message, _, seconds = _refused(data)
    assert message == "W1 has shape (784, 4096); expected (784, hidden) with 1 ≤ hidden ≤ 1000" and seconds < 2.0


def test_pickle_and_a_zip_bomb_are_refused_cheaply(good):
    pickled = _npz(dict(_members(good), W1=np.array([{"evil": 1}], dtype=object)), allow_pickle=True)
    assert _refused(pickled)[0] == "W1 holds Python objects (pickle), which are refused"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("W1.npy", bytes(1_000 * 2**20))  # 1 GB of zeros in about 1 MB
    message, peak, seconds = _refused(buffer.getvalue())
    assert message == "its contents unpack to 1049 MB (limit 24 MB)"
    assert peak < 20_000_000 and seconds < 2.0, (peak, seconds)  # never unpacked


def test_a_file_of_exactly_the_limit_loads_and_one_byte_more_is_refused(good):
    """8 MB is 8,000,000 bytes for the uploader (Streamlit counts decimal megabytes in the browser), the model-file
    limit and the message alike."""
    assert MAX_MODEL_BYTES == 8_000_000 and MAX_MODEL_MB == 8
    exact = padded_to(good, MAX_MODEL_BYTES)
    assert load_model(exact).meta["name"] == "small"
    message, _, _ = _refused(padded_to(good, MAX_MODEL_BYTES + 1))
    assert message == "the file is too large: 8,000,001 bytes (limit 8,000,000 bytes, 8 MB)"


def test_any_other_fault_while_checking_is_one_coded_line(good, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("something no check foresaw\nwith a second line")

    monkeypatch.setattr(model_file, "_check_epochs", broken)
    message, _, _ = _refused(good)
    assert message == "the file could not be checked (RuntimeError: something no check foresaw)"


# -- model files: the Train page's uploader --------------------------------------------------------------------------


@pytest.fixture
def train_page(small_run, run_app_py_on_every_rerun):
    """The Train page of a session that has a run and a setting of its own."""
    at = AppTest.from_file(APP, default_timeout=60)
    give_jobs(at, [FakeJob(1, small_run)])
    at.switch_page("pages/train.py").run()
    assert not at.exception, [e.value for e in at.exception]
    session_of(at).values["train.lr"] = 0.5
    return at


def _upload(at: AppTest, data: bytes, name: str) -> list[str]:
    at.file_uploader(key=state.KEY_UPLOAD).set_value((name, data, "application/octet-stream")).run()
    assert not at.exception, [e.value for e in at.exception]
    return [e.value.replace("\\", "") for e in at.error]  # as shown: Markdown escaped


def _upload_kept_everything(at: AppTest, run) -> None:
    assert [j.run for j in jobs_of(at)] == [run] and session_of(at).job_counter == 1
    assert session_of(at).values["train.lr"] == 0.5


@pytest.mark.parametrize("case, expected", [
    ("deep meta", "meta is nested more than 8 levels deep"),
    ("long number", "meta holds a number with 5,000 digits (at most 100)"),
    ("10³⁰ iterations", f"meta.config: iters must be in 1 – 1,000,000, got {BIG}"),
    ("pickle", "W1 holds Python objects (pickle), which are refused"),
    ("one byte over", "the file is too large: 8,000,001 bytes (limit 8,000,000 bytes, 8 MB)"),
])
def test_a_crafted_upload_says_why_in_one_line_and_changes_nothing(train_page, small_run, good, case, expected):
    meta = _meta(good)
    meta["config"]["iters"] = 10**30
    files = {
        "deep meta": _with_meta_text(good, '{"a": ' + "[" * 100_000 + "]" * 100_000 + "}"),
        "long number": _with_meta_text(good, json.dumps(_meta(good)).replace('"n_train": 200',
                                                                              '"n_train": 1' + "0" * 4999)),
        "10³⁰ iterations": _with_meta_text(good, json.dumps(meta)),
        "pickle": _npz(dict(_members(good), W1=np.array([{"evil": 1}], dtype=object)), allow_pickle=True),
        "one byte over": padded_to(good, MAX_MODEL_BYTES + 1),
    }
    assert _upload(train_page, files[case], "crafted.npz") == [f"Could not load crafted.npz: {expected}"]
    _upload_kept_everything(train_page, small_run)


def test_an_upload_of_exactly_the_limit_is_taken(train_page, small_run, good):
    assert _upload(train_page, padded_to(good, MAX_MODEL_BYTES), "exact.npz") == []
    assert len(jobs_of(train_page)) == 2 and jobs_of(train_page)[0].run is small_run
    assert any(s.value.startswith("Loaded #2 uploaded") for s in train_page.success)


def test_any_other_exception_while_loading_is_one_line_and_changes_nothing(train_page, small_run, good, monkeypatch):
    from ui import model_files

    def broken(data):
        raise RuntimeError("a fault nobody foresaw\nTraceback (most recent call last): ...")

    monkeypatch.setattr(model_files, "load_model", broken)
    assert _upload(train_page, good, "odd.npz") == [
        "Could not load odd.npz: the file could not be read (RuntimeError); nothing was changed"]
    _upload_kept_everything(train_page, small_run)


# -- work per page -----------------------------------------------------------------------------------------------------


def _wide_run(hidden: int = 1000):
    """A finished 784-1000-10 run of zeros, as an uploaded file gives it."""
    params = {"W1": np.zeros((784, hidden), np.float32), "b1": np.zeros(hidden, np.float32),
              "W2": np.zeros((hidden, 10), np.float32), "b2": np.zeros(10, np.float32)}
    epochs = [EpochRecord(epoch=0.0, iteration=100, train_acc=0.1, test_acc=0.1, elapsed_s=1.0)]
    data = save_model(None, params, TrainConfig(hidden=hidden, iters=100), losses=np.ones(100, np.float32),
                      epochs=epochs, test_acc=0.1, train_acc=0.1)
    return load_model(data).to_run()


def test_the_gradient_check_of_a_1000_unit_net_is_bounded():
    """It took 48 s of CPU (two minutes on a busy server) for a batch of 100; now the batch is cut to 5 images."""
    x = np.random.default_rng(0).integers(0, 256, (100, 784), dtype=np.uint8)
    t = np.arange(100) % 10
    check, _, seconds = _measured(lambda: ni.gradient_check(_wide_run().network(), x, t, repeats=1))
    assert seconds < 10.0, seconds  # about 1.5 s
    assert (check.batch_size, check.requested_batch, check.batch_capped) == (5, 100, True)
    assert check.plain_counts == (50, 10) and check.plain_params == 60 and check.passed
    assert ni.check_batch_size(100, 50) == 100 and ni.check_batch_size(10, 1000) == 5
    assert ni.check_batch_size(1, 1000) == 1 and ni.plain_counts((50, 10)) == (50, 10)


def test_the_gradient_check_page_says_it_checked_fewer_images_of_a_wide_net():
    at = AppTest.from_file(str(PAGES / "gradient_check.py"), default_timeout=120)
    give_jobs(at, [FakeJob(1, _wide_run())])
    at.run()
    at.selectbox(key=state.KEY_GRAD_MODEL).set_value(1)
    at.select_slider(key=state.KEY_GRAD_BATCH).set_value(100)
    cpu = time.process_time()
    at.run()
    seconds = time.process_time() - cpu
    assert not at.exception, [e.value for e in at.exception]
    assert seconds < 20.0, seconds
    assert [i.value for i in at.info] == [
        ("**1,000 hidden units:** checked on the first 5 of the 100 images you chose (at most 5,000 images × hidden "
        "units), so that the check takes seconds, not minutes, on this shared server. The agreement it shows is "
        "the same.")]
    assert at.success and at.success[0].value.startswith("**Pass**")
    assert any("first 50 of 1,000" in c.value for c in at.caption)
    assert any("Batch: 5 training images" in c.value for c in at.caption)
