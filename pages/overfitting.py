"""Overfitting check: train vs test accuracy per epoch, the gap, a verdict; the overfitting experiment in one click."""

import streamlit as st

from ui import compare_view as cv, data as ui_data, home_view, limits, state, training_view as tv
from ui.i18n import t

st.title(t("overfit.title"))
st.caption(t("overfit.caption", **ui_data.facts()))
home_view.sample_caveat("overfit")  # nothing on full MNIST

jobs = state.jobs()
book, overfit = cv.book_and_overfit_jobs(jobs)
charts = st.container() if state.lecture_mode() else None  # on a projector the verdict and charts come first

with st.container(border=True):
    st.markdown(t("overfit.experiment"))
    c1, c2 = st.columns(2)
    if c1.button(t("overfit.run_experiment"), type="primary", key=state.KEY_OVERFIT_START, width="stretch"):
        started = tv.start_run(tv.PRESETS[tv.OVERFIT])
        if started is not None:  # else a server limit refused it: shown below (ui.limits)
            cv.focus_run(started.id)
        st.rerun()
    if c2.button(t("overfit.run_book"), key=state.KEY_OVERFIT_BOOK, width="stretch",
                 disabled=book is not None and book.run.status != "stopped"):
        tv.start_run(tv.PRESETS[tv.BOOK])
        st.rerun()
    limits.show_refusal()

if not jobs:
    cv.no_runs_yet()
    st.stop()

job = cv.choose_run(jobs)
with charts if charts is not None else st.container():
    cv.live([job, *(j for j in (book, overfit) if j is not None)],
            lambda: (cv.overfit_panel(state.get_job(job.id) or job), cv.comparison_panel([book, overfit])),
            key="sgd_overfit_live")
