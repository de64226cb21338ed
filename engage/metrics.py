"""Metric tables, confusion matrices and curves (scikit-learn underneath). No plotting here."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn import metrics as skm

from engage.thresholds import flagged

# The figures of a metric table, in the order every table shows them; the seed notebook reported the first four.
SEED_METRICS = ("accuracy", "precision", "recall", "f1")
METRICS = (*SEED_METRICS, "roc_auc", "pr_auc")


def decide(scores: np.ndarray, threshold: float) -> np.ndarray:
    """The decisions as 0/1 labels (engage.thresholds.flagged), to compare with the true ones."""
    return flagged(scores, threshold).astype(np.int8)


def confusion(y_true: np.ndarray, scores: np.ndarray, threshold: float) -> list[list[int]]:
    """[[tn, fp], [fn, tp]]."""
    cm = skm.confusion_matrix(np.asarray(y_true), decide(scores, threshold), labels=[0, 1])
    return cm.astype(int).tolist()


def rates(tp: int, fp: int, fn: int) -> tuple[float | None, float | None, float | None]:
    """precision, recall and F1 from counts; None where undefined, never 0: precision when nothing is flagged,
    recall when no message is engageable, F1 when either of them is (a 0 there would read as a bad model)."""
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / (tp + fn) if tp + fn else None
    if precision is None or recall is None:
        return precision, recall, None
    return precision, recall, 2 * tp / (2 * tp + fp + fn)  # both defined: tp + fn > 0, so no division by 0


def metric_table(y_true: np.ndarray, scores: np.ndarray, threshold: float) -> dict:
    """accuracy, precision, recall, f1 (None where undefined: see `rates`), roc_auc, pr_auc (None where one class
    is absent), threshold, n, support, confusion."""
    y = np.asarray(y_true).astype(int)
    s = np.asarray(scores, dtype=float)
    pred = decide(s, threshold)
    both = len(np.unique(y)) == 2
    cm = confusion(y, s, threshold)
    (_, fp), (fn, tp) = cm
    precision, recall, f1 = rates(tp, fp, fn)
    return {
        "accuracy": float(skm.accuracy_score(y, pred)),
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "roc_auc": float(skm.roc_auc_score(y, s)) if both else None,
        "pr_auc": float(skm.average_precision_score(y, s)) if both else None,
        "threshold": float(threshold),
        "n": int(len(y)),
        "support": {"engageable": int(y.sum()), "not_engageable": int(len(y) - y.sum())},
        "confusion": cm,
    }


def undefined_metrics(table: dict) -> list[str]:
    """Why each undefined figure of a metric_table is undefined, in words a page or the CLI can print."""
    notes = []
    if table["precision"] is None:
        notes.append("precision is undefined: no message is flagged at this threshold")
    if table["recall"] is None:
        notes.append("recall is undefined: no message is labeled engageable")
    if table["f1"] is None:
        notes.append("F1 is undefined because precision or recall is")
    if table["roc_auc"] is None:
        notes.append("ROC-AUC and PR-AUC are undefined: the labels hold one class only")
    return notes


def pr_curve(y_true: np.ndarray, scores: np.ndarray) -> pd.DataFrame:
    precision, recall, thresholds = skm.precision_recall_curve(y_true, scores)
    return pd.DataFrame({"threshold": np.append(thresholds, 1.0), "precision": precision, "recall": recall})


def roc_curve(y_true: np.ndarray, scores: np.ndarray) -> pd.DataFrame:
    fpr, tpr, thresholds = skm.roc_curve(y_true, scores)
    return pd.DataFrame({"threshold": np.clip(thresholds, 0.0, 1.0), "fpr": fpr, "tpr": tpr})


def metrics_by_threshold(y_true: np.ndarray, scores: np.ndarray, steps: int = 101) -> pd.DataFrame:
    """accuracy, precision, recall, f1 and flagged count at evenly spaced thresholds, from one sort (the same
    figures metric_table gives at each threshold, without recomputing it `steps` times; NaN where it gives None)."""
    y = np.asarray(y_true).astype(int)
    s = np.asarray(scores, dtype=float)
    order = np.argsort(s)
    sorted_scores, positives_below = s[order], np.concatenate([[0], np.cumsum(y[order])])
    thresholds = np.linspace(0.0, 1.0, steps)
    below = np.searchsorted(sorted_scores, thresholds, side="left")  # flagged = score >= threshold
    flagged = len(s) - below
    tp = positives_below[-1] - positives_below[below]
    fp, fn = flagged - tp, positives_below[below]
    tn = len(s) - tp - fp - fn
    # NaN where undefined, as in `rates`: nothing flagged (precision), nothing engageable (recall), either (F1)
    precision = np.divide(tp, flagged, out=np.full(steps, np.nan), where=flagged > 0)
    recall = np.divide(tp, tp + fn, out=np.full(steps, np.nan), where=(tp + fn) > 0)
    f1 = np.divide(2 * tp, 2 * tp + fp + fn, out=np.full(steps, np.nan), where=(2 * tp + fp + fn) > 0)
    f1[np.isnan(precision) | np.isnan(recall)] = np.nan
    return pd.DataFrame({"threshold": thresholds, "accuracy": (tp + tn) / max(len(s), 1), "precision": precision,
                         "recall": recall, "f1": f1, "flagged": flagged.astype(int)})


SLICE_METRICS = METRICS[:5]  # a slice's PR-AUC adds little beside its ROC-AUC on a few rows


def slice_table(y_true: np.ndarray, scores: np.ndarray, threshold: float, groups: pd.Series) -> pd.DataFrame:
    """The metric table for each value of a column (for example `domain`); undefined figures are NaN (a slice with
    nothing flagged has no precision, one with no engageable message no recall, and then no F1)."""
    y = np.asarray(y_true)
    s = np.asarray(scores)
    keys = groups.astype("string").fillna("(missing)").to_numpy()
    rows = []
    for value in sorted(set(keys)):
        idx = keys == value
        m = metric_table(y[idx], s[idx], threshold)
        rows.append({"slice": value, "n": m["n"], **{k: m[k] for k in SLICE_METRICS},
                     "engageable": m["support"]["engageable"], "flagged": int(decide(s[idx], threshold).sum())})
    return pd.DataFrame(rows).astype(dict.fromkeys(SLICE_METRICS, float))


def mistakes(frame: pd.DataFrame, y_true: np.ndarray, scores: np.ndarray, threshold: float) -> pd.DataFrame:
    """False positives and false negatives, the most confident mistakes first."""
    y = np.asarray(y_true)
    s = np.asarray(scores, dtype=float)
    pred = decide(s, threshold)
    wrong = np.nonzero(pred != y)[0]
    out = frame.iloc[wrong].copy()
    out.insert(0, "mistake", np.where(pred[wrong] == 1, "false positive", "false negative"))
    out.insert(1, "engage_score", s[wrong])
    out["confidence"] = np.abs(s[wrong] - threshold)
    return out.sort_values("confidence", ascending=False).drop(columns="confidence")
