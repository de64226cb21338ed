"""Monitoring over time: the scoring history, each model version's reference, drift, estimated and measured
performance, alerts (docs/architecture.md, the "time" flow). No UI here: the Monitor page and `engage monitor` call
these functions."""

from engage.monitor.history import History, HistoryWriter, read_history
from engage.monitor.settings import MonitorSettings, monitor_settings

__all__ = ["History", "HistoryWriter", "MonitorSettings", "monitor_settings", "read_history"]
