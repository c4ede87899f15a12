"""SGD Lab: `streamlit run app.py`. This file only routes; each page lives in pages/ and calls into ui/."""

import os

import streamlit as st

from ui import i18n, link_view, persist, sidebar, state, streamlit_guard
from ui.i18n import t

HERE = os.path.dirname(os.path.abspath(__file__))

st.set_page_config(page_title="SGD Lab", page_icon="📉", layout="wide")
streamlit_guard.install(on_drop=lambda: state.flash(t("canvas.dropped")))  # not an error on every run after

pages = [
    st.Page("pages/home.py", title=t("nav.home"), icon=":material/home:", default=True),
    st.Page("pages/train.py", title=t("nav.train"), icon=":material/model_training:", url_path="train"),
    st.Page("pages/code.py", title=t("nav.code"), icon=":material/code:", url_path="code"),
    st.Page("pages/loss_curves.py", title=t("nav.loss_curves"), icon=":material/show_chart:", url_path="loss_curves"),
    st.Page("pages/overfitting.py", title=t("nav.overfitting"), icon=":material/troubleshoot:", url_path="overfitting"),
    st.Page("pages/sweeps.py", title=t("nav.sweeps"), icon=":material/grid_on:", url_path="sweeps"),
]
if os.path.exists(os.path.join(HERE, "pages", "draw.py")):  # added by the draw-page work; optional
    pages.append(st.Page("pages/draw.py", title=t("nav.draw"), icon=":material/draw:", url_path="draw"))
pages += [  # the look-inside pages
    st.Page("pages/gradient_check.py", title=t("nav.gradient_check"), icon=":material/calculate:", url_path="gradient_check"),
    st.Page("pages/hidden_units.py", title=t("nav.hidden_units"), icon=":material/grid_view:", url_path="hidden_units"),
    st.Page("pages/errors.py", title=t("nav.errors"), icon=":material/error:", url_path="errors"),
    st.Page("pages/landscape.py", title=t("nav.landscape"), icon=":material/landscape:", url_path="landscape"),
]

page = st.navigation(pages)
state.init_session()
language = i18n.language()  # the pages above are named in it
persist.restore_if_kept()  # a reload brings the session back (ui.persist)
link_view.sync(page.url_path)
if i18n.language() != language:  # a reload or a link just set the language: rerun to name the pages in it
    st.rerun()
sidebar.render()
try:
    page.run()
finally:  # also when the page stops or reruns early: the store has what the student just did
    persist.keep()
