"""The app's charts leave undefined metrics out (never drawn as 0) and say so in their subtitles."""

from __future__ import annotations

import numpy as np
import pandas as pd

from engage.metrics import metric_table, metrics_by_threshold, pr_curve, slice_table
from engage.summary import operating_point
from engage.ui import charts

Y = np.array([0, 0, 1, 1, 1, 0, 1, 0])
S = np.array([0.1, 0.6, 0.8, 0.35, 0.9, 0.2, 0.55, 0.7])


def _data(chart) -> list[pd.DataFrame]:
    spec = chart.to_dict()
    return [pd.DataFrame(rows) for rows in spec.get("datasets", {}).values()]


def _subtitle(chart) -> list[str]:
    title = chart.to_dict()["title"]
    return list(title.get("subtitle", [])) if isinstance(title, dict) else []


def test_the_pr_point_is_left_out_where_precision_is_undefined():
    table = metric_table(Y, S, 0.95)
    chart = charts.pr_chart(pr_curve(Y, S), operating_point(table))
    points = [d for d in _data(chart) if len(d) <= 1]
    assert all(d.empty for d in points)  # the operating point layer has no row (not a point at (0, 0))
    assert "nothing is flagged, so its precision is undefined" in _subtitle(chart)[0]
    defined = charts.pr_chart(pr_curve(Y, S), operating_point(metric_table(Y, S, 0.5)))
    assert _subtitle(defined) == [] and any(len(d) == 1 for d in _data(defined))


def test_the_threshold_lines_stop_where_their_metric_is_undefined():
    chart = charts.threshold_chart(metrics_by_threshold(Y, S, steps=11), 0.5)
    long = next(d for d in _data(chart) if "metric" in d.columns)
    precision = long[long["metric"] == "precision"]
    assert precision["threshold"].max() == 0.9 and precision["value"].notna().all()  # nothing flagged at 1.0
    assert not ((long["metric"] == "precision") & (long["value"] == 0)).any()
    assert any(s.startswith("precision undefined from threshold 1.00") for s in _subtitle(chart))


def test_slices_with_undefined_f1_are_not_drawn_as_the_worst_bars():
    groups = pd.Series(["x", "x", "y", "y", "y", "x", "z", "x"])
    chart = charts.slices_chart(slice_table(Y, S, 0.6, groups))
    drawn = _data(chart)[0]
    assert drawn["slice"].tolist() == ["y"]
    assert _subtitle(chart) == ["left out, F1 undefined: x, z"]
