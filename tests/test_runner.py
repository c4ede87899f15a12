"""ui.runner: background training threads, the process-wide limit, the line, Stop, and the timing helpers."""

import time

import numpy as np
import pytest

from nn.blas import limit_blas_threads
from nn.train import TrainConfig
from tests.helpers import child_processes, noise_data, wait_until
from ui import runner


def _data(n_train=600, n_test=200, seed=0):
    return noise_data(n_train, n_test, seed)


LONG = TrainConfig(iters=1_000_000)  # would take minutes: every test that starts it stops it


MODES = ["process", "thread"] if runner.train_mode_from_env({}) == "process" else ["thread"]


@pytest.mark.parametrize("mode", MODES)
def test_a_run_trains_in_the_background_and_matches_a_direct_run(mode):
    from nn.train import train

    data = _data()
    config = TrainConfig(iters=120, batch_size=50)
    job = runner.TrainingPool(2, mode=mode).submit(1, config, data, "test data")
    assert job.join(10)
    previous = limit_blas_threads(1)  # as the runner trains: the same sums in the same order
    try:
        direct = train(config, data)
    finally:
        if previous is not None:
            limit_blas_threads(previous)
    assert job.run.status == "finished" and job.status_text().startswith("finished: test ")
    assert job.run.iterations_done == 120
    np.testing.assert_array_equal(job.run.losses, direct.losses)  # the same loop, the same seed
    measured = [(e.iteration, e.train_acc, e.test_acc, e.final) for e in job.run.epochs]
    assert measured == [(e.iteration, e.train_acc, e.test_acc, e.final) for e in direct.epochs]
    assert [it for it, _ in job.run.snapshots] == [it for it, _ in direct.snapshots]
    for (_, mine), (_, theirs) in zip(job.run.snapshots, direct.snapshots):
        np.testing.assert_array_equal(mine, theirs)
    for key, value in direct.params.items():
        np.testing.assert_array_equal(job.run.params[key], value)
    assert job.run.data_source == "test data"
    assert job.name == "#1 lr 0.1 · batch 50 · 120 it"


@pytest.mark.parametrize("mode", MODES)
def test_stop_ends_within_a_second_and_keeps_the_history(mode):
    job = runner.TrainingPool(1, mode=mode).submit(1, LONG, _data())
    assert wait_until(lambda: job.run.iterations_done > 50)
    start = time.monotonic()
    job.stop()
    assert job.join(1.0), "Stop must end the run within a second"
    assert time.monotonic() - start < 1.0
    run = job.run
    assert run.status == "stopped"
    done = run.iterations_done
    assert done > 50 and np.isfinite(run.losses[:done]).all() and np.isnan(run.losses[done:]).all()
    assert run.epochs and run.epochs[-1].iteration == done  # the final accuracy of what was trained
    assert job.status_text().startswith(f"stopped at {done:,} of 1,000,000: test ")


def test_at_most_k_run_at_once_the_others_wait_in_line():
    pool = runner.TrainingPool(1)
    data = _data()
    first = pool.submit(1, LONG, data)
    assert wait_until(lambda: first.run.status == "running")
    second, third = pool.submit(2, LONG, data), pool.submit(3, TrainConfig(iters=20), data)
    # the line is the order of submission, whichever worker thread happens to start first
    assert (second.place_in_line(), third.place_in_line()) == (1, 2)
    assert wait_until(lambda: pool.waiting_count == 2)
    assert pool.running_count == 1
    assert second.status_text() == "waiting — place 1 in line"
    assert third.status_text() == "waiting — place 2 in line"
    assert second.run.iterations_done == 0
    second.stop()  # stopping a waiting run: it leaves the line without training
    assert second.join(2) and second.run.status == "stopped" and second.run.iterations_done == 0
    assert wait_until(lambda: third.place_in_line() == 1)
    first.stop()
    assert first.join(2)
    assert third.join(10) and third.run.status == "finished"
    assert pool.running_count == 0 and pool.waiting_count == 0


def test_two_slots_run_two_at_once():
    pool = runner.TrainingPool(2)
    data = _data()
    a, b = pool.submit(1, LONG, data), pool.submit(2, LONG, data)
    try:
        assert wait_until(lambda: a.run.status == "running" and b.run.status == "running")
        assert pool.running_count == 2
    finally:
        a.stop(), b.stop()
        assert a.join(2) and b.join(2)


def test_a_bad_config_is_refused_with_a_message():
    with pytest.raises(ValueError, match="lr"):
        runner.TrainingPool(1).submit(1, TrainConfig(lr=-1.0), _data())


@pytest.mark.skipif("process" not in MODES, reason="no os.fork here")
def test_a_training_process_that_dies_is_reported_and_its_history_kept():
    import os
    import signal

    job = runner.TrainingPool(1, mode="process").submit(1, LONG, _data())
    assert wait_until(lambda: job.run.iterations_done > 50)
    children = sorted(child_processes())
    assert children, "the run should train in a child process"
    for pid in children:
        os.kill(pid, signal.SIGKILL)
    assert job.join(5.0)
    run = job.run
    assert run.status == "failed" and "ended unexpectedly" in run.reason
    done = run.iterations_done
    assert done > 50 and np.isfinite(run.losses[:done]).all()
    assert job.status_text().startswith("failed")


@pytest.mark.parametrize("mode", MODES)
def test_a_failure_in_the_worker_is_recorded_not_lost(mode):
    bad = ((np.zeros((10, 784), np.uint8), np.zeros(10, int)), (np.zeros((5, 783), np.uint8), np.zeros(5, int)))
    job = runner.TrainingPool(1, mode=mode).submit(1, TrainConfig(iters=5), bad)
    assert job.join(5)
    assert job.run.status == "failed" and job.status_text().startswith("failed: training failed")
    assert job.error


@pytest.mark.parametrize("value, expected", [(None, runner.DEFAULT_MAX_TRAININGS), ("3", 3), ("0", 1), ("x", 2)])
def test_max_trainings_from_env(value, expected):
    env = {} if value is None else {"SGDLAB_MAX_TRAININGS": value}
    assert runner.max_trainings_from_env(env) == expected


def test_measure_overhead_times_both_ways_and_renders_while_polling():
    calls = []
    result = runner.measure_overhead(
        TrainConfig(iters=300), _data(), repeats=1, render=lambda job: calls.append(job.run.iterations_done),
        poll_seconds=0.01,
    )
    assert len(result["direct_s"]) == len(result["app_s"]) == 1
    assert result["median_direct_s"] > 0 and result["median_app_s"] > 0
    assert result["overhead"] == pytest.approx(result["median_app_s"] / result["median_direct_s"] - 1)
    assert calls, "the page's rendering must run while the training does"


def test_the_default_render_builds_the_live_view():
    from ui.training_view import render_payload

    job = runner.TrainingPool(1).submit(7, TrainConfig(iters=30, batch_size=20), _data(200, 50))
    assert job.join(10)
    payload = render_payload(job)
    assert job.name == "#7 lr 0.1 · batch 20 · 30 it"
    assert payload.progress.iteration == 30 and payload.status.startswith("finished")
    assert list(payload.table.columns) == ["epoch", "iteration", "train acc (%)", "test acc (%)", "gap (pp)"]
    assert payload.table["iteration"].iloc[0] == 30  # newest first


def test_limit_blas_threads_sets_and_reports_the_count():
    before = limit_blas_threads(1)
    if before is None:
        pytest.skip("this NumPy has no OpenBLAS reachable through ctypes")
    try:
        assert limit_blas_threads(1) == 1
    finally:
        limit_blas_threads(before)


@pytest.mark.parametrize(
    "address, expected",
    [("127.0.0.1", True), ("::1", True), ("::ffff:127.0.0.1", True), ("[::1]", True), ("localhost", True),
     ("127.0.0.53", True), ("10.0.0.7", False), ("::ffff:10.0.0.7", False), ("2001:db8::1", False),
     ("example.org", False), ("", False), (None, False), (object(), False)],
)
def test_is_loopback(address, expected):
    assert runner.is_loopback(address) is expected


def test_a_page_alone_refreshes_fast_and_a_gentle_setting_slows_it():
    assert runner.choose_refresh("training", viewers=1) == runner.FAST
    assert runner.choose_refresh("training", 1, " Gentle ") == runner.GENTLE
    assert runner.choose_refresh("training", 1, "nonsense") == runner.FAST  # unknown setting: automatic
    # "a few times a second" for one page alone, and never slower than once a second for the progress
    assert runner.FAST.status <= 0.5 and runner.GENTLE.status <= 1.0
    assert runner.FAST.chart <= runner.GENTLE.chart and runner.FAST.sidebar <= runner.GENTLE.sidebar


def test_a_waiting_run_refreshes_rarely_and_draws_no_chart():
    for viewers in (1, 5, 30, 300):
        rates = runner.choose_refresh("waiting", viewers)
        assert rates.chart is None
        assert rates.status >= runner.WAITING_S and rates.sidebar >= runner.WAITING_S


def test_a_finished_run_does_not_poll():
    for viewers in (1, 30):
        assert runner.choose_refresh("done", viewers) == runner.STILL
    assert runner.STILL.status is None and runner.STILL.chart is None and runner.STILL.sidebar is None


def test_rates_slow_down_with_the_load_and_keep_the_server_within_its_budget():
    previous = runner.choose_refresh("training", 1)
    for viewers in (1, 2, 5, 10, 20, 30, 60):
        rates = runner.choose_refresh("training", viewers)
        assert rates.status >= previous.status and rates.chart >= previous.chart  # never faster with more viewers
        if rates.level < runner.MAX_LEVEL:
            assert viewers * runner.cost_ms_per_s(rates) <= runner.LIVE_BUDGET_MS_PER_S
        previous = rates
    # 30 pages watching: within the budget, a quarter of a core at most even if every one of them trains
    assert 30 * runner.cost_ms_per_s(runner.choose_refresh("training", 30)) <= 250
    assert 30 * runner.cost_ms_per_s(runner.choose_refresh("waiting", 30)) <= 250
    assert runner.load_level(runner.FAST, 10_000) == runner.MAX_LEVEL  # bounded: a page still moves


def test_a_page_reruns_whole_only_when_its_run_changes_state_or_the_load_changes_much():
    training, waiting, done = (runner.choose_refresh(s, 1) for s in ("training", "waiting", "done"))
    assert runner.must_redraw_page(waiting, training)  # it started: the chart comes
    assert runner.must_redraw_page(training, done)  # it ended: nothing polls
    assert not runner.must_redraw_page(training, training)
    assert not runner.must_redraw_page(waiting, waiting)
    busy = runner.choose_refresh("training", 30)
    assert runner.must_redraw_page(training, busy)  # slower at once
    assert not runner.must_redraw_page(busy, busy.slower(1))
    assert not runner.must_redraw_page(busy, runner.FAST.slower(busy.level // 2))  # faster only at 4x
    assert runner.must_redraw_page(busy, runner.FAST.slower(max(1, busy.level // 4)))


def test_pages_waiting_in_line_leave_the_budget_to_the_pages_that_train():
    """A class of 30: 2 runs train, 28 wait. The waiting pages cost little (their place every 8 s), so the two
    training pages keep the rates of a page alone; all 30 together stay within the budget."""
    training = runner.choose_refresh("training", viewers=2, waiting=28)
    waiting = runner.choose_refresh("waiting", viewers=2, waiting=28)
    assert training == runner.FAST and waiting.status == runner.WAITING_S and waiting.chart is None
    assert 2 * runner.cost_ms_per_s(training) + 28 * runner.cost_ms_per_s(waiting) <= runner.LIVE_BUDGET_MS_PER_S
    # every page training: they slow down as before; a crowd waiting slows the waiting pages, within the budget
    assert runner.choose_refresh("training", viewers=30).level > 1
    crowd = runner.choose_refresh("waiting", waiting=1000)
    assert crowd.status > runner.WAITING_S and 1000 * runner.cost_ms_per_s(crowd) <= runner.LIVE_BUDGET_MS_PER_S
    # training pages take what the waiting ones leave: all of them together within the budget
    squeezed = runner.choose_refresh("training", viewers=10, waiting=1000)
    assert squeezed.level > 1
    assert 10 * runner.cost_ms_per_s(squeezed) + 1000 * runner.cost_ms_per_s(crowd) <= runner.LIVE_BUDGET_MS_PER_S


def test_the_run_next_in_line_is_looked_at_every_second_so_its_start_shows_at_once():
    waiting = runner.choose_refresh("waiting", viewers=2, waiting=28)
    next_up = runner.choose_refresh("waiting", viewers=2, waiting=28, next_up=True)
    assert next_up.status <= 1.0 and next_up.chart is None  # still no chart until it trains
    assert runner.must_redraw_page(waiting, next_up)  # it became first in line: its page looks more often
    assert not runner.must_redraw_page(next_up, next_up)
    assert runner.must_redraw_page(next_up, runner.choose_refresh("training", viewers=3, waiting=27))


def test_live_viewers_count_pages_until_they_miss_two_polls():
    viewers = runner.LiveViewers()
    viewers.beat("a", 0.5, now=0.0)
    viewers.beat("b", 8.0, now=0.0)
    viewers.beat("a", 0.5, now=1.0)  # the same session again: one viewer
    assert viewers.count(now=1.0) == 2
    assert viewers.count(now=1.0, including="c") == 3 and viewers.count(now=1.0, including="a") == 2
    assert viewers.count(now=5.0) == 1  # a stopped polling (3 s at least), b polls every 8 s
    assert viewers.count(now=30.0) == 0
    viewers.beat("b", 8.0, now=30.0)
    viewers.beat("b", None, now=31.0)  # its run ended
    assert viewers.count(now=31.0) == 0


def test_live_viewers_say_what_each_page_watches():
    viewers = runner.LiveViewers()
    viewers.beat("a", 0.5, now=0.0, state="training")
    viewers.beat("b", 8.0, now=0.0, state="waiting")
    viewers.beat("c", 8.0, now=0.0, state="waiting")
    assert viewers.count(now=1.0, state="training") == 1 and viewers.count(now=1.0, state="waiting") == 2
    assert viewers.count(now=1.0, state="training", including="b") == 2  # b's run has just started
    viewers.beat("b", 0.5, now=1.0, state="training")  # its page says so at its next poll
    assert viewers.count(now=1.0, state="training") == 2 and viewers.count(now=1.0, state="waiting") == 1
    assert viewers.count(now=3.5, state="training") == 1  # a missed its polls (0.5 s: 3 s at least); b polls on


def test_run_state():
    class _Job:
        def __init__(self, status, place=None):
            from nn.train import Run

            self.run = Run(TrainConfig(iters=10))
            self.run.status, self._place = status, place

        def place_in_line(self):
            return self._place

    assert runner.run_state(None) == "done"
    assert runner.run_state(_Job("pending", 3)) == "waiting"
    assert runner.run_state(_Job("pending")) == "training"  # its turn has come: starting
    assert runner.run_state(_Job("running")) == "training"
    for status in ("finished", "stopped", "failed", "diverged"):
        assert runner.run_state(_Job(status)) == "done"


def test_refresh_outside_a_browser_session(monkeypatch):
    monkeypatch.delenv("SGDLAB_REFRESH", raising=False)
    assert runner.browser_is_local() is False
    assert runner.refresh(state="training").status == runner.FAST.status or runner.refresh(state="training").level > 1
    assert runner.refresh(state="done") == runner.STILL
    monkeypatch.setenv("SGDLAB_REFRESH", "gentle")
    assert runner.refresh(state="training").chart >= runner.GENTLE.chart


class _JobNearItsEnd:
    """A job as the live view sees it, whose run has ``done`` of 1,000 iterations at 1,000 it/s."""

    def __init__(self, done: int) -> None:
        from nn.train import Run

        self.run = Run(TrainConfig(iters=1_000, train_size=1_000))
        self.run.status, self.run.iterations_done, self.run.elapsed_s = "running", done, done / 1_000
        self.run.n_train, self.stopping, self.joined, self.waited_for_end = 1_000, False, [], False

    def join(self, timeout=None):
        self.joined.append(timeout)
        return False


def test_the_live_view_waits_for_an_end_due_before_the_next_refresh():
    from ui.training_view import wait_for_the_end

    far = _JobNearItsEnd(done=100)  # ~0.9 s of steps left (plus its measurements): more than a 0.5 s refresh
    wait_for_the_end(far, 0.5)
    assert far.joined == []
    near = _JobNearItsEnd(done=999)  # ~1 ms left: wait for it, a little longer than the estimate, then draw
    wait_for_the_end(near, 0.5)
    assert len(near.joined) == 1 and 0.2 < near.joined[0] <= 0.5
    wait_for_the_end(near, 0.5)  # still not done (stalled?): the page does not wait at every refresh
    assert len(near.joined) == 1
    stopping = _JobNearItsEnd(done=999)
    stopping.stopping = True  # Stop pressed: Stop's own callback waits for the end
    wait_for_the_end(stopping, 0.5)
    assert stopping.joined == []
