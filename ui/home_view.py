"""The home page's panels: the three SGD steps, the data panel (download progress, retry), where next; and the
offline sample's caveat with its one click to full MNIST, which the Train and Overfitting pages show too."""

from __future__ import annotations

import streamlit as st

from nn.prepare import check_loaded
from ui import analysis, data as ui_data, state
from ui.models import pretrained
from ui.i18n import t, translate_core

DOWNLOAD_POLL_SECONDS = 0.5

STEPS = (1, 2, 3)  # home.step<n>_name, home.step<n>_text


def sgd_steps() -> None:
    st.subheader(t("home.steps_title"))
    for column, n in zip(st.columns(3), STEPS):
        with column.container(border=True):
            st.markdown(f"**{t('home.step', n=n)} · {t(f'home.step{n}_name')}**")
            st.write(t(f"home.step{n}_text", **ui_data.facts()))
    st.caption(t("home.epoch_caption", **ui_data.facts()))


def _retry() -> None:
    ui_data.store().start_download()


def dataset_panel() -> None:
    st.subheader(t("home.data_title"))
    store = ui_data.ensure_download()
    if store.error:
        st.error(ui_data.data_text(store.error))
    status = store.status

    @st.fragment(run_every=DOWNLOAD_POLL_SECONDS if status.state == "running" else None)
    def _panel() -> None:
        s = ui_data.store()
        data, current = s.data, s.status
        if data.is_full:
            st.success(t("home.loaded_full", what=ui_data.data_text(data.describe())))
        else:
            st.info(t("home.loaded_sample", what=ui_data.data_text(data.describe())))
            st.markdown(t("sample.caveat", what=_what(data), **ui_data.facts(data)))
        damage = data.damaged_cache
        if damage is not None:
            st.warning(t("home.cache_damaged", file=ui_data.data_text(damage.path),
                         error=ui_data.data_text(damage.fault)))
        if current.state == "running":
            name = f" — {current.file_name}" if current.file_name else ""
            st.progress(current.fraction, text=t("home.downloading", name=name, fraction=f"{current.fraction:.0%}"))
            st.caption(t("home.download_caption"))
        elif current.state == "failed":
            st.warning(t("home.download_failed", error=ui_data.data_text(current.error)))
            st.button(t("home.retry"), key=state.KEY_RETRY_DOWNLOAD, on_click=_retry)
        elif current.state == "idle" and not data.is_full:
            st.button(t("sample.get_full"), key=state.KEY_GET_MNIST + "home", on_click=_retry,
                      help=t("sample.get_full_help", **ui_data.facts(data)), icon=":material/download:")
        elif current.state == "off" and not data.is_full:
            st.caption(_blocked(s))
        offline_readiness(data, s.settings.cache_dir, current.state)
        if status.state == "running" and current.state != "running":
            st.rerun()

    _panel()


def _blocked(s) -> str:
    """Why full MNIST cannot be had on this server, in plain words (``ui.data.download_block``)."""
    return t(f"sample.blocked_{s.blocked or 'offline'}", detail=ui_data.data_text(s.blocked_detail))


def _what(data) -> str:
    return t("sidebar.offline_sample") if data.source == "embedded" else t("sidebar.mnist_format")


def sample_caveat(where: str, text: str = "sample.caveat") -> None:
    """When the loaded data is not full MNIST: what that changes against the slides (``text``), and one click to
    get full MNIST — or, where it cannot be had, why, in plain words. Nothing on full MNIST. ``where`` names the
    page (the button's key); the panel follows a running download until it ends."""
    first = ui_data.store()
    if first.data.is_full and first.status.state != "running":
        if any(analysis.FewerImages.of(j.run) for j in state.jobs()):  # this session's runs are the sample's
            st.success(t("sample.now_full", **ui_data.facts(first.data)), icon=":material/dataset:")
        return

    @st.fragment(run_every=DOWNLOAD_POLL_SECONDS if first.status.state == "running" else None)
    def _panel() -> None:
        s = ui_data.store()
        data, status = s.data, s.status
        if data.is_full:  # it came in while this page was open
            st.success(t("sample.now_full", **ui_data.facts(data)), icon=":material/dataset:")
            return
        st.info(t(text, what=_what(data), **ui_data.facts(data)), icon=":material/dataset:")
        if status.state == "running":
            name = f" — {status.file_name}" if status.file_name else ""
            st.progress(status.fraction, text=t("sample.downloading", name=name, fraction=f"{status.fraction:.0%}"))
        elif status.state == "failed":  # the button first, the reason beside it: the page's own content stays near
            button, why = st.columns([1.5, 3], vertical_alignment="center")
            button.button(t("sample.retry"), key=state.KEY_GET_MNIST + where, on_click=_retry,
                          icon=":material/download:")
            why.caption(t("sample.failed", error=ui_data.data_text(status.error)))
        elif status.state == "idle":
            st.button(t("sample.get_full"), key=state.KEY_GET_MNIST + where, on_click=_retry,
                      help=t("sample.get_full_help", **ui_data.facts(data)), icon=":material/download:")
        elif status.state == "off":
            st.caption(_blocked(s))
        if first.status.state == "running" and status.state != "running":
            st.rerun()

    _panel()


def next_steps() -> None:
    st.subheader(t("home.next_title"))
    c1, c2, c3 = st.columns(3)
    with c1.container(border=True):
        st.page_link("pages/train.py", label=t("home.next_train"), icon=":material/model_training:")
        st.caption(t("home.next_train_caption"))
    with c2.container(border=True):
        st.page_link("pages/loss_curves.py", label=t("home.next_curves"), icon=":material/show_chart:")
        st.caption(t("home.next_curves_caption"))
    with c3.container(border=True):
        st.page_link("pages/overfitting.py", label=t("home.next_overfit"), icon=":material/troubleshoot:")
        st.caption(t("home.next_overfit_caption"))


def offline_readiness(data, cache_dir, download_state: str) -> None:
    """Says plainly whether the lab can run without a network: full MNIST on disk and the pretrained model."""
    mnist_check = check_loaded(data, cache_dir)
    model, problem = pretrained()
    if mnist_check.ok and model is not None:
        st.success(t("prepare.ready"), icon=":material/wifi_off:")
        return
    missing = [] if mnist_check.ok else [t("prepare.missing_mnist" if not data.is_full else "prepare.not_cached")]
    if model is None:
        missing.append(t("prepare.missing_model", detail=translate_core(problem)))
    hint = t("prepare.downloading") if download_state == "running" else t("prepare.hint")
    st.warning("\n".join([t("prepare.not_ready"), *(f"- {m}" for m in missing), "", hint]), icon=":material/wifi:")
