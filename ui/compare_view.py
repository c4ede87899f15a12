"""The loss-curves and overfitting pages' pieces: choosing runs, building their series, CSV export, live panels."""

from __future__ import annotations

from contextlib import nullcontext

import numpy as np
import pandas as pd
import streamlit as st

from ui import analysis, data as ui_data, figures, runner, settings, state, training_view as tv
from ui.i18n import label_func, t

SMOOTHING_DEFAULT = 0.6
FIRST_ITERATIONS = 1_000


def colour_of(job) -> str:
    """A run keeps its colour on every page: picked from its id."""
    return figures.colour(job.id - 1)


def loss_series(job) -> figures.LossSeries:
    run = job.run
    return figures.LossSeries(job.name, run.losses[: run.iterations_done], run.iters_per_epoch, colour_of(job))


def accuracy_series(job) -> figures.AccuracySeries:
    epochs = list(job.run.epochs)
    return figures.AccuracySeries(
        name=job.name,
        epoch=np.array([e.epoch for e in epochs], dtype=float),
        iteration=np.array([e.iteration for e in epochs], dtype=float),
        train_acc=np.array([e.train_acc for e in epochs], dtype=float),
        test_acc=np.array([e.test_acc for e in epochs], dtype=float),
        colour=colour_of(job),
    )


def _history_csv(jobs, frame_of, columns: str) -> str:
    """The frames ``frame_of(run)`` of ``jobs`` stacked in one CSV, each row led by its run's name."""
    frames = []
    for job in jobs:
        frame = frame_of(job.run)
        frame.insert(0, "run", job.name)
        frames.append(frame)
    if not frames:
        return columns + "\n"
    return pd.concat(frames, ignore_index=True).to_csv(index=False, float_format="%.6g")


def loss_history_csv(jobs) -> str:
    """Every iteration's loss of ``jobs`` in one long table: run, iteration, epoch, loss."""
    return _history_csv(jobs, lambda run: run.loss_frame(), "run,iteration,epoch,loss")


def accuracy_history_csv(jobs) -> str:
    """Every accuracy measurement of ``jobs``: run, epoch, iteration, train_acc, test_acc, gap, elapsed_s, final."""
    return _history_csv(jobs, lambda run: run.accuracy_frame(),
                        "run,epoch,iteration,train_acc,test_acc,gap,elapsed_s,final")


def no_runs_yet() -> None:
    st.info(t("curves.no_runs"))
    st.page_link("pages/train.py", label=t("curves.go_train"), icon=":material/model_training:")


def live(jobs, draw, key: str) -> None:
    """Call ``draw()`` in a fragment that refreshes while any of ``jobs`` trains or waits (at ``runner.refresh_for``
    rates), and reruns the page when that changes."""
    rates = runner.refresh_for(jobs)
    ids = [j.id for j in jobs]

    @st.fragment(run_every=rates.chart or rates.status, key=key)
    def _panel() -> None:
        draw()
        current = [j for j in (state.get_job(i) for i in ids) if j is not None]
        if rates.status is not None and runner.must_redraw_page(rates, runner.refresh_for(current)):
            st.rerun()

    with st.container():  # alone in its box: ``ui.runner`` (Timed fragments)
        _panel()


# -- loss curves page ------------------------------------------------------------------------------------------


def chosen_run_ids(jobs) -> list[int]:
    """The runs the loss curves show: the student's choice (those still kept), else the newest three."""
    ids = [j.id for j in jobs]
    chosen = state.get("curves.runs")
    if chosen is None:
        return ids[-3:]
    return [i for i in chosen if i in ids]


def choose_runs(jobs) -> list:
    names = {j.id: j.name for j in jobs}
    chosen = chosen_run_ids(jobs)
    st.multiselect(t("curves.runs"), list(names), format_func=names.get, help=t("curves.runs_help"),
                   **state.bind("curves.runs", chosen))
    chosen = chosen_run_ids(jobs)
    return [j for j in jobs if j.id in chosen]


CURVES_VIEWS = settings.choices("curves.view")  # curves.view_<name>


def curve_controls() -> tuple[float, bool, str, str]:
    """(smoothing, log y, x axis, view): the widgets, folded into an expander in lecture mode."""
    lecture = state.lecture_mode()
    with st.expander(t("lecture.chart_options"), expanded=False) if lecture else nullcontext():
        _curve_widgets()
    return float(state.get("curves.smooth")), state.get("curves.log") == "log", (
        "epoch" if state.get("curves.x") == "epochs" else "iteration"
    ), state.get("curves.view")


def _curve_widgets() -> None:
    c1, c2, c3, c4 = st.columns([2, 1, 1, 1.3])
    c1.slider(t("curves.smoothing"), **settings.limits("curves.smooth"), step=0.01, help=t("curves.smoothing_help"),
              **state.bind("curves.smooth"))
    c2.radio(t("curves.y_axis"), settings.choices("curves.log"), horizontal=True,
             format_func=label_func({"linear": "curves.y_linear", "log": "curves.y_log"}), help=t("curves.y_axis_help"),
             **state.bind("curves.log"))
    c3.radio(t("curves.x_axis"), settings.choices("curves.x"), horizontal=True,
             format_func=label_func({"iterations": "curves.x_iterations", "epochs": "curves.x_epochs"}),
             help=t("curves.x_axis_help", **ui_data.facts()), **state.bind("curves.x"))
    c4.radio(t("curves.view"), CURVES_VIEWS, horizontal=True,
             format_func=label_func({v: f"curves.view_{v}" for v in CURVES_VIEWS}, n=f"{FIRST_ITERATIONS:,}"),
             help=t("curves.view_help"), **state.bind("curves.view"))


def loss_charts(jobs, smoothing: float, log_y: bool, x_axis: str, view: str = "both") -> None:
    """The whole run and the first 1,000 iterations side by side (``view`` "both"), or one of them full width."""
    series = [loss_series(j) for j in jobs]
    lecture = state.lecture_mode()
    charts = []
    if view in ("both", "whole"):
        charts.append(("sgd_curves_whole", figures.loss_curves_figure(
            series, smoothing, log_y, x_axis, title=t("curves.whole"), lecture=lecture)))
    if view in ("both", "first"):
        charts.append(("sgd_curves_first", figures.loss_curves_figure(
            series, smoothing, log_y, x_axis, first=FIRST_ITERATIONS, title=t("curves.first", n=f"{FIRST_ITERATIONS:,}"),
            lecture=lecture)))
    for column, (key, fig) in zip(st.columns(len(charts)), charts):
        column.plotly_chart(fig, key=key, config={"displaylogo": False})
    status = " · ".join(f"{j.name}: {j.status_text()}" for j in jobs)
    st.caption(status)


# -- overfitting page ------------------------------------------------------------------------------------------


def focus_run(job_id: int) -> None:
    """Show ``job_id`` on the overfitting page from its next run on."""
    state.set("overfit.run", job_id)


def shown_run_id(jobs) -> int:
    """The run the overfitting page shows: the student's (or a one-click experiment's) choice while it is kept,
    else the newest run."""
    ids = [j.id for j in jobs]
    chosen = state.get("overfit.run")
    return chosen if chosen in ids else ids[-1]


def choose_run(jobs):
    names = {j.id: j.name for j in jobs}
    gone = state.get("overfit.run") is not None and state.get("overfit.run") not in names
    st.selectbox(t("overfit.run"), list(names), format_func=names.get, help=t("overfit.run_help"),
                 **state.bind("overfit.run", shown_run_id(jobs)))
    if gone:
        st.caption(t("models.gone", n=state.MAX_JOBS))
    return state.get_job(shown_run_id(jobs))


def verdict_box(job) -> None:
    s = accuracy_series(job)
    verdict = analysis.overfitting_verdict(s.train_acc, s.test_acc, job.run.n_train or None,
                                           fewer=analysis.FewerImages.of(job.run))
    if verdict.level == "none" and job.run.done:  # not "wait for the next one": no measurement is coming
        verdict = analysis.Verdict("none", t("verdict.none_done"))
    box = {"fine": st.success, "memorised": st.error, "overfit": st.error, "peaked": st.warning,
           "mild": st.warning, "underfit": st.info, "none": st.info}[verdict.level]
    if verdict.fewer_images:  # the data's gap, not the run's fault: the slides' data would not show it
        box = st.warning
    box(f"**{verdict.headline}**" + (f"  \n{verdict.detail}" if verdict.detail else ""))


def overfit_panel(job) -> None:
    s = accuracy_series(job)
    verdict_box(job)
    lecture = state.lecture_mode()
    left, right = st.columns([3, 2])
    left.plotly_chart(figures.accuracy_figure([s], lecture=lecture), key="sgd_overfit_acc",
                      config={"displaylogo": False})
    right.plotly_chart(figures.gap_figure(s.epoch, s.train_acc, s.test_acc, lecture=lecture), key="sgd_overfit_gap",
                       config={"displaylogo": False})
    st.caption(t("overfit.trained_on", name=job.name, status=job.status_text(), n_train=f"{job.run.n_train:,}",
                 n_test=f"{job.run.n_test:,}"))


def preset_job(jobs, config):
    """The run of ``config`` a comparison should use: the newest finished one, else one training or waiting (it
    is drawn live), else the newest that stopped or diverged; None when there is none."""
    same = [j for j in jobs if j.config == config]
    for wanted in (("finished",), ("running", "pending")):
        found = next((j for j in reversed(same) if j.run.status in wanted), None)
        if found is not None:
            return found
    return same[-1] if same else None


def book_and_overfit_jobs(jobs):
    """The run with the book's settings and the run with the overfit preset's to compare (see ``preset_job``)."""
    return preset_job(jobs, tv.PRESETS[tv.BOOK]), preset_job(jobs, tv.PRESETS[tv.OVERFIT])


def comparison_panel(jobs) -> None:
    shown = [j for j in jobs if j is not None and j.run.epochs]
    if not shown:
        return
    fig = figures.accuracy_figure(
        [accuracy_series(j) for j in shown], x_axis="iteration", shade_gap=False,
        title=t("overfit.compare_title"), lecture=state.lecture_mode(),
    )
    st.plotly_chart(fig, key="sgd_overfit_compare", config={"displaylogo": False})
    st.caption(t("overfit.compare_caption", n_test=f"{shown[0].run.n_test:,}"))
