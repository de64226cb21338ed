"""The Monitor page's Altair charts (data prepared by engage.monitor.report)."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from engage.monitor.summary import SCORE_EDGES


def volume_chart(daily: pd.DataFrame, split: pd.DataFrame | None, column: str | None) -> alt.Chart:
    """Messages per day (stacked by the split column's values when one is chosen)."""
    if split is not None and len(split):
        return alt.Chart(split).mark_bar().encode(
            x=alt.X("day:T", title="day"), y=alt.Y("messages:Q", title="messages"),
            color=alt.Color("value:N", title=column), tooltip=["day:T", "value:N", "messages:Q", "flagged:Q"])
    return alt.Chart(daily).mark_bar().encode(
        x=alt.X("day:T", title="day"), y=alt.Y("messages:Q", title="messages"),
        tooltip=["day:T", "messages:Q", "flagged:Q"])


def share_chart(daily: pd.DataFrame, reference_share: float | None) -> alt.LayerChart | alt.Chart:
    line = alt.Chart(daily).mark_line(point=True).encode(
        x=alt.X("day:T", title="day"), y=alt.Y("flagged_share:Q", title="share flagged", axis=alt.Axis(format="%")),
        tooltip=["day:T", alt.Tooltip("flagged_share:Q", format=".1%")])
    if reference_share is None:
        return line
    rule = alt.Chart(pd.DataFrame({"share": [reference_share]})).mark_rule(strokeDash=[4, 4], color="gray").encode(
        y="share:Q")
    return line + rule


def score_distribution_chart(current_hist, reference_hist) -> alt.Chart:
    mids = (SCORE_EDGES[:-1] + SCORE_EDGES[1:]) / 2
    rows = []
    for side, hist in (("this period", current_hist), ("reference", reference_hist)):
        if hist is None:
            continue
        h = np.asarray(hist, dtype=float)
        rows += [{"score": float(m), "share": float(v / h.sum()) if h.sum() else 0.0, "side": side}
                 for m, v in zip(mids, h, strict=True)]
    return alt.Chart(pd.DataFrame(rows)).mark_bar(opacity=0.6).encode(
        x=alt.X("score:Q", bin=alt.Bin(step=0.05), title="score"), y=alt.Y("share:Q", title="share of messages",
                                                                           stack=None),
        color=alt.Color("side:N", title=None), xOffset="side:N", tooltip=["side:N", "score:Q",
                                                                          alt.Tooltip("share:Q", format=".1%")])


def performance_chart(daily: pd.DataFrame, measured: pd.DataFrame | None) -> alt.LayerChart | alt.Chart:
    cols = [c for c in ("estimated_precision", "estimated_recall", "estimated_f1") if c in daily.columns]
    long = daily.melt(id_vars=["day"], value_vars=cols, var_name="figure", value_name="value")
    chart = alt.Chart(long).mark_line(point=True).encode(
        x=alt.X("day:T", title="day"), y=alt.Y("value:Q", title="estimated", scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("figure:N", title=None), tooltip=["day:T", "figure:N", alt.Tooltip("value:Q", format=".2f")])
    if measured is None or measured.empty:
        return chart
    bars = alt.Chart(measured).mark_errorbar(color="black").encode(x="until:T", y="f1_low:Q", y2="f1_high:Q")
    points = alt.Chart(measured).mark_point(color="black", shape="diamond", size=80).encode(
        x="until:T", y="f1:Q", tooltip=["name:N", alt.Tooltip("f1:Q", format=".2f"), "labeled:Q"])
    return chart + bars + points


def calibration_chart(curve: list[dict]) -> alt.LayerChart:
    frame = pd.DataFrame(curve)
    diagonal = alt.Chart(pd.DataFrame({"x": [0, 1], "y": [0, 1]})).mark_line(strokeDash=[4, 4], color="gray").encode(
        x="x:Q", y="y:Q")
    points = alt.Chart(frame).mark_line(point=True).encode(
        x=alt.X("mean_score:Q", title="mean score", scale=alt.Scale(domain=[0, 1])),
        y=alt.Y("share_positive:Q", title="share engageable", scale=alt.Scale(domain=[0, 1])),
        tooltip=["mean_score:Q", "share_positive:Q", "n:Q"])
    return diagonal + points
