"""AppTest helpers several test modules share (fixtures live in conftest.py). Import as
``from tests.app_helpers import ...``: a test module never imports from another test module."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from ui import state

APP = str(Path(__file__).resolve().parent.parent / "app.py")


def _app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception
    return at


def _open(at: AppTest, page: str) -> AppTest:
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _texts(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption] + [t.value for t in at.text]
    for kind in ("success", "info", "warning", "error"):
        parts += [e.value for e in getattr(at, kind)]
    parts += [p.proto.text for p in at.get("progress")]
    return "\n".join(str(p) for p in parts)


def _short_run(at: AppTest, iters=200, train_size=1000) -> None:
    at.number_input(key=state.KEY_ITERS).set_value(iters).run()
    at.checkbox(key=state.KEY_USE_ALL).uncheck().run()
    at.number_input(key=state.KEY_TRAIN_SIZE).set_value(train_size).run()
    confirm_if_asked(at)
    at.button(key=state.KEY_START).click().run()
    assert not at.exception


def confirm_if_asked(at: AppTest) -> None:
    """Tick "Yes, train for …" when Start waits for it: a long run asks to confirm first, and whether it is long
    depends on the speed measured (or the provisional figure before that)."""
    if at.button(key=state.KEY_START).disabled:
        at.checkbox(key=state.KEY_CONFIRM_SLOW).check().run()


def _finish(at: AppTest, timeout=30):
    for job in jobs_of(at):
        assert job.join(timeout)
    at.run()
    assert not at.exception


def jobs_of(at: AppTest) -> list:
    """The session's jobs (``state.jobs()`` of the AppTest's session)."""
    session = at.session_state[state.KEY_SESSION] if state.KEY_SESSION in at.session_state else None
    return list(session.jobs) if session is not None else []


def session_of(at: AppTest) -> "state.Session":
    return at.session_state[state.KEY_SESSION]


def give_jobs(at: AppTest, jobs: list, choose: dict | None = None) -> None:
    """Start the AppTest's session with ``jobs`` (test doubles of ``ui.jobs.Job`` included) and the settings in
    ``choose`` (e.g. ``{"units.model": 1}``: a page reads with run #1)."""
    session = state.Session(jobs=list(jobs), job_counter=max((j.id for j in jobs), default=0))
    session.values.update(choose or {})
    at.session_state[state.KEY_SESSION] = session


def setting_of(at: AppTest, name: str):
    """The value of setting ``name`` in the AppTest's session."""
    return session_of(at).values[name]


def draw_on(at: AppTest, strokes) -> None:
    """What the canvas's callback does when the student draws (AppTest cannot drive the component itself)."""
    if state.KEY_SESSION not in at.session_state:
        at.session_state[state.KEY_SESSION] = state.Session()
    session_of(at).strokes = [[list(map(float, p)) for p in stroke] for stroke in strokes]


class FakeJob:
    """A test double of ``ui.jobs.Job`` around a finished run (or a stand-in for one)."""

    created_at = 0.0
    error = ""
    waited_for_end = True
    stopping = False

    def __init__(self, job_id, run):
        self.id, self.run = job_id, run

    @property
    def name(self):
        return f"#{self.id} {self.run.config.label()}"

    @property
    def config(self):
        return self.run.config

    def place_in_line(self):
        return None

    def status_text(self):
        from ui import jobs

        return jobs.status_text(self)

    def stop(self):
        pass

    def join(self, timeout=None):
        return True


def train_page_with(query: dict) -> AppTest:
    """A new session that opens the Train page with ``query`` in its address (a link)."""
    return page_with("pages/train.py", query)


def page_with(page: str, query: dict) -> AppTest:
    """A new session that opens ``page`` with ``query`` in its address (a link)."""
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update(query)
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at
