"""Loss curves: the per-iteration loss of one or several runs, smoothed or raw, whole run and first 1,000."""

import streamlit as st

from ui import compare_view as cv, state
from ui.i18n import t

st.title(t("curves.title"))
st.caption(t("curves.caption"))

jobs = state.jobs()
if not jobs:
    cv.no_runs_yet()
    st.stop()

charts = st.container() if state.lecture_mode() else None  # on a projector the chart comes first, on screen
chosen = cv.choose_runs(jobs)
smoothing, log_y, x_axis, view = cv.curve_controls()
if not chosen:
    st.warning(t("curves.choose"))
    st.stop()

with charts if charts is not None else st.container():
    cv.live(chosen, lambda: cv.loss_charts([state.get_job(j.id) or j for j in chosen], smoothing, log_y, x_axis,
                                           view), key="sgd_curves_live")

d1, d2 = st.columns(2)
d1.download_button(t("curves.csv_loss"), cv.loss_history_csv(chosen), file_name="sgdlab-loss.csv",
                   mime="text/csv", key="sgd_curves_csv_loss", width="stretch")
d2.download_button(t("curves.csv_accuracy"), cv.accuracy_history_csv(chosen),
                   file_name="sgdlab-accuracy.csv", mime="text/csv", key="sgd_curves_csv_acc", width="stretch")
