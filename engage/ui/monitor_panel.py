"""The monitor's pieces on other pages: recording what the Score page scored, and the alert banner. Owns the
session key KEY_RECORDED."""

from __future__ import annotations

import streamlit as st

from engage.errors import InputError
from engage.monitor.history import HistoryWriter
from engage.monitor.recorder import record_messages
from engage.reading import Messages
from engage.ui.errors import log_bug

KEY_RECORDED = "engage_monitor_recorded"  # what record_messages said about this session's last scoring


@st.cache_resource
def _writer() -> HistoryWriter:
    return HistoryWriter()


def record_scoring(messages: Messages, scores, threshold: float, model: str, sha256: str) -> None:
    """Record a file the Score page scored; a failure to record never loses the scores (the page carries on)."""
    try:
        outcome = record_messages(_writer(), messages, scores, threshold, model, sha256, source="app")
    except InputError as exc:
        outcome = {"history": f"not recorded: {exc}", "time_col": None, "time_notes": []}
    except Exception:
        incident, _ = log_bug()
        outcome = {"history": f"not recorded (an internal error, incident {incident})", "time_col": None,
                   "time_notes": []}
    st.session_state[KEY_RECORDED] = outcome
    if outcome["history"] == "off":
        return
    when = (f"under each message's time from '{outcome['time_col']}'" if outcome["time_col"]
            else "under the scoring time (no time column found)")
    st.caption(f"Scoring history: {outcome['history']} {when}.")
    for note in outcome["time_notes"]:
        st.caption(f"Note: {note}")
