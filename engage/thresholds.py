"""Threshold choosers: turn scores (and labels, where a chooser needs them) into one decision threshold."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from engage.errors import InputError

METHODS = ("fixed", "best_f1", "target_precision", "target_recall", "top_k")
NEEDS_LABELS = {"best_f1", "target_precision", "target_recall"}
DEFAULT_METHOD = "best_f1"  # how a new version picks its threshold unless told: the CLI, recipes, retraining


def flagged(scores, threshold) -> np.ndarray:
    """The one rule that turns scores into decisions: engageable (True) at or above the threshold. A missing score
    (NaN) is never flagged."""
    return np.asarray(scores, dtype=float) >= threshold


def choose_threshold(y_true: np.ndarray | None, scores: np.ndarray, method: str = "fixed",
                     value: float | None = None, weights: np.ndarray | None = None) -> float:
    """The threshold a method picks. A message is engageable when its score >= the threshold.

    fixed: value (default 0.5). best_f1: the threshold of highest F1. target_precision: the lowest threshold whose
    precision reaches value (so recall is as high as it can be). target_recall: the highest threshold whose recall
    reaches value. top_k: the value-th highest score, so about K messages are flagged (ties can add more).
    A chosen score is moved halfway down to the next lower score: the same decisions on these scores, but a
    message scored again (a float's last bit can differ between batches) does not flip at the boundary.
    `weights`: how many messages each labeled one stands for (engage/labels/picks.py), for the label-guided methods.
    """
    scores = np.asarray(scores, dtype=float)
    if method not in METHODS:
        raise InputError(f"unknown threshold method '{method}'; use one of {', '.join(METHODS)}")
    if method == "fixed":
        return fixed_threshold(0.5 if value is None else value)
    if method == "top_k":
        return _between(scores, _top_k(scores, value))
    if y_true is None:
        raise InputError(f"threshold method '{method}' needs labels; add a label column or use fixed or top_k")
    precision, recall, thresholds = _pr(np.asarray(y_true), scores, weights)
    if method == "best_f1":
        f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
        return _between(scores, thresholds[int(np.argmax(f1[:-1]))])
    target = _fraction(value, method)
    if method == "target_precision":
        ok = np.nonzero(precision[:-1] >= target)[0]
        if not len(ok):
            raise InputError(f"no threshold reaches precision {target:.2f} on these labels")
        return _between(scores, thresholds[ok[0]])
    ok = np.nonzero(recall[:-1] >= target)[0]
    return _between(scores, thresholds[ok[-1]] if len(ok) else thresholds[0])


def _between(scores: np.ndarray, chosen: float) -> float:
    lower = scores[scores < chosen]
    return float((chosen + lower.max()) / 2) if len(lower) else float(chosen)


def _pr(y_true: np.ndarray, scores: np.ndarray, weights: np.ndarray | None = None):
    from sklearn.metrics import precision_recall_curve  # here: the CLI's parser reads METHODS without sklearn

    if len(np.unique(y_true)) < 2:
        raise InputError("the labels hold only one class, so precision and recall cannot guide a threshold")
    return precision_recall_curve(y_true, scores, sample_weight=weights)


def fixed_threshold(value: float) -> float:
    """A threshold given by someone (a flag, a slider, a request): a score is a probability, so it must lie in
    [0, 1]; anything else is refused in words every front end can show."""
    t = float(value)
    if not 0.0 <= t <= 1.0:  # NaN fails this too
        raise InputError(f"the threshold must be between 0 and 1, got {value}")
    return t


def _fraction(value: float | None, method: str) -> float:
    if value is None or not 0.0 < float(value) <= 1.0:
        raise InputError(f"{method} needs a target between 0 and 1, got {value}")
    return float(value)


def _top_k(scores: np.ndarray, value: float | None) -> float:
    if value is None or int(value) < 1 or int(value) != value:
        raise InputError(f"top_k needs a whole number of messages K >= 1, got {value}")
    if len(scores) == 0:
        return 1.0
    k = min(int(value), len(scores))
    return float(np.sort(scores)[::-1][k - 1])


class HasThreshold(Protocol):
    threshold: float  # a version's own threshold: engage.scoring.Classifier, engage.distributed's ModelBundle


def threshold_in_force(clf: HasThreshold, given: float | None) -> float:
    """The one rule of every front end (CLI, pages, Ray job, HTTP service): the model's own threshold unless one is
    given; a given one must lie in [0, 1] (InputError in plain words otherwise)."""
    return clf.threshold if given is None else fixed_threshold(given)
