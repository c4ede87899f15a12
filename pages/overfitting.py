"""Overfitting check: train vs test accuracy per epoch, the gap, a verdict; the overfitting experiment in one click."""

import streamlit as st

from ui import compare_view as cv, state, training_view as tv

st.title("Overfitting check")
st.caption("Does the network learn digits, or memorise its training images? Compare the accuracy on the images it "
           "trains on with the accuracy on 10,000 images it never sees.")

jobs = state.runs()
book, overfit = cv.book_and_overfit_jobs(jobs)

with st.container(border=True):
    st.markdown("**The experiment**: train on only 300 images for 1,500 iterations (500 epochs), next to the "
                "book's run on all images.")
    c1, c2 = st.columns(2)
    if c1.button("Run the overfitting experiment", type="primary", key=state.KEY_OVERFIT_START, width="stretch"):
        cv.focus_run(tv.start_run(tv.PRESETS[tv.OVERFIT]).id)
        st.rerun()
    if c2.button("Run the book's §4.5 run too", key=state.KEY_OVERFIT_BOOK, width="stretch",
                 disabled=book is not None and book.run.status != "stopped"):
        tv.start_run(tv.PRESETS[tv.BOOK])
        st.rerun()

if not jobs:
    cv.no_runs_yet()
    st.stop()

job = cv.choose_run(jobs)
cv.live([job, *(j for j in (book, overfit) if j is not None)],
        lambda: (cv.overfit_panel(state.get_run(job.id) or job), cv.comparison_panel([book, overfit])),
        key="sgd_overfit_live")
