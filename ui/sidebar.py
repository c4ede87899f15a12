"""The sidebar every page shares: which data is loaded, and the state of the visitor's current run."""

from __future__ import annotations

import streamlit as st

from ui import data as ui_data, state

SIDEBAR_POLL_SECONDS = 1.0


def run_status_line() -> str:
    """"idle", "training 3,400 of 10,000", "waiting — place 2 in line", "finished: test 94.6%"..."""
    job = state.active_run() or state.latest_run()
    return "idle" if job is None else job.status_text()


def render() -> None:
    store = ui_data.ensure_download()
    with st.sidebar:
        st.markdown("**Data**")
        data = store.data
        st.caption(ui_data.dataset_summary(data))
        status = store.status
        if status.state == "running":
            st.caption(f"Downloading full MNIST… {status.fraction:.0%}")
        elif status.state == "failed":
            st.caption("Full MNIST could not be downloaded: see Home.")
        st.markdown("**Current run**")
        active = state.active_run() is not None

        @st.fragment(run_every=SIDEBAR_POLL_SECONDS if active else None)
        def _status() -> None:
            st.text(run_status_line())

        _status()
