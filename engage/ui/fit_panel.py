"""The Train page's line for fitting the head: which fit runs (each cross-validation fold, then the final head), how
many are done and an estimate of the time left (engage.train.FitStep, heard from the engine)."""

from __future__ import annotations

from collections.abc import Callable

from engage.train import FitStep, fit_step_text

KEY_PREFIX = "fit_"  # no session state: the line lives while training runs


def on_fit(bar) -> Callable[[FitStep], None]:
    """A FitStep listener drawing into `bar` (an st.progress: the head's bar; a head trained in epochs shows its
    epochs there between the fits' lines)."""
    def heard(step: FitStep) -> None:
        bar.progress(min(step.done / max(step.total, 1), 1.0), text=f"Fitting the head: {fit_step_text(step)}")

    return heard
