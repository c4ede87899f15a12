"""The home page's panels: the three SGD steps, the data panel (download progress, retry), where next."""

from __future__ import annotations

import streamlit as st

from ui import data as ui_data, state

DOWNLOAD_POLL_SECONDS = 0.5

STEPS = (
    ("STEP 1", "Mini-batch", "Draw 100 images at random from the 60,000 training images."),
    ("STEP 2", "Gradient", "Compute the gradient of the loss with respect to each weight (backpropagation)."),
    ("STEP 3", "Update", "Step each weight a little against its gradient: W ← W − 0.1 · ∂L/∂W."),
)


def sgd_steps() -> None:
    st.subheader("SGD in three steps, repeated 10,000 times")
    for column, (step, name, text) in zip(st.columns(3), STEPS):
        with column.container(border=True):
            st.markdown(f"**{step} · {name}**")
            st.write(text)
    st.caption(
        "Once per epoch (one pass's worth of images: 600 steps) the accuracy on all training and all test "
        "images is recorded, to check that the network learns digits rather than memorising its examples."
    )


def _retry() -> None:
    ui_data.store().start_download()


def dataset_panel() -> None:
    st.subheader("Data")
    store = ui_data.ensure_download()
    if store.error:
        st.error(store.error)
    status = store.status

    @st.fragment(run_every=DOWNLOAD_POLL_SECONDS if status.state == "running" else None)
    def _panel() -> None:
        s = ui_data.store()
        data, current = s.data, s.status
        if data.is_full:
            st.success(f"Loaded: {data.describe()}.")
        else:
            st.info(f"Loaded: {data.describe()}. Runs work on it right away; accuracies are a little lower.")
        if current.state == "running":
            name = f" — {current.file_name}" if current.file_name else ""
            st.progress(current.fraction, text=f"Downloading full MNIST (about 11 MB){name}: {current.fraction:.0%}")
            st.caption("New runs use full MNIST as soon as the download ends; runs already going keep their data.")
        elif current.state == "failed":
            st.warning(f"Full MNIST could not be downloaded: {current.error}")
            st.button("Try the download again", key=state.KEY_RETRY_DOWNLOAD, on_click=_retry)
        elif current.state == "off" and not data.is_full:
            st.caption("Downloads are switched off here (SGDLAB_OFFLINE or MNIST_DIR is set).")
        if status.state == "running" and current.state != "running":
            st.rerun()

    _panel()


def next_steps() -> None:
    st.subheader("Where next")
    c1, c2, c3 = st.columns(3)
    with c1.container(border=True):
        st.page_link("pages/train.py", label="**Train** a network", icon=":material/model_training:")
        st.caption("Pick the book's settings or a preset, press Start, watch the loss fall.")
    with c2.container(border=True):
        st.page_link("pages/loss_curves.py", label="Compare **loss curves**", icon=":material/show_chart:")
        st.caption("Overlay runs, smooth them, look at the first 1,000 iterations.")
    with c3.container(border=True):
        st.page_link("pages/overfitting.py", label="**Overfitting** check", icon=":material/troubleshoot:")
        st.caption("Train vs test accuracy per epoch, and a plain verdict.")
