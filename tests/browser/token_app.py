"""A tiny app for tests/browser/test_browser_id.py: shows the browser token the server received.

The component sits between "above" and "below", so the test can check that it takes no space (the gap between
"above" and "below" equals the gap between "below" and "after", two plain neighbours). It counts the script runs
that started and the ones that reached the end (a run the browser's answer interrupts does not). ``?slow=1``
makes every run take a second after the component is mounted, the way a heavy page would.
"""

import time

import streamlit as st

from ui.browser_id import browser_answered, browser_token

state = st.session_state
state["started"] = state.get("started", 0) + 1
st.markdown("above")
token = browser_token()
st.markdown("below")
st.markdown("after")
if st.query_params.get("slow") == "1":
    time.sleep(1.0)
st.markdown(f"token: {token}" if token else "token: none")
st.markdown(f"answered: {'yes' if browser_answered() else 'no'}")
st.button("Rerun")
state["finished"] = state.get("finished", 0) + 1
st.markdown(f"runs: {state['started']} started, {state['finished']} finished")
