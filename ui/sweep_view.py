"""The "Compare settings" page's pieces: the sweep's choices, Start / Stop the sweep, and its live charts.

A sweep's runs are ordinary jobs of the session, submitted one by one through the Train page's own
``training_view.start_run`` (the server's training line, ``ui.runner.pool()``): they wait their turn like any run,
show on every page that lists runs, and save as model files. A sweep that would not fit beside the session's live
runs (``state.MAX_JOBS`` kept runs; finished ones make room, live ones never do) is refused before it starts.
"""

from __future__ import annotations

from contextlib import nullcontext

import streamlit as st

from nn.train import TrainConfig
from ui import analysis, compare_view as cv, data as ui_data, limits, settings, state, sweeps, training_view as tv
from ui.i18n import label_func, t

PRESET_LABELS = {"lr": "sweep.preset_lr", "batch": "sweep.preset_batch", "custom": "sweep.preset_custom"}
VARIABLE_LABELS = {"none": "sweep.var_none", "lr": "sweep.var_lr", "batch_size": "sweep.var_batch_size",
                   "hidden": "sweep.var_hidden", "train_size": "sweep.var_train_size",
                   "weight_init_std": "sweep.var_weight_init_std"}
AXIS_LABELS = {"iterations": "sweep.axis_iterations", "images": "sweep.axis_images", "seconds": "sweep.axis_seconds"}
#: Every other option is the book's (§4.5): the seed too, so that the runs differ only by the values swept.
BASE = TrainConfig()


# -- the choices -------------------------------------------------------------------------------------------------


def _choices() -> dict:
    return {"x": state.get("sweep.x"), "x_values": state.get("sweep.x_values"), "y": state.get("sweep.y"),
            "y_values": state.get("sweep.y_values"), "iters": state.get("sweep.iters"),
            "axis": state.get("sweep.axis")}


def _same_as(preset: dict, choices: dict) -> bool:
    return all(choices[k] == preset[k] for k in ("x", "x_values", "y", "y_values", "iters"))


def apply_preset() -> None:
    """The preset selectbox's callback: put the preset's choices in place."""
    preset = sweeps.PRESETS.get(state.get("sweep.preset"))
    if preset is not None:
        state.update({f"sweep.{k}": v for k, v in preset.items()})


def apply_link(values: dict) -> None:
    """A link's sweep choices ({setting name: value}; those it leaves out: the defaults, as for the training
    options): put in place, with the question they match, or "Your own sweep"."""
    choices = {name: values.get(name, settings.SETTINGS[name].default) for name in settings.SETTINGS
               if name.startswith("sweep.") and name != "sweep.preset"}
    if "sweep.x_values" not in values:  # an option to vary without its values: the ones it starts with
        choices["sweep.x_values"] = sweeps.DEFAULT_X_VALUES[choices["sweep.x"]]
    if "sweep.y_values" not in values:
        choices["sweep.y_values"] = sweeps.DEFAULT_Y_VALUES.get(choices["sweep.y"], [])
    if choices["sweep.y"] == choices["sweep.x"]:
        choices["sweep.y"], choices["sweep.y_values"] = sweeps.NONE, []
    state.update(choices)
    matching = [name for name, preset in sweeps.PRESETS.items() if _same_as(preset, _choices())]
    state.set("sweep.preset", matching[0] if matching else sweeps.CUSTOM)


def mark_custom() -> None:
    """Every choice's callback: the preset reads "Custom" once the choices differ from it."""
    preset = sweeps.PRESETS.get(state.get("sweep.preset"))
    if preset is not None and not _same_as(preset, _choices()):
        state.set("sweep.preset", sweeps.CUSTOM)


def x_changed() -> None:
    x = state.get("sweep.x")
    state.set("sweep.x_values", sweeps.DEFAULT_X_VALUES[x])
    if state.get("sweep.y") == x:
        state.set("sweep.y", sweeps.NONE)
    mark_custom()


def y_changed() -> None:
    y = state.get("sweep.y")
    state.set("sweep.y_values", sweeps.DEFAULT_Y_VALUES.get(y, []))
    mark_custom()


def _values(name: str, variable: str) -> list:
    """The setting's values that the variable offers (a link or an old session may hold others); training images
    of the loaded data's count or more are all of them."""
    n_train = ui_data.store().data.n_train
    values = state.get(name)
    if variable == "train_size":
        values = [min(v, n_train) for v in values]
    offered = sweeps.offered(variable, n_train)
    return sorted({v for v in values if v in offered})


def controls() -> None:
    """The preset, the option(s) to vary and their values, and the length; folded in lecture mode."""
    st.selectbox(t("sweep.preset"), settings.choices("sweep.preset"), format_func=label_func(PRESET_LABELS),
                 help=t("sweep.preset_help"), **state.bind("sweep.preset", on_change=apply_preset))
    n_train = ui_data.store().data.n_train
    with st.expander(t("sweep.choices"), expanded=False) if state.lecture_mode() else nullcontext():
        c1, c2, c3 = st.columns([2, 2, 1])
        x = state.get("sweep.x")
        c1.selectbox(t("sweep.x"), settings.choices("sweep.x"), format_func=label_func(VARIABLE_LABELS),
                     help=t("sweep.x_help"), **state.bind("sweep.x", on_change=x_changed))
        c1.multiselect(t("sweep.values", name=t(VARIABLE_LABELS[x])), list(sweeps.offered(x, n_train)),
                       format_func=lambda v: sweeps.value_text(x, v), help=t("sweep.values_help"),
                       **state.bind("sweep.x_values", _values("sweep.x_values", x), on_change=mark_custom))
        y = state.get("sweep.y")
        ys = [v for v in settings.choices("sweep.y") if v != x]
        c2.selectbox(t("sweep.y"), ys, format_func=label_func(VARIABLE_LABELS), help=t("sweep.y_help"),
                     **state.bind("sweep.y", y if y in ys else sweeps.NONE, on_change=y_changed))
        y = state.get("sweep.y") if state.get("sweep.y") in ys else sweeps.NONE
        if y != sweeps.NONE:
            c2.multiselect(t("sweep.values", name=t(VARIABLE_LABELS[y])), list(sweeps.offered(y, n_train)),
                           format_func=lambda v: sweeps.value_text(y, v), help=t("sweep.values_help"),
                           **state.bind("sweep.y_values", _values("sweep.y_values", y), on_change=mark_custom))
        c3.number_input(t("sweep.iters"), **settings.limits("sweep.iters"), step=500, help=iters_help(),
                        **state.bind("sweep.iters", on_change=mark_custom, as_value=True))
    st.caption(t("sweep.base"))


def iters_help() -> str:
    """The iterations' help: how many epochs of the loaded images that many steps of 100 are."""
    n_train, iters = ui_data.store().data.n_train, state.get("sweep.iters")
    return t("sweep.iters_help", iters=f"{iters:,}", n_train=f"{n_train:,}",
             epochs=ui_data.number(round(ui_data.epochs(iters, 100, n_train), 1)))


def planned(n_train: int) -> tuple[sweeps.Sweep | None, list[sweeps.Cell]]:
    """The sweep the choices describe (no job ids yet) and its cells; (None, []) when a value list is empty."""
    x, y = state.get("sweep.x"), state.get("sweep.y")
    if y == x:
        y = sweeps.NONE
    xs = _values("sweep.x_values", x)
    ys = _values("sweep.y_values", y) if y != sweeps.NONE else []
    if not xs or (y != sweeps.NONE and not ys):
        return None, []
    cells = sweeps.grid(BASE.replace(iters=state.get("sweep.iters")), x, xs, y, ys, n_train=n_train)
    return sweeps.Sweep(x, sorted(xs), y, sorted(ys), state.get("sweep.iters")), cells


def refusal(n_runs: int) -> str | None:
    """Why a sweep of ``n_runs`` cannot start now, or None when it fits."""
    live = len(state.live_jobs())
    if sweeps.fits(n_runs, live, state.MAX_JOBS):
        return None
    return t("sweep.too_many", n=n_runs, free=sweeps.free_places(live, state.MAX_JOBS), max=state.MAX_JOBS,
             live=live)


def size_text(cells) -> str:
    """How many runs, how long each, and about how long in all: a visitor's runs train one after another, and the
    estimate is Train's (``ui.training_view.estimate_message``: it never waits for the speed measurement)."""
    data = ui_data.store().data
    total = sum(tv.estimate_message(cell.config, data, alongside=0)[2] for cell in cells)
    return t("sweep.size", n=len(cells), iters=f"{cells[0].config.iters:,}", total=analysis.format_duration(total),
             max=state.MAX_JOBS)


def start_clicked() -> None:
    """Start's ``on_click``: submit every cell as a run (in grid order), and remember them as the sweep."""
    data = ui_data.store().data
    sweep, cells = planned(data.n_train)
    if sweep is None:
        return
    problem = refusal(len(cells)) or limit_refusal(cells, data)
    if problem is not None:
        state.flash(problem)
        return
    # one training at a time per session: the first run joins the server's line (or the session's own, after a
    # run already going), each next one waits in the session's own line for the one before (ui.runner)
    started = [tv.start_run(cell.config) for cell in cells]
    sweep.job_ids = [job.id for job in started if job is not None]
    if sweep.job_ids:
        state.set_sweep(sweep)
    problem = state.take_limit_refusal()  # the line filled between the page and the click
    if problem:
        state.flash(problem)


def limit_refusal(cells, data) -> str | None:
    """The server's limits on a sweep (``ui.limits``): every run within the time cap (the first one over it is
    named), and a place in the server's line for its first run."""
    for cell in cells:
        over = tv.cap_refusal(cell.config, data)
        if over is not None:
            return f"{cell.label}: {over}"
    return None if state.last_unended_job() is not None else limits.line_refusal()  # (refusal() counted the runs)


def sweep_jobs() -> list:
    """The current sweep's jobs in grid order (None for one the session no longer keeps)."""
    sweep = state.sweep()
    return [] if sweep is None else [state.get_job(i) for i in sweep.job_ids]


def stop_clicked() -> None:
    """Stop the sweep: every run of it still training or waiting; each keeps what it has recorded."""
    live = [j for j in sweep_jobs() if j is not None and not j.run.done]
    for job in live:
        job.stop()
    for job in live:
        job.join(timeout=2.0)


def buttons(problem: str | None, ready: bool) -> None:
    live = any(j is not None and not j.run.done for j in sweep_jobs())
    b1, b2 = st.columns(2)
    b1.button(t("sweep.start"), type="primary", key=state.KEY_SWEEP_START, width="stretch", on_click=start_clicked,
              disabled=problem is not None or not ready)
    b2.button(t("sweep.stop"), key=state.KEY_SWEEP_STOP, width="stretch", on_click=stop_clicked, disabled=not live)


# -- the results -------------------------------------------------------------------------------------------------


def progress_line(jobs) -> str:
    kept = [j for j in jobs if j is not None]
    done = sum(1 for j in kept if j.run.done)
    diverged = sum(1 for j in kept if j.run.status == "diverged")
    running = sum(1 for j in kept if j.run.status == "running")
    text = t("sweep.progress", done=done, total=len(jobs), running=running)
    return text + (" " + t("sweep.n_diverged", n=diverged) if diverged else "")


def draw_results() -> None:
    """The sweep's progress, its small multiples and its accuracy chart (redrawn live while it trains)."""
    sweep = state.sweep()
    jobs = sweep_jobs()
    runs = [None if j is None else j.run for j in jobs]
    done = sum(1 for r in runs if r is None or r.done)
    st.progress(done / max(1, len(runs)), text=progress_line(jobs))
    lecture = state.lecture_mode()
    st.plotly_chart(sweeps.small_multiples_figure(sweep, runs, state.get("sweep.axis"), lecture=lecture),
                    key="sgd_sweep_curves", config={"displaylogo": False})
    st.plotly_chart(sweeps.accuracy_figure(sweep, runs, lecture=lecture), key="sgd_sweep_accuracy",
                    config={"displaylogo": False})


def results() -> None:
    sweep = state.sweep()
    if sweep is None:
        st.info(t("sweep.none_yet"))
        return
    st.subheader(t("sweep.results_title", what=" × ".join(
        t(VARIABLE_LABELS[v]) for v in (sweep.x, sweep.y) if v != sweeps.NONE)))
    st.radio(t("sweep.axis"), settings.choices("sweep.axis"), horizontal=True, format_func=label_func(AXIS_LABELS),
             help=t("sweep.axis_help"), **state.bind("sweep.axis"))
    jobs = [j for j in sweep_jobs() if j is not None]
    cv.live(jobs, draw_results, key="sgd_sweep_live")
    if any(j is None for j in sweep_jobs()):
        st.caption(t("sweep.some_gone", n=state.MAX_JOBS))
    st.caption(t("sweep.where_else"))


def page() -> None:
    """The whole page (pages/sweeps.py calls it)."""
    st.title(t("sweep.title"))
    st.caption(t("sweep.caption"))
    message = state.flash()
    if message:
        st.warning(message)
    data = ui_data.store().data
    charts = st.container()
    controls()
    sweep, cells = planned(data.n_train)
    problem = refusal(len(cells)) if cells else None
    if sweep is None:
        st.warning(t("sweep.choose_values"))
    elif problem is not None:
        st.error(problem)
    else:
        st.info(size_text(cells))
    buttons(problem, sweep is not None)
    with charts if state.lecture_mode() else st.container():
        results()
