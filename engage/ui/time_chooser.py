"""The Score page's time column chooser: which column dates each message in the scoring history, as `engage score
--time-col` does. Detected by name by default (engage.reading.times), any other column can be chosen, or none (the
scoring time). Owns the session keys starting with KEY_PREFIX."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from engage.monitor.recorder import SCORING_TIME
from engage.monitor.settings import monitor_settings
from engage.reading.times import detect_time_column
from engage.ui.text import plain

KEY_PREFIX = "time_chooser_"
NONE = "(none: the scoring time is used)"


def choose(frame: pd.DataFrame, sha256: str, text_col: str, label_col: str | None) -> str | None:
    """The column the analyst keeps or picks, SCORING_TIME for none, or None (detect) when nothing is recorded."""
    if not monitor_settings().record:
        return None
    skip = tuple(c for c in (text_col, label_col) if c)
    options = [NONE, *(c for c in frame.columns if c not in skip)]
    detected = detect_time_column(frame, exclude=skip)
    # Keyed by file and columns: another file, or other text or label columns, start from their detected column.
    chosen = st.selectbox("Time column (dates each message in the scoring history)", options,
                          index=options.index(detected) if detected in options else 0,
                          key=f"{KEY_PREFIX}{sha256[:16]}_{text_col}_{label_col}",
                          help="The Monitor page counts each message on its own day. Detected by name "
                               "(created_at, date, timestamp, ...); pick another column, or none.")
    if chosen == NONE:
        st.caption("No time column: the scoring time is used, so every message is counted on today's date.")
        return SCORING_TIME
    how = "detected by its name" if chosen == detected else "chosen"
    st.caption(f"Each message is counted on its day in '{plain(chosen)}' ({how}); with none, the scoring time "
               "is used.")
    return chosen
