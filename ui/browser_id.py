"""A random token per browser, kept by the browser, for ``ui.session_store`` (a reload brings the session back).

``browser_token()`` mounts an invisible ``st.components.v2`` component (inline JS and CSS, no build step) whose
JS reads ``localStorage["sgdlab-token"]``, makes one when it is missing or malformed (16 bytes from
``crypto.getRandomValues`` as 32 lowercase hex characters) and sends it with ``setStateValue("token", ...)``.

- Why localStorage: it is per browser profile and per origin (scheme, host *and port*), survives reloads and
  closed tabs, is shared by the tabs of one browser, and is sent nowhere by itself: not in the URL (a shared link
  carries nothing), not with every request as a cookie would be (a cookie would also reach every other app on the
  same host, whatever its port). Another browser, or a private window, has its own.
- Why ``getRandomValues`` and not ``crypto.randomUUID``: the latter exists only in secure contexts (https or
  localhost); a classroom server at ``http://10.0.0.5:8501`` is neither.
- When localStorage is unavailable (blocked storage, some private modes, a sandboxed frame: reading it throws, or
  writing does not stick) it falls back to sessionStorage (this tab only: a reload still works, a new tab does
  not), and then to no token: the JS sends ``""``, ``browser_token`` returns None for good and the app works
  without reload persistence (``browser_answered`` tells this apart from "no answer yet").
- No rerun loop: the JS is given the token the server already has (``data.known``) and sends only when its own
  differs and it has not sent that value from this mount yet.
- No space on the page: zero height is not enough (Streamlit puts a 1rem gap between the elements of a block, a
  zero-height one included), so the component is mounted outside a shadow root and its CSS hides its own element
  container (``display: none``; the JS has run by then and runs again when ``data`` changes).

Cost: a new session (a first visit, and every reload: a reload is a new Streamlit session) has one extra script
run. The first run returns None (the browser has not answered yet); the answer reruns the script once; every later
run, and every page switch, has the token at once. When the first run is slow (a heavy page), the answer arrives
while it is still going and Streamlit stops it at its next ``st.*`` call and starts over, so mount this early in
the script (at the top of app.py, before ``pg.run()``) and restore a snapshot on the run where the token appears.

AppTest: the component is an ``UnknownElement`` and returns None; a test gives it a token with
``at.session_state["sgd_browser_token"] = {"token": "ab" * 16}`` before ``at.run()``.

The server trusts nothing from the browser: ``valid_token`` (32 lowercase hex characters) is checked on every read.
"""

from __future__ import annotations

import streamlit as st

from ui import state
from ui.session_store import valid_token

#: The localStorage (or sessionStorage) key the browser keeps its token under.
STORAGE_KEY = "sgdlab-token"
DEFAULT_KEY = "sgd_browser_token"

_JS = """
const STORAGE_KEY = '%s';
const TAB_KEY = STORAGE_KEY + '-tab';
const VALID = /^[0-9a-f]{32}$/;

function newToken() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

// The token kept in window[storageName], made and stored when missing or malformed; null when that storage
// cannot be read or does not keep what is written (private modes, blocked storage, quota).
function tokenIn(storageName) {
  try {
    const storage = window[storageName];
    if (!storage) return null;
    const kept = storage.getItem(STORAGE_KEY);
    if (kept && VALID.test(kept)) return kept;
    const made = newToken();
    storage.setItem(STORAGE_KEY, made);
    return storage.getItem(STORAGE_KEY) === made ? made : null;
  } catch (err) {
    return null;
  }
}

// This tab's own token: sessionStorage is per tab and survives its reloads (a reload restores this tab's session;
// a new tab starts from the browser's latest).
function tabToken() {
  try {
    const storage = window.sessionStorage;
    const kept = storage.getItem(TAB_KEY);
    if (kept && VALID.test(kept)) return kept;
    const made = newToken();
    storage.setItem(TAB_KEY, made);
    return storage.getItem(TAB_KEY) === made ? made : '';
  } catch (err) {
    return '';
  }
}

export default function (component) {
  const { parentElement, data, setStateValue } = component;
  const browser = tokenIn('localStorage') || tokenIn('sessionStorage') || '';   // '': this browser keeps none
  const tab = browser ? tabToken() : '';
  const token = tab ? browser + ':' + tab : browser;
  const known = data && typeof data.known === 'string' ? data.known : null;   // what the server has
  if (token === known) return;
  if (parentElement.__sgdlabSent === token) return;   // sent from this mount already; its rerun is on the way
  parentElement.__sgdlabSent = token;
  setStateValue('token', token);
}
""" % STORAGE_KEY

# Zero height is not enough: Streamlit puts a 1rem gap between the elements of a block, a zero-height one
# included. So the component is mounted outside a shadow root (isolate_styles=False: its CSS is the page's) and
# its CSS takes its element container out of the layout (display: none; the JS has run and keeps running on
# data changes). Browsers without :has() (before Chrome 105, Safari 15.4, Firefox 121) show the 1rem gap.
_HTML = '<span class="sgdlab-browser-token" hidden></span>'
# (More than one line on purpose: Streamlit takes a one-line string with "[" or "/" for a file path or glob.)
_CSS = """
[data-testid="stElementContainer"]:has(.sgdlab-browser-token):not(:has([data-testid="stElementContainer"])) {
  display: none;  /* the innermost element container around the token component: never a block around others */
}
"""
_component = st.components.v2.component("sgd_lab.browser_token", html=_HTML, css=_CSS, js=_JS,
                                        isolate_styles=False)


def _ignore() -> None:
    """The callback ``default=`` requires; the value is read on the rerun that follows."""


def _mount(key: str) -> object:
    known = state.widget_value(key)
    known = known.get("token") if isinstance(known, dict) else None
    result = _component(
        key=key,
        data={"known": known if isinstance(known, str) and (known == "" or _split(known)[0]) else None},
        default={"token": None},
        on_token_change=_ignore,
        width="stretch",
        height=0,
    )
    return result.get("token")


def _split(value: object) -> tuple[str | None, str | None]:
    """The browser's and the tab's token in what the component sent ("<browser>" or "<browser>:<tab>")."""
    if not isinstance(value, str) or len(value) > 2 * 32 + 1:
        return None, None
    browser, _, tab = value.partition(":")
    if not valid_token(browser):
        return None, None
    return browser, tab if valid_token(tab) else None


def browser_token(key: str = DEFAULT_KEY) -> str | None:
    """Mount the (invisible) component and return this browser's token as the server has it: None on a new
    session's first script run (the browser has not answered yet; it reruns the script once when it does), and
    None for good when the browser can keep no token. Call it once per script run, in the same place."""
    return _split(_mount(key))[0]


def tab_token(key: str = DEFAULT_KEY) -> str | None:
    """This tab's own token (kept in its sessionStorage: the same after a reload of the tab, another in another
    tab), or None; read after ``browser_token``, mounts nothing."""
    value = state.widget_value(key)
    return _split(value.get("token") if isinstance(value, dict) else None)[1]


def browser_answered(key: str = DEFAULT_KEY) -> bool:
    """True once the browser has answered the component mounted under ``key`` in this session, with a token or
    with "none kept" ("": it can keep none). Any string counts, so a tampered answer does not leave a page waiting
    for ever; ``browser_token`` still returns only a valid token. Read after ``browser_token``; mounts nothing."""
    value = state.widget_value(key)
    value = value.get("token") if isinstance(value, dict) else None
    return isinstance(value, str)
