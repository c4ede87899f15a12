"""What every job of a session is: a training in the making (``ui.runner.TrainingJob``), a run loaded from a file
(``ui.model_files.UploadedJob``), or a test's double. Pages and ``ui.state`` rely on this interface only.

Words: a *job* is the session's handle (an id, a name, Stop); its *run* is the ``nn.train.Run`` record the
training fills in place (config, losses, accuracies, weights). ``state.jobs()`` gives jobs; ``job.run`` the run.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from nn.train import Run, TrainConfig


@runtime_checkable
class Job(Protocol):
    id: int  # 1, 2, 3… in the session
    run: Run  # filled in place while it trains; complete once ``run.done``
    created_at: float  # time.time() when the session got it
    error: str  # what went wrong, for the log ("" when nothing did)
    waited_for_end: bool  # the live view has waited once for its end (ui.training_view.wait_for_the_end)

    @property
    def name(self) -> str: ...  # "#3 lr 0.1 · batch 100 · 10k it"

    @property
    def config(self) -> TrainConfig: ...

    @property
    def stopping(self) -> bool: ...  # Stop was pressed and the run has not ended yet

    def place_in_line(self) -> int | None: ...  # 1 for the next to start…; None when not waiting

    def status_text(self) -> str: ...  # one line in the session's language: see ``status_text`` below

    def stop(self) -> None: ...

    def join(self, timeout: float | None = None) -> bool: ...  # True once it has ended


def status_text(job: Job) -> str:
    """One line for any job: "waiting — place 2 in line", "training 3,400 of 10,000", "finished: test 94.6%"…"""
    from ui.i18n import t, translate_core  # in the session's language (English outside a script run)

    run = job.run
    done, total = f"{run.iterations_done:,}", f"{run.config.iters:,}"
    if run.status == "pending":
        if job.stopping:
            return t("status.stopping")
        place = job.place_in_line()
        return t("status.waiting", place=place) if place else t("status.starting")
    if run.status == "running":
        return t("status.stopping_at" if job.stopping else "status.training", done=done, total=total)
    last = run.last
    test = t("status.test", acc=f"{last.test_acc:.1%}") if last else t("status.no_accuracy")
    if run.status == "finished":
        return t("status.finished", test=test)
    if run.status == "stopped":
        return t("status.stopped", done=done, total=total, test=test)
    status = t(f"status.{run.status}")
    return t("status.with_reason", status=status, reason=translate_core(run.reason)) if run.reason else status


def has_weights(job: Job) -> bool:
    """Whether the job's run has trained weights a page can read with (finished, stopped, or training)."""
    run = job.run
    return run.status in ("running", "finished", "stopped") and run.iterations_done > 0 and bool(run.params)


def final_test_acc(job: Job) -> float:
    last = job.run.last
    return float(last.test_acc) if last is not None else -1.0
