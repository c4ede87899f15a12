"""The page URL as a shareable link: opening one sets the options, changing an option rewrites the URL.

``sync(page)`` runs once per script run (app.py, before the page). When the URL's known parameters
differ from those last read or written, the link was just opened (or edited by hand): its values go into the
session's settings (training options, language, lecture mode) and every bad value gets a line in one warning. Otherwise
the session's values are written to the URL, so the address bar is always a link to what is on the screen.
Widget callbacks run before the script, so a changed option is already in the session when ``sync`` runs.
"""

from __future__ import annotations

import streamlit as st

from ui import links, state, training_view as tv
from ui.i18n import t


def session_values(page: str) -> dict:
    """What the URL should say now: lang and lecture on every page, the training options on the Train page, the
    sweep's choices on Compare settings (``page``: the page's url_path)."""
    values = {"lang": state.language(), "lecture": state.lecture_mode()}
    if page == "train":
        values.update(links.from_config(tv.config_from_settings()))
    elif page == "sweeps":
        values.update({url: state.get(name) for url, name in links.SWEEP.items()})
    return values


def apply(values: dict) -> None:
    """Put link values into the session's settings: the training options (and the preset they match), the sweep's
    choices (and the question they match), language, lecture mode."""
    if "lang" in values:
        state.set_language(values["lang"])
    if "lecture" in values:
        state.set_lecture_mode(values["lecture"])
    training = {k: v for k, v in values.items() if k in links.TRAINING}
    if training:
        tv.set_config(links.to_config(training))  # a parameter left out: its default (README)
    sweep = {links.SWEEP[k]: v for k, v in values.items() if k in links.SWEEP}
    if sweep:
        from ui import sweep_view  # (it imports this module's neighbours; only a sweep link needs it)

        sweep_view.apply_link(sweep)


def notice_lines(notices: list[links.Notice]) -> str:
    lines = [t("links.bad_values")]
    for n in notices:  # an empty value is said so ("iters is empty"), not shown as an empty `code` span
        key = "links.bad_value" if n.given else "links.empty_value"
        lines.append(f"- {t(key, name=n.name, given=n.given, used=n.used, allowed=n.allowed)}")
    return "\n".join(lines)


def sync(page: str) -> None:
    current = links.ours(st.query_params.to_dict())
    language = state.language()
    if current != state.link_seen():  # a link was opened: the URL wins
        state.set_link_seen(current)
        values, notices = links.parse(current)
        apply(values)
        if notices:
            state.set_link_notices(notices)
    if state.language() == language:  # (when a link changes the language, app.py reruns at once: warn then)
        notices = state.take_link_notices()
        if notices:
            st.warning(notice_lines(notices), icon=":material/link_off:")
    desired = links.encode(session_values(page))
    if desired != current:  # the session wins: rewrite our parameters, keep any others
        for name in current:
            if name not in desired:
                del st.query_params[name]
        st.query_params.update(desired)
        state.set_link_seen(desired)


def share_box() -> None:
    """The link to the current settings, ready to copy (the address bar holds the same)."""
    query = links.query_string(session_values("train"))
    base = st.context.url or ""
    with st.expander(t("links.share_title"), icon=":material/link:"):
        st.caption(t("links.share_help"))
        st.code(base + query, language=None, wrap_lines=True)
