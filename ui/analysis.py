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
    """What the pieces of a run cost on this machine (``ui.estimate.measure_speeds``), all for the book's net
    (hidden 50, batch 100), in CPU seconds of one thread with one BLAS thread, as the trainer runs them; and how
    many cores there are. The defaults are ``PROVISIONAL_SPEEDS``'s: a slow core, before anything was measured."""

    backprop_step_s: float = 0.0008  # one SGD step with backprop (draw, gradient, update)
    numerical_step_s: float = 0.15  # one step with nn.numgrad's fast numerical gradient
    plain_param_s: float = 0.0008  # the book's numerical gradient, per parameter (2 losses of the batch)
    eval_image_s: float = 3e-6  # accuracy of one image (AccuracyMeter, one worker)
    start_s: float = 0.15  # starting a run and handing its end back (fork, set-up, the weights sent back)
    eval_fixed_s: float = 0.0004  # each accuracy measurement beyond its images (a copy of the weights, W1 kept)
    cores: float = 1.0  # the cores the server may use (its CPU affinity and container quota)
    provisional: bool = True  # the built-in figures, not (yet) measured on this machine


#: Until the machine is measured: about twice this development machine's costs, on one core, so that an estimate
#: errs on the long side (a run that ends sooner than said disappoints no one).
PROVISIONAL_SPEEDS = Speeds()


def parameter_count(hidden: int, n_in: int = 784, n_out: int = 10) -> int:
    """Parameters of the 784-hidden-10 net: each needs two full forward passes in the book's numerical gradient."""
    return n_in * hidden + hidden + hidden * n_out + n_out


def evaluations(iters: int, n_train: int, batch_size: int) -> int:
    """How many times a run measures accuracy: once per epoch (the book's i % iter_per_epoch == 0), plus the
    final measurement when the run does not end on an epoch."""
    ipe = iterations_per_epoch(n_train, batch_size)
    count = math.floor((iters - 1) / ipe) + 1
    last_measured = math.ceil((count - 1) * ipe)  # the iteration index of the last epoch measurement
    return count + (1 if last_measured != iters - 1 else 0)


def step_seconds(gradient: str, batch_size: int, hidden: int, speeds: Speeds) -> float:
    """CPU seconds of one SGD step of ``gradient`` ("backprop", "numerical", "numerical-plain") for a net of
    ``hidden`` units on batches of ``batch_size``: the one figure every page gives for a step (Train, Gradient
    check, help texts)."""
    batch_scale = batch_size / 100
    hidden_scale = hidden / 50
    if gradient == "backprop":
        return speeds.backprop_step_s * (0.25 + 0.75 * batch_scale) * hidden_scale
    if gradient == "numerical":
        return speeds.numerical_step_s * batch_scale * hidden_scale
    # the book's loop: two forward passes of the whole batch per parameter
    per_param = speeds.plain_param_s * (0.3 + 0.7 * batch_scale) * hidden_scale
    return parameter_count(hidden) * per_param


#: Linux's CFS gives a thread of niceness n a weight of 1024 / 1.25**n (its ``sched_prio_to_weight`` table).
def nice_weight(niceness: float) -> float:
    return 1024 / 1.25 ** niceness


#: The trainer's measuring thread runs at the steps' priority (``nn.train._Measurements``): the same weight.
MEASURING_WEIGHT = nice_weight(0)


def fair_shares(weights: list[float], cores: float) -> list[float]:
    """The cores each of some always-runnable threads gets from a fair scheduler: in proportion to its weight, but
    at most one core each (what a thread cannot use goes to the others)."""
    shares = [0.0] * len(weights)
    free, left = list(range(len(weights))), float(cores)
    while free and left > 1e-12:
        total = sum(weights[i] for i in free)
        capped = [i for i in free if left * weights[i] / total >= 1.0]
        if not capped:
            for i in free:
                shares[i] = left * weights[i] / total
            break
        for i in capped:
            shares[i] = 1.0
            free.remove(i)
            left -= 1.0
    return shares


def wall_seconds(steps: float, evaluation: float, last: float, cores: float, alongside: int = 0,
                 overlap: bool = OVERLAP_MEASUREMENTS, measuring_weight: float = MEASURING_WEIGHT) -> float:
    """Wall seconds of a run whose SGD steps need ``steps`` CPU seconds and whose accuracy measurements need
    ``evaluation`` (of which ``last``, the one after the last step), on ``cores``, beside ``alongside`` other
    trainings (each a thread that wants a core).

    ``overlap``: the measurements run in a thread of their own (``measuring_weight``: its scheduler weight) while the steps
    go on, and the steps wait when they fall behind. Two phases: while the steps go on, the measuring thread gets
    its fair share (``fair_shares``) beside them and the other trainings whenever it has a measurement to do; the
    measurements not done when the steps end, and the last one, then get the measuring thread's share alone. So an idle two-core machine takes the longer of
    the two; one core takes their sum; and beside busy trainings the steps and measuring threads of every run share
    the cores. Without ``overlap``, one thread does everything.
    """
    others = [1024.0] * max(0, int(alongside))
    if not overlap:
        share = fair_shares([1024.0] + others, cores)[0]
        return (steps + evaluation) / share
    step_share, eval_share = fair_shares([1024.0, measuring_weight] + others, cores)[:2]
    steps_alone = fair_shares([1024.0] + others, cores)[0]  # the steps while no measurement is under way
    measuring_alone = fair_shares([measuring_weight] + others, cores)[0]  # a measurement while the steps wait
    before = evaluation - last
    both = before / eval_share  # how long the measurements take while the steps go on beside them
    if step_share * both <= steps:  # they keep up: then the steps go on alone
        phase1, behind = both + (steps - step_share * both) / steps_alone, 0.0
    else:  # they fall behind: what is left when the steps end is done after them
        phase1 = steps / step_share
        behind = before - eval_share * phase1
    return phase1 + (behind + last) / measuring_alone


def estimate_seconds(config: TrainConfig, n_train_available: int, n_test: int, speeds: Speeds,
                     alongside: int = 0) -> dict:
    """Expected wall seconds from Start to finished for a run of ``config`` while ``alongside`` other trainings
    run beside it: {"per_step", "steps", "evaluation", "start", "total"}.

    The work: ``steps`` (CPU seconds of the SGD steps, one after another on one thread) and ``evaluation`` (every
    accuracy measurement: images × cost per image, plus a fixed cost each, ``evaluations`` of them); how long it
    takes on this server's cores beside other trainings is ``wall_seconds``. Starting the run (a fork) and handing
    its end back add ``start``. ``per_step`` is a step's wall time beside the others.
    """
    n_train = min(config.train_size or n_train_available, n_train_available)
    hidden_scale = config.hidden / 50
    per_step = step_seconds(config.gradient, config.batch_size, config.hidden, speeds)
    steps = per_step * config.iters
    count = evaluations(config.iters, n_train, config.batch_size)
    one_evaluation = (n_train + n_test) * speeds.eval_image_s * hidden_scale + speeds.eval_fixed_s
    evaluation = count * one_evaluation
    step_share = fair_shares([1024.0] * (1 + max(0, int(alongside))), speeds.cores)[0]
    total = wall_seconds(steps, evaluation, one_evaluation, speeds.cores, alongside) + speeds.start_s / step_share
    return {"per_step": per_step / step_share, "steps": steps, "evaluation": evaluation, "start": speeds.start_s,
            "total": total}


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
