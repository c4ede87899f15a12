"""SGD Lab: `streamlit run app.py`. This file only routes; each page lives in pages/ and calls into ui/."""

import os

import streamlit as st

from ui import sidebar, state

HERE = os.path.dirname(os.path.abspath(__file__))

st.set_page_config(page_title="SGD Lab", page_icon="📉", layout="wide")

pages = [
    st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("pages/train.py", title="Train", icon=":material/model_training:", url_path="train"),
    st.Page("pages/loss_curves.py", title="Loss curves", icon=":material/show_chart:", url_path="loss_curves"),
    st.Page("pages/overfitting.py", title="Overfitting check", icon=":material/troubleshoot:", url_path="overfitting"),
]
if os.path.exists(os.path.join(HERE, "pages", "draw.py")):  # added by the draw-page work; optional
    pages.append(st.Page("pages/draw.py", title="Draw a digit", icon=":material/draw:", url_path="draw"))
pages += [  # the look-inside pages
    st.Page("pages/gradient_check.py", title="Gradient check", icon=":material/calculate:", url_path="gradient_check"),
    st.Page("pages/hidden_units.py", title="Hidden units", icon=":material/grid_view:", url_path="hidden_units"),
    st.Page("pages/errors.py", title="Where it errs", icon=":material/error:", url_path="errors"),
]

page = st.navigation(pages)
state.keep_widgets()
sidebar.render()
page.run()
