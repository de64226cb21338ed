"""The decision threshold: the one UI owner of it (the Score and Evaluate pages draw this panel; nothing else
writes it).

What the user chose is one frozen `ThresholdChoice` under one key. The threshold in force for a result is read
from it, never stored: the user's value when it was set for this file and model or is pinned, else "the model's
own", which engage.scoring.threshold_in_force applies. So scoring a new file or with a new model changes nothing
here, and going back to the model's own is an explicit control (the reset button), not a side effect.

The widgets (chooser, slider, pin, reset) have keys named by the page that draws the panel, all under KEY_PREFIX;
the slider and the pin are set from the choice before they are drawn (a widget's own key is dropped while its page
is not shown), and their callbacks write the choice.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from engage.scoring import threshold_in_force
from engage.thresholds import NEEDS_LABELS, choose_threshold
from engage.ui.errors import shown_errors
from engage.ui.state import ScoredFile

KEY_PREFIX = "threshold_"
KEY = "threshold_choice"   # ThresholdChoice, absent until the user sets a threshold (or after a reset)
YOU = "you"                # `by` of a value set on the slider
CHOOSERS = {"the model's own threshold": None, "best F1": "best_f1", "a target precision": "target_precision",
            "a target recall": "target_recall", "a top-K capacity": "top_k"}


@dataclass(frozen=True)
class ThresholdChoice:
    value: float
    by: str                 # YOU (the slider) or the name of the chooser that set it
    pinned: bool            # kept for the next files and models
    applies_to: tuple       # (file sha256, model) it was set for: unpinned, it applies to that result only


def _key(page: str, widget: str) -> str:
    return f"{KEY_PREFIX}{page}_{widget}"


def choice() -> ThresholdChoice | None:
    return st.session_state.get(KEY)


def given(res: ScoredFile) -> ThresholdChoice | None:
    """The user's choice if it applies to this result (set for it, or pinned), else None (the model's own)."""
    found = choice()
    if found is not None and (found.pinned or found.applies_to == (res.sha256, res.model)):
        return found
    return None


def in_force(res: ScoredFile) -> float:
    found = given(res)
    return threshold_in_force(res.classifier, None if found is None else found.value)


def in_words(res: ScoredFile) -> str:
    """Which threshold applies, in words: "the model's own 0.459" or "set by you: 0.800" (and whether pinned)."""
    found, value = given(res), in_force(res)
    if found is None:
        return f"the model's own {value:.3f}"
    said = f"set by you: {value:.3f}" + ("" if found.by == YOU else f" ({found.by})")
    return said + (", pinned: kept for the next files and models" if found.pinned else ", for this file and model")


def set_value(res: ScoredFile, value: float, by: str = YOU, pinned: bool | None = None) -> None:
    """The user's threshold for this result; `pinned` None keeps the pin as it is."""
    held = given(res)
    keep = held is not None and held.pinned
    st.session_state[KEY] = ThresholdChoice(float(value), by, keep if pinned is None else bool(pinned),
                                            (res.sha256, res.model))


def pin(res: ScoredFile, on: bool) -> None:
    """Keep the threshold in force for the next files and models (pinning the model's own makes it the user's)."""
    held = given(res)
    by = YOU if held is None else held.by
    st.session_state[KEY] = ThresholdChoice(in_force(res), by, bool(on), (res.sha256, res.model))


def reset() -> None:
    """Back to the model's own threshold, for this and the next files and models."""
    st.session_state.pop(KEY, None)


def _from_slider(res: ScoredFile, key: str) -> None:
    set_value(res, st.session_state[key])


def _from_pin(res: ScoredFile, key: str) -> None:
    pin(res, st.session_state[key])


def _chooser_value(code: str | None, res: ScoredFile, page: str, column) -> float | None:
    if code in ("target_precision", "target_recall"):
        return column.number_input("Target", 0.01, 1.0, 0.8, 0.01, key=_key(page, "target"))
    if code == "top_k":
        n = max(1, len(res.scores))
        return column.number_input("K messages", 1, n, min(100, n), 1, key=_key(page, "top_k"),
                                   help="flag about the K highest-scoring messages (your team's capacity)")
    return None


def panel(res: ScoredFile, page: str) -> float:
    """The engine's threshold choosers, a slider, a pin and a reset; returns the threshold in force. A chooser's
    choice and the slider's are for this file and model unless pinned (the pin keeps it for the next ones)."""
    names = [name for name, code in CHOOSERS.items() if code not in NEEDS_LABELS or res.labels is not None]
    left, middle, right = st.columns([2, 1, 1], vertical_alignment="bottom")
    name = left.selectbox("Set the threshold by", names, key=_key(page, "chooser"),
                          help=None if res.labels is not None else "best F1 and the targets need a label column")
    code = CHOOSERS[name]
    value = _chooser_value(code, res, page, middle)
    if right.button("Apply", key=_key(page, "apply")):
        with shown_errors():
            if code is None:
                reset()
            else:
                # For this file and model: a top-K or a target means another threshold on another file, so it is
                # kept for the next ones only when the user pins it (issue 24 item 17).
                set_value(res, choose_threshold(res.labels, res.scores, code, value), by=name)
    slider = _key(page, "slider")
    st.session_state[slider] = in_force(res)
    st.slider("Threshold: a message is flagged when its score is at least this", 0.0, 1.0, step=0.01,
              format="%.3f", key=slider, on_change=_from_slider, args=(res, slider))
    pinned = _key(page, "pin")
    found = given(res)
    st.session_state[pinned] = found is not None and found.pinned
    left, right = st.columns([3, 1], vertical_alignment="center")
    left.checkbox("Pin: keep this threshold for the next files and models", key=pinned, on_change=_from_pin,
                  args=(res, pinned), help="unpinned, a new file or a new active model starts from the model's own")
    right.button("Use the model's own", key=_key(page, "reset"), on_click=reset, disabled=found is None,
                 help="back to the model's own threshold, unpinned")
    st.caption(f"Threshold in force: {in_words(res)}.")
    return in_force(res)
