"""The "Loss landscape" page: pick a run, compute its loss map on demand (``nn.landscape``), draw it.

The map is computed in the script run that asked for it (a few seconds, with a progress bar) and kept in the
session (``state.keep_landscape_map``: the last few maps) under its identity: the run, how far it had trained,
and the page's choices. So a page switch, a language switch or a rerun draws it again at once; a run still
training is not offered until it ends.
"""

from __future__ import annotations

import streamlit as st

from nn import landscape as nl
from nn.blas import limit_blas_threads
from ui import data as ui_data
from ui import jobs as jobs_mod
from ui import landscape_figures as fig
from ui import settings, state
from ui.i18n import label_func, t

_CHART = {"displayModeBar": False}


def runs_with_weights() -> list:
    """The session's runs a map can be drawn for, newest first: ended (finished or stopped) with weights. Not one
    still training: its weights and its snapshots move on while the map is computed (and in a child process the
    weights reach the record only at the end)."""
    return [j for j in reversed(state.jobs()) if j.run.done and jobs_mod.has_weights(j)]


def default_job(candidates: list):
    """The most accurate finished run, else the newest with weights."""
    best = state.best_finished_job()
    if best is not None and best in candidates:
        return best
    return candidates[0] if candidates else None


def identity(job, directions: str, grid: int, images: int) -> tuple:
    return ("run", job.id, int(job.run.iterations_done), directions, int(grid), int(images))


def _reusable_full_batch(job, images: int):
    """The full-batch path of a kept map of the same run, point and images (walked once per run and images)."""
    for key, lmap in reversed(list(state.landscape_maps().items())):
        same = key[:3] == ("run", job.id, int(job.run.iterations_done)) and key[5] == int(images)
        if same and lmap.full_batch.points.size:
            return lmap.full_batch
    return None


def compute(job, directions: str, grid: int, images: int, progress=None) -> nl.LossMap:
    """The map of ``job``'s run with these choices (``nn.landscape.landscape`` on the app's training images)."""
    # One BLAS thread (process-wide, as ui.stepper sets it): the map is sized for one core, and on cores shared
    # with trainings and browsers a product spread over two spun 4-8× slower (measured: 24 ms a full-batch step).
    limit_blas_threads(1)
    data = ui_data.current_data()
    return nl.landscape(job.run, data.x_train, data.t_train, directions=directions, grid=grid, images=images,
                        full_batch=_reusable_full_batch(job, images), progress=progress)


def _choices() -> tuple[str, int, int]:
    c1, c2, c3 = st.columns(3)
    directions = c1.radio(
        t("landscape.directions"), settings.choices("landscape.directions"), horizontal=True,
        format_func=label_func({"trajectory": "landscape.dir_trajectory", "random": "landscape.dir_random"}),
        help=t("landscape.directions_help"), **state.bind("landscape.directions"))
    grid = c2.selectbox(t("landscape.grid"), settings.choices("landscape.grid"), format_func=lambda n: f"{n} × {n}",
                        help=t("landscape.grid_help"), **state.bind("landscape.grid"))
    images = c3.selectbox(t("landscape.images"), settings.choices("landscape.images"),
                          format_func=lambda n: f"{n:,}", help=t("landscape.images_help"),
                          **state.bind("landscape.images"))
    return directions, int(grid), int(images)


def _pick_run():
    candidates = runs_with_weights()
    if not candidates:
        st.info(t("landscape.no_runs"))
        return None
    by_id = {j.id: j for j in candidates}
    chosen = state.get("landscape.run")
    shown = chosen if chosen in by_id else default_job(candidates).id
    job_id = st.selectbox(t("landscape.run"), list(by_id), format_func=lambda i: by_id[i].name,
                          help=t("landscape.run_help"), **state.bind("landscape.run", shown))
    if chosen is not None and chosen not in by_id:
        st.caption(t("models.gone", n=state.MAX_JOBS))
    job = by_id[job_id]
    st.caption(t("landscape.run_caption", status=job.status_text()))
    return job


def landscape_page() -> None:
    st.title(t("landscape.title"))
    st.caption(t("landscape.caption"))
    job = _pick_run()
    if job is None:
        return
    if not nl.has_path(job.run):
        st.info(t("landscape.no_path", n=len(job.run.snapshots or ())))
        return
    directions, grid, images = _choices()
    key = identity(job, directions, grid, images)
    lmap = state.landscape_maps().get(key)
    if lmap is None:
        slot = st.empty()  # the button, then the progress bar in its place
        if slot.button(t("landscape.compute"), key=state.KEY_LANDSCAPE_COMPUTE, type="primary"):
            bar = slot.progress(0.0, text=t("landscape.progress_full_batch"))

            def progress(share: float, stage: str) -> None:
                text = t("landscape.progress_full_batch" if stage == "full_batch" else "landscape.progress_grid")
                bar.progress(min(1.0, max(0.0, share)), text=text)

            lmap = compute(job, directions, grid, images, progress)
            state.keep_landscape_map(key, lmap)
            slot.empty()
        else:
            st.caption(t("landscape.before", grid=grid, images=f"{images:,}"))
            return
    draw(lmap)


def draw(lmap: nl.LossMap) -> None:
    lecture = state.lecture_mode()
    st.plotly_chart(fig.landscape_figure(lmap, height=620 if lecture else 560, lecture=lecture),
                    key="sgd_landscape_chart", config=_CHART)
    explain = "landscape.explain_trajectory" if lmap.plane.kind == "trajectory" else "landscape.explain_random"
    st.markdown(t(explain, images=f"{lmap.n_images:,}", share=f"{sum(lmap.plane.explained):.0%}"))
    if lmap.plane.second_random:
        st.info(t("landscape.one_way", n=len(lmap.path.iterations)))
    if lmap.full_batch_steps < lmap.run_steps:
        per_step = lmap.full_batch.seconds / max(1, lmap.full_batch_steps)
        st.caption(t("landscape.full_batch_shorter", n=f"{lmap.full_batch_steps:,}", total=f"{lmap.run_steps:,}",
                     images=f"{lmap.n_images:,}", ms=f"{per_step * 1000:.1f}",
                     whole=f"{per_step * lmap.run_steps:.0f}"))
    st.caption(t("landscape.cost", grid=len(lmap.alphas), images=f"{lmap.n_images:,}",
                 grid_s=f"{lmap.seconds.get('grid', 0.0):.1f}", total_s=f"{lmap.seconds.get('total', 0.0):.1f}",
                 centre=f"{lmap.centre_loss:.3f}"))
