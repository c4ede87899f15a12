"""Bounded work, as the pages say it: the refusals and notes of the server's limits (``ui.runner.Limits``).

- A run over the estimated-time cap (``SGDLAB_MAX_RUN_MINUTES``) is refused before it starts: ``cap_refusal``
  says how long it would take, the cap, and how many iterations of that gradient method would fit.
- One training at a time per session: a further Start puts the run in the session's own line (it starts when the
  session's previous run ends); ``own_line_note`` says so beside Start.
- A full server line (``SGDLAB_MAX_QUEUE``): ``line_full_message`` says how long the line is and roughly when
  to try again; nothing is started.
- A refusal found only at Start (the line filled meanwhile) is kept for the next run of the page
  (``refuse`` / ``show_refusal``).

The estimate is the pages' own (``ui.training_view.estimate_message``), passed in as ``estimate(config)``.
"""

from __future__ import annotations

from typing import Callable

import streamlit as st

from nn.train import TrainConfig
from ui import analysis, runner, state
from ui.i18n import t

GRADIENT_NAMES = {"backprop": "train.gradient_backprop", "numerical": "train.gradient_numerical",
                  "numerical-plain": "train.gradient_numerical_plain"}


def fitting_iters(config: TrainConfig, cap_s: float, estimate: Callable[[TrainConfig], float]) -> int:
    """The most iterations (0 to ``config.iters``) of ``config`` whose estimate is within ``cap_s``: a binary
    search over the estimate (which grows with the iterations)."""
    low, high = 0, int(config.iters)  # estimate(low iterations) fits (0 does by definition); high may not
    if estimate(config) <= cap_s:
        return high
    while high - low > 1:
        middle = (low + high) // 2
        if estimate(config.replace(iters=middle)) <= cap_s:
            low = middle
        else:
            high = middle
    return low


def cap_refusal(config: TrainConfig, seconds: float, estimate: Callable[[TrainConfig], float],
                limits: runner.Limits | None = None) -> str | None:
    """Why ``config`` (estimated at ``seconds``) may not start on this server, or None when it may."""
    limits = limits or runner.limits()
    cap = limits.max_run_seconds
    if cap is None or seconds <= cap:
        return None
    fits = fitting_iters(config, cap, estimate)
    method = t(GRADIENT_NAMES.get(config.gradient, "train.gradient"))
    fit = t("limits.fits", n=f"{fits:,}", method=method) if fits > 0 else t("limits.fits_none", method=method)
    return t("limits.over_cap", total=analysis.format_duration(seconds), cap=analysis.format_duration(cap),
             fit=fit)


def line_full_message(waiting: int, running: int, wait_s: float | None) -> str:
    """The server's line is full: how long it is, and roughly when to try again."""
    when = t("limits.try_in", duration=analysis.format_duration(max(wait_s, 5.0))) if wait_s is not None \
        else t("limits.try_later")
    return t("limits.line_full", waiting=waiting, running=running, when=when)


def line_refusal() -> str | None:
    """The line-full message when a run that would join the server's line now would be refused, else None."""
    full = runner.pool().line_full()
    return None if full is None else line_full_message(*full)


def own_line_note(job) -> str:
    """Beside Start while the session has a run training or waiting: what a further Start does."""
    return t("limits.own_line", run=f"#{job.id}")


def refuse(message: str) -> None:
    """Keep a refusal found at Start for the page's next run (``show_refusal``)."""
    state.set_limit_refusal(message)


def show_refusal(shown: str | None = None) -> None:
    """Show (once) a refusal kept by ``refuse``, unless it is ``shown`` already (the page's own refusal)."""
    message = state.take_limit_refusal()
    if message and message != shown:
        st.error(message, icon=":material/block:")
