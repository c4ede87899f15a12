"""Model files in the app: save a finished run as one ``.npz`` file, load one back as a finished run.

A loaded file becomes an ``UploadedJob`` among the session's runs (``state.add_job``), so the loss curves,
overfitting check, draw and look-inside pages offer it like any run. ``add_upload(data, file_name)`` does the
work without widgets (tests call it); ``panel()`` draws the download button and the uploader. Uploads are
untrusted: ``nn.model_file.load_model`` checks them, and a bad one changes nothing in the session.
"""

from __future__ import annotations

import hashlib
import re
import time

import streamlit as st

from nn.model_file import MAX_MODEL_BYTES, MAX_MODEL_MB, ModelFileError, load_model, save_run
from nn.train import Run
from ui import data as ui_data
from ui import jobs, state
from ui.i18n import t, translate_core
from ui.text import plain

_SAVABLE = ("finished", "stopped")


class UploadedJob:
    """A run loaded from a file: finished, with nothing to wait for or stop (what the pages expect of a job)."""

    def __init__(self, job_id: int, run: Run, file_name: str = "") -> None:
        self.id = job_id
        self.run = run
        self.file_name = file_name
        self.error = ""
        self.created_at = time.time()

    @property
    def name(self) -> str:
        return f"#{self.id} {t('model_files.uploaded')}: {self.run.name}"

    @property
    def config(self):
        return self.run.config

    stopping = False
    waited_for_end = True  # a loaded run has ended

    def place_in_line(self) -> None:
        return None

    def status_text(self) -> str:
        return jobs.status_text(self)

    def start(self) -> "UploadedJob":
        return self

    def stop(self) -> None:
        pass

    def join(self, timeout: float | None = None) -> bool:
        return True


def savable(job) -> bool:
    run = job.run
    return run.status in _SAVABLE and run.iterations_done > 0 and bool(run.params)


def file_name(job) -> str:
    """``sgdlab-run3-lr-0.1-batch-100-10k-it.npz``: the run's number and settings, safe in any file system."""
    slug = re.sub(r"[^A-Za-z0-9.]+", "-", job.run.config.label().replace(" · ", "-")).strip("-.")
    return f"sgdlab-run{job.id}-{slug}.npz"


def add_upload(data: bytes, name: str = "") -> tuple[object | None, str]:
    """Add the run in ``data`` (a model file's bytes) to the session: (job, "") or (None, the one-line fault).

    The same file again returns the run it already made (no second copy) while that run is still kept.
    """
    digest = hashlib.sha256(data).hexdigest()
    known = state.get_job(state.uploaded_job_id(digest))
    if known is not None:
        return known, ""
    try:
        run = load_model(data).to_run()
    except ModelFileError as exc:
        return None, str(exc)
    except Exception as exc:  # noqa: BLE001 - whatever a crafted file provokes: one line, nothing changes
        return None, t("model_files.unexpected", error=type(exc).__name__)
    job = UploadedJob(state.next_job_number(), run, name)
    state.add_job(job)
    state.remember_upload(digest, job.id)
    return job, ""


def _on_upload() -> None:
    uploaded = state.widget_value(state.KEY_UPLOAD)
    state.set_upload_error(None)
    if uploaded is None:
        return
    job, fault = add_upload(uploaded.getvalue(), uploaded.name)
    if job is None:
        state.set_upload_error((uploaded.name, fault))
    else:
        state.flash(t("model_files.loaded", name=job.name))


def panel() -> None:
    """Save a run (a selectbox of the savable runs and a download button) and load one (a file uploader)."""
    st.subheader(t("model_files.title"))
    save, load = st.columns(2, gap="large")
    with save:
        jobs = [j for j in reversed(state.jobs()) if savable(j)]
        if not jobs:
            st.caption(t("model_files.nothing_to_save"))
        else:
            by_id = {j.id: j for j in jobs}
            chosen = state.get("files.download_run")  # the student's choice, else the newest run
            job_id = st.selectbox(t("model_files.run_to_save"), list(by_id), format_func=lambda i: by_id[i].name,
                                  **state.bind("files.download_run", chosen if chosen in by_id else jobs[0].id))
            job = by_id[job_id]
            run, name = job.run, job.name
            source = ui_data.shareable(run.data_source)  # the file goes wherever the student sends it
            st.download_button(
                t("model_files.download"), data=lambda: save_run(run, name=name, data_source=source),
                file_name=file_name(job),
                mime="application/octet-stream", key=state.KEY_DOWNLOAD, on_click="ignore",
                icon=":material/download:", help=t("model_files.download_help"),
            )
            if sum(v.nbytes for v in run.params.values()) + 4 * run.iterations_done > MAX_MODEL_BYTES:
                st.caption(t("model_files.too_big", mb=MAX_MODEL_MB))
    with load:
        st.file_uploader(
            t("model_files.upload", mb=MAX_MODEL_MB), type=["npz"], key=state.KEY_UPLOAD, on_change=_on_upload,
            help=t("model_files.upload_help", mb=MAX_MODEL_MB),
        )
        problem = state.upload_error()
        if problem:
            st.error(t("model_files.bad_file", name=plain(problem[0], 80), fault=plain(translate_core(problem[1]))),
                     icon=":material/block:")
        message = state.flash()
        if message:
            st.success(message)
