"""One guard around Streamlit itself: a widget value a browser sends that Python cannot parse.

A component's value reaches the server as JSON text, and Streamlit parses it (``json.loads``) when the value is
first read, before any app code runs: in the check of which widgets changed, at the start of every script run. A
value nested deeper than Python's reader goes (about 1,000 levels: ``[[[[…]]]]``) raises ``RecursionError`` there,
and since the unparsed value stays in the session, every later run of that tab fails the same way until a reload.
Our canvas's JS never sends such a value; a tampered browser can.

``install()`` wraps Streamlit's one function that unpacks a widget's value: a value it cannot parse (too deep, or
not JSON) is read as ``None``, a cleared value, which every widget handles, and ``on_drop()`` is called (the app
leaves a one-line notice for the page: the drawing is as it was). The raw text is dropped with the value, so
nothing of it stays in memory. Only values Python's JSON reader refuses are touched: every
value it can read is unpacked by Streamlit's own code, unchanged.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

_LOG = logging.getLogger("sgdlab")
#: Streamlit's modules that call the unpacking function by a name of their own (``from … import …``).
_MODULES = (
    "streamlit.runtime.state.common",
    "streamlit.runtime.state.session_state",
    "streamlit.runtime.agent.widget_writes",
)


#: Called (in the session's script thread) when a value is dropped; set by ``install``.
_on_drop: list[Callable[[], None]] = []


def _guarded(unpack):
    def unpack_widget_state_value(widget_state) -> Any:
        try:
            return unpack(widget_state)
        except (RecursionError, ValueError) as exc:
            # ValueError: JSONDecodeError, and int('1' * 5000) in json.loads (Python's limit on digits in an int).
            _LOG.warning("A widget value from a browser could not be read (%s); it is dropped.", type(exc).__name__)
            for hook in _on_drop:
                try:
                    hook()
                except Exception:  # a notice must never turn the drop back into an error
                    _LOG.exception("on_drop hook failed")
            return None

    unpack_widget_state_value.__sgdlab_guard__ = unpack
    return unpack_widget_state_value


def install(on_drop: Callable[[], None] | None = None) -> bool:
    """Guard the unpacking of widget values (once per process; later calls only keep ``on_drop``, the one hook
    called when a value is dropped). True when installed."""
    import importlib

    _on_drop[:] = [on_drop] if on_drop is not None else []
    modules = []
    for name in _MODULES:
        try:
            modules.append(importlib.import_module(name))
        except ImportError:  # a Streamlit without that module: guard the others
            continue
    holders = [m for m in modules if hasattr(m, "unpack_widget_state_value")]
    if not holders:
        return False
    for module in holders:
        current = module.unpack_widget_state_value
        if not hasattr(current, "__sgdlab_guard__"):
            module.unpack_widget_state_value = _guarded(current)
    return True


def installed() -> bool:
    """Whether the function Streamlit's session state calls is the guarded one."""
    from streamlit.runtime.state import session_state

    return hasattr(getattr(session_state, "unpack_widget_state_value", None), "__sgdlab_guard__")
