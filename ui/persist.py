"""A reload loses nothing: the session's runs, drawing and settings come back after F5, or when the tab is closed and
the app opened again in the same browser within ``ui.session_store.DEFAULT_TTL_SECONDS`` (30 minutes).

How: the browser keeps a random token of its own (``ui.browser_id``: localStorage, never in the URL, so a shared
link carries nothing and another browser has another token); the server keeps, per token, the latest
``state.snapshot()`` of the session in a bounded store with an expiry (``ui.session_store``). A reload is a new
Streamlit session: its first script run does not know the token yet; the browser's answer reruns the script, and
that run takes the snapshot back before anything reads a setting (``restore_if_kept``). Every script run ends by
putting the session's snapshot in the store (``keep``). The snapshot shares the jobs with the live session (no
copy): the store costs memory only for sessions that are gone, and at most ``max_bytes`` for those.

app.py calls ``restore_if_kept()`` after ``state.init_session()`` and ``keep()`` when the page has run.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from ui import browser_id, links, session_store, state


def snapshot_bytes(snapshot: Any) -> int:
    """The memory a kept session holds on its own: the NumPy arrays of its runs (weights, losses, W1 snapshots)."""
    total = 0
    for job in getattr(snapshot, "jobs", ()):
        run = job.run
        total += sum(getattr(v, "nbytes", 0) for v in (run.params or {}).values())
        total += getattr(run.losses, "nbytes", 0)
        total += sum(getattr(w, "nbytes", 0) for _, w in getattr(run, "snapshots", ()) or ())
    return total + 2_000 * len(getattr(snapshot, "strokes", ()))  # a stroke: a few hundred points as lists


def store() -> session_store.SessionStore:
    return session_store.store(snapshot_bytes)


def restore_if_kept() -> str | None:
    """Mount the browser's token component; on the first run that knows the token, take back the session kept
    for it (unless this session already has runs or a drawing of its own). Returns the token (None until the
    browser has answered, or for good when it keeps none)."""
    token = browser_id.browser_token(state.KEY_BROWSER_TOKEN)
    if token is None or state.restored_for() == token:
        return token
    kept = store().get(token)
    if kept is not None and not state.jobs() and not state.strokes():
        state.restore(kept)
        if state.opened_link():  # a link (or a reload of one): the URL wins over the kept settings, as always
            state.set_link_seen(None)
        else:  # the app opened plainly: the kept settings win, and the address bar is rewritten to them
            state.set_link_seen(links.ours(st.query_params.to_dict()))
    state.set_restored_for(token)
    return token


def keep() -> None:
    """Put this session's snapshot in the store under the browser's token (after every script run)."""
    token = state.restored_for()
    if token is not None:
        store().put(token, state.snapshot())
