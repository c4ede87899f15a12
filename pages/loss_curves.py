"""Loss curves: the per-iteration loss of one or several runs, smoothed or raw, whole run and first 1,000."""

import streamlit as st

from ui import compare_view as cv, state

st.title("Loss curves")
st.caption("The loss on each mini-batch falls as the weights are updated — the two figures of the slides.")

jobs = state.runs()
if not jobs:
    cv.no_runs_yet()
    st.stop()

chosen = cv.choose_runs(jobs)
smoothing, log_y, x_axis = cv.curve_controls()
if not chosen:
    st.warning("Choose at least one run above.")
    st.stop()

cv.live(chosen, lambda: cv.loss_charts([state.get_run(j.id) or j for j in chosen], smoothing, log_y, x_axis),
        key="sgd_curves_live")

d1, d2 = st.columns(2)
d1.download_button("Download the loss history (CSV)", cv.loss_history_csv(chosen), file_name="sgdlab-loss.csv",
                   mime="text/csv", key="sgd_curves_csv_loss", width="stretch")
d2.download_button("Download the accuracy history (CSV)", cv.accuracy_history_csv(chosen),
                   file_name="sgdlab-accuracy.csv", mime="text/csv", key="sgd_curves_csv_acc", width="stretch")
