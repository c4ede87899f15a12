"""The session's state, in one shape, owned here: no other module reads or writes ``st.session_state``.

Per-user things live in the session (a visitor never sees another's runs); process-wide things (MNIST, the
training pool, the reload store) live in ``st.cache_resource`` elsewhere. Everything a session has is one
``Session`` object under one key:

- ``values``: every setting of ``ui.settings.SETTINGS`` by name (training options, each page's choices,
  language, lecture mode). ``get(name)`` / ``set(name, value)``; widgets are bound with ``bind(name)``, which
  gives the widget its value anew on every script run and commits the student's change back. So a setting
  survives any sequence of page visits, language switches and lecture-mode toggles (Streamlit itself forgets
  the value of a widget a page did not draw).
- ``jobs``: the session's jobs (``ui.jobs.Job``: trainings, uploaded runs), oldest first, at most ``MAX_JOBS``.
- ``strokes``: the drawing on the canvas, until the student clears it.
- ``stepper``: the Code page's step-through (``ui.stepper.Stepper``), at most one, until it is continued as a run
  or started over.
- bookkeeping: the job counter, the uploaded files' digests, the link last seen, the test digit shown.

``snapshot()`` / ``restore(snapshot)`` hand that object to the reload store (``ui.persist``): a reload, or the
tab closed and opened again in the same browser, brings it back. Derived and one-shot things (cached results,
a flash message, a link's warnings, the random generator of the draw page) are kept beside it and not restored.

Call only from a Streamlit script run (a page, a fragment or a callback), never from a worker thread.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Callable

import streamlit as st

from ui import jobs as jobs_mod, settings as settings_mod
from ui.settings import SETTINGS

#: How many jobs a session keeps (oldest finished ones are dropped first). The book's run holds ~80 KB of
#: losses, ~160 KB of weights and ~1.3 MB of W1 snapshots: 8 runs cost a visitor at most about 12 MB.
MAX_JOBS = 8

KEY_SESSION = "sgd_session"  # the Session object

# -- widget keys (tests find widgets by them); each is its setting's ``key`` in ui.settings ----------------------
KEY_LANG_CONTROL = SETTINGS["lang"].key
KEY_LECTURE_CONTROL = SETTINGS["lecture"].key
KEY_PRESET = SETTINGS["train.preset"].key
KEY_ITERS = SETTINGS["train.iters"].key
KEY_BATCH = SETTINGS["train.batch"].key
KEY_LR = SETTINGS["train.lr"].key
KEY_HIDDEN = SETTINGS["train.hidden"].key
KEY_STD = SETTINGS["train.std"].key
KEY_USE_ALL = SETTINGS["train.use_all"].key
KEY_TRAIN_SIZE = SETTINGS["train.train_size"].key
KEY_SEED = SETTINGS["train.seed"].key
KEY_GRADIENT = SETTINGS["train.gradient"].key
KEY_CONFIRM_SLOW = SETTINGS["train.confirm_slow"].key
KEY_DOWNLOAD_RUN = SETTINGS["files.download_run"].key
KEY_CURVES_RUNS = SETTINGS["curves.runs"].key
KEY_CURVES_SMOOTH = SETTINGS["curves.smooth"].key
KEY_CURVES_LOG = SETTINGS["curves.log"].key
KEY_CURVES_X = SETTINGS["curves.x"].key
KEY_CURVES_VIEW = SETTINGS["curves.view"].key
KEY_OVERFIT_RUN = SETTINGS["overfit.run"].key
KEY_DRAW_MODEL = SETTINGS["draw.model"].key
KEY_GRAD_MODEL = SETTINGS["grad.model"].key
KEY_GRAD_BATCH = SETTINGS["grad.batch"].key
KEY_GRAD_BATCH_SEED = SETTINGS["grad.batch_seed"].key
KEY_GRAD_FRESH_SEED = SETTINGS["grad.fresh_seed"].key
KEY_GRAD_UNIT = SETTINGS["grad.unit"].key
KEY_UNITS_MODEL = SETTINGS["units.model"].key
KEY_UNITS_SCALE = SETTINGS["units.scale"].key
KEY_UNITS_SNAPSHOT = SETTINGS["units.snapshot"].key
KEY_UNITS_UNIT = SETTINGS["units.unit"].key
KEY_ERRORS_MODEL = SETTINGS["errors.model"].key
KEY_ERRORS_TRUE = SETTINGS["errors.true"].key
KEY_ERRORS_PRED = SETTINGS["errors.pred"].key
KEY_ERRORS_ORDER = SETTINGS["errors.order"].key
KEY_ERRORS_NORMALISE = SETTINGS["errors.normalise"].key
KEY_STEP_GRADIENT = SETTINGS["step.gradient"].key
KEY_STEP_EXAMPLE = SETTINGS["step.example"].key
KEY_STEP_TRY_LR = SETTINGS["step.try_lr"].key
KEY_LANDSCAPE_RUN = SETTINGS["landscape.run"].key
KEY_LANDSCAPE_DIRECTIONS = SETTINGS["landscape.directions"].key
KEY_LANDSCAPE_GRID = SETTINGS["landscape.grid"].key
KEY_LANDSCAPE_IMAGES = SETTINGS["landscape.images"].key
KEY_SWEEP_PRESET = SETTINGS["sweep.preset"].key
KEY_SWEEP_X = SETTINGS["sweep.x"].key
KEY_SWEEP_X_VALUES = SETTINGS["sweep.x_values"].key
KEY_SWEEP_Y = SETTINGS["sweep.y"].key
KEY_SWEEP_Y_VALUES = SETTINGS["sweep.y_values"].key
KEY_SWEEP_ITERS = SETTINGS["sweep.iters"].key
KEY_SWEEP_AXIS = SETTINGS["sweep.axis"].key

# -- widgets that are actions, not settings (buttons, the uploader, the canvas, a chart's click) ------------------
KEY_START = "sgd_train_start"
KEY_STOP = "sgd_train_stop"
KEY_OVERFIT_START = "sgd_overfit_start"
KEY_OVERFIT_BOOK = "sgd_overfit_book"
KEY_RETRY_DOWNLOAD = "sgd_home_retry_download"
KEY_GET_MNIST = "sgd_get_mnist_"  # + page name: "Get full MNIST" / "Try again" (ui.home_view.sample_caveat)
KEY_SLIDE = "sgd_slide_"  # + slide name: the "Reproduce the slide" buttons (ui.lecture.SLIDES)
KEY_DRAW_CANVAS = "sgd_draw_canvas"  # the canvas component (its value: {"strokes": [...]})
KEY_DRAW_TEST_BUTTON = "sgd_draw_test_button"
KEY_ERRORS_CHART = "sgd_errors_matrix"  # the confusion-matrix chart (its click selection)
KEY_UPLOAD = "sgd_model_upload"  # file uploader of a saved run (Train page)
KEY_DOWNLOAD = "sgd_model_download"  # its download button
KEY_BROWSER_TOKEN = "sgd_browser_token"  # the reload component (ui.browser_id)
KEY_STEP_ONE = "sgd_step_one"  # the step-through's buttons (Code page): one step
KEY_STEP_TEN = "sgd_step_ten"  # ten steps
KEY_STEP_EPOCH = "sgd_step_epoch"  # to the end of the epoch
KEY_STEP_CONTINUE = "sgd_step_continue"  # continue as a normal run
KEY_STEP_RESTART = "sgd_step_restart"  # start the step-through over (with the current settings)
KEY_SWEEP_START = "sgd_sweep_start"  # Compare settings: start the sweep
KEY_SWEEP_STOP = "sgd_sweep_stop"  # stop every run of the sweep still training or waiting

# -- derived and one-shot things, not restored by a reload ---------------------------------------------------------
KEY_FLASH = "sgd_flash_message"
KEY_LIMIT_REFUSAL = "sgd_limit_refusal"  # a limit's refusal found at Start (ui.limits), shown once
KEY_LINK_NOTICES = "sgd_link_notices"  # [ui.links.Notice]: bad values of the link just opened
KEY_UPLOAD_ERROR = "sgd_model_upload_error"  # (file name, one-line fault) of the last bad upload
KEY_DRAW_RNG = "sgd_draw_rng"  # numpy Generator that picks the test digits
KEY_GRAD_RESULT = "sgd_grad_result"  # {"key": ..., "value": nn.inspect.GradientCheck}: the last check
KEY_ERRORS_RESULT = "sgd_errors_result"  # {"key": ..., "value": nn.inspect.Evaluation}: the last evaluation
KEY_OPENED_LINK = "sgd_opened_link"  # the URL's parameters on the session's first run (a link, or none)
KEY_RUN_COUNT = "sgd_script_runs"  # full script runs of this session so far
KEY_RESTORED_FOR = "sgd_restored_for"  # the browser token this session has looked up in the reload store
KEY_LANDSCAPE_MAPS = "sgd_landscape_maps"  # {identity: nn.landscape.LossMap}: the last MAX_LANDSCAPE_MAPS maps
KEY_LIVE_FIGURE = "sgd_live_figure"  # ui.figures.LiveLossFigure of the live chart (derived, not restored)
KEY_LANDSCAPE_COMPUTE = "sgd_landscape_compute"  # the landscape page's "Compute the map" button
#: Loss maps a session keeps (derived, not restored by a reload): the book's net's map is ~30 KB plus its
#: full-batch points (float16, ≤ 4 MB, kept to redraw another plane without walking them again).
MAX_LANDSCAPE_MAPS = 3


@dataclass
class Session:
    """Everything of one visitor that a reload must bring back."""

    values: dict[str, Any] = field(default_factory=lambda: {n: copy.copy(s.default) for n, s in SETTINGS.items()})
    jobs: list = field(default_factory=list)  # [ui.jobs.Job], oldest first
    job_counter: int = 0
    strokes: list = field(default_factory=list)  # the drawing: [[[x, y], ...], ...] in canvas units
    draw_test_index: int | None = None  # the test image "Show me a test digit" shows
    uploaded: dict[str, int] = field(default_factory=dict)  # model file digest → its job id
    link_seen: dict | None = None  # the URL's parameters as last read or written (to spot a changed URL)
    shown: dict[str, Any] = field(default_factory=dict)  # widget key → the value bind() gave it last
    stepper: Any = None  # the Code page's step-through (ui.stepper.Stepper): at most one, in memory like a run
    sweep: Any = None  # the latest sweep (ui.sweeps.Sweep): which jobs are its cells

    def copy(self) -> "Session":
        """A copy to keep in the reload store: its own containers, the same jobs and stepper (not copied)."""
        return Session(values=dict(self.values), jobs=list(self.jobs), job_counter=self.job_counter,
                       strokes=[list(s) for s in self.strokes], draw_test_index=self.draw_test_index,
                       uploaded=dict(self.uploaded), link_seen=dict(self.link_seen or {}) or None, shown={},
                       stepper=self.stepper, sweep=getattr(self, "sweep", None))


def _ss() -> Any:
    return st.session_state


def _in_script_run() -> bool:
    try:
        from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx
    except ImportError:  # pragma: no cover
        return True
    return get_script_run_ctx(suppress_warning=True) is not None


def session() -> Session:
    """This visitor's ``Session``, created from the settings table the first time."""
    ss = _ss()
    found = ss.get(KEY_SESSION)
    if not isinstance(found, Session):
        found = Session()
        ss[KEY_SESSION] = found
    return found


def init_session() -> Session:
    """Called by app.py at the start of every script run, before anything reads a setting: creates the session
    from the settings table, and takes in a widget value set from outside a callback (AppTest writes
    ``session_state[key]`` directly) that differs from the value ``bind`` gave the widget."""
    s = session()
    ss = _ss()
    for name, setting in SETTINGS.items():
        s.values.setdefault(name, copy.copy(setting.default))
        key = setting.key
        if key in ss and key in s.shown and ss[key] != s.shown[key]:
            _commit_value(s, name, ss[key])
    return s


# -- settings ----------------------------------------------------------------------------------------------------


def get(name: str) -> Any:
    """The value of setting ``name`` (see ui.settings.SETTINGS)."""
    return session().values.get(name, SETTINGS[name].default)


def set(name: str, value: Any) -> None:  # noqa: A001 - state.set(name, value) reads well
    """Set setting ``name`` (checked against the table; a value it does not allow leaves the setting as it is)."""
    _commit_value(session(), name, value)


def update(values: dict[str, Any]) -> None:
    for name, value in values.items():
        set(name, value)


def _commit_value(s: Session, name: str, value: Any) -> None:
    setting = SETTINGS[name]
    if value is None and setting.default is None:
        s.values[name] = None
        return
    try:
        s.values[name] = setting.check(value)
    except ValueError:
        pass  # a value the table does not allow (a segmented control clicked twice gives None): keep the old


def _committed(name: str, then: Callable | None, args: tuple) -> None:
    """A bound widget's ``on_change``: its new value becomes the setting's, then the page's own callback runs."""
    setting = SETTINGS[name]
    s = session()
    value = _ss().get(setting.key)
    _commit_value(s, name, value)
    s.shown[setting.key] = value
    if then is not None:
        then(*args)


def bind(name: str, value: Any = ..., *, on_change: Callable | None = None, args: tuple = (),
         as_value: bool = False) -> dict:
    """The ``key`` and ``on_change`` of setting ``name``'s widget: ``st.selectbox(label, options, **state.bind(name))``.

    Gives the widget the setting's value (or ``value``, e.g. a model picker's resolved default) now, before it
    is drawn: the one place a widget's value is written. Never pass the widget a ``value=`` or ``index=`` too.

    ``as_value`` (number inputs, checkboxes, toggles): the value also goes as the widget's ``value=`` and is
    written into the widget's state only when a live widget holds another one. A number input drawn afresh with
    its value only in the session state showed its minimum now and then (Chromium, about 1 in 4 new tabs on a
    restored session) and sent that back on the next click; drawn with ``value=`` it never did.
    """
    setting = SETTINGS[name]
    s = session()
    shown = get(name) if value is ... else value
    bound = {"key": setting.key, "on_change": _committed, "args": (name, on_change, args)}
    if as_value:
        bound["value"] = shown
        if setting.key in _ss() and _ss()[setting.key] != shown:
            _ss()[setting.key] = shown
    else:
        _ss()[setting.key] = shown
    s.shown[setting.key] = shown
    return bound


def widget_value(key: str) -> Any:
    """The value a widget that is not a setting has (a chart's click selection, the uploader's file)."""
    return _ss().get(key)


# -- language and lecture mode -----------------------------------------------------------------------------------


def language() -> str:
    """The session's language ("en" outside a script run, so ``ui.i18n.t`` works in plain tests too)."""
    if not _in_script_run():
        return "en"
    return get("lang")


def set_language(code: str) -> None:
    set("lang", code)


def lecture_mode() -> bool:
    return bool(get("lecture")) if _in_script_run() else False


def set_lecture_mode(on: bool) -> None:
    set("lecture", bool(on))


# -- jobs --------------------------------------------------------------------------------------------------------


def jobs() -> list:
    """The session's jobs, oldest first (the list itself: do not mutate it, use ``add_job``)."""
    return session().jobs


def next_job_number() -> int:
    s = session()
    s.job_counter += 1
    return s.job_counter


def add_job(job) -> None:
    """Keep ``job`` as the newest; drop the oldest finished jobs beyond ``MAX_JOBS`` (never a live one)."""
    s = session()
    kept = [*s.jobs, job]
    while len(kept) > MAX_JOBS:
        droppable = next((j for j in kept if j.run.done), None)
        if droppable is None:  # every kept job is still running or waiting: keep them all
            break
        kept.remove(droppable)
    s.jobs = kept
    ids = {j.id for j in kept}
    s.uploaded = {digest: i for digest, i in s.uploaded.items() if i in ids}


def session_id() -> str | None:
    """Streamlit's id of this session (the runner's watchdog asks the runtime whether it is still connected)."""
    try:
        from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx
    except ImportError:  # pragma: no cover
        return None
    ctx = get_script_run_ctx(suppress_warning=True)
    return getattr(ctx, "session_id", None) if ctx is not None else None


def last_unended_job() -> Any:
    """The session's newest training job whose worker has not ended: a new run waits for it in the session's own
    line (one training at a time per session)."""
    return next((j for j in reversed(session().jobs) if getattr(j, "ended", True) is False), None)


def get_job(job_id) -> Any:
    return next((j for j in session().jobs if j.id == job_id), None)


def latest_job() -> Any:
    all_jobs = session().jobs
    return all_jobs[-1] if all_jobs else None


def active_job() -> Any:
    """The newest job still waiting for its turn or training, if any."""
    return next((j for j in reversed(session().jobs) if not j.run.done), None)


def best_finished_job() -> Any:
    """The most accurate (final test accuracy) job that finished with weights; newest first among equals."""
    finished = [j for j in session().jobs if j.run.status == "finished" and jobs_mod.has_weights(j)]
    return max(reversed(finished), key=jobs_mod.final_test_acc, default=None)


def uploaded_job_id(digest: str) -> int | None:
    return session().uploaded.get(digest)


def remember_upload(digest: str, job_id: int) -> None:
    session().uploaded[digest] = job_id


# -- the drawing and the draw page -----------------------------------------------------------------------------


def strokes() -> list:
    return session().strokes


def set_strokes(value: list) -> None:
    session().strokes = list(value)


def draw_rng():
    """The session's generator for "Show me a test digit" (fresh entropy per visitor)."""
    import numpy as np

    return _ss().setdefault(KEY_DRAW_RNG, np.random.default_rng())


def draw_test_index() -> int | None:
    return session().draw_test_index


def set_draw_test_index(index: int | None) -> None:
    session().draw_test_index = index


def keep_widget_value(key: str, value: dict) -> None:
    """Make what custom component ``key`` holds in Streamlit's session state exactly ``value`` (its state names and
    values), dropping anything else the browser sent: the canvas keeps only its parsed, capped strokes, never a
    tampered browser's raw value. Call from the component's callback, or before the component in a script run."""
    current = _ss().get(key)
    if not isinstance(current, dict) or current == value:
        return
    for name in [n for n in current if n not in value]:
        del current[name]  # a component's value writes through to its stored state
    for name, item in value.items():
        current[name] = item


# -- the step-through (Code page) ---------------------------------------------------------------------------------


def stepper() -> Any:
    """The session's step-through (``ui.stepper.Stepper``), or None."""
    return session().stepper


def set_stepper(value: Any) -> None:
    """Keep ``value`` as the session's only step-through (None: none); the one before is dropped."""
    session().stepper = value


# -- the sweep (Compare settings) ---------------------------------------------------------------------------------


def sweep() -> Any:
    """The session's latest sweep (``ui.sweeps.Sweep``), or None."""
    return getattr(session(), "sweep", None)


def set_sweep(value: Any) -> None:
    session().sweep = value


def live_jobs() -> list:
    """The session's jobs still training or waiting (``add_job`` never drops them)."""
    return [j for j in session().jobs if not j.run.done]


# -- links ---------------------------------------------------------------------------------------------------------


def link_seen() -> dict | None:
    return session().link_seen


def set_link_seen(query: dict | None) -> None:
    session().link_seen = None if query is None else dict(query)


def opened_link() -> dict:
    return _ss().get(KEY_OPENED_LINK) or {}


def set_opened_link(query: dict) -> None:
    _ss()[KEY_OPENED_LINK] = dict(query)


def set_link_notices(notices: list) -> None:
    _ss()[KEY_LINK_NOTICES] = notices


def take_link_notices() -> list | None:
    return _ss().pop(KEY_LINK_NOTICES, None)


# -- one-shot messages and derived results -------------------------------------------------------------------------


def flash(message: str | None = None) -> str | None:
    """Set a one-line message for the next rerun (``flash("...")``), or take it (``flash()``)."""
    if message is not None:
        _ss()[KEY_FLASH] = message
        return None
    return _ss().pop(KEY_FLASH, None)


def set_limit_refusal(message: str) -> None:
    _ss()[KEY_LIMIT_REFUSAL] = message


def take_limit_refusal() -> str | None:
    return _ss().pop(KEY_LIMIT_REFUSAL, None)


def upload_error() -> tuple[str, str] | None:
    return _ss().get(KEY_UPLOAD_ERROR)


def set_upload_error(problem: tuple[str, str] | None) -> None:
    if problem is None:
        _ss().pop(KEY_UPLOAD_ERROR, None)
    else:
        _ss()[KEY_UPLOAD_ERROR] = problem


def cached(key: str, identity, compute):
    """The value kept under ``key`` if it was computed for ``identity``, else ``compute()`` (kept instead).

    One entry per key: a page keeps only its latest derived result (say, a run's test-set predictions at its
    current iteration), so a session's memory stays bounded.
    """
    entry = _ss().get(key)
    if entry is not None and entry.get("key") == identity:
        return entry["value"]
    value = compute()
    _ss()[key] = {"key": identity, "value": value}
    return value


def landscape_maps() -> dict:
    """The session's loss maps, oldest first: {identity: map} (``ui.landscape_view`` names the identities)."""
    return _ss().get(KEY_LANDSCAPE_MAPS) or {}


def keep_landscape_map(identity, value) -> None:
    """Keep ``value`` as the newest map; drop the oldest beyond ``MAX_LANDSCAPE_MAPS``."""
    maps = {k: v for k, v in landscape_maps().items() if k != identity}
    maps[identity] = value
    while len(maps) > MAX_LANDSCAPE_MAPS:
        maps.pop(next(iter(maps)))
    _ss()[KEY_LANDSCAPE_MAPS] = maps


# -- reload ----------------------------------------------------------------------------------------------------------


def snapshot() -> Session:
    """What the reload store keeps of this session: the live ``Session`` itself, so that a change made where no
    full script run follows (a stroke redraws only its fragment) is in the store at once. ``restore`` copies it."""
    return session()


def restore(saved: Session) -> None:
    """Take back a session kept by the reload store (into a session that has nothing of its own yet)."""
    restored = saved.copy()
    for name, setting in SETTINGS.items():  # a store written by another version of the table: keep what fits
        value = restored.values.get(name, setting.default)
        restored.values[name] = settings_mod.check_or_default(name, value)
    _ss()[KEY_SESSION] = restored
    me = session_id()  # the runs it brings back are this session's now: not abandoned while it shows them
    for job in restored.jobs:
        if hasattr(job, "claim") and not job.run.done:
            job.claim(me)


def count_script_run() -> int:
    """Count this full script run (app.py calls it once per run, via ui.persist); returns the count."""
    count = _ss().get(KEY_RUN_COUNT, 0) + 1
    _ss()[KEY_RUN_COUNT] = count
    return count


def restored_for() -> str | None:
    return _ss().get(KEY_RESTORED_FOR)


def set_restored_for(token: str) -> None:
    _ss()[KEY_RESTORED_FOR] = token
