"""The "Code, step by step" page: the §4.5 listing as the project's own source, and one SGD step at a time.

Why a page of its own (not a panel on Train): the step-through needs the listing beside it, to highlight the lines
the step just ran, and three panels of pictures under one set of buttons; on Train it would push the live run and
its settings off the screen. Train stays the place for whole runs; "Continue as a normal run" hands the stepped
run to the same runner, so it trains on in the background and shows on Train and Loss curves like any run.

The step is ``ui.stepper`` (the core's loop, driven one iteration at a time); the figures ``ui.step_figures``;
the listing ``ui.code_view``. The session keeps one step-through (``state.stepper``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from nn.functions import CROSS_ENTROPY_EPS
from ui import code_view, data as ui_data, limits, runner, settings, state, step_figures as sf, stepper as stepper_mod
from ui import training_view as tv
from ui.i18n import label_func, t

#: How many images of the batch the forward pass shows, and how many hidden units the gradient and update show.
FORWARD_IMAGES = 4
UNITS = 8
GRADIENT_LABELS = {"backprop": "step.gradient_backprop", "numerical": "step.gradient_numerical"}
_CHART = {"displayModeBar": False}


# -- the session's step-through ------------------------------------------------------------------------------------


def current() -> stepper_mod.Stepper | None:
    """The session's step-through, if any."""
    return state.stepper()


def _fresh() -> stepper_mod.Stepper | None:
    """A new step-through of the training settings on the current data (None if the settings are not valid)."""
    data = ui_data.store().data
    config, problems, _ = tv.checked_config(data)
    if problems:
        return None
    return stepper_mod.start(config, data.as_tuple(), data.describe())


def _usable() -> stepper_mod.Stepper | None:
    """The step-through the buttons drive: the session's, or a new one when there is none, it was handed to the
    runner, or nothing was stepped yet and the settings changed."""
    s = current()
    if s is None or s.handed_to is not None or (s.i == 0 and s.config != _settings_config()):
        s = _fresh()
        state.set_stepper(s)
    return s


def _settings_config():
    config, _, _ = tv.checked_config(ui_data.store().data)
    return config


def one_step() -> None:
    s = _usable()
    if s is not None and not s.finished:
        s.step(1)


def ten_steps() -> None:
    s = _usable()
    if s is not None and not s.finished:
        s.step(10)


def to_epoch_end() -> None:
    s = _usable()
    if s is not None and not s.finished:
        s.step_to_epoch_end()


def start_over() -> None:
    state.set_stepper(_fresh())


def continue_as_run() -> None:
    """Hand the step-through to the runner: the run trains on in the background from where the steps left it."""
    s = current()
    if s is None or s.handed_to is not None or s.finished:
        return
    # the server's limits, as for any Start (ui.limits): the iterations left against the time cap, the line
    problem, seconds = tv.start_refusal(s.config.replace(iters=max(1, s.config.iters - s.i)), ui_data.store().data)
    if problem is None:
        try:
            job = runner.pool().submit(state.next_job_number(), s.config, s.data, s.data_source, resume=s.core,
                                       after=state.last_unended_job(), owner=state.session_id(), estimate_s=seconds)
        except runner.LineFull as full:
            problem = limits.line_full_message(full.waiting, full.running, full.wait_s)
    if problem is not None:
        limits.refuse(problem)
        return
    state.add_job(job)
    s.handed_to = job.id


# -- the page ------------------------------------------------------------------------------------------------------


def page() -> None:
    st.title(t("code.title"))
    lecture = state.lecture_mode()
    if not lecture:  # on a projector the lecturer says it, and the buttons stay on the first screen
        st.caption(t("code.caption"))
    data = ui_data.store().data
    config, problems, _ = tv.checked_config(data)
    s = current()
    buttons(s, problems)
    for problem in problems:
        st.error(problem)
    status(s, config)
    shown_config = s.config if s is not None and s.handed_to is None and s.i > 0 else config
    n_train = s.run.n_train if s is not None else data.n_train
    loop, *others = code_view.loop_listings(shown_config, n_train)
    stepped = s is not None and s.last is not None and s.handed_to is None
    # The listing is ~90 characters wide: beside the pictures it would be cut off, so it has a tab of its own, and
    # each step's tab starts with the lines of the listing that step ran (the same lines, highlighted).
    code_tab, tab1, tab2, tab3 = st.tabs([t("step.tab0"), t("step.tab1"), t("step.tab2"), t("step.tab3")])
    with code_tab:
        code_panel(s, loop, others, shown_config, n_train, stepped, lecture)
    for tab, panel in ((tab1, batch_panel), (tab2, gradient_panel), (tab3, update_panel)):
        with tab:
            if stepped:
                panel(s, loop, lecture)
            else:
                st.info(t("step.press_step"))
    printout_view(s)


def code_panel(s, loop, others, config, n_train: int, stepped: bool, lecture: bool) -> None:
    """The loop as the core has it, the lines of the last step highlighted; the network's methods folded below."""
    measured = stepped and s.last.epoch is not None
    st.caption(t("code.loop_caption", where=loop.title, hidden=config.hidden, std=f"{config.weight_init_std:g}"))
    if not loop.filled:  # a loop that takes its settings from elsewhere: the slide's hyperparameter cell
        st.code("\n".join(code_view.settings_block(config, n_train)), language="python")
    gradient_stage = code_view.gradient_stage(config.gradient)
    st.html(code_view.to_html(loop, {1: stepped, gradient_stage: stepped, 3: stepped, "epoch": measured},
                              large=lecture))
    for listing in others:
        st.caption(f"`{listing.title}`")
        st.html(code_view.to_html(listing, {"epoch": measured}, large=lecture))
    st.caption(t("code.legend"))
    with st.expander(t("code.methods_title")):
        st.caption(t("code.methods_caption"))
        for method in code_view.method_listings():
            st.markdown(f"`{method.title}`")
            st.html(code_view.to_html(method, large=lecture))


def buttons(s, problems: list) -> None:
    running = s is not None and s.handed_to is None
    at_end = running and s.finished
    blocked = bool(problems) and not (running and s.i > 0)
    limits.show_refusal()  # "Continue as a run" refused by a server limit
    with st.container(horizontal=True):
        st.button(t("step.one"), key=state.KEY_STEP_ONE, type="primary", on_click=one_step,
                  disabled=blocked or at_end)
        st.button(t("step.ten"), key=state.KEY_STEP_TEN, on_click=ten_steps, disabled=blocked or at_end)
        st.button(t("step.epoch"), key=state.KEY_STEP_EPOCH, on_click=to_epoch_end, disabled=blocked or at_end,
                  help=t("step.epoch_help"))
        st.button(t("step.continue"), key=state.KEY_STEP_CONTINUE, on_click=continue_as_run,
                  disabled=not running or s.i == 0 or s.finished, help=t("step.continue_help"))
        st.button(t("step.restart"), key=state.KEY_STEP_RESTART, on_click=start_over, disabled=not running or s.i == 0)


def status(s, config) -> None:
    """One line: where the step-through is, or which run it became; a note when the settings changed since."""
    if s is None:
        st.markdown(t("step.none", label=config.label()))
        return
    if s.handed_to is not None:
        job = state.get_job(s.handed_to)
        st.success(t("step.handed", job=job.name if job else f"#{s.handed_to}", i=f"{s.i:,}"))
        return
    if s.last is None:
        st.markdown(t("step.none", label=s.config.label()))
        return
    last = s.last
    what = t("step.did_one") if last.steps == 1 else t("step.did_many", n=f"{last.steps:,}")
    st.markdown(t("step.status", what=what, i=f"{last.i:,}", done=f"{s.i:,}", total=f"{s.config.iters:,}",
                  epoch=f"{s.epoch:.2f}", before=f"{last.loss_before:.4f}", after=f"{last.loss_after:.4f}"))
    if s.i > 0 and s.config != config:
        st.info(t("step.settings_changed", label=s.config.label(), now=config.label()))
    if s.finished:
        st.info(t("step.finished", total=f"{s.config.iters:,}"))


def printout_view(s) -> None:
    """The book's printout, one line per epoch: of the step-through, or of the session's latest run (live while it
    trains)."""
    if s is not None and s.handed_to is None and s.i > 0:
        st.markdown(t("code.printout_title_steps"))
        tv.draw_printout(stepper_mod.printout(s.run), key="sgd_printout_steps")
        return
    job = state.latest_job()
    if job is None:
        return
    st.markdown(t("code.printout_title", job=job.name))
    tv.printout_view(job)


def _snippet(listing: code_view.Listing, stage, lecture: bool) -> None:
    lines = code_view.stage_snippet(listing, stage)
    if lines:
        st.html(code_view.to_html(listing, {stage: True}, lines=lines, large=lecture))


def batch_panel(s, listing: code_view.Listing, lecture: bool) -> None:
    last = s.last
    _snippet(listing, 1, lecture)
    x, labels = s.batch()
    st.markdown(t("step.batch_text", n=len(last.batch_mask), total=f"{s.run.n_train:,}", i=f"{last.i:,}"))
    picture, numbers = st.columns([3, 2], gap="medium")
    with picture:
        st.plotly_chart(sf.batch_figure(x, labels, last.batch_mask, lecture=lecture), key="sgd_step_batch",
                        config=_CHART)
    with numbers:
        counts = np.bincount(np.asarray(labels, dtype=np.int64), minlength=10)
        st.caption(t("step.batch_counts", counts=" · ".join(f"{d}: {c}" for d, c in enumerate(counts))))
        st.markdown(t("step.indices_title"))
        st.code(np.array2string(last.batch_mask, max_line_width=34, threshold=1_000, separator=" "), language=None)
        st.caption(t("step.indices_caption"))


def gradient_panel(s, listing: code_view.Listing, lecture: bool) -> None:
    last = s.last
    _snippet(listing, code_view.gradient_stage(s.config.gradient), lecture)
    x, labels = s.batch()
    scores, probs = stepper_mod.forward(last.params_before, x)
    # the forward pass for a few images
    few = list(range(min(FORWARD_IMAGES, len(x))))
    st.plotly_chart(sf.forward_figure(x[few], probs[few], labels[few], few, lecture=lecture), key="sgd_step_forward",
                    config=_CHART)
    # softmax and cross-entropy, with the numbers of one image
    st.markdown(t("step.softmax_title"))
    pick, _ = st.columns([1, 2])
    example = pick.number_input(t("step.example"), min_value=1, max_value=len(x), step=1, help=t("step.example_help"),
                                **state.bind("step.example", min(state.get("step.example"), len(x)), as_value=True))
    k = int(example) - 1
    steps = stepper_mod.softmax_steps(scores[k], int(labels[k]))
    figure, table = st.columns([1, 1], gap="medium")
    with figure:
        st.plotly_chart(sf.softmax_figure(steps, lecture=lecture), key="sgd_step_softmax", config=_CHART)
    with table:
        st.dataframe(softmax_table(steps), hide_index=True, key="sgd_step_softmax_table", width="stretch")
    st.markdown(softmax_text(steps, k, last.loss_before, len(x)))
    # the gradient
    st.markdown(t("step.gradient_title"))
    method = st.radio(t("step.gradient_show"), settings.choices("step.gradient"), format_func=label_func(GRADIENT_LABELS),
                      horizontal=True, help=t("step.gradient_show_help"), **state.bind("step.gradient"))
    backprop, backprop_s = s.backprop_gradient()
    m1, m2, m3 = st.columns(3)
    m1.metric(t("step.time_backprop"), _fmt_seconds(backprop_s))
    if method == "numerical":
        with st.spinner(t("step.computing_numerical")):
            numerical, numerical_s = s.numerical_gradient()
        shown = numerical
        m2.metric(t("step.time_numerical"), _fmt_seconds(numerical_s))
        m3.metric(t("step.agreement"), f"{stepper_mod.agreement(backprop, numerical):.1e}", help=t("step.agreement_help"))
    else:
        shown = backprop
        m2.metric(t("step.time_numerical"), "–", help=t("step.numerical_pending"))
    plain_s = tv.analysis.step_seconds("numerical-plain", len(x), backprop["W1"].shape[1], tv.speeds())
    st.caption(t("step.plain_too_slow", params=f"{sum(g.size for g in backprop.values()):,}",
                 losses=f"{2 * sum(g.size for g in backprop.values()):,}", per_step=tv.step_text(plain_s)))
    units = stepper_mod.busiest_units(backprop["W1"], UNITS)
    title = t("step.grad_units_title", method=t(GRADIENT_LABELS[method]))
    st.plotly_chart(sf.units_figure(shown["W1"], units, title, lecture=lecture, colorbar_title="∂L/∂W1"),
                    key="sgd_step_grad_units", config=_CHART)
    st.caption(t("step.grad_units_caption"))
    st.dataframe(gradient_table(shown), hide_index=True, key="sgd_step_grad_sizes", width="stretch")


def update_panel(s, listing: code_view.Listing, lecture: bool) -> None:
    last = s.last
    _snippet(listing, 3, lecture)
    m1, m2 = st.columns(2)
    m1.metric(t("step.loss_before"), f"{last.loss_before:.4f}")
    m2.metric(t("step.loss_after"), f"{last.loss_after:.4f}", f"{last.loss_after - last.loss_before:+.4f}",
              delta_color="inverse")
    fell = last.loss_after < last.loss_before
    (st.success if fell else st.warning)(t("step.fell" if fell else "step.rose", lr=f"{last.lr:g}"))
    if last.epoch is not None:
        st.info(t("step.measured", line=f"train acc, test acc | {last.epoch.train_acc:.4f}, {last.epoch.test_acc:.4f}"))
    units = stepper_mod.busiest_units(last.grads["W1"], UNITS)
    st.plotly_chart(sf.weights_figure(last.params_before["W1"], s.network.params["W1"] if s.handed_to is None else
                                      last.params_before["W1"] - last.lr * last.grads["W1"], units, lecture=lecture),
                    key="sgd_step_weights", config=_CHART)
    st.caption(t("step.weights_caption", lr=f"{last.lr:g}"))
    # the learning rate's effect
    st.markdown(t("step.lr_title"))
    try_lr = st.number_input(t("step.try_lr"), **settings.limits("step.try_lr"), step=1.0, format="%.3f",
                             help=t("step.try_lr_help"), **state.bind("step.try_lr", as_value=True))
    x, labels = s.batch()
    try_loss = stepper_mod.loss_after_step(last.params_before, last.grads, x, labels, float(try_lr))
    verdict = "step.try_overshoots" if try_loss > last.loss_before else (
        "step.try_slower" if try_loss > last.loss_after else "step.try_faster")
    st.markdown(t(verdict, lr=f"{float(try_lr):g}", before=f"{last.loss_before:.4f}", after=f"{try_loss:.4f}",
                  run_lr=f"{last.lr:g}", run_after=f"{last.loss_after:.4f}"))
    curve = stepper_mod.lr_curve(last.params_before, last.grads, x, labels)
    st.plotly_chart(sf.lr_figure(stepper_mod.LR_GRID, curve, last.loss_before, last.lr, float(try_lr), try_loss,
                                 lecture=lecture), key="sgd_step_lr", config=_CHART)
    st.caption(t("step.lr_caption"))


# -- texts and tables (pure) ---------------------------------------------------------------------------------------


def _fmt_seconds(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def softmax_text(steps: dict, k: int, batch_loss: float, n: int) -> str:
    """Scores → softmax → −log p, with this image's numbers (Markdown with LaTeX)."""
    label = steps["label"]
    return t("step.softmax_text", place=k + 1, label=label, score=f"{steps['scores'][label]:.3f}",
             top=f"{steps['scores'].max():.3f}", sum=f"{steps['sum']:.3f}", p=f"{steps['p_true']:.4f}",
             loss=f"{steps['loss']:.4f}", eps=f"{CROSS_ENTROPY_EPS:g}", n=n, batch_loss=f"{batch_loss:.4f}")


def softmax_table(steps: dict) -> pd.DataFrame:
    """The ten digits' numbers: score a, exp(a − max a), probability; the true digit marked."""
    return pd.DataFrame({
        t("step.col_digit"): [f"{d} ◀" if d == steps["label"] else str(d) for d in range(10)],
        t("step.col_score"): np.round(steps["scores"], 4),
        t("step.col_exp"): np.round(steps["exps"], 4),
        t("step.col_prob"): np.round(steps["probs"], 4),
    })


def gradient_table(grads: dict) -> pd.DataFrame:
    """Per parameter: shape, how many numbers, the gradient's L2 norm, mean and largest |value|."""
    rows = stepper_mod.gradient_sizes(grads)
    return pd.DataFrame({
        t("step.col_param"): [r["key"] for r in rows],
        t("step.col_shape"): [" × ".join(map(str, r["shape"])) for r in rows],
        t("step.col_count"): [f"{r['count']:,}" for r in rows],
        t("step.col_norm"): [f"{r['norm']:.3e}" for r in rows],
        t("step.col_mean"): [f"{r['mean_abs']:.2e}" for r in rows],
        t("step.col_max"): [f"{r['max_abs']:.2e}" for r in rows],
    })

