"""Train: every option of §4.5 as a widget, Start/Stop, and the run drawn live."""

import streamlit as st

from ui import data as ui_data, state, training_view as tv

st.title("Train the network")
st.caption("Mini-batch SGD as in §4.5: draw a mini-batch, compute the gradient, step against it — repeat.")

data = ui_data.store().data
settings, live = st.columns([5, 7], gap="large")

with settings:
    tv.settings_widgets(data.n_train)
    config, problems, notes = tv.checked_config(data)
    for note in notes:
        st.caption(note)
    for problem in problems:
        st.error(problem)
    kind, text, seconds = tv.estimate_message(config, data) if not problems else ("info", "", 0.0)
    if text:
        getattr(st, kind)(text)
    needs_confirm = seconds > tv.CONFIRM_SECONDS
    if needs_confirm:
        st.checkbox(f"Yes, train for {tv.analysis.format_duration(seconds)}", key=state.KEY_CONFIRM_SLOW)
    active = state.active_run()
    b1, b2 = st.columns(2)
    start = b1.button(
        "Start", type="primary", key=state.KEY_START, width="stretch",
        disabled=bool(problems) or (needs_confirm and not st.session_state.get(state.KEY_CONFIRM_SLOW)),
    )
    stop = b2.button("Stop", key=state.KEY_STOP, width="stretch", disabled=active is None)
    if start:
        tv.start_run(config)
        st.rerun()
    if stop and active is not None:
        active.stop()
        active.join(timeout=2.0)
        st.rerun()

with live:
    job = state.latest_run()
    if job is None:
        st.info("Press **Start** to train. The loss curve and the accuracy table fill in here as the network learns.")
    else:
        tv.live_view(job)

jobs = state.runs()
if jobs:
    st.subheader("Your runs")
    st.caption(f"This session keeps your last {state.MAX_RUNS} runs; nobody else sees them.")
    st.dataframe(tv.runs_table(jobs), hide_index=True, width="stretch", key="sgd_train_runs_table")
