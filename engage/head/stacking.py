"""Stacking: how the head's branches are combined without one learning to mop up what the other overfits.

A branch fitted on all rows fits those rows almost perfectly (the lexical regression over 2 x 2^18 hashed n-grams
above all). A blend, or a second branch, trained on those in-sample logits would learn that the first branch is
always right and have nothing left to learn. So whatever is trained on top of a branch sees that branch's
out-of-fold logits: each row scored by a fit that never saw it. Serving uses the fits on all rows.

The folds are stratified, seeded by config.seed: the same data give the same folds, so the same model.
"""

from __future__ import annotations

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


def out_of_fold_logits(config: HeadConfig, estimator, features, y: np.ndarray) -> np.ndarray:
    """Every row's logit from a clone of estimator fitted on the folds without it, float64 [N]."""
    from sklearn.model_selection import cross_val_predict

    return cross_val_predict(estimator, features, y, cv=folds(config, y), method="decision_function")


def fit_blend(elmo_oof: np.ndarray, lexical_oof: np.ndarray, y: np.ndarray):
    """The linear head's blend: a two-weight logistic regression over both branches' out-of-fold logits."""
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=1.0).fit(np.column_stack([elmo_oof, lexical_oof]), y)
