"""The look-inside pages: gradient check, what the hidden units learned, where the network errs.

The numbers come from ``nn.inspect`` (the same functions tests/test_inspect.py checks), the figures from
``ui.inside_figures``; this module picks the network, caches per-run results in session state
(``state.cached``, keyed by run id and iterations done) and lays the pages out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import streamlit as st

from nn import inspect as ni
from nn.two_layer_net import TwoLayerNet
from ui import data as ui_data, inside_figures as fig, models, state
from ui.models import FRESH, PRETRAINED  # noqa: F401 - the keys tests and pages compare with

BATCH_SIZES = (1, 10, 100)
DEFAULT_BATCH = 10
GALLERY_MAX = 40
ANY = "any"
_CHART = {"displayModeBar": False}


# -- which network -----------------------------------------------------------------------------------------------


def model_picker(widget_key: str, include_fresh: bool = False, label: str = "Network") -> models.ModelChoice | None:
    """A selectbox of the networks there are (default: the latest finished run, else the pretrained model)."""
    return models.model_picker(
        widget_key, label=label, caption="", empty="No network to look inside", include_fresh=include_fresh,
        help="A run you trained in this session, the pretrained model shipped with SGD Lab"
        + (", or a fresh untrained network." if include_fresh else "."),
    )


def _fmt_time(seconds: float) -> str:
    if not np.isfinite(seconds):
        return "–"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    if seconds < 120:
        return f"{seconds:.1f} s"
    return f"{seconds / 60:.0f} min"


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
            "parameter": c.key, "result": "pass" if c.passed else "FAIL",
            "largest relative error": f"{c.max_rel_error:.1e}", "mean |difference|": f"{c.mean_abs_diff:.1e}",
            "largest |gradient|": f"{c.largest_gradient:.1e}", "shape": " × ".join(map(str, c.shape)),
            "numerical gradient by": "nn.numgrad (fast)",
        }
        for c in check.checks
    ]
    rows.append({
        "parameter": ", ".join(check.plain_keys), "result": "pass" if check.plain_passed else "FAIL",
        "largest relative error": f"{check.plain_max_rel_error:.1e}", "mean |difference|": "",
        "largest |gradient|": "", "shape": f"{check.plain_params} values", "numerical gradient by": "the book's loop",
    })
    return pd.DataFrame(rows)


def verdict(check: ni.GradientCheck) -> tuple[bool, str]:
    """Pass/fail and one sentence naming the worst parameter and the threshold."""
    worst = max(check.checks, key=lambda c: c.max_rel_error)
    worst_err = max(worst.max_rel_error, check.plain_max_rel_error)
    if check.passed:
        return True, (f"**Pass**: backpropagation agrees with the numerical gradient on all {check.n_params:,} "
                      f"parameters. Largest relative error {worst_err:.1e} (in {worst.key}), threshold "
                      f"{check.threshold:.0e}.")
    failed = [c.key for c in check.checks if not c.passed] + ([", ".join(check.plain_keys) + " (book's loop)"]
                                                               if not check.plain_passed else [])
    return False, (f"**Fail**: backpropagation and the numerical gradient disagree on {', '.join(failed)}. "
                   f"Largest relative error {worst_err:.2g}, threshold {check.threshold:.0e}: the backprop "
                   "code has a bug.")


def gradient_check_page() -> None:
    st.title("Gradient check")
    st.caption("Is backpropagation right? Compare its gradient with the numerical one, (L(w+h) − L(w−h)) / 2h "
               "for every weight (h = 10⁻⁴), computed in float64 on a copy of the weights.")
    c1, c2, c3 = st.columns([2.2, 1, 1])
    with c1:
        choice = model_picker(state.KEY_GRAD_MODEL, include_fresh=True)
    if choice is None:
        return
    with c2:
        st.session_state.setdefault(state.KEY_GRAD_BATCH, DEFAULT_BATCH)
        batch = st.select_slider("Batch size", BATCH_SIZES, key=state.KEY_GRAD_BATCH,
                                 help="Training images the loss is averaged over. Small on purpose: the "
                                      "book's loop recomputes this batch's loss twice per parameter.")
    with c3:
        batch_seed = st.number_input("Batch seed", 0, 10_000, key=state.KEY_GRAD_BATCH_SEED,
                                     help="Which training images make the batch.")
    fresh_seed = 0
    if choice.key == FRESH:
        fresh_seed = st.number_input("Seed of the fresh network", 0, 10_000, key=state.KEY_GRAD_FRESH_SEED)
    net = models.network_for(choice.key, fresh_seed)
    if net is None:
        st.warning("This run has no weights any more: pick another network above.")
        return
    data = ui_data.current_data()
    ident = (models.identity(choice.key, fresh_seed), int(batch), int(batch_seed), data.source, data.n_train)

    def compute():
        x, t = check_batch(batch, batch_seed)
        return ni.gradient_check(net, x, t)

    with st.spinner("Computing the gradient three ways…"):
        check = state.cached(state.KEY_GRAD_RESULT, ident, compute)

    passed, sentence = verdict(check)
    (st.success if passed else st.error)(sentence)
    st.dataframe(results_table(check), hide_index=True, width="stretch", key="sgd_grad_table")
    st.caption(f"Largest relative error of an array = max |numerical − backprop| / max(|numerical|, |backprop|): "
               f"the worst difference measured against the array's largest gradient. An array passes at or "
               f"below {check.threshold:.0e}. Batch: {check.batch_size} training images.")

    st.subheader("How long each took")
    m1, m2, m3 = st.columns(3)
    m1.metric("Backpropagation", _fmt_time(check.backprop_s), help="One forward and one backward pass "
              "(best of 3).")
    slower = check.numerical_s / check.backprop_s if check.backprop_s > 0 else float("nan")
    m2.metric("Numerical, fast (nn.numgrad)", _fmt_time(check.numerical_s), f"{slower:,.0f}× backprop's time",
              delta_color="off", delta_arrow="off",
              help="The same central differences for all parameters, recomputing only what each nudge changes.")
    plain_slower = check.plain_estimate_s / check.backprop_s if check.backprop_s > 0 else float("nan")
    m3.metric("Numerical, book's loop", f"≈ {_fmt_time(check.plain_estimate_s)}",
              f"{plain_slower:,.0f}× backprop's time (estimate)", delta_color="off", delta_arrow="off",
              help="TwoLayerNet.numerical_gradient: two losses of the whole batch per parameter.")
    st.caption(f"The book's loop was run on {check.plain_params} parameters ({', '.join(check.plain_keys)}) in "
               f"{_fmt_time(check.plain_s)}; every parameter costs the same two losses, so all "
               f"{check.n_params:,} would take about {_fmt_time(check.plain_estimate_s)}: an estimate, not run "
               "here because it would hold up this shared server.")

    st.subheader("See the agreement")
    hidden = check.backprop["W1"].shape[1]
    if st.session_state.get(state.KEY_GRAD_UNIT) is None or st.session_state[state.KEY_GRAD_UNIT] > hidden:
        st.session_state[state.KEY_GRAD_UNIT] = ni.busiest_unit(check.backprop) + 1
    unit = st.columns([1, 3])[0].number_input(
        f"Hidden unit (1–{hidden})", 1, hidden, key=state.KEY_GRAD_UNIT,
        help="Starts at the unit with the largest gradient on this batch.") - 1
    st.plotly_chart(fig.gradient_heatmaps(check.numerical["W1"][:, unit], check.backprop["W1"][:, unit], unit),
                    key="sgd_grad_heatmaps", config=_CHART)
    st.caption("Red: raising this weight would raise the loss; blue: lower it. Pixels that are black in every "
               "image of the batch get no gradient (white). The difference on the right uses its own, far finer "
               "scale.")


# -- hidden units ------------------------------------------------------------------------------------------------


def hidden_units_page() -> None:
    st.title("What the hidden units learned")
    st.caption("Each of the hidden units computes σ(x · w + b) from the 784 pixels x. Its weights w, a column of "
               "W1, drawn as a 28 × 28 image show what it looks for: red pixels excite it, blue ones inhibit it.")
    c1, c2 = st.columns([2, 1.2])
    with c1:
        choice = model_picker(state.KEY_UNITS_MODEL)
    if choice is None:
        return
    with c2:
        scale = st.radio("Colour scale", ["shared", "per unit"], horizontal=True, key=state.KEY_UNITS_SCALE,
                         format_func=lambda s: {"shared": "one for all units", "per unit": "each unit its own"}[s],
                         help="One scale compares strengths across units; each unit its own shows every "
                              "pattern, faint or strong.")
    per_unit = scale == "per unit"
    net = models.network_for(choice.key)
    if net is None:
        st.warning("This run has no weights any more: pick another network above.")
        return
    W1 = np.asarray(net.params["W1"], dtype=np.float64)
    st.plotly_chart(fig.weight_grid_figure(W1, per_unit=per_unit), key="sgd_units_grid", config=_CHART)

    st.subheader("Watch them form")
    job = state.get_run(choice.key) if isinstance(choice.key, int) else None
    snapshots = list(job.run.snapshots) if job is not None else []
    if len(snapshots) < 2:
        st.info("The weights are recorded at every accuracy measurement of a run you train here; "
                + ("the pretrained model keeps only its final weights." if job is None else
                   "this run has not recorded two snapshots yet.")
                + " Train a run on the Train page to watch its units form from noise.")
    else:
        iterations = [it for it, _ in snapshots]
        if st.session_state.get(state.KEY_UNITS_SNAPSHOT) not in iterations:
            st.session_state[state.KEY_UNITS_SNAPSHOT] = iterations[0]
        it = st.select_slider("After iteration", iterations, key=state.KEY_UNITS_SNAPSHOT,
                              format_func=lambda i: f"{i:,}")
        W = dict(snapshots)[it]
        limit = max(fig.symmetric_limit(w) for _, w in snapshots)  # one scale for every snapshot
        ipe = job.run.iters_per_epoch
        st.plotly_chart(
            fig.weight_grid_figure(W, per_unit=per_unit, limit=limit,
                                   title=f"W1 after {it:,} iteration{'s' if it != 1 else ''} ({it / ipe:.1f} epochs)"),
            key="sgd_units_snapshot_grid", config=_CHART,
        )
        st.caption(f"{len(snapshots)} snapshots, one per accuracy measurement. With one colour scale for all, the "
                   "first is faint noise (weights drawn with std 0.01); patterns grow as SGD moves the weights.")

    st.subheader("One unit up close")
    hidden = W1.shape[1]
    if st.session_state.get(state.KEY_UNITS_UNIT, 1) > hidden:
        st.session_state[state.KEY_UNITS_UNIT] = 1
    unit = st.columns([1, 3])[0].number_input(f"Hidden unit (1–{hidden})", 1, hidden, key=state.KEY_UNITS_UNIT) - 1
    st.plotly_chart(fig.unit_detail_figure(W1[:, unit], net.params["W2"][unit], unit), key="sgd_units_detail",
                    config=_CHART)
    st.caption("Left: what the unit looks for. Right: its row of W2, how strongly it votes for (orange) or "
               "against (blue) each digit when it fires.")


# -- where it errs -----------------------------------------------------------------------------------------------


def _digit_or_none(value) -> int | None:
    return None if value == ANY else int(value)


def _on_cell_click() -> None:
    """A click on the confusion matrix picks that cell's true and predicted digit (a callback, before the rerun)."""
    event = st.session_state.get(state.KEY_ERRORS_CHART)
    points = (event or {}).get("selection", {}).get("points", [])
    if points:
        point = points[0]
        st.session_state[state.KEY_ERRORS_TRUE] = int(round(point["y"]))
        st.session_state[state.KEY_ERRORS_PRED] = int(round(point["x"]))


def gallery_caption(shown: int, total: int, true: int | None, pred: int | None, evaluation: ni.Evaluation) -> str:
    if true is not None and pred is not None and true == pred:
        what = f"test images of {true} classified right"
    else:
        what = "misclassified test images"
        if true is not None:
            what += f" of a {true}"
        if pred is not None:
            what += f" read as {pred}"
    if total == 0:
        return f"No {what}."
    return f"Showing {shown} of {total:,} {what} (of {evaluation.n:,} test images)."


def errors_page() -> None:
    st.title("Where it errs")
    st.caption("Which digits does the network confuse, and how sure was it when it was wrong? Every number here "
               "is on the test images, which the network never trained on.")
    choice = model_picker(state.KEY_ERRORS_MODEL)
    if choice is None:
        return
    net = models.network_for(choice.key)
    if net is None:
        st.warning("This run has no weights any more: pick another network above.")
        return
    data = ui_data.current_data()
    with st.spinner(f"Classifying {data.n_test:,} test images…"):
        evaluation = state.cached(state.KEY_ERRORS_RESULT, (models.identity(choice.key), data.source, data.n_test),
                                  lambda: ni.evaluate(net, data.x_test, data.t_test))
    counts = ni.confusion_matrix(evaluation.labels, evaluation.predictions)
    m1, m2, m3 = st.columns(3)
    m1.metric("Test accuracy", f"{evaluation.accuracy:.2%}", help=f"On {ui_data.dataset_summary(data)}.")
    m2.metric("Mistakes", f"{evaluation.n_wrong:,} of {evaluation.n:,}")
    off = counts.copy()
    np.fill_diagonal(off, 0)
    t_worst, p_worst = np.unravel_index(int(off.argmax()), off.shape)
    m3.metric("Most common confusion", f"{t_worst} read as {p_worst}" if off.max() else "none",
              f"{off.max():,} images" if off.max() else None, delta_color="off", delta_arrow="off")

    left, right = st.columns([1.6, 1], gap="large")
    with right:
        st.markdown("**The test images behind a cell**: click a cell of the matrix, or choose here.")
        options = [ANY, *range(10)]
        f1, f2 = st.columns(2)
        true = f1.selectbox("True digit", options, key=state.KEY_ERRORS_TRUE, format_func=str)
        pred = f2.selectbox("Predicted digit", options, key=state.KEY_ERRORS_PRED, format_func=str)
        order = st.radio("Order", ["most", "least"], horizontal=True, key=state.KEY_ERRORS_ORDER,
                         format_func=lambda o: f"{o} confident first")
        st.plotly_chart(fig.per_digit_figure(ni.per_digit_accuracy(counts), evaluation.accuracy),
                        key="sgd_errors_per_digit", config=_CHART)
    true, pred = _digit_or_none(true), _digit_or_none(pred)
    with left:
        normalised = st.radio("Cells show", ["counts", "share"], horizontal=True, key=state.KEY_ERRORS_NORMALISE,
                              format_func=lambda v: {"counts": "image counts", "share": "share of each true digit"}[v])
        highlight = (true, pred) if true is not None and pred is not None else None
        st.plotly_chart(fig.confusion_figure(counts, normalised == "share", highlight), key=state.KEY_ERRORS_CHART,
                        on_select=_on_cell_click, selection_mode="points", config=_CHART)
        st.caption("Rows: the true digit; columns: the network's answer. The colour tops out at the largest "
                   "mistake cell so that the mistakes show; the diagonal (right answers) is far larger.")

    index = ni.mistakes(evaluation, true, pred, most_confident_first=order == "most")
    shown = index[:GALLERY_MAX]
    st.subheader("The images")
    st.caption(gallery_caption(len(shown), len(index), true, pred, evaluation) + " Each is captioned "
               "true → predicted and the probability the network gave its answer.")
    if len(shown):
        st.plotly_chart(
            fig.gallery_figure(data.x_test[shown], evaluation.labels[shown], evaluation.predictions[shown],
                               evaluation.confidence[shown], shown, title=""),
            key="sgd_errors_gallery", config=_CHART,
        )
