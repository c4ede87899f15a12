"""The training page's pieces: presets, the settings widgets, Start/Stop, and the live view of a run.

``render_payload(job)`` builds what one refresh of the live view shows (pure: no ``st.*``); ``live_view`` draws
it inside a fragment that reruns a few times a second while the run trains.
"""

from __future__ import annotations

import os
from contextlib import nullcontext
from dataclasses import dataclass

import pandas as pd
import streamlit as st

from nn.train import Run, TrainConfig
from ui import analysis, data as ui_data, figures, limits, runner, settings, state
from ui.estimate import SpeedProbe, default_measure, machine_load, threads_beside
from ui.settings import SETTINGS
from ui.i18n import label_func, t, translate_core
from ui.stepper import printout as book_printout  # the book's "train acc, test acc | …" lines

# -- presets -------------------------------------------------------------------------------------------------

# the preset names are their ids (kept in the settings and links); PRESET_LABELS says them in the language
BOOK, QUICK, OVERFIT, CUSTOM = settings.BOOK, settings.QUICK, settings.OVERFIT, settings.CUSTOM

#: With 300 images and batch 100 an epoch is 3 iterations, and every epoch measures accuracy on 10,300
#: images; 1,500 iterations (500 epochs) is where train accuracy reaches 100% and test stalls near 83%.
PRESETS: dict[str, TrainConfig] = {
    BOOK: TrainConfig(),
    QUICK: TrainConfig(iters=1_000),
    OVERFIT: TrainConfig(iters=1_500, train_size=300),
}

PRESET_LABELS = {BOOK: "train.preset_book", QUICK: "train.preset_quick", OVERFIT: "train.preset_overfit",
                 CUSTOM: "train.preset_custom"}  # i18n keys

GRADIENT_LABELS = {  # i18n keys
    "backprop": "train.gradient_backprop",
    "numerical": "train.gradient_numerical",
    "numerical-plain": "train.gradient_numerical_plain",
}

#: A run expected to take longer than this asks for a confirmation first.
CONFIRM_SECONDS = 10 * 60


def setting_values(config: TrainConfig) -> dict:
    """The training settings (``ui.settings`` names) that describe ``config``. "All images" is a tick and the
    number beside it: a config of all images leaves the number as it was."""
    values = {}
    for name in settings.TRAINING:
        option = SETTINGS[name].option
        if name == "train.use_all":
            values[name] = config.train_size is None
        elif name == "train.train_size":
            if config.train_size is not None:
                values[name] = config.train_size
        else:
            values[name] = getattr(config, option)
    return values


def config_from_settings() -> TrainConfig:
    """The config the training settings of the session describe."""
    fields = {SETTINGS[name].option: state.get(name) for name in settings.TRAINING
              if name not in ("train.use_all", "train.train_size")}
    fields["train_size"] = None if state.get("train.use_all") else state.get("train.train_size")
    return TrainConfig(**fields)


def preset_of(config: TrainConfig) -> str:
    return next((name for name, c in PRESETS.items() if c == config), CUSTOM)


def set_config(config: TrainConfig) -> None:
    """Put ``config`` into the training settings, and name its preset (or "Custom")."""
    if config != config_from_settings():
        state.set("train.confirm_slow", False)  # a confirmation is for the run it was given for
    state.update(setting_values(config))
    state.set("train.preset", preset_of(config))


def apply_preset() -> None:
    """Callback of the preset selectbox: fill every setting with the preset's values."""
    preset = state.get("train.preset")
    if preset in PRESETS:
        state.update(setting_values(PRESETS[preset]))
    state.set("train.confirm_slow", False)  # a confirmation is for the run it was given for


def mark_custom() -> None:
    """Callback of every settings widget: the preset name shows "Custom" once the values differ from it."""
    preset = state.get("train.preset")
    if preset in PRESETS and config_from_settings() != PRESETS[preset]:
        state.set("train.preset", CUSTOM)
    state.set("train.confirm_slow", False)  # a confirmation is for the run it was given for


@st.cache_resource(show_spinner=False)
def _probe() -> SpeedProbe:
    """The server's one measurement of its speed (per process): in the background, on the data loaded then."""
    data = ui_data.current_data().as_tuple()
    return SpeedProbe(lambda: default_measure(data))


def speeds() -> analysis.Speeds:
    """This server's speeds for the time estimates; never waits: until the measurement (started on the first call,
    in the background) is done, the provisional figures (``Speeds.provisional`` says which)."""
    return _probe().current()


#: The numeric settings: each one's label and help are the i18n keys train.<name> and train.<name>_help; the
#: step of its +/- buttons and its format; its range is the settings table's (the core's nn.options).
NUMBER_SETTINGS = {"iters": (1_000, None), "batch": (10, None), "lr": (0.05, "%.4f"), "hidden": (10, None),
                   "std": (0.01, "%.4f"), "seed": (1, None), "train_size": (100, None)}


def _number(where, name: str) -> None:
    step, fmt = NUMBER_SETTINGS[name]
    where.number_input(t(f"train.{name}"), **settings.limits(f"train.{name}"), step=step,
                       **({"format": fmt} if fmt else {}), help=t(f"train.{name}_help"),
                       **state.bind(f"train.{name}", on_change=mark_custom, as_value=True))


def settings_widgets(n_train_available: int) -> None:
    """Every training option as a widget, with the book's default and one line of help. In lecture mode the
    advanced ones (hidden units, init std, seed, training subset, gradient) fold into a collapsed expander."""
    st.selectbox(
        t("train.preset"), settings.choices("train.preset"), format_func=label_func(PRESET_LABELS),
        help=t("train.preset_help"), **state.bind("train.preset", on_change=apply_preset),
    )
    lecture = state.lecture_mode()
    # lecture mode: one field a row (two to a row cut their labels at lecture size)
    c1, c2 = (st.container(),) * 2 if lecture else st.columns(2)
    _number(c1, "iters")
    _number(c2, "batch")
    _number(c1, "lr")
    with st.expander(t("lecture.advanced"), expanded=False) if lecture else nullcontext():
        a1, a2 = (st.container(),) * 2 if lecture else (c2, c1)
        _number(a1, "hidden")
        _number(a2, "std")
        _number(a1, "seed")
        st.checkbox(t("train.use_all", n=f"{n_train_available:,}"), help=t("train.use_all_help"),
                    **state.bind("train.use_all", on_change=mark_custom, as_value=True))
        if not state.get("train.use_all"):
            _number(st, "train_size")
        st.radio(
            t("train.gradient"), settings.choices("train.gradient"), format_func=label_func(GRADIENT_LABELS),
            help=t("train.gradient_help"), **state.bind("train.gradient", on_change=mark_custom),
        )


#: Count the machine's load average in the estimate at Start (``SGDLAB_ESTIMATE_LOAD=1``). Off by default: with
#: Linux's autogroups a load average of 40 from other sessions left a run 1/18 of a core, not 1/20, and beside them
#: its niced measuring thread was not starved as the model would say (the estimate came out 4.6× too long); in a
#: hosted container the load average is the host's, other tenants' threads included.
COUNT_MACHINE_LOAD = os.environ.get("SGDLAB_ESTIMATE_LOAD", "") == "1"


def trainings_alongside() -> int:
    """How many other trainings a run started now would train beside: those running and those waiting before it,
    at most the pool's other slots."""
    pool = runner.pool()
    return min(pool.max_running - 1, pool.running_count + pool.waiting_count)


def step_text(seconds: float) -> str:
    """One step's time for people: "0.45 ms", "92 ms", "21 s" (what Train and Gradient check both show)."""
    if seconds < 1e-3:
        return f"{seconds * 1000:.2f} ms"
    if seconds < 0.1:
        return f"{seconds * 1000:.0f} ms"
    return analysis.format_duration(seconds)


def estimate_message(config: TrainConfig, data, alongside: int | None = None) -> tuple[str, str, float]:
    """(kind, text, total seconds) of the time estimate from Start to finished: kind is "info", "warning" or
    "error". ``alongside``: other trainings sharing the cores with it; by default those running or waiting now
    (``trainings_alongside``; or the machine's load if busier, with ``COUNT_MACHINE_LOAD``). Pass 0 for
    the run's own time on an otherwise idle server (what a limit on a run's work should use). Never waits for the
    speed measurement: the text says when its figures are the provisional ones."""
    speed = speeds()
    trainings = trainings_alongside() if alongside is None else max(0, int(alongside))
    beside = threads_beside(trainings, machine_load()) if alongside is None and COUNT_MACHINE_LOAD else trainings
    est = analysis.estimate_seconds(config, data.n_train, data.n_test, speed, alongside=beside)
    n_train = min(config.train_size or data.n_train, data.n_train)
    n_evals = analysis.evaluations(config.iters, n_train, config.batch_size)
    total = est["total"]
    notes = ""
    if beside > trainings:
        notes += " " + t("train.estimate_busy", n=beside, cores=f"{speed.cores:g}")
    elif trainings:
        notes += " " + t("train.estimate_shared", n=trainings, cores=f"{speed.cores:g}")
    if speed.provisional:
        notes += " " + t("train.estimate_provisional")
    if config.gradient == "numerical-plain":
        return "error", t(
            "train.estimate_plain", params=f"{analysis.parameter_count(config.hidden):,}",
            per_step=step_text(est["per_step"]), total=analysis.format_duration(total),
            iters=f"{config.iters:,}",
        ) + notes, total
    text = t("train.estimate", total=analysis.format_duration(total), iters=f"{config.iters:,}",
             step=step_text(est["per_step"]), evals=f"{n_evals:,}", images=f"{n_train + data.n_test:,}") + notes
    if total > CONFIRM_SECONDS:
        return "warning", text, total
    return "info", text, total


def show_estimate(config: TrainConfig) -> bool:
    """Whether Train shows the estimate for ``config``: not while the session's run trains (its live view says the
    time left), nor once a run of these very settings has ended (its line says what it took)."""
    if state.active_job() is not None:
        return False
    latest = state.latest_job()
    return latest is None or not latest.run.done or getattr(latest, "config", None) != config


# -- the live view -------------------------------------------------------------------------------------------


@dataclass
class Payload:
    """What one refresh of the live view shows (``figure`` and ``table`` only when the chart is redrawn)."""

    status: str
    progress: analysis.Progress
    figure: object = None
    table: pd.DataFrame | None = None
    message: str = ""
    printout: list[str] | None = None  # the book's "train acc, test acc | …" lines, one per epoch


def accuracy_table(run) -> pd.DataFrame:
    """Per-epoch accuracies for people: newest first, percentages (column names in the session's language)."""
    frame = run.accuracy_frame()
    out = pd.DataFrame(
        {
            t("columns.epoch"): frame["epoch"].round(2),
            t("columns.iteration"): frame["iteration"].astype(int),
            t("columns.train_acc"): (100 * frame["train_acc"]).round(2),
            t("columns.test_acc"): (100 * frame["test_acc"]).round(2),
            t("columns.gap"): (100 * frame["gap"]).round(2),
        }
    )
    return out.iloc[::-1].reset_index(drop=True)


def render_payload(job, with_chart: bool = True, lecture: bool = False, live_figure=None) -> Payload:
    """Build the live view of ``job`` (no Streamlit calls: the benchmark calls it from a plain thread too);
    ``lecture``: the chart sized for a projector; ``live_figure``: a ``figures.LiveLossFigure`` kept between
    refreshes, which updates its figure in place (else one is built anew)."""
    run = job.run
    progress = analysis.progress_of(run)
    status = job.status_text()
    message = translate_core(run.reason) if run.status in ("diverged", "failed") else ""
    payload = Payload(status, progress, message=message)
    if with_chart:
        live_figure = live_figure or figures.LiveLossFigure()
        payload.figure = live_figure.figure(run.losses, run.iterations_done, run.config.iters, name=job.name,
                                            lecture=lecture)
        payload.table = accuracy_table(run)
        payload.printout = book_printout(run)
    return payload


def printout_block(lines: list[str]) -> str:
    """The printout as a Markdown code block: what the book's loop prints is code output, the same in any language."""
    return "```text\n" + "\n".join(lines) + "\n```"


def draw_printout(lines: list[str], key: str = "sgd_printout") -> None:
    """The book's printout under the accuracy table, small: a box of its own that scrolls beyond a dozen lines (a
    run of 300 images prints 500)."""
    if not lines:
        return
    st.caption(t("train.printout"))
    with st.container(height=min(60 + 24 * len(lines), 300), border=False, key=key):
        st.markdown(printout_block(lines))


def printout_view(job) -> None:
    """``job``'s printout, redrawn with its charts while it trains (the Code page shows the latest run's)."""
    rates = runner.refresh(job)

    @st.fragment(run_every=rates.chart or rates.status)
    def _lines() -> None:
        current = state.get_job(job.id)
        if current is None:
            return
        lines = book_printout(current.run)
        if lines:
            draw_printout(lines, key="sgd_printout_latest")
        else:
            st.caption(t("train.printout_empty"))
        if runner.must_redraw_page(rates, runner.refresh(current)):
            st.rerun()

    with st.container():  # alone in its box: ``ui.runner`` (Timed fragments)
        _lines()


def page_renderer():
    """A ``render(job)`` for ``ui.runner.measure_overhead`` that does what the training page does while a run
    trains at ``runner.FAST`` rates: the progress twice a second, the chart and table every 2 s (the chart
    updated in place and serialised as ``st.plotly_chart`` does)."""
    every = max(1, round(runner.FAST.chart / runner.FAST.status))
    calls = [0]
    live_figure = figures.LiveLossFigure()

    def render(job) -> Payload:
        calls[0] += 1
        payload = render_payload(job, with_chart=calls[0] % every == 0, live_figure=live_figure)
        if payload.figure is not None:
            payload.figure.to_plotly_json()  # what st.plotly_chart does with it: a cost the benchmark must see
        return payload

    return render


def progress_line(p: analysis.Progress) -> str:
    if p.seconds_left == 0.0:
        left = t("train.took", seconds=f"{p.elapsed_s:.2f}")
    else:
        left = "" if p.seconds_left is None else t("train.left", duration=analysis.format_duration(p.seconds_left))
    return t("train.progress", iteration=f"{p.iteration:,}", total=f"{p.total:,}", epoch=f"{p.epoch:.1f}",
             total_epochs=f"{p.total_epochs:.1f}", its=f"{p.its_per_s:,.0f}", left=left)


def draw_status(payload: Payload) -> None:
    """One element, the progress bar with its line (status, iteration, epoch, it/s, time left): this is what
    reruns a few times a second, and every element a rerun sends costs the browser a React pass over the page
    (four metric tiles under it made each refresh ~60 % dearer; the line already says what they said)."""
    p = payload.progress
    st.progress(min(1.0, p.fraction), text=f"**{payload.status}** — {progress_line(p)}")
    if payload.message:
        st.error(payload.message)


def draw_chart(payload: Payload, chart_key: str) -> None:
    st.plotly_chart(payload.figure, key=chart_key, config={"displaylogo": False})
    st.markdown(t("train.accuracy_title"))
    if payload.table.empty:
        st.caption(t("train.accuracy_first"))
    else:
        st.dataframe(payload.table, hide_index=True, height=min(38 + 35 * len(payload.table), 420),
                     key=f"{chart_key}_table")
        draw_printout(payload.printout or [], key=f"{chart_key}_printout")


def idle_view(config: TrainConfig, chart_key: str = "sgd_live_chart") -> None:
    """Before the first run: the empty axes the loss will grow on (the iterations the settings ask for), drawn
    with the live view's own chart element, and where the accuracy table will come."""
    st.info(t("train.press_start"))
    run = Run(config)
    figure = figures.live_loss_figure(run.losses, 0, config.iters, lecture=state.lecture_mode())
    draw_chart(Payload("", analysis.progress_of(run), figure=figure, table=accuracy_table(run)), chart_key)


def wait_for_the_end(job, interval: float) -> None:
    """If ``job`` will end before the next refresh (``interval`` s away), wait for its end here (at most
    ``interval``, and once per job: a run that stalls near its end must not hold the page up at every refresh),
    so that the page shows "finished" when it is, not up to a refresh later. Best effort: the estimate of the
    time left can be short (the last accuracy measurement), and then the next refresh shows the end."""
    if job.run.done or job.stopping or job.waited_for_end:
        return
    left = analysis.progress_of(job.run).seconds_left
    if left is not None and left < interval:
        job.waited_for_end = True
        job.join(timeout=min(left + 0.2, interval))


def live_figure(chart_key: str):
    """The session's ``figures.LiveLossFigure`` for the chart ``chart_key`` (one kept: the page's live chart)."""
    return state.cached(state.KEY_LIVE_FIGURE, chart_key, figures.LiveLossFigure)


def waiting_view(job) -> None:
    """In place of the chart while the run waits in line: what comes, and when (the place is in the status line,
    refreshed every few seconds)."""
    st.info(t("train.waiting_no_chart"))


def live_view(job, chart_key: str = "sgd_live_chart") -> None:
    """Draw ``job``'s live view at the rates ``runner.refresh`` gives for its state and the server's load: while
    it trains, its progress and its chart and table refresh; while it waits in line, only its place, every few
    seconds, and no chart; once it has ended nothing polls. When its state changes (or the load asks for other
    rates) the whole page reruns once, so that buttons, chart and rates catch up."""
    rates = runner.refresh(job)
    waiting = runner.run_state(job) == "waiting"
    st.markdown(f"#### {job.name}")  # the run's name does not change: drawn once, outside the refreshes

    @st.fragment(run_every=rates.status)
    def _status() -> None:
        current = state.get_job(job.id)
        if current is None:
            return
        if rates.status is not None and not waiting:
            wait_for_the_end(current, rates.status)
        draw_status(render_payload(current, with_chart=False))
        if rates.status is not None and runner.must_redraw_page(rates, runner.refresh(current)):
            st.rerun()

    @st.fragment(run_every=rates.chart)
    def _chart() -> None:
        current = state.get_job(job.id)
        if current is not None:
            draw_chart(render_payload(current, lecture=state.lecture_mode(), live_figure=live_figure(chart_key)),
                       chart_key)

    # Each timed fragment alone in a box the full run draws: ``ui.runner`` (Timed fragments).
    with st.container():
        _status()
    with st.container():
        if waiting:
            waiting_view(job)
        else:
            _chart()


def runs_table(jobs, live=None) -> pd.DataFrame:
    """One row per run, newest first. ``live``: the job the page draws live above the table (default: the newest,
    which the Train page draws); only that one says so, any other running job shows its status line."""
    live = jobs[-1] if live is None and jobs else live
    rows = []
    for job in reversed(jobs):
        last = job.run.last
        # the live job's count would stand still here (this table is drawn once, not live): it points above instead
        status = t("status.training_live") if job is live and job.run.status == "running" else job.status_text()
        rows.append(
            {
                t("columns.run"): job.name,
                t("columns.status"): status,
                t("columns.train_acc"): round(100 * last.train_acc, 2) if last else None,
                t("columns.test_acc"): round(100 * last.test_acc, 2) if last else None,
                t("columns.seconds"): round(job.run.elapsed_s, 1),
                t("columns.data"): ui_data.data_text(job.run.data_source, markdown=False),
            }
        )
    return pd.DataFrame(rows)


def cap_refusal(config: TrainConfig, data, seconds: float | None = None) -> str | None:
    """Why ``config`` is over this server's estimated-time cap (and what would fit), or None.

    Judged on the run's own work, alone on a core (other trainings beside it do not make it more work): the
    smaller of this machine's estimate (``seconds``, ``estimate_message``'s) and the estimate at
    ``analysis.Speeds``' reference figures: a speed measured while the server was busy (a class training, 20×
    slower steps) must not refuse the book's run, while the book's numerical loop stays days either way."""
    seconds = estimate_message(config, data, alongside=0)[2] if seconds is None else seconds

    def reference(c: TrainConfig) -> float:
        try:
            return analysis.estimate_seconds(c, data.n_train, data.n_test, analysis.Speeds())["total"]
        except (TypeError, KeyError):  # no reference figures: this machine's estimate alone
            return float("inf")

    return limits.cap_refusal(config, min(seconds, reference(config)),
                              lambda c: min(estimate_message(c, data, alongside=0)[2], reference(c)))


def start_refusal(config: TrainConfig, data) -> tuple[str | None, float]:
    """(why ``config`` may not start now — over the time cap, or the server's line full — or None; its estimated
    seconds). A run that would wait in the session's own line takes no place in the server's line yet."""
    seconds = estimate_message(config, data, alongside=0)[2]  # the run's own work (the cap judges that)
    return cap_refusal(config, data, seconds) or line_refusal(), seconds


def line_refusal() -> str | None:
    """Why a new run finds no place now, or None: the session's own line is full (``state.MAX_JOBS`` runs
    training or waiting), or the run would join the server's line and it is full."""
    own = own_line_refusal()
    if own is not None:
        return own
    return limits.line_refusal() if state.last_unended_job() is None else None


def own_line_refusal() -> str | None:
    """The session's own line is full: ``state.MAX_JOBS`` runs training or waiting (until one of them ends)."""
    live = len(state.live_jobs())
    return t("limits.own_line_full", n=live) if live >= state.MAX_JOBS else None


def start_run(config: TrainConfig):
    """Start ``config`` in the background on the current data, after the session's unfinished run if it has one
    (its own line); returns the job (kept in the session), or None when a limit refuses it (the reason is kept
    for the page: ``ui.limits.show_refusal``)."""
    data = ui_data.store().data
    problem, seconds = start_refusal(config, data)
    if problem is None:
        try:
            job = runner.pool().submit(state.next_job_number(), config, data.as_tuple(), data.describe(),
                                       after=state.last_unended_job(), owner=state.session_id(), estimate_s=seconds)
        except runner.LineFull as full:  # the line filled since the page was drawn
            problem = limits.line_full_message(full.waiting, full.running, full.wait_s)
    if problem is not None:
        limits.refuse(problem)
        return None
    state.add_job(job)
    return job


def _sentence(text: str) -> str:
    """A message of nn/ as a sentence: a capital first letter and a full stop ("。" in Japanese)."""
    return text[:1].upper() + text[1:] + t("common.full_stop")


def start_clicked() -> None:
    """Start's ``on_click``: start the run the widgets describe before the page is drawn, so that the page is
    drawn once, with the run live (starting it in the page and rerunning drew the whole page twice, in the
    browser's busiest second, as the run began)."""
    config, problems, _ = checked_config(ui_data.store().data)
    if not problems:
        start_run(config)
        state.set("train.confirm_slow", False)  # the next long run asks again


def stop_clicked() -> None:
    """Stop's ``on_click``: stop the session's active run and give it a moment to record its end."""
    active = state.active_job()
    if active is not None:
        active.stop()
        active.join(timeout=2.0)


def checked_config(data) -> tuple[TrainConfig | None, list[str], list[str]]:
    """The config the widgets describe, fitted to the loaded data: (config, problems, notes)."""
    notes = []
    config = config_from_settings()
    if config.train_size is not None and config.train_size >= data.n_train:
        notes.append(t("train.only_loaded", n=f"{data.n_train:,}"))
        config = config.replace(train_size=None)
    problems = [_sentence(translate_core(p)) for p in config.errors()]
    return config, problems, notes
