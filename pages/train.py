"""Train: every option of §4.5 as a widget, Start/Stop, and the run drawn live."""

import streamlit as st

from ui import data as ui_data, home_view, limits, link_view, model_files, state, training_view as tv
from ui.i18n import t

st.title(t("train.title"))
st.caption(t("train.caption"))
home_view.sample_caveat("train", "sample.train_note")  # on the offline sample: its numbers, one click to full MNIST

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
    if text and tv.show_estimate(config):
        getattr(st, kind)(text)
    before = state.last_unended_job()  # a further run waits for it in the session's own line
    over_cap = tv.cap_refusal(config, data, seconds) if not problems else None  # the server's limits (ui.limits)
    own_full = tv.own_line_refusal() if not problems and not over_cap else None
    full = tv.line_refusal() if not problems and not over_cap else None  # the server's line: Start tries again
    refusal = over_cap or full
    if refusal:
        st.error(refusal, icon=":material/block:")
    needs_confirm = seconds > tv.CONFIRM_SECONDS and not over_cap
    if needs_confirm:
        st.checkbox(t("train.confirm", duration=tv.analysis.format_duration(seconds)), **state.bind("train.confirm_slow", as_value=True))
    active = state.active_job()
    if before is not None and not refusal:
        st.caption(limits.own_line_note(before))
    limits.show_refusal(shown=refusal)
    b1, b2 = st.columns(2)
    b1.button(
        t("train.start"), type="primary", key=state.KEY_START, width="stretch", on_click=tv.start_clicked,
        disabled=bool(problems) or bool(over_cap or own_full) or (needs_confirm and not state.get("train.confirm_slow")),
    )
    b2.button(t("train.stop"), key=state.KEY_STOP, width="stretch", disabled=active is None, on_click=tv.stop_clicked)
    link_view.share_box()

with live:
    job = state.latest_job()
    if job is None:
        tv.idle_view(config)
    else:
        tv.live_view(job)

jobs = state.jobs()
if jobs:
    st.subheader(t("train.runs_title"))
    st.caption(t("train.runs_caption", n=state.MAX_JOBS))
    st.dataframe(tv.runs_table(jobs), hide_index=True, width="stretch", key="sgd_train_runs_table")

model_files.panel()
