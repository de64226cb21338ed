"""The monitor's pieces on other pages: recording what the Score page scored, and the alert banner. Owns the
session key KEY_RECORDED."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from engage.access import Action
from engage.errors import InputError
from engage.labels import default_url
from engage.monitor.alerts import open_alerts
from engage.monitor.history import HistoryWriter
from engage.monitor.recorder import record_messages
from engage.reading import Messages
from engage.ui import access_gate
from engage.ui.errors import log_bug

KEY_RECORDED = "engage_monitor_recorded"  # what record_messages said about this session's last scoring


@dataclass(frozen=True)
class Recorded:
    """What the history said of the session's last scoring (a frozen value: session state holds no dict)."""
    history: str
    time_col: str | None
    time_notes: tuple[str, ...]


@st.cache_resource
def _writer() -> HistoryWriter:
    return HistoryWriter()


def record_scoring(messages: Messages, scores, threshold: float, model: str, sha256: str,
                   time_col: str | None = None) -> None:
    """Record a file the Score page scored, dated by time_col (engage.monitor.recorder's meaning: None detects
    one); a failure to record never loses the scores (the page carries on)."""
    try:
        outcome = record_messages(_writer(), messages, scores, threshold, model, sha256, source="app",
                                  time_col=time_col)
    except InputError as exc:
        outcome = {"history": f"not recorded: {exc}", "time_col": None, "time_notes": []}
    except Exception:
        incident, _ = log_bug()
        outcome = {"history": f"not recorded (an internal error, incident {incident})", "time_col": None,
                   "time_notes": []}
    st.session_state[KEY_RECORDED] = Recorded(outcome["history"], outcome["time_col"], tuple(outcome["time_notes"]))
    if outcome["history"] == "off":
        return
    when = (f"under each message's time from '{outcome['time_col']}'" if outcome["time_col"]
            else "under the scoring time")  # the note below says why
    st.caption(f"Scoring history: {outcome['history']} {when}.")
    for note in outcome["time_notes"]:
        st.caption(f"Note: {note}")


def alert_banner() -> None:
    """A one-line warning of the open alerts (stored by the Monitor page, `engage monitor check` or a report),
    for the roles that may open the Monitor page. A failure here never stops the page below it."""
    if not access_gate.may(Action.MONITOR):
        return
    try:
        alerts = open_alerts(default_url())  # two small queries: fresh on every rerun
    except Exception:
        log_bug()
        return
    if alerts:
        rules = sorted({a["rule"].replace("_", " ") for a in alerts})
        last = max(a["day"] for a in alerts)
        st.warning(f"{len(alerts)} open monitor alert{'s' if len(alerts) > 1 else ''} ({', '.join(rules)}), the "
                   f"latest on {last}: see the Monitor page.", icon=":material/notifications_active:")
