"""The sidebar every page shares: language, lecture mode, which data is loaded, and the visitor's current run."""

from __future__ import annotations

import streamlit as st

from ui import data as ui_data, i18n, lecture, runner, state
from ui.i18n import t


def run_status_line() -> str:
    """"idle", "training 3,400 of 10,000", "waiting — place 2 in line", "finished: test 94.6%"..."""
    job = state.active_run() or state.latest_run()
    return t("sidebar.idle") if job is None else job.status_text()


def _on_language() -> None:
    code = st.session_state.get(state.KEY_LANG_CONTROL)
    if code and code != i18n.language():  # None when the selected option was clicked again: keep the language
        i18n.set_language(code)
        state.reassert_widget_values()


def _on_lecture() -> None:
    state.set_lecture_mode(st.session_state.get(state.KEY_LECTURE_CONTROL, False))


def settings() -> None:
    """Language (switchable at any time: runs, widget values and a running training stay) and lecture mode.

    Both live in plain session keys (``state.KEY_LANG``, ``state.KEY_LECTURE``) that the widgets mirror: a
    widget's own value does not survive every page switch (``st.switch_page`` from a button dropped it)."""
    st.session_state[state.KEY_LANG_CONTROL] = i18n.language()
    st.session_state[state.KEY_LECTURE_CONTROL] = state.lecture_mode()
    st.segmented_control(
        t("lang.label"), list(i18n.LANGUAGES), format_func=i18n.LANGUAGES.get, key=state.KEY_LANG_CONTROL,
        on_change=_on_language, label_visibility="collapsed",
    )
    st.toggle(t("lecture.toggle"), key=state.KEY_LECTURE_CONTROL, on_change=_on_lecture, help=t("lecture.toggle_help"))


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
        active = state.active_run() is not None

        @st.fragment(run_every=runner.refresh().sidebar if active else None)
        def _status() -> None:
            st.text(run_status_line())

        _status()
    lecture.apply_style()
