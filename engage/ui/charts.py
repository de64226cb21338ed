"""Altair charts drawn from the engine's DataFrames; nothing is computed here beyond layout."""

from __future__ import annotations

import altair as alt
import pandas as pd

from engage.metrics import METRICS, SEED_METRICS
from engage.summary import CLASS_NAMES, thin_curve

_MARK = "#d62728"


def confusion_heatmap(cells: pd.DataFrame) -> alt.LayerChart:
    """engage.summary.confusion_frame as a heatmap: colour by the share of the actual class, text count (%)."""
    order = list(reversed(CLASS_NAMES))
    base = alt.Chart(cells).encode(
        x=alt.X("predicted:N", sort=order, title="predicted", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("actual:N", sort=order, title="actual"),
    )
    rect = base.mark_rect().encode(
        color=alt.Color("row_share:Q", scale=alt.Scale(domain=[0, 1], scheme="blues"), title="share of row"),
        tooltip=["actual", "predicted", alt.Tooltip("count:Q", format=","),
                 alt.Tooltip("row_share:Q", format=".1%", title="share of row")],
    )
    text = base.mark_text(fontSize=16).encode(
        text="label:N",
        color=alt.condition(alt.datum.row_share > 0.5, alt.value("white"), alt.value("black")),
    )
    return (rect + text).properties(title="Confusion matrix", height=260)


def _point(x: str, y: str, point: dict) -> alt.Chart:
    """The operating point; with no data when one of its coordinates is undefined (it is then not on the curve)."""
    undefined = point[x] is None or point[y] is None
    frame = pd.DataFrame([] if undefined else [{x: point[x], y: point[y], "threshold": point["threshold"]}],
                         columns=[x, y, "threshold"])
    return alt.Chart(frame).mark_point(size=140, filled=True, color=_MARK).encode(
        x=f"{x}:Q", y=f"{y}:Q", tooltip=[alt.Tooltip("threshold:Q", format=".3f"), f"{x}:Q", f"{y}:Q"])


def pr_chart(curve: pd.DataFrame, point: dict) -> alt.LayerChart:
    """engage.metrics.pr_curve with the current threshold marked (not marked where its precision is undefined)."""
    line = alt.Chart(thin_curve(curve)).mark_line().encode(
        x=alt.X("recall:Q", scale=alt.Scale(domain=[0, 1])), y=alt.Y("precision:Q", scale=alt.Scale(domain=[0, 1])),
        order="threshold:Q", tooltip=[alt.Tooltip("threshold:Q", format=".3f"), "precision:Q", "recall:Q"])
    said = (["no point for this threshold: nothing is flagged, so its precision is undefined"]
            if point["precision"] is None else [])
    return (line + _point("recall", "precision", point)).properties(
        title=alt.Title("Precision-recall curve", subtitle=said), height=300)


def roc_chart(curve: pd.DataFrame, point: dict, auc: float | None) -> alt.LayerChart:
    """engage.metrics.roc_curve with the diagonal of chance and the current threshold marked."""
    line = alt.Chart(thin_curve(curve)).mark_line().encode(
        x=alt.X("fpr:Q", title="false positive rate", scale=alt.Scale(domain=[0, 1])),
        y=alt.Y("tpr:Q", title="true positive rate", scale=alt.Scale(domain=[0, 1])),
        tooltip=[alt.Tooltip("threshold:Q", format=".3f"), "fpr:Q", "tpr:Q"])
    chance = alt.Chart(pd.DataFrame({"fpr": [0, 1], "tpr": [0, 1]})).mark_line(
        strokeDash=[4, 4], color="gray").encode(x="fpr:Q", y="tpr:Q")
    title = "ROC curve" + (f" (AUC {auc:.3f})" if auc is not None else "")
    return (chance + line + _point("fpr", "tpr", point)).properties(title=title, height=300)


def threshold_chart(by_threshold: pd.DataFrame, threshold: float) -> alt.LayerChart:
    """engage.metrics.metrics_by_threshold: one line per metric, a rule at the current threshold. Undefined values
    (NaN) are left out, so a line stops where its metric is undefined, and the subtitle says so."""
    long = by_threshold.melt(id_vars="threshold", value_vars=list(SEED_METRICS),
                             var_name="metric", value_name="value")
    missing = long[long["value"].isna()]
    long = long.dropna(subset=["value"])
    said = [f"{metric} undefined from threshold {group['threshold'].min():.2f}"
            + (f" to {group['threshold'].max():.2f}" if group["threshold"].max() < 1 else "") + ": left out"
            for metric, group in missing.groupby("metric", sort=False)]
    lines = alt.Chart(long).mark_line().encode(
        x=alt.X("threshold:Q", scale=alt.Scale(domain=[0, 1])), y=alt.Y("value:Q", scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("metric:N", sort=list(SEED_METRICS)),
        tooltip=["metric", alt.Tooltip("threshold:Q", format=".2f"), alt.Tooltip("value:Q", format=".3f")])
    rule = alt.Chart(pd.DataFrame({"threshold": [threshold]})).mark_rule(color=_MARK, strokeWidth=2).encode(
        x="threshold:Q")
    return (lines + rule).properties(title=alt.Title("Metrics versus threshold", subtitle=said), height=300)


# The metrics' display names on an axis (the data keep the engine's keys): a Vega expression.
_METRIC_LABELS = "({'roc_auc': 'ROC AUC', 'pr_auc': 'PR AUC', 'f1': 'F1'})[datum.label] || datum.label"


def models_chart(long: pd.DataFrame, subtitle: str | None = None) -> alt.Chart:
    """engage.summary.models_metrics_long: held-out metrics, versions side by side within each metric (the Models
    page names versions measured on other data in `version`, and on what data in `subtitle`)."""
    return alt.Chart(long).mark_bar().encode(
        x=alt.X("metric:N", sort=list(METRICS), title=None,
                axis=alt.Axis(labelAngle=0, labelExpr=_METRIC_LABELS)),
        xOffset="version:N",
        y=alt.Y("value:Q", scale=alt.Scale(domain=[0, 1]), title="held-out value"),
        color="version:N",
        tooltip=["version", "metric", alt.Tooltip("value:Q", format=".4f"), "measured_on"],
    ).properties(title=alt.Title("Held-out metrics by version (cross-validated or on a held-out split: the table's "
                                 "validation column says which)", subtitle=subtitle or ""), height=320)


def slices_chart(slices: pd.DataFrame) -> alt.Chart:
    """engage.metrics.slice_table: F1 per slice, with the slice's size in the tooltip; slices whose F1 is undefined
    are left out (not drawn as 0) and named in the subtitle."""
    undefined = slices.loc[slices["f1"].isna(), "slice"].astype(str).tolist()
    said = [f"left out, F1 undefined: {', '.join(undefined[:10])}{' …' if len(undefined) > 10 else ''}"
            ] if undefined else []
    return alt.Chart(slices.dropna(subset=["f1"])).mark_bar().encode(
        x=alt.X("f1:Q", scale=alt.Scale(domain=[0, 1])), y=alt.Y("slice:N", sort="-x", title=None),
        tooltip=["slice", "n", alt.Tooltip("precision:Q", format=".3f"), alt.Tooltip("recall:Q", format=".3f"),
                 alt.Tooltip("f1:Q", format=".3f")],
    ).properties(title=alt.Title("F1 by slice", subtitle=said))


def slices_over_time_chart(slices: pd.DataFrame, grain: str) -> alt.Chart:
    """engage.summary.time_slice_metrics: F1 per day or week, in time order (periods without an F1 are gaps)."""
    return alt.Chart(slices).mark_line(point=True).encode(
        x=alt.X("slice:O", sort=None, title=grain), y=alt.Y("f1:Q", scale=alt.Scale(domain=[0, 1])),
        tooltip=["slice", "n", alt.Tooltip("precision:Q", format=".3f"), alt.Tooltip("recall:Q", format=".3f"),
                 alt.Tooltip("f1:Q", format=".3f")],
    ).properties(title=f"F1 by {grain} (UTC)")
