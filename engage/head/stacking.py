"""Stacking: how the head's branches are combined without one learning to mop up what the other overfits.

A branch fitted on all rows fits those rows almost perfectly (the lexical regression over 2 x 2^18 hashed n-grams
above all). A blend, or a second branch, trained on those in-sample logits would learn that the first branch is
always right and have nothing left to learn. So whatever is trained on top of a branch sees that branch's
out-of-fold logits: each row scored by a fit that never saw it. Serving uses the fits on all rows.

The folds are stratified, seeded by config.seed: the same data give the same folds, so the same model.

Each fold's fit starts from the fit on all rows (`start`): the same strictly convex problem on 4/5 of the rows has its
optimum close by, so Newton and L-BFGS reach the same optimum (to their tolerance) in fewer steps (`warm_started`).
(The lexical branch's fits start there too, and are kept to be looked up when asked again:
engage.head.lexical_branch.SharedFits.)
The folds' fits are independent, so they run side by side on threads, one per core (at most two, what this is sized
for): each is single-BLAS-threaded (engage.head.model) and spends its time in BLAS, LAPACK or sparse products, which
release the GIL, and each is deterministic on its own, so the order they finish in changes nothing.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from engage.errors import InputError
from engage.head.config import HeadConfig


def folds(config: HeadConfig, y: np.ndarray):
    """lexical_folds stratified folds, fewer when a class has fewer messages (a handful of fresh labels)."""
    from sklearn.model_selection import StratifiedKFold

    smallest = int(np.bincount(np.asarray(y, dtype=int), minlength=2).min())
    if smallest < 2:
        raise InputError(f"this head needs at least 2 messages of each class to train; the smaller class has "
                         f"{smallest}")
    return StratifiedKFold(min(config.lexical_folds, smallest), shuffle=True, random_state=config.seed)


WORKERS = max(1, min(2, len(os.sched_getaffinity(0))))


def warm_started(estimator, start):
    """estimator set to begin its next fit at `start`'s coefficients (a fit of the same estimator on more rows);
    as it is when start is None."""
    if start is not None:
        estimator.set_params(warm_start=True)
        estimator.coef_, estimator.intercept_ = start.coef_.copy(), start.intercept_.copy()
    return estimator


def out_of_fold_logits(config: HeadConfig, estimator, features, y: np.ndarray, start=None,
                       fit_rows: Callable[[np.ndarray], object] | None = None) -> np.ndarray:
    """Every row's logit from a clone of estimator fitted on the folds without it, float64 [N]. start: a fit of
    the same estimator on all rows, each fold's fit starting from its coefficients. fit_rows: fits the fold's rows
    (given their indices) in place of the clone (engage.head.lexical_branch shares its fits this way)."""
    from sklearn.base import clone

    def fold(split: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        fit_idx, held_idx = split
        if fit_rows is not None:
            return held_idx, fit_rows(fit_idx).decision_function(features[held_idx])
        fitted = warm_started(clone(estimator), start)
        fitted.fit(features[fit_idx], y[fit_idx])
        return held_idx, fitted.decision_function(features[held_idx])

    logits = np.empty(len(y), dtype=np.float64)
    with ThreadPoolExecutor(WORKERS) as pool:
        for held_idx, held in pool.map(fold, folds(config, y).split(np.zeros(len(y)), y)):
            logits[held_idx] = held
    return logits


def fit_blend(elmo_oof: np.ndarray, lexical_oof: np.ndarray, y: np.ndarray):
    """The linear head's blend: a two-weight logistic regression over both branches' out-of-fold logits."""
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=1.0).fit(np.column_stack([elmo_oof, lexical_oof]), y)
