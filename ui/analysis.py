"""Pure helpers that turn run numbers into what the pages say: progress, time estimates, the overfitting verdict.

No Streamlit, no Plotly: tested directly (tests/test_analysis.py). Texts come from ``ui.i18n.t`` (the
session's language in a Streamlit run, English elsewhere).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from nn.mnist import FULL_SIZES
from nn.train import OVERLAP_MEASUREMENTS, TrainConfig, iterations_per_epoch
from ui.i18n import t

# -- durations -----------------------------------------------------------------------------------------------


def format_duration(seconds: float) -> str:
    """Seconds for people: "0.4 s", "12 s", "3 min 05 s", "2 h 10 min", "47 h", "12 days"."""
    if seconds is None or not math.isfinite(seconds):
        return t("duration.unknown")
    seconds = max(0.0, float(seconds))
    if seconds < 10:
        return t("duration.seconds_1", value=f"{seconds:.1f}")
    if seconds < 60:
        return t("duration.seconds_1", value=f"{seconds:.0f}")
    if seconds < 3600:
        minutes, secs = divmod(round(seconds), 60)
        return t("duration.minutes", minutes=minutes, seconds=f"{secs:02d}")
    hours = seconds / 3600
    if hours < 10:
        h, m = divmod(round(seconds / 60), 60)
        return t("duration.hours_minutes", hours=h, minutes=f"{m:02d}")
    if hours < 72:
        return t("duration.hours", hours=f"{hours:.0f}")
    return t("duration.days", days=f"{hours / 24:.0f}")


# -- time estimates before a run -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Speeds:
    """Measured costs on this machine (``ui.estimate.measure_speeds``), all for the book's net (hidden 50)."""

    backprop_step_s: float = 0.00035  # one SGD step with backprop, batch 100
    numerical_step_s: float = 0.05  # one step with nn.numgrad's fast numerical gradient, batch 100
    plain_param_s: float = 0.0004  # the book's numerical gradient, per parameter (2 losses of a batch of 100)
    eval_image_s: float = 1.5e-6  # accuracy of one image


#: Parameters of the 784-hidden-10 net: each needs two full forward passes in the book's numerical gradient.
def parameter_count(hidden: int, n_in: int = 784, n_out: int = 10) -> int:
    return n_in * hidden + hidden + hidden * n_out + n_out


def evaluations(iters: int, n_train: int, batch_size: int) -> int:
    """How many times a run measures accuracy: once per epoch (the book's i % iter_per_epoch == 0), plus the
    final measurement when the run does not end on an epoch."""
    ipe = iterations_per_epoch(n_train, batch_size)
    count = math.floor((iters - 1) / ipe) + 1
    last_measured = math.ceil((count - 1) * ipe)  # the iteration index of the last epoch measurement
    return count + (1 if last_measured != iters - 1 else 0)


def estimate_seconds(config: TrainConfig, n_train_available: int, n_test: int, speeds: Speeds) -> dict:
    """Expected seconds for a run: {"steps": ..., "evaluation": ..., "total": ..., "per_step": ...}."""
    n_train = min(config.train_size or n_train_available, n_train_available)
    batch_scale = config.batch_size / 100
    hidden_scale = config.hidden / 50
    if config.gradient == "backprop":
        per_step = speeds.backprop_step_s * (0.25 + 0.75 * batch_scale) * hidden_scale
    elif config.gradient == "numerical":
        per_step = speeds.numerical_step_s * batch_scale * hidden_scale
    else:  # the book's loop: two forward passes of the whole batch per parameter
        per_param = speeds.plain_param_s * (0.3 + 0.7 * batch_scale) * hidden_scale
        per_step = parameter_count(config.hidden) * per_param
    steps = per_step * config.iters
    count = evaluations(config.iters, n_train, config.batch_size)
    evaluation = count * (n_train + n_test) * speeds.eval_image_s * hidden_scale
    if OVERLAP_MEASUREMENTS:  # measured on another core while the steps go on: the longer of the two, and the last
        total = max(steps, evaluation) + evaluation / count  # measurement after the last step
    else:
        total = steps + evaluation
    return {"per_step": per_step, "steps": steps, "evaluation": evaluation, "total": total}


# -- live progress -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Progress:
    iteration: int
    total: int
    epoch: float
    total_epochs: float
    its_per_s: float
    seconds_left: float | None
    elapsed_s: float

    @property
    def fraction(self) -> float:
        return self.iteration / self.total if self.total else 0.0


def progress_of(run) -> Progress:
    """Where a run (``nn.train.Run``) stands: iteration, epoch, iterations per second and time left."""
    total = run.config.iters
    done = run.iterations_done
    ipe = run.iters_per_epoch
    elapsed = run.elapsed_s
    if run.status == "running" and run.started_at:
        elapsed = max(elapsed, time.time() - run.started_at)
    ips = run.iterations_per_second
    seconds_left = None
    if run.done:
        seconds_left = 0.0
    elif ips > 0 and done > 0:
        remaining_evals = max(0, evaluations(total, run.n_train or 1, run.config.batch_size) - len(run.epochs))
        per_eval = run.eval_s / len(run.epochs) if run.epochs else 0.0
        seconds_left = (total - done) / ips + remaining_evals * per_eval
    return Progress(
        iteration=done,
        total=total,
        epoch=done / ipe if ipe else 0.0,
        total_epochs=total / ipe if ipe else 0.0,
        its_per_s=ips,
        seconds_left=seconds_left,
        elapsed_s=elapsed,
    )


# -- the overfitting verdict ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    level: str  # "none", "fine", "mild", "overfit", "memorised", "underfit", "peaked"
    headline: str  # one plain sentence with the numbers
    detail: str = ""
    fewer_images: bool = False  # the gap is told as that of a data set smaller than the slides' (``FewerImages``)


#: The slides' training images: full MNIST's 60,000.
SLIDES_N_TRAIN = FULL_SIZES[0]
#: The book's run (§4.5 settings, seed 0, float32) as this code trains it: its final (train, test) accuracy on the
#: offline sample (6,000 + 1,000 images) and on full MNIST. Measured with ``python -m nn train``; the sample's
#: figures are checked by tests/test_sample_pages.py, the full ones there too when MNIST_DIR is set.
BOOK_RUN_ON_SAMPLE = (0.9792, 0.9270)
BOOK_RUN_ON_FULL = (0.9481, 0.9471)


@dataclass(frozen=True)
class FewerImages:
    """A run that trained on all the images it had, as the book does, when that was fewer than the slides' 60,000
    (the offline sample): its verdict says why its gap differs from the slides'."""

    n_train: int
    iters: int
    batch_size: int

    @classmethod
    def of(cls, run) -> "FewerImages | None":
        """For ``run`` (``nn.train.Run``), or None when it had the slides' images or chose a subset itself."""
        wanted = run.config.train_size or SLIDES_N_TRAIN
        if 0 < run.n_train < SLIDES_N_TRAIN and wanted > run.n_train:
            return cls(run.n_train, run.config.iters, run.config.batch_size)
        return None


def _pct(value: float) -> str:
    text = f"{100 * value:.1f}"
    return (text[:-2] if text.endswith(".0") else text) + "%"


def _times(value: float) -> str:
    return f"{value:,.0f}" if value >= 10 else f"{value:.1f}"


def fewer_images_note(fewer: FewerImages) -> str:
    """Why a run on fewer images than the slides' opens a gap: how often it saw each image, against the slides'."""
    draws = fewer.iters * fewer.batch_size
    (s_train, s_test), (f_train, f_test) = BOOK_RUN_ON_SAMPLE, BOOK_RUN_ON_FULL
    return t("sample.verdict_why", iters=f"{fewer.iters:,}", batch=f"{fewer.batch_size:,}", draws=f"{draws:,}",
             n_train=f"{fewer.n_train:,}", times=_times(draws / fewer.n_train), slides_train=f"{SLIDES_N_TRAIN:,}",
             slides_times=_times(draws / SLIDES_N_TRAIN), s_train=_pct(s_train), s_test=_pct(s_test),
             s_gap=f"{100 * (s_train - s_test):.1f}", f_train=_pct(f_train), f_test=_pct(f_test),
             f_gap=f"{100 * (f_train - f_test):.1f}")


def overfitting_verdict(
    train_acc, test_acc, n_train: int | None = None, *, small_gap_pp: float = 2.0, big_gap_pp: float = 5.0,
    fewer: FewerImages | None = None,
) -> Verdict:
    """A plain-language verdict from per-epoch train and test accuracies (fractions in [0, 1]).

    Judged on the last measurement: the gap train - test in percentage points (pp), how high train accuracy
    got, and whether test accuracy peaked earlier and fell since. ``fewer``: the run trained on all of a data set
    smaller than the slides' (the offline sample); a gap is then told as that data set's, with why it differs
    from the slides', instead of a bare "overfitting" the slides contradict.
    """
    train = np.asarray(train_acc, dtype=float)
    test = np.asarray(test_acc, dtype=float)
    if train.shape != test.shape or train.ndim != 1:
        raise ValueError("train and test accuracies must be 1-D sequences of the same length")
    if len(train) < 2:
        return Verdict("none", t("verdict.none"))
    tr, te = float(train[-1]), float(test[-1])
    gap_pp = 100 * (tr - te)
    best = int(np.argmax(test))
    peak_drop_pp = 100 * (float(test[best]) - te)
    images = t("verdict.images_n", n=f"{n_train:,}") if n_train else t("verdict.images")
    detail = t("verdict.detail", best=_pct(test[best]), index=best + 1, count=len(test))
    numbers = {"train": _pct(tr), "test": _pct(te), "gap": f"{gap_pp:.1f}", "best": _pct(test[best])}

    if tr < 0.5:
        level = "underfit"
    elif tr >= 0.99 and gap_pp >= big_gap_pp:
        level = "memorised"
    elif gap_pp >= big_gap_pp:
        level = "overfit"
    elif peak_drop_pp >= 1.0 and best < len(test) - 1:
        level = "peaked"
    elif gap_pp >= small_gap_pp:
        level = "mild"
    else:
        level, numbers["gap"] = "fine", f"{abs(gap_pp):.1f}"
    if fewer is not None and level in ("mild", "overfit", "memorised"):
        headline = t("sample.verdict_gap", n_train=f"{fewer.n_train:,}", slides_train=f"{SLIDES_N_TRAIN:,}",
                     **numbers)
        return Verdict(level, headline, fewer_images_note(fewer) + "  \n" + detail, fewer_images=True)
    return Verdict(level, t(f"verdict.{level}", images=images, **numbers), detail)
