"""The Evaluate page's note above the metrics when the file holds messages the version trained on (engage.overlap:
the share of rows that were training rows; its metrics on them are optimistic)."""

from __future__ import annotations

import streamlit as st

from engage.overlap import Overlap, overlap_note, training_overlap
from engage.ui import state

KEY_PREFIX = "overlap_"
KEY_FOUND = "overlap_found"  # state.Slot: the result's Overlap, computed once per result


def note(res: state.ScoredFile) -> Overlap | None:
    """Warns (or, for a version that did not record its training messages, says in a caption) above the metrics."""
    version = res.classifier.version
    found = state._slot(KEY_FOUND, res.key, lambda: training_overlap(version, res.messages.texts, res.labels))
    said = overlap_note(found, version)
    if said is None:
        return found
    if found is None:
        st.caption(said)
    else:
        st.warning(said, icon=":material/warning:")
    return found
