"""The sidebar every page shares: language, lecture mode, which data is loaded, and the visitor's current run."""

from __future__ import annotations

import streamlit as st

from ui import data as ui_data, i18n, lecture, persist, runner, state
from ui.i18n import t


def run_status_line() -> str:
    """"idle", "training 3,400 of 10,000", "waiting — place 2 in line", "finished: test 94.6%"..."""
    job = state.active_job() or state.latest_job()
    return t("sidebar.idle") if job is None else job.status_text()


def settings() -> None:
    """Language (switchable at any time: runs, settings and a running training stay) and lecture mode."""
    st.segmented_control(
        t("lang.label"), list(i18n.LANGUAGES), format_func=i18n.LANGUAGES.get, label_visibility="collapsed",
        **state.bind("lang"),
    )
    st.toggle(t("lecture.toggle"), help=t("lecture.toggle_help"), **state.bind("lecture", as_value=True))


def render() -> None:
    store = ui_data.ensure_download()
    with st.sidebar:
        settings()
        st.markdown(t("sidebar.data"))
        data = store.data
        st.caption(ui_data.dataset_summary(data))
        status = store.status
        if status.state == "running":
            st.caption(t("sidebar.downloading", fraction=f"{status.fraction:.0%}"))
        elif status.state == "failed":
            st.caption(t("sidebar.download_failed"))
        st.markdown(t("sidebar.current_run"))
        rates = runner.refresh(state.active_job())

        @st.fragment(run_every=rates.sidebar)
        def _status() -> None:
            st.text(run_status_line())
            persist.keep()  # a run watched for long without a click: its session stays kept for a reload
            if rates.sidebar is not None and runner.must_redraw_page(rates, runner.refresh(state.active_job())):
                st.rerun()

        with st.container():  # alone in its box: ``ui.runner`` (Timed fragments)
            _status()
    lecture.apply_style()
