"""A reload loses nothing (ui.persist): a new session of the same browser (same token) gets the runs, the drawing and
the settings back; another browser (another token), a shared link, or a session that has runs of its own does not.

AppTest cannot run the browser's component: a test plays the browser by setting the component's value, as the
browser does when it answers (``{"token": ...}`` under ``state.KEY_BROWSER_TOKEN``). The store is process-wide,
as on a server; every test uses fresh random tokens.
"""

from __future__ import annotations

import secrets

import pytest
from streamlit.testing.v1 import AppTest

from tests.app_helpers import APP, _finish, _open, _short_run, _texts, draw_on, jobs_of, session_of, setting_of
from ui import persist, state
from ui.session_store import SessionStore

pytestmark = pytest.mark.usefixtures("offline", "run_app_py_on_every_rerun")

ONE = [[[142.0, 45.0], [141.0, 140.0], [140.0, 240.0]]]


def _browser(token: str | None, page: str = "pages/home.py", query: dict | None = None) -> AppTest:
    """A new session (a reload, a reopened tab, another browser) whose browser answers with ``token``."""
    at = AppTest.from_file(APP, default_timeout=60)
    if query:
        at.query_params.update(query)
    _open(at, page)  # the first run: the browser has not answered yet
    if token is not None:
        at.session_state[state.KEY_BROWSER_TOKEN] = {"token": token}
    at.run()
    assert not at.exception
    return at


def _token() -> str:
    return secrets.token_hex(16)


def test_a_reload_brings_back_runs_drawing_and_settings():
    token = _token()
    at = _browser(token, "pages/train.py")
    _short_run(at, iters=120, train_size=500)
    _finish(at)
    at.number_input(key=state.KEY_LR).set_value(0.3).run()  # a setting changed after the run
    _open(at, "pages/loss_curves.py")
    at.radio(key=state.KEY_CURVES_LOG).set_value("log").run()
    at.button_group(key=state.KEY_LANG_CONTROL).set_value("ja").run()
    _open(at, "pages/draw.py")
    at.selectbox(key=state.KEY_DRAW_MODEL).set_value("pretrained").run()  # not the (weak) run it defaults to
    draw_on(at, ONE)
    at.run()
    jobs = jobs_of(at)
    assert len(jobs) == 1 and "**1**" in _texts(at)

    again = _browser(token, "pages/train.py")  # F5: a new Streamlit session, the same browser
    assert jobs_of(again) == jobs  # the very same run (still drawable, still savable)
    assert setting_of(again, "lang") == "ja" and again.title[0].value == "ネットワークの学習"
    assert again.number_input(key=state.KEY_LR).value == 0.3
    assert again.number_input(key=state.KEY_ITERS).value == 120
    assert again.checkbox(key=state.KEY_USE_ALL).value is False
    assert again.number_input(key=state.KEY_TRAIN_SIZE).value == 500
    _open(again, "pages/loss_curves.py")
    assert again.radio(key=state.KEY_CURVES_LOG).value == "log"
    _open(again, "pages/draw.py")
    assert again.selectbox(key=state.KEY_DRAW_MODEL).value == "pretrained"
    assert "**1**" in _texts(again)  # the drawing, read again with the model chosen
    # ...and the next run gets the next number, not #1 again
    assert session_of(again).job_counter == 1


def test_another_browser_and_a_shared_link_see_nothing_of_it():
    token = _token()
    at = _browser(token, "pages/train.py")
    _short_run(at, iters=60, train_size=300)
    _finish(at)
    _open(at, "pages/train.py")
    link = {k: v for k, v in at.query_params.items()}
    assert all(token not in str(v) for v in link.values())  # the address bar never carries the token

    other = _browser(_token(), "pages/train.py", query=link)  # another browser opens the shared link
    assert jobs_of(other) == []
    assert other.number_input(key=state.KEY_ITERS).value == 60  # the link's settings, not the session
    nobody = _browser(None, "pages/train.py")  # a browser that keeps no token
    assert jobs_of(nobody) == []


def test_a_session_with_runs_of_its_own_is_not_overwritten():
    token = _token()
    first = _browser(token, "pages/train.py")
    _short_run(first, iters=50, train_size=300)
    _finish(first)
    second = AppTest.from_file(APP, default_timeout=60)
    second.run()
    _open(second, "pages/train.py")
    _short_run(second, iters=70, train_size=300)  # trained before its browser answered
    _finish(second)
    second.session_state[state.KEY_BROWSER_TOKEN] = {"token": token}
    second.run()
    assert [j.config.iters for j in jobs_of(second)] == [70]


def test_a_link_opened_in_a_browser_with_a_kept_session_wins_over_the_kept_settings():
    token = _token()
    at = _browser(token, "pages/train.py")
    at.number_input(key=state.KEY_ITERS).set_value(300).run()
    again = _browser(token, "pages/train.py", query={"iters": "777"})
    assert again.number_input(key=state.KEY_ITERS).value == 777


def test_the_store_is_bounded_by_sessions_and_bytes():
    """The snapshot's size is what its runs hold on their own (weights, losses, W1 snapshots)."""
    from nn.train import TrainConfig, train
    import numpy as np

    rng = np.random.default_rng(0)
    x, t = rng.integers(0, 256, (200, 784), dtype=np.uint8), rng.integers(0, 10, 200)
    run = train(TrainConfig(iters=40, batch_size=20), ((x, t), (x[:50], t[:50])))

    class Job:
        def __init__(self, i):
            self.id, self.run = i, run

    one = state.Session(jobs=[Job(1)])
    size = persist.snapshot_bytes(one)
    snapshots = sum(w.nbytes + sum(r.nbytes for r in w.rest.values()) for _, w in run.snapshots)  # all weights
    expected = sum(v.nbytes for v in run.params.values()) + run.losses.nbytes + snapshots
    assert size == expected > 0
    store = SessionStore(max_entries=5, max_bytes=3 * size, size_of=persist.snapshot_bytes)
    tokens = [_token() for _ in range(6)]
    for token in tokens:
        store.put(token, state.Session(jobs=[Job(1)]))
    assert len(store) == 3 and store.total_bytes() <= 3 * size  # the byte budget holds: the oldest went first
    assert store.get(tokens[0]) is None and store.get(tokens[-1]) is not None
