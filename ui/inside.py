"""The look-inside pages: gradient check, what the hidden units learned, where the network errs.

The numbers come from ``nn.inspect`` (the same functions tests/test_inspect.py checks), the figures from
``ui.inside_figures``; this module picks the network, caches per-run results in session state
(``state.cached``, keyed by run id and iterations done) and lays the pages out.
"""

from __future__ import annotations


import numpy as np
import pandas as pd
import streamlit as st

from nn import inspect as ni
from ui import analysis, data as ui_data, inside_figures as fig, models, state
from ui.i18n import label_func, t
from ui import settings
from ui.settings import SETTINGS
from ui.training_view import speeds, step_text
from ui.models import FRESH, PRETRAINED  # noqa: F401 - the keys tests and pages compare with

BATCH_SIZES = SETTINGS["grad.batch"].choices
DEFAULT_BATCH = SETTINGS["grad.batch"].default
GALLERY_MAX = 40
ANY = settings.ANY  # the filters' "any digit"
_CHART = {"displayModeBar": False}


# -- which network -----------------------------------------------------------------------------------------------


def model_picker(setting: str, include_fresh: bool = False, label: str | None = None) -> models.ModelChoice | None:
    """A selectbox of the networks there are (default: the most accurate finished run, else the pretrained model)."""
    return models.model_picker(
        setting, label=t("inside.network") if label is None else label, caption="", empty=t("inside.no_network"),
        include_fresh=include_fresh, help=t("inside.network_help_fresh" if include_fresh else "inside.network_help"),
    )


def _fmt_time(seconds: float) -> str:
    if not np.isfinite(seconds):
        return "–"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    return analysis.format_duration(seconds)  # "12 s", "48 min 05 s", "2 h 10 min": in the session's language


# -- gradient check ----------------------------------------------------------------------------------------------


def check_batch(batch_size: int, seed: int):
    """``batch_size`` training images chosen by ``seed`` (uint8) and their labels."""
    data = ui_data.current_data()
    rng = np.random.default_rng(int(seed))
    rows = np.sort(rng.choice(data.n_train, size=min(int(batch_size), data.n_train), replace=False))
    return data.x_train[rows], data.t_train[rows]


def results_table(check: ni.GradientCheck) -> pd.DataFrame:
    """One row per parameter array, then the book's loop on its subset: what the page shows."""
    rows = [
        {
            "parameter": c.key, "result": t("grad.pass") if c.passed else t("grad.fail"),
            "rel": f"{c.max_rel_error:.1e}", "diff": f"{c.mean_abs_diff:.1e}",
            "largest": f"{c.largest_gradient:.1e}", "shape": " × ".join(map(str, c.shape)),
            "by": t("grad.by_fast"),
        }
        for c in check.checks
    ]
    rows.append({
        "parameter": ", ".join(check.plain_keys), "result": t("grad.pass") if check.plain_passed else t("grad.fail"),
        "rel": f"{check.plain_max_rel_error:.1e}", "diff": "",
        "largest": "", "shape": t("grad.values", n=check.plain_params), "by": t("grad.by_book"),
    })
    columns = ("parameter", "result", "rel", "diff", "largest", "shape", "by")  # grad.col_<name>
    return pd.DataFrame(rows, columns=columns).rename(columns={c: t(f"grad.col_{c}") for c in columns})


def plain_keys_text(check: ni.GradientCheck) -> str:
    """What the book's loop ran on: "b1, b2", or "b1 (first 50 of 1,000), b2" for a wide network."""
    parts = []
    for key, n in zip(check.plain_keys, check.plain_counts or [check.backprop[k].size for k in check.plain_keys]):
        total = check.backprop[key].size
        parts.append(key if n >= total else t("grad.first_of", key=key, n=f"{n:,}", total=f"{total:,}"))
    return ", ".join(parts)


def verdict(check: ni.GradientCheck) -> tuple[bool, str]:
    """Pass/fail and one sentence naming the worst parameter and the threshold."""
    worst = max(check.checks, key=lambda c: c.max_rel_error)
    worst_err = max(worst.max_rel_error, check.plain_max_rel_error)
    if check.passed:
        return True, t("grad.passed", n=f"{check.n_params:,}", err=f"{worst_err:.1e}", key=worst.key,
                       threshold=f"{check.threshold:.0e}")
    failed = [c.key for c in check.checks if not c.passed] + (
        [", ".join(check.plain_keys) + t("grad.book_loop_suffix")] if not check.plain_passed else [])
    return False, t("grad.failed", failed=", ".join(failed), err=f"{worst_err:.2g}",
                    threshold=f"{check.threshold:.0e}")


def book_loop_seconds(check: ni.GradientCheck) -> float:
    """One step of the book's loop over every parameter of the checked net, on the check's batch: the figure
    Train gives for it (``ui.analysis.step_seconds`` with this server's speeds), not an extrapolation of this
    page's own short timing, so that the two pages say the same."""
    return analysis.step_seconds("numerical-plain", check.batch_size, check.backprop["W1"].shape[1], speeds())


def gradient_check_page() -> None:
    st.title(t("grad.title"))
    st.caption(t("grad.caption"))
    c1, c2, c3 = st.columns([2.2, 1, 1])
    with c1:
        choice = model_picker("grad.model", include_fresh=True)
    if choice is None:
        return
    with c2:
        batch = st.select_slider(t("grad.batch"), BATCH_SIZES, help=t("grad.batch_help"), **state.bind("grad.batch"))
    with c3:
        batch_seed = st.number_input(t("grad.batch_seed"), **settings.limits("grad.batch_seed"),
                                     help=t("grad.batch_seed_help"),
                                     **state.bind("grad.batch_seed", as_value=True))
    fresh_seed = 0
    if choice.key == FRESH:
        fresh_seed = st.number_input(t("grad.fresh_seed"), **settings.limits("grad.fresh_seed"),
                                     **state.bind("grad.fresh_seed", as_value=True))
    net = models.network_for(choice.key, fresh_seed)
    if net is None:
        st.warning(t("inside.no_weights"))
        return
    data = ui_data.current_data()
    ident = (models.identity(choice.key, fresh_seed), int(batch), int(batch_seed), data.source, data.n_train)

    def compute():
        x, t = check_batch(batch, batch_seed)
        return ni.gradient_check(net, x, t)

    with st.spinner(t("grad.computing")):
        check = state.cached(state.KEY_GRAD_RESULT, ident, compute)

    passed, sentence = verdict(check)
    (st.success if passed else st.error)(sentence)
    if check.batch_capped:  # a wide network: fewer images, so that the check stays within seconds
        st.info(t("grad.capped", hidden=f"{check.backprop['W1'].shape[1]:,}", n=check.batch_size,
                  requested=check.requested_batch, work=f"{ni.MAX_CHECK_WORK:,}"), icon=":material/speed:")
    st.dataframe(results_table(check), hide_index=True, width="stretch", key="sgd_grad_table")
    st.caption(t("grad.table_caption", threshold=f"{check.threshold:.0e}", n=check.batch_size))

    st.subheader(t("grad.timing_title"))
    m1, m2, m3 = st.columns(3)
    m1.metric(t("grad.backprop"), _fmt_time(check.backprop_s), help=t("grad.backprop_help"))
    slower = check.numerical_s / check.backprop_s if check.backprop_s > 0 else float("nan")
    m2.metric(t("grad.fast"), _fmt_time(check.numerical_s), t("grad.times", x=f"{slower:,.0f}"),
              delta_color="off", delta_arrow="off", help=t("grad.fast_help"))
    plain_step_s = book_loop_seconds(check)
    plain_slower = plain_step_s / check.backprop_s if check.backprop_s > 0 else float("nan")
    m3.metric(t("grad.book"), f"≈ {step_text(plain_step_s)}",
              t("grad.times_estimate", x=f"{plain_slower:,.0f}"), delta_color="off", delta_arrow="off",
              help=t("grad.book_help"))
    st.caption(t("grad.book_caption", n=check.plain_params, keys=plain_keys_text(check),
                 took=_fmt_time(check.plain_s), total=f"{check.n_params:,}", estimate=step_text(plain_step_s)))

    st.subheader(t("grad.agreement_title"))
    hidden = check.backprop["W1"].shape[1]
    unit = state.get("grad.unit")  # the student's unit, or the one with the largest gradients
    if unit is None or unit > hidden:
        unit = ni.busiest_unit(check.backprop) + 1
    unit = st.columns([1, 3])[0].number_input(
        t("inside.hidden_unit", n=hidden), 1, hidden, help=t("grad.unit_help"), **state.bind("grad.unit", unit, as_value=True)) - 1
    st.plotly_chart(fig.gradient_heatmaps(check.numerical["W1"][:, unit], check.backprop["W1"][:, unit], unit),
                    key="sgd_grad_heatmaps", config=_CHART)
    st.caption(t("grad.heatmap_caption"))


# -- hidden units ------------------------------------------------------------------------------------------------


#: The hidden-units page draws at most this many units (the first ones): the book's net has 50.
MAX_UNITS_SHOWN = 100


def hidden_units_page() -> None:
    st.title(t("units.title"))
    st.caption(t("units.caption"))
    c1, c2 = st.columns([2, 1.2])
    with c1:
        choice = model_picker("units.model")
    if choice is None:
        return
    with c2:
        scale = st.radio(t("units.scale"), settings.choices("units.scale"), horizontal=True, **state.bind("units.scale"),
                         format_func=label_func({"shared": "units.scale_shared", "per unit": "units.scale_per_unit"}),
                         help=t("units.scale_help"))
    per_unit = scale == "per unit"
    net = models.network_for(choice.key)
    if net is None:
        st.warning(t("inside.no_weights"))
        return
    W1 = np.asarray(net.params["W1"], dtype=np.float64)
    if W1.shape[1] > MAX_UNITS_SHOWN:  # a 2,000-unit net (trained on the command line) made a 64 MB figure
        st.caption(t("units.first_n", shown=MAX_UNITS_SHOWN, total=f"{W1.shape[1]:,}"))
    st.plotly_chart(fig.weight_grid_figure(W1[:, :MAX_UNITS_SHOWN], per_unit=per_unit), key="sgd_units_grid",
                    config=_CHART)

    st.subheader(t("units.form_title"))
    job = state.get_job(choice.key) if isinstance(choice.key, int) else None
    snapshots = list(job.run.snapshots) if job is not None else []
    if len(snapshots) < 2:
        st.info(t("units.no_snapshots", why=t("units.pretrained_final" if job is None else "units.not_two")))
    else:
        iterations = [it for it, _ in snapshots]
        it = state.get("units.snapshot")
        if it not in iterations:
            it = iterations[0]
        it = st.select_slider(t("units.after"), iterations, format_func=lambda i: f"{i:,}",
                              **state.bind("units.snapshot", it))
        W = dict(snapshots)[it][:, :MAX_UNITS_SHOWN]
        limit = max(fig.symmetric_limit(w[:, :MAX_UNITS_SHOWN]) for _, w in snapshots)  # one scale for them all
        ipe = job.run.iters_per_epoch
        st.plotly_chart(
            fig.weight_grid_figure(W, per_unit=per_unit, limit=limit,
                                   title=t("units.after_title" if it != 1 else "units.after_title_one",
                                           it=f"{it:,}", epochs=f"{it / ipe:.1f}")),
            key="sgd_units_snapshot_grid", config=_CHART,
        )
        st.caption(t("units.snapshots_caption", n=len(snapshots)))

    st.subheader(t("units.close_title"))
    hidden = W1.shape[1]
    unit = min(state.get("units.unit"), hidden)
    unit = st.columns([1, 3])[0].number_input(t("inside.hidden_unit", n=hidden), 1, hidden,
                                              **state.bind("units.unit", unit, as_value=True)) - 1
    st.plotly_chart(fig.unit_detail_figure(W1[:, unit], net.params["W2"][unit], unit), key="sgd_units_detail",
                    config=_CHART)
    st.caption(t("units.close_caption"))


# -- where it errs -----------------------------------------------------------------------------------------------


def _digit_or_none(value) -> int | None:
    return None if value == ANY else int(value)


def _on_cell_click() -> None:
    """A click on the confusion matrix picks that cell's true and predicted digit (a callback, before the rerun)."""
    event = state.widget_value(state.KEY_ERRORS_CHART)
    points = (event or {}).get("selection", {}).get("points", [])
    if points:
        point = points[0]
        state.set("errors.true", int(round(point["y"])))
        state.set("errors.pred", int(round(point["x"])))


def gallery_caption(shown: int, total: int, true: int | None, pred: int | None, evaluation: ni.Evaluation) -> str:
    if true is not None and pred is not None and true == pred:
        what = t("errors.right_of", digit=true)
    elif true is not None and pred is not None:
        what = t("errors.of_a_read_as", true=true, pred=pred)
    elif true is not None:
        what = t("errors.of_a", digit=true)
    elif pred is not None:
        what = t("errors.read_as_only", digit=pred)
    else:
        what = t("errors.misclassified")
    if total == 0:
        return t("errors.no_images", what=what)
    return t("errors.showing", shown=shown, total=f"{total:,}", what=what, n=f"{evaluation.n:,}")


def errors_page() -> None:
    st.title(t("errors.title"))
    st.caption(t("errors.caption"))
    choice = model_picker("errors.model")
    if choice is None:
        return
    net = models.network_for(choice.key)
    if net is None:
        st.warning(t("inside.no_weights"))
        return
    data = ui_data.current_data()
    with st.spinner(t("errors.classifying", n=f"{data.n_test:,}")):
        evaluation = state.cached(state.KEY_ERRORS_RESULT, (models.identity(choice.key), data.source, data.n_test),
                                  lambda: ni.evaluate(net, data.x_test, data.t_test))
    counts = ni.confusion_matrix(evaluation.labels, evaluation.predictions)
    m1, m2, m3 = st.columns(3)
    m1.metric(t("errors.accuracy"), f"{evaluation.accuracy:.2%}",
              help=t("errors.accuracy_help", summary=ui_data.dataset_summary(data)))
    m2.metric(t("errors.mistakes"), t("errors.mistakes_value", wrong=f"{evaluation.n_wrong:,}", n=f"{evaluation.n:,}"))
    off = counts.copy()
    np.fill_diagonal(off, 0)
    t_worst, p_worst = np.unravel_index(int(off.argmax()), off.shape)
    m3.metric(t("errors.confusion"), t("errors.read_as", true=t_worst, pred=p_worst) if off.max() else t("errors.none"),
              t("errors.n_images", n=f"{off.max():,}") if off.max() else None, delta_color="off", delta_arrow="off")

    left, right = st.columns([1.6, 1], gap="large")
    with right:
        st.markdown(t("errors.behind"))
        options = settings.choices("errors.true")
        f1, f2 = st.columns(2)
        digit_label = {d: t("errors.any") if d == ANY else str(d) for d in options}.__getitem__
        true = f1.selectbox(t("errors.true_digit"), options, format_func=digit_label, **state.bind("errors.true"))
        pred = f2.selectbox(t("errors.pred_digit"), options, format_func=digit_label, **state.bind("errors.pred"))
        order = st.radio(t("errors.order"), settings.choices("errors.order"), horizontal=True, **state.bind("errors.order"),
                         format_func=label_func({"most": "errors.order_most", "least": "errors.order_least"}))
        st.plotly_chart(fig.per_digit_figure(ni.per_digit_accuracy(counts), evaluation.accuracy),
                        key="sgd_errors_per_digit", config=_CHART)
    true, pred = _digit_or_none(true), _digit_or_none(pred)
    with left:
        normalised = st.radio(t("errors.cells"), settings.choices("errors.normalise"), horizontal=True, **state.bind("errors.normalise"),
                              format_func=label_func({"counts": "errors.cells_counts", "share": "errors.cells_share"}))
        highlight = (true, pred) if true is not None and pred is not None else None
        st.plotly_chart(fig.confusion_figure(counts, normalised == "share", highlight), key=state.KEY_ERRORS_CHART,
                        on_select=_on_cell_click, selection_mode="points", config=_CHART)
        st.caption(t("errors.matrix_caption"))

    index = ni.mistakes(evaluation, true, pred, most_confident_first=order == "most")
    shown = index[:GALLERY_MAX]
    st.subheader(t("errors.images_title"))
    st.caption(gallery_caption(len(shown), len(index), true, pred, evaluation) + t("errors.images_caption"))
    if len(shown):
        st.plotly_chart(
            fig.gallery_figure(data.x_test[shown], evaluation.labels[shown], evaluation.predictions[shown],
                               evaluation.confidence[shown], shown, title=""),
            key="sgd_errors_gallery", config=_CHART,
        )
