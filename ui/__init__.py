"""Streamlit glue shared by SGD Lab's pages: session state (``ui.state``), MNIST for the app (``ui.data``), the
background training runner (``ui.runner``), pure Plotly figure builders (``ui.figures``), the shared sidebar and
the training views. Nothing in ``nn/`` imports from here.
"""

# Streamlit's old multipage mode: a server whose *first* request opens a page URL (/train) before app.py has
# ever called st.navigation runs pages/*.py directly, without app.py (no shared sidebar, every file in pages/
# listed) — and stays so for every visitor, because the switch is process-wide and only st.navigation turns
# it off. Pages import ui first thing, so turn it off here and rerun once through app.py.
def _leave_old_multipage_mode() -> None:
    try:
        from streamlit.runtime.pages_manager import PagesManager
        from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx
    except ImportError:  # a Streamlit without that switch: nothing to do
        return
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        if get_script_run_ctx(suppress_warning=True) is not None:
            import streamlit as st

            st.rerun()


_leave_old_multipage_mode()
