"""The page URL as a shareable link: opening one sets the options, changing an option rewrites the URL.

``sync(on_train_page)`` runs once per script run (app.py, before the page). When the URL's known parameters
differ from those last read or written, the link was just opened (or edited by hand): its values go into the
session (training widgets, language, lecture mode) and every bad value gets a line in one warning. Otherwise
the session's values are written to the URL, so the address bar is always a link to what is on the screen.
Widget callbacks run before the script, so a changed option is already in the session when ``sync`` runs.
"""

from __future__ import annotations

import streamlit as st

from ui import links, state, training_view as tv
from ui.i18n import t


def _training_values() -> dict:
    try:
        return links.from_config(tv.config_from_widgets())
    except (KeyError, TypeError, ValueError):
        return links.from_config(tv.PRESETS[tv.BOOK])


def session_values(on_train_page: bool) -> dict:
    """What the URL should say now: lang and lecture on every page, the training options on the Train page."""
    values = {"lang": state.language(), "lecture": state.lecture_mode()}
    if on_train_page:
        values.update(_training_values())
    return values


def apply(values: dict) -> None:
    """Put link values into the session: the training widgets (and the preset they match), language, lecture."""
    ss = st.session_state
    if "lang" in values and values["lang"] != state.language():
        state.set_language(values["lang"])
        state.reassert_widget_values()  # the choices' labels change with the language (see there)
        ss.pop(state.KEY_LANG_CONTROL, None)  # the sidebar's control shows the new language
    if "lecture" in values:
        state.set_lecture_mode(values["lecture"])
    training = {k: v for k, v in values.items() if k in links.TRAINING}
    if training:
        tv.init_widgets()
        config = links.to_config(training, base=links.to_config(_training_values()))
        ss.update(tv.widget_values(config))
        ss[state.KEY_PRESET] = next((name for name, c in tv.PRESETS.items() if c == config), tv.CUSTOM)


def notice_lines(notices: list[links.Notice]) -> str:
    lines = [t("links.bad_values")]
    lines += [f"- {t('links.bad_value', name=n.name, given=n.given, used=n.used, allowed=n.allowed)}" for n in notices]
    return "\n".join(lines)


def sync(on_train_page: bool) -> None:
    ss = st.session_state
    current = links.ours(st.query_params.to_dict())
    language = state.language()
    if current != ss.get(state.KEY_LINK_SEEN):  # a link was opened: the URL wins
        ss[state.KEY_LINK_SEEN] = current
        values, notices = links.parse(current)
        apply(values)
        if notices:
            ss[state.KEY_LINK_NOTICES] = notices
    if state.language() == language:  # (when a link changes the language, app.py reruns at once: warn then)
        notices = ss.pop(state.KEY_LINK_NOTICES, None)
        if notices:
            st.warning(notice_lines(notices), icon=":material/link_off:")
    desired = links.encode(session_values(on_train_page))
    if desired != current:  # the session wins: rewrite our parameters, keep any others
        for name in current:
            if name not in desired:
                del st.query_params[name]
        st.query_params.update(desired)
        ss[state.KEY_LINK_SEEN] = desired


def share_box() -> None:
    """The link to the current settings, ready to copy (the address bar holds the same)."""
    query = links.query_string(session_values(True))
    base = st.context.url or ""
    with st.expander(t("links.share_title"), icon=":material/link:"):
        st.caption(t("links.share_help"))
        st.code(base + query, language=None, wrap_lines=True)
