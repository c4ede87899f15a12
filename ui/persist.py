"""A reload loses nothing: the session's runs, drawing and settings come back after F5, or when the tab is closed and
the app opened again in the same browser within ``ui.session_store.DEFAULT_TTL_SECONDS`` (30 minutes).

How: the browser keeps a random token of its own (``ui.browser_id``: localStorage, never in the URL, so a shared
link carries nothing and another browser has another token); the server keeps, per token, the latest
``state.snapshot()`` of the session in a bounded store with an expiry (``ui.session_store``). A reload is a new
Streamlit session: its first script run does not know the token yet; the browser's answer reruns the script, and
that run takes the snapshot back before anything reads a setting (``restore_if_kept``); a new session's first run
draws no page until then, so the browser never holds default widget values to send back. Every script run ends by
putting the session's snapshot in the store (``keep``), under the browser's token and under its tab's: a reload
brings back that tab's own session (two tabs do not overwrite each other), a new tab the browser's latest. The snapshot shares the jobs with the live session (no
copy): the store costs memory only for sessions that are gone, and at most ``max_bytes`` for those.

app.py calls ``restore_if_kept()`` after ``state.init_session()`` and ``keep()`` when the page has run.
"""

from __future__ import annotations

import hashlib
from typing import Any

import streamlit as st

from ui import browser_id, links, session_store, state


def snapshot_bytes(snapshot: Any) -> int:
    """The memory a kept session holds on its own: the NumPy arrays of its runs (weights, losses, W1 snapshots) and
    of its step-through."""
    total = 0
    for job in getattr(snapshot, "jobs", ()):
        run = job.run
        total += sum(getattr(v, "nbytes", 0) for v in (run.params or {}).values())
        total += getattr(run.losses, "nbytes", 0)
        for _, w in getattr(run, "snapshots", ()) or ():  # W1, and the rest of the weights beside it (nn.train.Snapshot)
            total += getattr(w, "nbytes", 0) + sum(r.nbytes for r in (getattr(w, "rest", None) or {}).values())
    stepper = getattr(snapshot, "stepper", None)
    if stepper is not None:  # the Code page's step-through: a run in the making
        total += stepper.nbytes()
    return total + 2_000 * len(getattr(snapshot, "strokes", ()))  # a stroke: a few hundred points as lists


def store() -> session_store.SessionStore:
    return session_store.store(snapshot_bytes)


def restore_if_kept() -> str | None:
    """Mount the browser's token component; on the first run that knows the token, take back the session kept
    for it (unless this session already has runs or a drawing of its own). Returns the token (None until the
    browser has answered, or for good when it keeps none)."""
    token = browser_id.browser_token(state.KEY_BROWSER_TOKEN)
    first_run = state.count_script_run() == 1
    if first_run:  # what the browser opened: a link wins over a kept session (ui.link_view)
        state.set_opened_link(links.ours(st.query_params.to_dict()))
    if token is None and first_run and _in_a_browser() and not browser_id.browser_answered(state.KEY_BROWSER_TOKEN):
        # A new session's first run, before its browser has said which it is: draw no page yet. Its answer reruns
        # the script within a moment, and that run restores the kept session before any widget exists in the
        # page: a page drawn with the defaults first left the browser holding their values, which it could send
        # back as if the student had chosen them (a click during the restore) or keep showing (a run cut short).
        st.stop()
    if token is None or state.restored_for() == token:
        return token
    tab = browser_id.tab_token(state.KEY_BROWSER_TOKEN)
    kept = store().get(_tab_key(token, tab)) if tab else None  # a reload: this tab's own session
    kept = kept if kept is not None else store().get(token)  # a new tab: the browser's latest
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
        snapshot = state.snapshot()
        store().put(token, snapshot)
        tab = browser_id.tab_token(state.KEY_BROWSER_TOKEN)
        if tab:
            store().put(_tab_key(token, tab), snapshot)


def _tab_key(token: str, tab: str) -> str:
    """The store's key for one tab of a browser (a token of the same form: 32 hex characters)."""
    return hashlib.sha256(f"{token}:{tab}".encode()).hexdigest()[:32]


def _in_a_browser() -> bool:
    """Whether a real browser is connected (AppTest has none: it never answers, so it is not waited for)."""
    try:
        return bool(st.context.headers)
    except Exception:  # noqa: BLE001 - outside a script run
        return False
