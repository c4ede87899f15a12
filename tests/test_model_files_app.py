"""Model files in the app (AppTest): a run saved in one session and uploaded in a fresh one gives identical
predictions and curves on every page; bad uploads each give their one-line message and change nothing."""

from __future__ import annotations

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from nn.model_file import MAX_MODEL_BYTES, MAX_MODEL_MB, save_run
from tests.app_helpers import APP, _finish, _open, _short_run, _texts, jobs_of, session_of
from tests.helpers import _bad_files
from ui import model_files, state, text

pytestmark = pytest.mark.usefixtures("offline", "run_app_py_on_every_rerun")  # both in conftest.py


def _fresh_train_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.switch_page("pages/train.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.fixture(scope="module")
def trained():
    """A short run trained in the app, and the bytes its download button gives."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SGDLAB_OFFLINE", "1")
        mp.setenv("SGDLAB_MIRRORS", "http://127.0.0.1:9/")
        at = _fresh_train_page()
        _short_run(at, iters=120, train_size=600)
        _finish(at)
    job = jobs_of(at)[0]
    assert job.run.status == "finished"
    return at, job, save_run(job.run, name=job.name)


def _upload(at: AppTest, data: bytes, name: str = "run.npz") -> AppTest:
    at.file_uploader(key=state.KEY_UPLOAD).set_value((name, data, "application/octet-stream")).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_the_train_page_offers_save_and_load(trained):
    at, job, _ = trained
    assert at.selectbox(key=state.KEY_DOWNLOAD_RUN).value == job.id
    assert [b.proto.label for b in at.get("download_button")] == ["Download the run (.npz)"]
    assert model_files.file_name(job) == "sgdlab-run1-lr-0.1-batch-100-120-it-600-imgs.npz"
    assert at.file_uploader(key=state.KEY_UPLOAD).label.startswith("Load a saved run (.npz, at most 8 MB)")


def test_round_trip_in_a_fresh_session_gives_identical_predictions_and_curves(trained):
    _, original, data = trained
    at = _upload(_fresh_train_page(), data)
    jobs = jobs_of(at)
    assert len(jobs) == 1
    job = jobs[0]
    assert job.name == f"#1 uploaded: {original.run.name}" and job.run.status == "finished"
    assert job.status_text() == original.status_text()
    np.testing.assert_array_equal(job.run.losses, original.run.losses[:120].astype(np.float32))
    assert job.run.epochs == original.run.epochs
    x = np.random.default_rng(0).random((50, 784), dtype=np.float32)
    np.testing.assert_array_equal(job.run.network().predict(x), original.run.network().predict(x))
    assert [it for it, _ in job.run.snapshots] == [it for it, _ in original.run.snapshots]
    assert f"Loaded {job.name}" in _texts(at)
    # Every page offers it.
    _open(at, "pages/loss_curves.py")
    assert job.id in at.multiselect(key=state.KEY_CURVES_RUNS).value
    _open(at, "pages/overfitting.py")
    assert job.name in _texts(at)
    for page, key in (("pages/draw.py", state.KEY_DRAW_MODEL), ("pages/hidden_units.py", state.KEY_UNITS_MODEL),
                      ("pages/errors.py", state.KEY_ERRORS_MODEL)):
        _open(at, page)  # a short run: the pretrained model reads better and is the default; the upload is offered
        assert any(job.name in option for option in at.selectbox(key=key).options), page
    # Uploading the same file again adds no second run.
    _open(at, "pages/train.py")
    _upload(at, data, "again.npz")
    assert len(jobs_of(at)) == 1


@pytest.mark.parametrize("case, expected", [
    ("empty", "the file is empty"), ("not a zip", "not a zip archive"), ("pickle", "pickle"),
    ("wrong shape", "W1 has shape (783, 12)"), ("nan", "W2 has 1 non-finite value"),
])
def test_a_bad_upload_says_why_in_one_line_and_changes_nothing(trained, case, expected):
    _, _, good = trained
    at = _upload(_fresh_train_page(), good, "good.npz")
    before = list(jobs_of(at))
    counter = session_of(at).job_counter
    bad = _bad_files(good)[case][0]
    _upload(at, bad, "bad.npz")
    errors = [e.value.replace("\\", "") for e in at.error]  # as shown: Markdown escaped
    assert len(errors) == 1 and errors[0].startswith("Could not load bad.npz: ")
    assert expected in errors[0] and "\n" not in errors[0]
    assert jobs_of(at) == before and session_of(at).job_counter == counter


def test_an_oversized_upload_is_refused():
    at = _upload(_fresh_train_page(), b"PK\x03\x04" + bytes(MAX_MODEL_BYTES), "big.npz")
    assert [e.value.replace("\\", "") for e in at.error] == [
        f"Could not load big.npz: the file is too large: {MAX_MODEL_BYTES + 4:,} bytes (limit {MAX_MODEL_BYTES:,} "
        f"bytes, {MAX_MODEL_MB} MB)"]
    assert jobs_of(at) == []


def test_a_crafted_file_name_or_fault_shows_as_plain_text():
    shown = text.plain("[click](http://evil.example) **bold** <b>x</b>\nnext line")
    assert shown.startswith(r"\[click\]\(http\:") and r"\*\*bold\*\*" in shown and "\n" not in shown
    assert shown.replace("\\", "") == "[click](http://evil.example) **bold** <b>x</b> next line"
    assert len(text.plain("x" * 1000)) == 300
