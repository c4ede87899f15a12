"""The server's limits on the Train page (AppTest): Start refused over the time cap with what would fit, in both
languages; a second Start while a run trains waits in the session's own line; a full line refuses and starts
nothing; a sweep's runs go one after another through the session's line, and "Stop the sweep" stops them all."""

import re

import pytest

from nn.train import TrainConfig
from tests.app_helpers import _app, _open, _texts, confirm_if_asked, jobs_of
from ui import runner, state

pytestmark = pytest.mark.usefixtures("offline", "run_app_py_on_every_rerun")  # both in conftest.py

LONG = TrainConfig(iters=1_000_000)


def _errors(at) -> str:
    return " ".join(e.value for e in at.error)


def test_the_books_numerical_loop_is_refused_over_the_cap_and_told_what_fits(monkeypatch):
    monkeypatch.delenv("SGDLAB_MAX_RUN_MINUTES", raising=False)  # the hosted default: 10 minutes
    at = _open(_app(), "pages/train.py")
    at.radio(key=state.KEY_GRADIENT).set_value("numerical-plain").run()
    errors = _errors(at)
    assert "Too long for this server" in errors and "at most 10 min" in errors
    # what fits depends on this machine's measured speed: some iterations, or (a busy machine) not even one
    assert re.search(r"at most \*\*[\d,]+ iterations\*\* fit|not even one iteration fits: choose backprop", errors)
    assert "SGDLAB_MAX_RUN_MINUTES" in errors
    start = at.button(key=state.KEY_START)
    assert start.disabled
    assert not [c for c in at.checkbox if c.key == state.KEY_CONFIRM_SLOW]  # no "Yes, train for 14 days" tick
    assert not jobs_of(at)
    at.button_group(key=state.KEY_LANG_CONTROL).set_value("ja").run()
    assert "このサーバーでは長すぎます" in _errors(at) and at.button(key=state.KEY_START).disabled
    # the iterations the message names do fit: Start comes back
    at.button_group(key=state.KEY_LANG_CONTROL).set_value("en").run()
    named = re.search(r"at most \*\*([\d,]+) iterations", _errors(at))
    if named:
        at.number_input(key=state.KEY_ITERS).set_value(int(named[1].replace(",", ""))).run()
    else:
        at.radio(key=state.KEY_GRADIENT).set_value("backprop").run()
    assert "Too long" not in _errors(at)
    if [c for c in at.checkbox if c.key == state.KEY_CONFIRM_SLOW]:  # a busy machine's estimate: over 10 min here
        at.checkbox(key=state.KEY_CONFIRM_SLOW).check().run()
    assert not at.button(key=state.KEY_START).disabled


def test_a_raised_cap_lets_a_laptop_confirm_the_long_run(monkeypatch):
    monkeypatch.setenv("SGDLAB_MAX_RUN_MINUTES", "off")
    at = _open(_app(), "pages/train.py")
    at.radio(key=state.KEY_GRADIENT).set_value("numerical-plain").run()
    assert "Too long" not in _errors(at)
    assert at.checkbox(key=state.KEY_CONFIRM_SLOW).value is False and at.button(key=state.KEY_START).disabled


def test_a_second_start_waits_in_the_sessions_own_line(monkeypatch, stop_all):
    monkeypatch.setenv("SGDLAB_MAX_RUN_MINUTES", "off")  # a run long enough to press Start again during
    at = _open(_app(), "pages/train.py")
    at.number_input(key=state.KEY_ITERS).set_value(1_000_000).run()
    confirm_if_asked(at)
    at.button(key=state.KEY_START).click().run()
    first = jobs_of(at)[-1]
    stop_all.append(first)
    assert "One training at a time per visitor" in _texts(at) and "after your run #1" not in _texts(at)
    at.number_input(key=state.KEY_ITERS).set_value(200).run()
    at.button(key=state.KEY_START).click().run()
    assert not at.exception
    first_, second = jobs_of(at)
    stop_all.append(second)
    assert first_ is first and second.run.status == "pending" and second.in_session_line()
    assert "waiting — after your run #1" in _texts(at)
    assert second.place_in_line() is None  # not in the server's line
    at.button(key=state.KEY_STOP).click().run()  # Stop stops the run the page shows: the waiting one
    assert second.join(2) and second.run.status == "stopped" and not first.run.done


def test_a_full_line_refuses_with_its_length_and_starts_nothing(monkeypatch, stop_all):
    monkeypatch.setenv("SGDLAB_MAX_TRAININGS", "1")
    monkeypatch.setenv("SGDLAB_MAX_QUEUE", "1")
    monkeypatch.setenv("SGDLAB_ABANDON_GRACE_S", "off")
    server = runner._pool(1, 1, None, None)  # the pool the page uses with these settings (one per process)
    other = server.submit(1, LONG, _tiny(), owner="another visitor", estimate_s=240.0)
    waiting = server.submit(1, LONG, _tiny(), owner="a third visitor", estimate_s=240.0)
    stop_all.extend([other, waiting])
    at = _open(_app(), "pages/train.py")
    at.number_input(key=state.KEY_ITERS).set_value(200).run()
    errors = _errors(at)
    assert "waiting line is full" in errors and "1 runs are waiting and 1 training" in errors
    assert "Try again in about" in errors
    assert not at.button(key=state.KEY_START).disabled  # trying again is pressing Start again
    at.button(key=state.KEY_START).click().run()
    assert not jobs_of(at) and server.live_count == 2
    assert "waiting line is full" in _errors(at)
    waiting.stop()
    assert waiting.join(2)
    at.run()
    assert "waiting line is full" not in _errors(at)
    at.button(key=state.KEY_START).click().run()
    (mine,) = jobs_of(at)
    stop_all.append(mine)
    assert mine.place_in_line() == 1


def _tiny():
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (400, 784), dtype=np.uint8)
    t = rng.integers(0, 10, 400)
    return (x[:300], t[:300]), (x[300:], t[300:])


def test_a_sweeps_runs_train_one_after_another_in_the_sessions_line_and_stop_the_sweep_stops_them(monkeypatch,
                                                                                                  stop_all):
    monkeypatch.setenv("SGDLAB_MAX_RUN_MINUTES", "0.01")  # 0.6 s: over it on any machine
    from streamlit.testing.v1 import AppTest

    from tests.app_helpers import APP, give_jobs

    at = AppTest.from_file(APP, default_timeout=90)
    give_jobs(at, [], {"sweep.preset": "custom", "sweep.x": "lr", "sweep.x_values": [0.01, 0.1, 1.0],
                       "sweep.y": "none", "sweep.y_values": [], "sweep.iters": 100_000})
    at.run()
    _open(at, "pages/sweeps.py")
    at.button(key=state.KEY_SWEEP_START).click().run()
    assert not at.exception
    warnings = " ".join(w.value for w in at.warning)
    assert "lr 0.01: **Too long for this server**" in warnings and not jobs_of(at)  # every run must fit the cap
    monkeypatch.setenv("SGDLAB_MAX_RUN_MINUTES", "off")
    at.button(key=state.KEY_SWEEP_START).click().run()
    jobs = jobs_of(at)
    stop_all.extend(jobs)
    assert len(jobs) == 3 and [j.after for j in jobs[1:]] == jobs[:2]  # each after the one before
    assert all(j.in_session_line() for j in jobs[1:])  # two slots on the server, one for this session
    assert jobs[2].status_text() == f"waiting — after your run #{jobs[1].id}"
    at.button(key=state.KEY_SWEEP_STOP).click().run()
    assert not at.exception
    for job in jobs:
        assert job.join(10)
    assert [j.run.status for j in jobs] == ["stopped"] * 3
    assert [j.run.iterations_done for j in jobs[1:]] == [0, 0]  # the waiting ones never trained


def _browser(token: str):
    """A new session (a reload) of the browser with ``token`` (as tests/test_persist.py plays it)."""
    from streamlit.testing.v1 import AppTest

    from tests.app_helpers import APP

    at = AppTest.from_file(APP, default_timeout=60)
    _open(at, "pages/train.py")
    at.session_state[state.KEY_BROWSER_TOKEN] = {"token": token}
    at.run()
    assert not at.exception
    return at


def test_a_reload_takes_its_live_run_back_and_the_run_is_its_own_now(monkeypatch, stop_all):
    import secrets

    monkeypatch.setenv("SGDLAB_MAX_RUN_MINUTES", "off")
    token = secrets.token_hex(16)
    monkeypatch.setattr(state, "session_id", lambda: "the first tab")  # AppTest names every session alike
    at = _browser(token)
    at.number_input(key=state.KEY_ITERS).set_value(1_000_000).run()
    confirm_if_asked(at)
    at.button(key=state.KEY_START).click().run()
    (job,) = jobs_of(at)
    stop_all.append(job)
    assert job.owners == {"the first tab"}
    monkeypatch.setattr(state, "session_id", lambda: "the reloaded tab")
    again = _browser(token)  # F5: a new session, which the watchdog must count as the run's page from now on
    assert jobs_of(again) == [job] and not job.run.done
    assert job.owners == {"the first tab", "the reloaded tab"}
    again.button(key=state.KEY_STOP).click().run()  # and the reloaded page can stop it
    assert job.join(2) and job.run.status == "stopped"


def test_a_session_with_as_many_live_runs_as_it_keeps_cannot_start_another():
    from streamlit.testing.v1 import AppTest

    from nn.train import Run
    from tests.app_helpers import APP, FakeJob, give_jobs

    live = []
    for i in range(1, state.MAX_JOBS + 1):
        run = Run(TrainConfig(iters=100))
        run.status = "running" if i == 1 else "pending"
        live.append(FakeJob(i, run))
    at = AppTest.from_file(APP, default_timeout=60)
    give_jobs(at, live)
    at.run()
    _open(at, "pages/train.py")
    assert f"You have {state.MAX_JOBS} runs training or waiting" in _errors(at)
    assert at.button(key=state.KEY_START).disabled
