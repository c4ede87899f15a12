"""Home: what the lab shows, which data is loaded, where to go next."""

import streamlit as st

from ui import home_view

st.title("SGD Lab")
st.markdown(
    "Train the two-layer network of *Deep Learning from Scratch* §4.5 (784 pixels → 50 sigmoid units → "
    "10 digits) on MNIST with **stochastic gradient descent**, and watch it learn."
)
home_view.sgd_steps()
home_view.dataset_panel()
home_view.next_steps()
