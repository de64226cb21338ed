"""The Train page's comparison of a new version with the active one: both on the same messages first (engage.promotion
.compare_on_same_messages), the figures each recorded on its own data labeled as such, and the warnings to read
before promoting (engage.promotion.promotion_warnings)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from engage.metrics import METRICS
from engage.promotion import SameMessages, promotion_warnings
from engage.registry import ModelVersion
from engage.ui import controls

KEY_PREFIX = "compare_"
_FORMAT = controls.metric_columns(*controls.METRIC_COLUMNS)
_SHOWN = ["name", "rows", "threshold", *METRICS]


def same_messages(same: SameMessages | None) -> None:
    """Both versions on the same messages, or why there is no such table."""
    if same is None:
        st.info("The new version was trained without validation, so it has no scores of its own to set beside the "
                "active version's on the same messages.", icon=":material/info:")
        return
    rows = int(same.table["rows"].iloc[0])
    where = ("every label the new version trained on, each with its cross-validated score (from a fit that did "
             "not see it)" if same.how == "cross-validation" else
             "the new version's held-out labels, which it did not train on")
    st.markdown(f"**Both on the same {rows:,} messages**: {where}; the active version "
                f"{same.active} scored them too. Each at its own threshold.")
    overlap = same.active_overlap
    if overlap is None:
        st.caption(f"{same.active} did not record its training messages: if it trained on these, its figures here "
                   "are optimistic.")
    elif overlap.training:
        st.caption(f"{same.active} trained on {overlap.share:.0%} of these messages: its figures here are "
                   "optimistic.")
    st.dataframe(same.table[_SHOWN], hide_index=True, key=f"{KEY_PREFIX}same_table", column_config=_FORMAT,
                 placeholder="")


def recorded_caption(frame: pd.DataFrame) -> None:
    """Under the recorded figures: on what each was measured, and whether that is the same data."""
    places = frame["measured_on"].dropna().unique().tolist()
    if len(places) > 1:
        st.caption("Not comparable across versions: each row's figures were measured on its own data (its "
                   "measured_on column). Compare on the same messages, above.")
    else:
        st.caption("As recorded at training: each version's figures come from its own held-out rows or "
                   "cross-validation.")


def warnings(candidate: ModelVersion, same: SameMessages | None) -> None:
    """What to read before promoting, right above the button."""
    for said in promotion_warnings(candidate, same):
        st.warning(f"Before promoting: {said}", icon=":material/warning:")
