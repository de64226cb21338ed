"""The Train page's "fine-tune ELMo on these labels" option (engage train --finetune): off by default, with a time
budget, and the progress bar shown while it runs. Offered only where the active model's ELMo can be fine-tuned
(our biLM); otherwise it says why, in the engine's words (engage.encoders.bilm.finetune.refuse_unless_bilm)."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from engage.errors import InputError
from engage.scoring import Classifier

KEY_PREFIX = "finetune_"              # every session key of this option (its widgets') starts so
KEY_ON = "finetune_on"                # bool: fine-tune before training (default off)
KEY_MINUTES = "finetune_minutes"      # int: the time budget in minutes
DEFAULT_MINUTES = 15


def refusal(clf: Classifier) -> str | None:
    """Why this model's ELMo cannot be fine-tuned, or None when it can (a fine-tuned version: its base can)."""
    from engage.encoders.bilm.finetune import refuse_unless_bilm

    try:
        refuse_unless_bilm(clf.encoder)
    except InputError as exc:
        return str(exc)
    return None


def option(clf: Classifier) -> float | None:
    """The expander: the fine-tuning's time budget in seconds, or None when off (the default)."""
    with st.expander("Fine-tune ELMo on these labels"):
        why_not = refusal(clf)
        on = st.checkbox("Fine-tune ELMo before training", key=KEY_ON, value=False, disabled=why_not is not None)
        minutes = st.slider("Fine-tuning time budget (minutes)", 1, 120, DEFAULT_MINUTES, key=KEY_MINUTES,
                            disabled=why_not is not None)
        if why_not is not None:
            st.caption(f"Not available for this model: {why_not}.")
        else:
            st.caption(f"Trains ELMo itself on these labels (top layers first, lower layers at lower learning rates, "
                       f"early stop on the validation below), at most {minutes} min, keeping the best weights "
                       f"(the base ELMo's when no epoch beats it); then trains the recipe on it. The new version "
                       f"carries its own ELMo. It is not the default: on our benchmark it bought nothing (see the "
                       f"README's fine-tuning section).")
    return 60.0 * minutes if on and why_not is None else None


def progress(budget_s: float) -> tuple[Callable[[int, int, float], None], st.delta_generator.DeltaGenerator]:
    """A progress bar for the fine-tuning, and its on_step(step, at most steps, seconds so far): the share done is
    the larger of steps and time against their limits (early stop or the budget may end it sooner)."""
    bar = st.progress(0.0, text=f"Fine-tuning ELMo on the labels (at most {budget_s / 60:.0f} min)…")
    shown = {"at": -1.0}

    def on_step(step: int, most: int, elapsed: float) -> None:
        if elapsed - shown["at"] < 0.5 and step < most:  # a rerender per step would slow the training
            return
        shown["at"] = elapsed
        left = max(0.0, min(budget_s - elapsed, elapsed / max(step, 1) * (most - step)))
        bar.progress(min(max(step / max(most, 1), elapsed / max(budget_s, 1e-9)), 1.0),
                     text=f"Fine-tuning ELMo: step {step:,} of at most {most:,} · at most {left / 60:.1f} min left")

    return on_step, bar


def outcome(record: dict | None) -> str:
    """What the success message adds for a fine-tuned version (its model.json's encoder.finetuned), else ""."""
    if record is None:
        return ""
    before, after = record["validation"]["before"], record["validation"]["after"]
    kept = ("the base ELMo kept: no epoch beat it" if record["best_epoch"] == 0
            else f"epoch {record['best_epoch']} kept")
    figures = "" if before is None else f", early-stop rows' ROC-AUC {before:.4f} → {after:.4f}"
    return f" on ELMo fine-tuned on these labels ({record['stopped_by']}, {kept}{figures})"
