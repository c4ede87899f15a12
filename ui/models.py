"""Which network a page reads with: a run of this session, the bundled pretrained model, or a fresh one.

Shared by the draw page and the look-inside pages: the choices, the default (the latest finished run, else the
pretrained model), a network holding a copy of the chosen weights, and the selectbox that picks one.

The draw page also offers the sturdy model (``STURDY``: the same 784-50-10 net trained on randomly distorted
digits by ``scripts/train_sturdy.py``), and reads with it by default when the session has no finished run as good
as the book's; there the pretrained model is called "the book's net" to tell the two apart.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st

from nn.augment import STURDY_PATH
from nn.model_file import ModelFile, ModelFileError, load_pretrained
from nn.two_layer_net import TwoLayerNet
from ui import jobs, state
from ui.i18n import t
from ui.settings import FRESH, PRETRAINED, STURDY

_USABLE = ("running", "finished", "stopped")


@st.cache_resource(show_spinner=False)
def pretrained() -> tuple[ModelFile | None, str]:
    """The bundled model, loaded once per process (its arrays are read-only), or the reason it is unusable."""
    try:
        return load_pretrained(), ""
    except ModelFileError as exc:
        return None, str(exc)


@st.cache_resource(show_spinner=False)
def sturdy() -> tuple[ModelFile | None, str]:
    """The bundled model trained on distorted digits, loaded once per process, or why it is unusable."""
    try:
        return load_pretrained(STURDY_PATH), ""
    except ModelFileError as exc:
        return None, str(exc)


@dataclass(frozen=True)
class ModelChoice:
    key: str | int  # PRETRAINED, FRESH or a job id
    label: str  # short, for the selectbox
    detail: str  # one line: what this model is


def model_choices(include_fresh: bool = False, include_sturdy: bool = False) -> list[ModelChoice]:
    """The session's runs that have weights (newest first), the pretrained model (with ``include_sturdy``: the
    book's net, then the one trained on distorted digits), and optionally a fresh net."""
    choices = []
    for job in reversed(state.jobs()):
        run = job.run
        if run.status in _USABLE and run.iterations_done > 0 and run.params:
            if run.status == "running":
                detail = t("models.still_training", done=f"{run.iterations_done:,}", total=f"{run.config.iters:,}")
            else:
                detail = job.status_text()
            choices.append(ModelChoice(job.id, t("models.run", name=job.name), detail))
    model, _ = pretrained()
    if model is not None:
        acc = t("models.test_accuracy", acc=f"{model.test_acc:.1%}") if model.test_acc is not None else ""
        choices.append(
            ModelChoice(
                PRETRAINED,
                t("models.book") if include_sturdy else t("models.pretrained"),
                t("models.pretrained_detail", sizes="-".join(map(str, model.sizes)), label=model.config.label(),
                  acc=acc),
            )
        )
    strong, _ = sturdy() if include_sturdy else (None, "")
    if strong is not None:
        acc = t("models.test_accuracy", acc=f"{strong.test_acc:.1%}") if strong.test_acc is not None else ""
        choices.append(ModelChoice(STURDY, t("models.sturdy"),
                                   t("models.sturdy_detail", sizes="-".join(map(str, strong.sizes)),
                                     label=strong.config.label(), acc=acc)))
    if include_fresh:
        choices.append(ModelChoice(FRESH, t("models.fresh"), t("models.fresh_detail")))
    return choices


#: A finished run of the session is the default while it reads test digits at most this much worse than the
#: pretrained model (the book's own run: the same); a weaker one (the 83 % overfitting experiment, a quick look)
#: is not, though the student can still choose it.
RUN_PREFERENCE = 0.005


def default_key(choices: list[ModelChoice]):
    """The most accurate finished run of the session, unless the pretrained model reads clearly better (then the
    sturdy model where it is a choice, else the pretrained one); never a stopped or still-training run, nor an
    overfit one while something better exists."""
    keys = [c.key for c in choices]
    best = state.best_finished_job()
    model, _ = pretrained()
    if best is not None and best.id in keys:
        bar = model.test_acc if model is not None and model.test_acc is not None and PRETRAINED in keys else 0.0
        if jobs.final_test_acc(best) >= bar - RUN_PREFERENCE:
            return best.id
    if STURDY in keys:
        return STURDY
    if PRETRAINED in keys:
        return PRETRAINED
    return keys[0] if keys else None


def network_for(key, fresh_seed: int = 0) -> TwoLayerNet | None:
    """A network holding (a copy of) the chosen model's current weights."""
    if key == PRETRAINED:
        model, _ = pretrained()
        return model.network() if model is not None else None
    if key == STURDY:
        model, _ = sturdy()
        return model.network() if model is not None else None
    if key == FRESH:
        return TwoLayerNet(784, 50, 10, weight_init_std=0.01, rng=int(fresh_seed), dtype=np.float64)
    job = state.get_job(key)
    if job is None or not job.run.params:
        return None
    return job.run.network()


def identity(key, fresh_seed: int = 0) -> tuple:
    """What a derived result depends on: the model and, for a run, how far it has trained."""
    if key == FRESH:
        return (FRESH, int(fresh_seed))
    if key in (PRETRAINED, STURDY):
        return (key,)
    job = state.get_job(key)
    return ("run", key, job.run.iterations_done if job is not None else -1)


def model_picker(setting: str, *, label: str, help: str, caption: str, empty: str,
                 include_fresh: bool = False, include_sturdy: bool = False) -> ModelChoice | None:
    """A selectbox of the networks there are, bound to ``setting`` (ui.settings: "draw.model"…). It shows the
    student's choice while that model is there, else ``default_key`` (and says when the chosen run is gone);
    None (and ``empty`` shown) if there is no network at all."""
    choices = model_choices(include_fresh, include_sturdy)
    if not choices:
        _, problem = pretrained()
        st.error(t("models.none", empty=empty, problem=problem))
        return None
    by_key = {c.key: c for c in choices}
    chosen = state.get(setting)
    shown = chosen if chosen in by_key else default_key(choices)
    key = st.selectbox(label, list(by_key), format_func=lambda k: by_key[k].label, help=help,
                       **state.bind(setting, shown))
    if chosen is not None and chosen not in by_key:
        st.caption(t("models.gone", n=state.MAX_JOBS))
    choice = by_key[key]
    st.caption(t("models.choice", caption=caption, label=choice.label, detail=choice.detail))
    return choice
