"""Tables the web app shows, built from engine results: flag counts, metric rows, confusion cells, operating
points, curves thinned for drawing, slices, model versions (the scored table itself is engage.scoring's).
Pure pandas/numpy: the UI draws these, it computes nothing itself."""

from __future__ import annotations

import numpy as np
import pandas as pd

from engage.errors import InputError
from engage.metrics import METRICS, decide, slice_table
from engage.reading import is_id_name
from engage.reading.times import time_periods
from engage.registry import ModelVersion

METRIC_ROW_COLUMNS = (*METRICS, "support")  # metrics_frame's leading columns
CLASS_NAMES = ("not engageable", "engageable")
MAX_SLICES = 100
MAX_TIME_SLICES = 400  # a time column's days or weeks: a year and a month of days


def flag_summary(scores: np.ndarray, threshold: float) -> dict:
    """rows, flagged, share (0..1) and threshold."""
    n = int(len(scores))
    flagged = int(decide(scores, threshold).sum()) if n else 0
    return {"rows": n, "flagged": flagged, "share": flagged / n if n else 0.0, "threshold": float(threshold)}


def metrics_frame(table: dict) -> pd.DataFrame:
    """One row from engage.metrics.metric_table: the seed's four first, then ROC-AUC, PR-AUC, support (all rows),
    the support of each class and the threshold."""
    row = {k: table[k] for k in METRICS}
    row |= {"support": table["n"], "engageable": table["support"]["engageable"],
            "not_engageable": table["support"]["not_engageable"], "threshold": table["threshold"]}
    # float columns: an undefined figure is NaN, an empty cell, never a 0 (engage.metrics.undefined_metrics says why)
    return pd.DataFrame([row]).astype(dict.fromkeys(METRICS, float))


def confusion_frame(confusion: list[list[int]]) -> pd.DataFrame:
    """One row per cell of [[tn, fp], [fn, tp]]: actual, predicted, count, row_share (of the actual class) and
    a label like '12 (34.5%)'."""
    rows = []
    for actual, counts in enumerate(confusion):
        total = sum(counts)
        for predicted, count in enumerate(counts):
            share = count / total if total else 0.0
            rows.append({"actual": CLASS_NAMES[actual], "predicted": CLASS_NAMES[predicted], "count": int(count),
                         "row_share": share, "label": f"{count:,} ({share:.1%})"})
    return pd.DataFrame(rows)


def operating_point(table: dict) -> dict:
    """Where the current threshold sits on the PR and ROC curves: precision, recall (= tpr) and fpr; None where
    undefined (then the point is not on that curve)."""
    (tn, fp), (fn, tp) = table["confusion"]
    return {"threshold": table["threshold"], "precision": table["precision"], "recall": table["recall"],
            "tpr": tp / (tp + fn) if tp + fn else None, "fpr": fp / (fp + tn) if fp + tn else None}


def thin_curve(curve: pd.DataFrame, max_points: int = 2000) -> pd.DataFrame:
    """At most max_points evenly spaced rows, first and last kept: a browser cannot draw a million-point line."""
    if len(curve) <= max_points:
        return curve
    keep = np.unique(np.linspace(0, len(curve) - 1, max_points).round().astype(int))
    return curve.iloc[keep]


def slice_metrics(frame: pd.DataFrame, column: str, y_true: np.ndarray, scores: np.ndarray,
                  threshold: float, max_slices: int = MAX_SLICES) -> pd.DataFrame:
    """engage.metrics.slice_table for one column, refused for columns with too many values to read."""
    if column not in frame.columns:
        raise InputError(f"no column named '{column}'", column=column)
    values = frame[column].reset_index(drop=True)
    distinct = values.nunique(dropna=False)
    if distinct > max_slices:
        raise InputError(f"column '{column}' has {distinct:,} distinct values; slice by a column with at most "
                         f"{max_slices} (like a domain or channel)", column=column)
    return slice_table(y_true, scores, threshold, values)


def time_slice_metrics(frame: pd.DataFrame, column: str, y_true: np.ndarray, scores: np.ndarray,
                       threshold: float, grain: str, source: str = "", first_row: int = 2,
                       max_slices: int = MAX_TIME_SLICES) -> tuple[pd.DataFrame, list[str]]:
    """slice_metrics for a time column, by UTC day or week (engage.reading.times.time_periods), in time order;
    with the notes on how its times were read. Too many periods are refused, naming the coarser grain."""
    if column not in frame.columns:
        raise InputError(f"no column named '{column}'", column=column)
    periods, notes = time_periods(frame.reset_index(drop=True), column, grain, source, first_row)
    distinct = periods.nunique(dropna=False)
    if distinct > max_slices:
        coarser = " (slice by week)" if grain == "day" else ""
        raise InputError(f"column '{column}' spans {distinct:,} {grain}s; at most {max_slices} can be shown"
                         f"{coarser}", column=column)
    return slice_table(y_true, scores, threshold, periods), notes


def default_slice_column(frame: pd.DataFrame, columns: list[str]) -> str | None:
    """The column to slice by first: never one named like an id or with a value per row; among those with 2 to
    MAX_SLICES values (a channel, a domain), the one with the fewest; else the first column."""
    rows = len(frame)
    counts = {c: frame[c].nunique(dropna=False) for c in columns if not is_id_name(c)}
    fit = [c for c, n in counts.items() if 2 <= n <= MAX_SLICES and (n < rows or rows <= 2)]
    if fit:
        return min(fit, key=lambda c: counts[c])  # min keeps the first of equal counts: the file's order
    return columns[0] if columns else None


def slice_notes(slices: pd.DataFrame) -> str | None:
    """Why some cells of a slice_metrics table are empty, or None when none is."""
    said = []
    if slices["precision"].isna().any():
        said.append("precision where the slice has no flagged message")
    if slices["recall"].isna().any():
        said.append("recall where it has no engageable message")
    if slices["f1"].isna().any():
        said.append("F1 where either of them is undefined")
    if slices["roc_auc"].isna().any():
        said.append("ROC-AUC where the slice holds one class only")
    return "Empty cells are undefined, not 0: " + "; ".join(said) + "." if said else None


def models_frame(versions: list[ModelVersion], active: str | None) -> pd.DataFrame:
    """One row per model version: name, active, validation (how its held-out metrics were measured: next to the
    name, where the Models chart's title points), created, encoder, training data, threshold, held-out metrics."""
    rows = []
    for version in versions:
        meta = version.meta
        data = meta.get("training_data") or {}
        heldout = meta.get("heldout_metrics") or {}
        encoder = meta.get("encoder") or {}
        rows.append({"name": version.name, "active": version.name == active,
                     # older versions recorded no method: they all used a held-out split
                     "validation": heldout.get("method", "held-out split") if heldout else None,
                     "measured_on": measured_on(meta),
                     "created": meta.get("created"),
                     "encoder": f"{encoder.get('kind', '?')}: {encoder.get('handle', '?')}",
                     "encoder_dim": encoder.get("dim"),
                     "training_data": data.get("source"), "training_rows": training_rows(data),
                     "threshold": (meta.get("threshold") or {}).get("value"),
                     "threshold_method": (meta.get("threshold") or {}).get("method"),
                     **{k: heldout.get(k) for k in METRICS},
                     "heldout_rows": heldout.get("n")})
    return pd.DataFrame(rows).astype({k: float for k in METRICS})


def training_rows(data: dict) -> int | None:
    """The rows a version's final head trained on: all its labeled rows, less the held-out share's (a version that
    recorded no train_rows, from before it was recorded, trained on all its rows unless it held some out)."""
    if "train_rows" in data:
        return data["train_rows"]
    rows, held = data.get("rows"), data.get("heldout_rows")
    if rows is not None and held is not None and not data.get("cv_folds") and data.get("val_split"):
        return rows - held
    return rows


def data_key(meta: dict) -> str | None:
    """What a version's recorded metrics were measured on, as a key: its training data's fingerprint (texts and
    labels), else its file name and rows; None when it recorded neither."""
    data = meta.get("training_data") or {}
    if data.get("fingerprint"):
        return data["fingerprint"]
    return f"{data['source']}:{data.get('rows')}" if data.get("source") else None


def measured_on(meta: dict) -> str | None:
    """Where a version's recorded metrics come from, in words: 'its 5-fold cross-validation of train.csv (2,760
    labels)'; None when it recorded no metrics."""
    heldout = meta.get("heldout_metrics") or {}
    if not heldout:
        return None
    data = meta.get("training_data") or {}
    rows = f" ({data['rows']:,} labels)" if isinstance(data.get("rows"), int) else ""
    return f"{heldout.get('method', 'held-out split')} of {data.get('source') or 'its training data'}{rows}"


def models_metrics_long(versions: list[ModelVersion], active: str | None = None) -> pd.DataFrame:
    """version, metric, value for every held-out metric a version recorded: the data of a comparison chart; with
    measured_on, and same_data: whether the version was measured on the same data as the active one (data_key;
    every version when there is no active one). Figures on different data are not comparable."""
    keys = {v.name: data_key(v.meta) for v in versions}
    base = keys.get(active) if active in keys else None
    rows = [{"version": v.name, "metric": k, "value": float(value), "measured_on": measured_on(v.meta),
             "same_data": base is None or keys[v.name] == base}
            for v in versions
            for k in METRICS
            if (value := (v.meta.get("heldout_metrics") or {}).get(k)) is not None]
    return pd.DataFrame(rows, columns=["version", "metric", "value", "measured_on", "same_data"])
