"""Bounded work per visitor and per server (issue 16 §1): the limits' settings, the time cap and what fits, one
training at a time per session (its own line), the server line's maximum length, and abandoned runs stopped.

The pool tests use the thread mode and the real training loop on a small synthetic set; abandonment is driven by
a fake ``is_active`` (the server's one asks Streamlit's runtime: see tests/browser/test_limits_browser.py)."""

import json
import os
import threading
import time

import pytest

from nn.train import TrainConfig
from tests.helpers import child_processes, noise_data, wait_until
from ui import analysis, limits, runner

LONG = TrainConfig(iters=1_000_000)  # minutes: every test that starts it stops it
SHORT = TrainConfig(iters=30, batch_size=20)


def _data(n_train=300, n_test=100, seed=0):
    return noise_data(n_train, n_test, seed)


# -- the settings ------------------------------------------------------------------------------------------------


def test_the_defaults_suit_a_hosted_server():
    found = runner.limits_from_env({})
    assert found == runner.Limits(10.0, 30, 120.0) and found.problems == ()
    assert found.max_run_seconds == 600


@pytest.mark.parametrize("env, expected", [
    ({"SGDLAB_MAX_RUN_MINUTES": "2.5"}, runner.Limits(2.5, 30, 120.0)),
    ({"SGDLAB_MAX_RUN_MINUTES": " 60 "}, runner.Limits(60.0, 30, 120.0)),
    ({"SGDLAB_MAX_RUN_MINUTES": "0"}, runner.Limits(None, 30, 120.0)),  # 0: no cap
    ({"SGDLAB_MAX_RUN_MINUTES": "Off"}, runner.Limits(None, 30, 120.0)),
    ({"SGDLAB_MAX_QUEUE": "0"}, runner.Limits(10.0, 0, 120.0)),  # nobody may wait
    ({"SGDLAB_MAX_QUEUE": "5.0"}, runner.Limits(10.0, 5, 120.0)),
    ({"SGDLAB_MAX_QUEUE": "none"}, runner.Limits(10.0, None, 120.0)),
    ({"SGDLAB_ABANDON_GRACE_S": "0"}, runner.Limits(10.0, 30, 0.0)),  # stopped at once
    ({"SGDLAB_ABANDON_GRACE_S": "unlimited"}, runner.Limits(10.0, 30, None)),
    ({"SGDLAB_MAX_QUEUE": ""}, runner.Limits(10.0, 30, 120.0)),  # empty: the default, no complaint
])
def test_each_limit_reads_numbers_and_off_words(env, expected):
    found = runner.limits_from_env(env)
    assert found == expected and found.problems == ()


@pytest.mark.parametrize("name, value", [
    ("SGDLAB_MAX_RUN_MINUTES", "ten"), ("SGDLAB_MAX_RUN_MINUTES", "-1"), ("SGDLAB_MAX_RUN_MINUTES", "nan"),
    ("SGDLAB_MAX_RUN_MINUTES", "inf"), ("SGDLAB_MAX_RUN_MINUTES", "1e999"), ("SGDLAB_MAX_QUEUE", "2.5"),
    ("SGDLAB_MAX_QUEUE", "-3"), ("SGDLAB_MAX_QUEUE", "0x10"), ("SGDLAB_ABANDON_GRACE_S", "2 min"),
    ("SGDLAB_ABANDON_GRACE_S", "\x00"),
])
def test_a_bad_value_means_the_default_and_says_so_never_a_traceback(name, value):
    found = runner.limits_from_env({name: value})
    assert found == runner.Limits()
    assert len(found.problems) == 1 and found.problems[0].startswith(f"{name}=") and "using" in found.problems[0]


def test_bad_values_are_logged_once(caplog):
    env = {"SGDLAB_MAX_QUEUE": "lots-and-lots"}
    with caplog.at_level("WARNING", logger="ui.runner"):
        runner.limits(env)
        runner.limits(env)
    assert [r.getMessage() for r in caplog.records].count(
        "SGD Lab: SGDLAB_MAX_QUEUE='lots-and-lots' is not a whole number of at least 0 (or \"off\"): using 30") == 1


# -- the time cap ------------------------------------------------------------------------------------------------


def _linear(per_step: float, fixed: float = 0.0):
    return lambda config: fixed + per_step * config.iters


@pytest.mark.parametrize("iters, per_step, cap, fits", [
    (10_000, 0.001, 600, 10_000), (10_000, 120.0, 600, 5), (10_000, 121.0, 600, 4), (3, 700.0, 600, 0),
    (1_000_000, 0.001, 600, 600_000),
])
def test_fitting_iters_is_the_most_that_fit(iters, per_step, cap, fits):
    estimate = _linear(per_step)
    got = limits.fitting_iters(TrainConfig(iters=iters), cap, estimate)
    assert got == fits
    assert got == iters or estimate(TrainConfig(iters=got + 1)) > cap


def test_the_books_numerical_loop_is_refused_and_told_what_fits():
    config = TrainConfig(gradient="numerical-plain")  # the book's loop, 10,000 steps of ~2 min: 14 days
    estimate = _linear(121.0, fixed=2.0)
    cap = runner.Limits(10.0, 30, 120.0)
    text = limits.cap_refusal(config, estimate(config), estimate, cap)
    assert "Too long for this server" in text and "at most 10 min" in text
    assert "at most **4 iterations** fit" in text and "Numerical, book's loop" in text
    assert "SGDLAB_MAX_RUN_MINUTES" in text  # a laptop user can lift it
    assert limits.cap_refusal(config, estimate(config), estimate, runner.Limits(None, 30, 120.0)) is None  # off
    assert limits.cap_refusal(TrainConfig(iters=4, gradient="numerical-plain"), 486.0, estimate, cap) is None


def test_not_even_one_iteration_says_so():
    text = limits.cap_refusal(TrainConfig(iters=2), 2000.0, _linear(1000.0), runner.Limits(10.0, 30, 120.0))
    assert "not even one iteration fits" in text


def test_the_line_full_message_says_how_long_and_when():
    text = limits.line_full_message(28, 2, 95.0)
    assert "28 runs are waiting and 2 training" in text and "nothing was started" in text
    assert f"Try again in about {analysis.format_duration(95.0)}." in text
    assert "a few minutes" in limits.line_full_message(3, 1, None)


# -- one training at a time per session --------------------------------------------------------------------------


def test_a_sessions_second_run_waits_in_its_own_line_not_the_servers(stop_all):
    pool = runner.TrainingPool(2, mode="thread")  # two slots: the second run could run, and must not
    first = pool.submit(1, LONG, _data(), owner="s1")
    stop_all.append(first)
    assert wait_until(lambda: first.run.status == "running")
    second = pool.submit(2, SHORT, _data(), after=first, owner="s1")
    stop_all.append(second)
    time.sleep(0.3)
    assert second.run.status == "pending" and second.in_session_line()
    assert second.status_text() == "waiting — after your run #1"
    assert pool.waiting_count == 0 and pool.place_in_line(second) is None  # no place of the server's line taken
    other = pool.submit(1, SHORT, _data(), owner="s2")  # another visitor gets the free slot at once
    assert other.join(10) and other.run.status == "finished"
    assert second.run.status == "pending"
    first.stop()
    assert second.join(10) and second.run.status == "finished"


def test_stopping_a_waiting_run_passes_the_wait_on(stop_all):
    pool = runner.TrainingPool(2, mode="thread")
    first = pool.submit(1, LONG, _data(), owner="s1")
    second = pool.submit(2, SHORT, _data(), after=first, owner="s1")
    third = pool.submit(3, SHORT, _data(), after=second, owner="s1")
    stop_all.extend([first, second, third])
    second.stop()
    assert second.join(2) and second.run.status == "stopped"
    time.sleep(0.3)
    assert third.run.status == "pending" and third.status_text() == "waiting — after your run #1"
    fourth = pool.submit(4, SHORT, _data(), after=second, owner="s1")  # submitted after a stopped one: still waits
    stop_all.append(fourth)
    assert fourth.waiting_for() is first
    first.stop()
    assert third.join(10) and third.run.status == "finished"
    assert fourth.join(10) and fourth.run.status == "finished"


# -- the server's line -------------------------------------------------------------------------------------------


def test_a_full_line_refuses_and_starts_nothing(stop_all):
    pool = runner.TrainingPool(1, mode="thread", max_queue=1)
    running = pool.submit(1, LONG, _data(), owner="a", estimate_s=300.0)
    waiting = pool.submit(1, SHORT, _data(), owner="b", estimate_s=1.0)
    stop_all.extend([running, waiting])
    assert wait_until(lambda: running.run.status == "running")
    assert pool.line_full() is not None
    with pytest.raises(runner.LineFull) as refused:
        pool.submit(1, SHORT, _data(), owner="c")
    assert (refused.value.waiting, refused.value.running) == (1, 1)
    assert 290 <= refused.value.wait_s <= 300  # when the run training is expected to end
    assert pool.live_count == 2 and pool.waiting_count == 1
    # the session's own line is not the server's: a's next run is taken (it waits for a's first)
    mine = pool.submit(2, SHORT, _data(), after=running, owner="a")
    stop_all.append(mine)
    assert mine.in_session_line()
    running.stop()
    assert waiting.join(10) and mine.join(10)
    assert pool.line_full() is None


def test_no_waiting_at_all_still_starts_on_a_free_slot(stop_all):
    pool = runner.TrainingPool(1, mode="thread", max_queue=0)
    first = pool.submit(1, LONG, _data(), owner="a")
    stop_all.append(first)
    with pytest.raises(runner.LineFull):
        pool.submit(1, SHORT, _data(), owner="b")
    first.stop()
    assert first.join(5)
    assert pool.submit(1, SHORT, _data(), owner="b").join(10)


# -- abandoned runs ----------------------------------------------------------------------------------------------


class Sessions:
    """A stand-in for Streamlit's runtime: which sessions are connected."""

    def __init__(self, *active):
        self.active = set(active)
        self.unknown = set()

    def __call__(self, session_id):
        return None if session_id in self.unknown else session_id in self.active


def test_a_run_whose_page_is_gone_is_stopped_after_the_grace_and_a_newcomer_starts_within_a_second(stop_all):
    sessions = Sessions("gone", "newcomer")
    pool = runner.TrainingPool(1, mode="thread", grace_s=0.5, is_active=sessions, watch_every=0.05)
    abandoned = pool.submit(1, LONG, _data(), owner="gone")
    behind = pool.submit(2, LONG, _data(), after=abandoned, owner="gone")  # in the gone session's own line
    stop_all.extend([abandoned, behind])
    assert wait_until(lambda: abandoned.run.iterations_done > 10)
    newcomer = pool.submit(1, SHORT, _data(), owner="newcomer")
    stop_all.append(newcomer)
    time.sleep(0.8)
    assert abandoned.run.status == "running" and newcomer.place_in_line() == 1  # alive: nothing stopped
    closed = time.monotonic()
    sessions.active.discard("gone")  # the tab is closed
    assert wait_until(lambda: newcomer.run.status != "pending", timeout=5)
    freed = time.monotonic() - closed
    assert 0.5 <= freed <= 1.5, freed  # the grace, then the slot at once
    assert abandoned.join(2) and abandoned.abandoned and abandoned.run.status == "stopped"
    assert abandoned.run.iterations_done > 10  # its history kept
    assert abandoned.status_text().startswith("stopped at ") and abandoned.status_text().endswith(
        ": the page was closed")
    assert behind.join(2) and behind.run.status == "stopped" and behind.run.iterations_done == 0
    assert newcomer.join(10) and newcomer.run.status == "finished" and not newcomer.abandoned


def test_a_reconnect_within_the_grace_or_a_reload_that_adopts_the_run_keeps_it(stop_all):
    sessions = Sessions("tab")
    pool = runner.TrainingPool(1, mode="thread", grace_s=0.4, is_active=sessions, watch_every=0.05)
    job = pool.submit(1, LONG, _data(), owner="tab")
    stop_all.append(job)
    sessions.active.discard("tab")
    time.sleep(0.2)
    sessions.active.add("tab")  # the websocket came back (a network blip)
    time.sleep(0.6)
    assert not job.abandoned and job.run.status in ("pending", "running")
    sessions.active.discard("tab")  # a reload: a new session, which takes the run back from the reload store
    job.claim("reloaded")
    sessions.active.add("reloaded")
    time.sleep(0.8)
    assert not job.abandoned and not job.run.done
    sessions.active.discard("reloaded")
    assert wait_until(lambda: job.abandoned, timeout=3) and job.join(2)


def test_unknown_sessions_and_ownerless_jobs_are_never_stopped(stop_all):
    sessions = Sessions()
    sessions.unknown.add("apptest")
    pool = runner.TrainingPool(2, mode="thread", grace_s=0.0, is_active=sessions, watch_every=0.05)
    unknown = pool.submit(1, LONG, _data(), owner="apptest")
    ownerless = pool.submit(2, LONG, _data())
    stop_all.extend([unknown, ownerless])
    time.sleep(0.5)
    assert not unknown.abandoned and not ownerless.abandoned
    assert runner.session_is_active("no-such-session") is None  # no Streamlit server in this process


def test_the_watchdog_ends_with_the_last_job_and_comes_back(stop_all):
    pool = runner.TrainingPool(1, mode="thread", grace_s=10, is_active=Sessions("a"), watch_every=0.05)
    assert pool.submit(1, SHORT, _data(), owner="a").join(10)
    assert wait_until(lambda: pool._watchdog is None, timeout=2)
    job = pool.submit(2, LONG, _data(), owner="a")
    stop_all.append(job)
    assert pool._watchdog is not None and pool._watchdog.is_alive()


def test_a_busy_machines_slow_measurement_does_not_refuse_the_books_run(monkeypatch):
    from types import SimpleNamespace

    from ui import training_view as tv

    monkeypatch.delenv("SGDLAB_MAX_RUN_MINUTES", raising=False)
    # measured while a class trains: every step 300× slower than idle, the book's run "17 min"
    monkeypatch.setattr(tv, "estimate_message", lambda c, d, alongside=None: ("info", "", c.iters * 0.1 * (16_000 if "plain" in c.gradient else 1)))
    data = SimpleNamespace(n_train=60_000, n_test=10_000)
    assert tv.cap_refusal(TrainConfig(), data) is None  # judged at the reference speeds too: seconds
    assert "Too long for this server" in tv.cap_refusal(TrainConfig(gradient="numerical-plain"), data)


# -- the server's pages come before the trainings --------------------------------------------------------------


def _niceness(pid_or_tid: int) -> int:
    return os.getpriority(os.PRIO_PROCESS, pid_or_tid)


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity"), reason="Linux: niceness per thread")
@pytest.mark.parametrize("mode", ["thread", "process"])
def test_a_training_runs_nicer_than_the_server_that_draws_the_pages(mode):
    """On one core beside two trainings a page switch waited its turn (a third of the core): the trainings run
    ``TRAINING_NICENESS`` nicer than the server's threads, whether in the worker thread or a forked child."""
    server = _niceness(threading.get_native_id())
    before = child_processes()
    pool = runner.TrainingPool(1, mode=mode)
    job = pool.submit(1, LONG, _data())
    try:
        assert wait_until(lambda: job.run.iterations_done > 0, 30)
        if mode == "thread":
            assert _niceness(job.thread.native_id) == min(19, server + runner.TRAINING_NICENESS)
        else:
            child = sorted(child_processes() - before)
            assert child and _niceness(child[0]) == min(19, server + runner.TRAINING_NICENESS)
        assert _niceness(threading.get_native_id()) == server  # the server's own thread is as it was
        assert os.getpriority(os.PRIO_PROCESS, 0) == server
    finally:
        job.stop()
        assert job.join(30)


def test_the_run_log_says_when_each_run_was_submitted_started_and_ended(tmp_path):
    """``SGDLAB_RUN_LOG``: one JSON line per ended run, the server's own times (the load test sets them beside what
    the students' pages showed); a run stopped while waiting never started."""

    path = tmp_path / "runs.jsonl"
    pool = runner.TrainingPool(1, mode="thread", run_log=str(path))
    first = pool.submit(1, SHORT, _data())
    second = pool.submit(2, LONG, _data())
    third = pool.submit(3, SHORT, _data())  # waits behind the long one, and is stopped there
    assert wait_until(lambda: second.run.iterations_done > 0, 30)
    third.stop()
    second.stop()
    assert all(job.join(30) for job in (first, second, third))
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    by_run = {line["run"].split()[0]: line for line in lines}
    assert set(by_run) == {"#1", "#2", "#3"} and len(lines) == 3
    assert by_run["#1"]["status"] == "finished" and by_run["#1"]["iterations"] == SHORT.iters
    assert by_run["#1"]["submitted"] <= by_run["#1"]["started"] <= by_run["#1"]["ended"]
    assert by_run["#2"]["started"] >= by_run["#1"]["ended"] - 0.05  # one slot: the second trained after the first
    assert by_run["#3"]["status"] == "stopped" and by_run["#3"]["started"] is None and by_run["#3"]["iterations"] == 0
    assert "session" not in json.dumps(lines)
