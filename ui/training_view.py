"""The training page's pieces: presets, the settings widgets, Start/Stop, and the live view of a run.

``render_payload(job)`` builds what one refresh of the live view shows (pure: no ``st.*``); ``live_view`` draws
it inside a fragment that reruns a few times a second while the run trains.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import streamlit as st

from nn.train import GRADIENT_METHODS, TrainConfig
from ui import analysis, data as ui_data, figures, runner, state

# -- presets -------------------------------------------------------------------------------------------------

BOOK = "Book §4.5 (10,000 iterations)"
QUICK = "Quick look (1,000 iterations)"
OVERFIT = "Overfit on purpose (300 training images)"
CUSTOM = "Custom"

#: With 300 images and batch 100 an epoch is 3 iterations, and every epoch measures accuracy on 10,300
#: images; 1,500 iterations (500 epochs) is where train accuracy reaches 100% and test stalls near 83%.
PRESETS: dict[str, TrainConfig] = {
    BOOK: TrainConfig(),
    QUICK: TrainConfig(iters=1_000),
    OVERFIT: TrainConfig(iters=1_500, train_size=300),
}

GRADIENT_LABELS = {
    "backprop": "Backpropagation (fast)",
    "numerical": "Numerical, fast version",
    "numerical-plain": "Numerical, book's loop (slow!)",
}

#: A run expected to take longer than this asks for a confirmation first.
CONFIRM_SECONDS = 10 * 60


def widget_values(config: TrainConfig) -> dict:
    """The session-state values of the settings widgets for ``config``."""
    return {
        state.KEY_ITERS: config.iters,
        state.KEY_BATCH: config.batch_size,
        state.KEY_LR: float(config.lr),
        state.KEY_HIDDEN: config.hidden,
        state.KEY_STD: float(config.weight_init_std),
        state.KEY_USE_ALL: config.train_size is None,
        state.KEY_TRAIN_SIZE: config.train_size or 300,
        state.KEY_SEED: config.seed,
        state.KEY_GRADIENT: config.gradient,
    }


def init_widgets() -> None:
    """Put the book's defaults in the widgets the first time the page is shown in a session."""
    ss = st.session_state
    if state.KEY_PRESET not in ss:
        ss[state.KEY_PRESET] = BOOK
    for key, value in widget_values(PRESETS[BOOK]).items():
        ss.setdefault(key, value)


def apply_preset() -> None:
    """Callback of the preset selectbox: fill every widget with the preset's values."""
    preset = st.session_state.get(state.KEY_PRESET)
    if preset in PRESETS:
        st.session_state.update(widget_values(PRESETS[preset]))


def config_from_widgets() -> TrainConfig:
    ss = st.session_state
    return TrainConfig(
        iters=int(ss[state.KEY_ITERS]),
        batch_size=int(ss[state.KEY_BATCH]),
        lr=float(ss[state.KEY_LR]),
        hidden=int(ss[state.KEY_HIDDEN]),
        weight_init_std=float(ss[state.KEY_STD]),
        train_size=None if ss[state.KEY_USE_ALL] else int(ss[state.KEY_TRAIN_SIZE]),
        seed=int(ss[state.KEY_SEED]),
        gradient=str(ss[state.KEY_GRADIENT]),
    )


def mark_custom() -> None:
    """Callback of every settings widget: the preset name shows "Custom" once the values differ from it."""
    preset = st.session_state.get(state.KEY_PRESET)
    if preset in PRESETS:
        try:
            same = config_from_widgets() == PRESETS[preset]
        except (KeyError, TypeError, ValueError):
            same = False
        if not same:
            st.session_state[state.KEY_PRESET] = CUSTOM


@st.cache_resource(show_spinner="Measuring how fast this machine trains…", ttl=600)
def _speeds(_store_id: int) -> analysis.Speeds:
    from ui.estimate import measure_speeds

    return measure_speeds(ui_data.current_data().as_tuple())


def speeds() -> analysis.Speeds:
    return _speeds(0)


def settings_widgets(n_train_available: int) -> None:
    """Every training option as a widget, with the book's default and one line of help."""
    init_widgets()
    st.selectbox(
        "Preset", [BOOK, QUICK, OVERFIT, CUSTOM], key=state.KEY_PRESET, on_change=apply_preset,
        help="Fill every setting at once. Changing a setting afterwards turns the preset into Custom.",
    )
    c1, c2 = st.columns(2)
    c1.number_input(
        "Iterations", min_value=1, max_value=1_000_000, step=1_000, key=state.KEY_ITERS, on_change=mark_custom,
        help="SGD steps: each draws one mini-batch, computes the gradient and steps against it (book: 10,000).",
    )
    c2.number_input(
        "Batch size", min_value=1, max_value=10_000, step=10, key=state.KEY_BATCH, on_change=mark_custom,
        help="Images drawn at random (with replacement) for each step (book: 100).",
    )
    c1.number_input(
        "Learning rate", min_value=0.0001, max_value=100.0, step=0.05, format="%.4f", key=state.KEY_LR,
        on_change=mark_custom, help="How far each step goes against the gradient (book: 0.1).",
    )
    c2.number_input(
        "Hidden units", min_value=1, max_value=1_000, step=10, key=state.KEY_HIDDEN, on_change=mark_custom,
        help="Size of the sigmoid layer between the 784 pixels and the 10 digits (book: 50).",
    )
    c1.number_input(
        "Init std", min_value=0.0001, max_value=10.0, step=0.01, format="%.4f", key=state.KEY_STD,
        on_change=mark_custom, help="Standard deviation of the random initial weights (book: 0.01).",
    )
    c2.number_input(
        "Seed", min_value=0, max_value=2**31 - 1, step=1, key=state.KEY_SEED, on_change=mark_custom,
        help="Seeds the initial weights, the training subset and the mini-batches: same seed, same run.",
    )
    st.checkbox(
        f"All {n_train_available:,} images", key=state.KEY_USE_ALL, on_change=mark_custom,
        help="Train on every training image, as the book does. Untick to train on a random subset "
        "(e.g. 300 images, to overfit on purpose).",
    )
    if not st.session_state[state.KEY_USE_ALL]:
        st.number_input(
            "Training images", min_value=1, max_value=60_000, step=100, key=state.KEY_TRAIN_SIZE,
            on_change=mark_custom, help="Size of the random training subset (test accuracy always uses all test images).",
        )
    st.radio(
        "Gradient", list(GRADIENT_METHODS), key=state.KEY_GRADIENT, on_change=mark_custom,
        format_func=GRADIENT_LABELS.get,
        help="Backpropagation (§5, the book's 'fast version'), or the numerical gradient of §4.4, which nudges "
        "each of the ~40,000 weights in turn: the fast version computes the same differences about 300× sooner "
        "(nn.numgrad), the book's loop takes ~17 s per step.",
    )


def estimate_message(config: TrainConfig, data) -> tuple[str, str, float]:
    """(kind, text, total seconds) of the time estimate: kind is "info", "warning" or "error"."""
    est = analysis.estimate_seconds(config, data.n_train, data.n_test, speeds())
    n_train = min(config.train_size or data.n_train, data.n_train)
    n_evals = analysis.evaluations(config.iters, n_train, config.batch_size)
    total = est["total"]
    per_step = est["per_step"]
    step_text = analysis.format_duration(per_step) if per_step >= 0.1 else f"{per_step * 1000:.2f} ms"
    text = (
        f"Estimated time: **{analysis.format_duration(total)}** — {config.iters:,} steps × {step_text}"
        f" + {n_evals:,} accuracy checks on {n_train + data.n_test:,} images each."
    )
    if config.gradient == "numerical-plain":
        return "error", (
            f"The book's numerical loop recomputes the loss twice for each of the "
            f"{analysis.parameter_count(config.hidden):,} weights at every step: "
            f"about {analysis.format_duration(est['per_step'])} per step, **{analysis.format_duration(total)}** "
            f"for {config.iters:,} steps. Try 2-3 iterations to feel it, or use backpropagation."
        ), total
    if total > CONFIRM_SECONDS:
        return "warning", text, total
    return "info", text, total


# -- the live view -------------------------------------------------------------------------------------------


@dataclass
class Payload:
    """What one refresh of the live view shows (``figure`` and ``table`` only when the chart is redrawn)."""

    title: str
    status: str
    progress: analysis.Progress
    figure: object = None
    table: pd.DataFrame | None = None
    message: str = ""


def accuracy_table(run) -> pd.DataFrame:
    """Per-epoch accuracies for people: newest first, percentages."""
    frame = run.accuracy_frame()
    out = pd.DataFrame(
        {
            "epoch": frame["epoch"].round(2),
            "iteration": frame["iteration"].astype(int),
            "train acc (%)": (100 * frame["train_acc"]).round(2),
            "test acc (%)": (100 * frame["test_acc"]).round(2),
            "gap (pp)": (100 * frame["gap"]).round(2),
        }
    )
    return out.iloc[::-1].reset_index(drop=True)


def render_payload(job, with_chart: bool = True) -> Payload:
    """Build the live view of ``job`` (no Streamlit calls: the benchmark calls it from a plain thread too)."""
    run = job.run
    progress = analysis.progress_of(run)
    status = job.status_text()
    message = run.reason if run.status in ("diverged", "failed") else ""
    payload = Payload(job.name, status, progress, message=message)
    if with_chart:
        payload.figure = figures.live_loss_figure(run.losses, run.iterations_done, run.config.iters, name=job.name)
        payload.figure.to_plotly_json()  # what st.plotly_chart does with it: a cost the benchmark must see
        payload.table = accuracy_table(run)
    return payload


def page_renderer():
    """A ``render(job)`` for ``ui.runner.measure_overhead`` that does what the training page does while a run
    trains: the progress every ``runner.POLL_SECONDS``, the chart and table every ``CHART_SECONDS``."""
    every = max(1, round(CHART_SECONDS / runner.POLL_SECONDS))
    calls = [0]

    def render(job) -> Payload:
        calls[0] += 1
        return render_payload(job, with_chart=calls[0] % every == 0)

    return render


#: The live chart and table are redrawn this often (the progress line and numbers every POLL_SECONDS): a
#: Plotly figure costs the script thread ~20-40 ms to build and send, time the training thread waits for
#: the GIL; redrawn at the progress rate it slowed the book's run by ~2× on 2 cores.
CHART_SECONDS = 1.2


def progress_line(p: analysis.Progress) -> str:
    if p.seconds_left == 0.0:
        left = f" · took {p.elapsed_s:.2f} s"
    else:
        left = "" if p.seconds_left is None else f" · {analysis.format_duration(p.seconds_left)} left"
    return (
        f"iteration {p.iteration:,} of {p.total:,} · epoch {p.epoch:.1f} of {p.total_epochs:.1f} · "
        f"{p.its_per_s:,.0f} it/s{left}"
    )


def draw_status(payload: Payload) -> None:
    p = payload.progress
    st.markdown(f"#### {payload.title}")
    st.progress(min(1.0, p.fraction), text=f"**{payload.status}** — {progress_line(p)}")
    if payload.message:
        st.error(payload.message)
    m1, m2, m3, m4 = st.columns(4)
    m1.metric("Iteration", f"{p.iteration:,}")
    m2.metric("Epoch", f"{p.epoch:.1f}")
    m3.metric("Iterations / s", f"{p.its_per_s:,.0f}")
    m4.metric("Time left", "—" if p.seconds_left is None else analysis.format_duration(p.seconds_left))


def draw_chart(payload: Payload, chart_key: str) -> None:
    st.plotly_chart(payload.figure, key=chart_key, config={"displaylogo": False})
    st.markdown("**Accuracy, measured once per epoch** (newest first)")
    if payload.table.empty:
        st.caption("The first measurement comes at iteration 1, before any learning.")
    else:
        st.dataframe(payload.table, hide_index=True, height=min(38 + 35 * len(payload.table), 420),
                     key=f"{chart_key}_table")


def live_view(job, chart_key: str = "sgd_live_chart") -> None:
    """Draw ``job``'s live view. While the run goes on, its progress refreshes every ``runner.POLL_SECONDS``
    and its chart and table every ``CHART_SECONDS``; when it ends the whole page reruns once (so buttons and
    the other panels catch up) and nothing polls any more."""
    was_active = not job.run.done

    @st.fragment(run_every=runner.POLL_SECONDS if was_active else None)
    def _status() -> None:
        current = state.get_run(job.id)
        if current is None:
            return
        draw_status(render_payload(current, with_chart=False))
        if was_active and current.run.done:
            st.rerun()

    @st.fragment(run_every=CHART_SECONDS if was_active else None)
    def _chart() -> None:
        current = state.get_run(job.id)
        if current is not None:
            draw_chart(render_payload(current), chart_key)

    _status()
    _chart()


def runs_table(jobs) -> pd.DataFrame:
    rows = []
    for job in reversed(jobs):
        last = job.run.last
        rows.append(
            {
                "run": job.name,
                "status": job.status_text(),
                "train acc (%)": round(100 * last.train_acc, 2) if last else None,
                "test acc (%)": round(100 * last.test_acc, 2) if last else None,
                "seconds": round(job.run.elapsed_s, 1),
                "data": job.run.data_source,
            }
        )
    return pd.DataFrame(rows)


def start_run(config: TrainConfig):
    """Start ``config`` in the background on the current data; returns the job (kept in the session)."""
    store = ui_data.store()
    data = store.data
    job = runner.pool().submit(state.next_run_number(), config, data.as_tuple(), data.describe())
    state.add_run(job)
    return job


def checked_config(data) -> tuple[TrainConfig | None, list[str], list[str]]:
    """The config the widgets describe, fitted to the loaded data: (config, problems, notes)."""
    notes = []
    try:
        config = config_from_widgets()
    except (KeyError, TypeError, ValueError) as exc:
        return TrainConfig(), [f"A setting could not be read: {exc}"], notes
    if config.train_size is not None and config.train_size >= data.n_train:
        notes.append(f"Only {data.n_train:,} training images are loaded: the run uses all of them.")
        config = config.replace(train_size=None)
    problems = [p[0].upper() + p[1:] + "." for p in config.errors()]
    return config, problems, notes
