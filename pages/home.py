"""Home: what the lab shows, which data is loaded, where to go next."""

import streamlit as st

from ui import home_view, lecture, state
from ui.i18n import t

st.title(t("app.title"))
st.markdown(t("home.intro"))
if state.lecture_mode():
    lecture.slide_buttons()
home_view.sgd_steps()
home_view.dataset_panel()
home_view.next_steps()
