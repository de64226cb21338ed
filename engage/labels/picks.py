"""Threshold weights that correct for where the labels were picked.

The uncertain-first queue labels the messages near the old threshold: a best-F1 threshold chosen on those labels
is the best threshold for that band, not for the set. Random picks (the random order, or the mixed order's share)
are a fair sample of the messages not labeled otherwise, so the set's counts are estimated by stratification: the
messages labeled otherwise count once each (they are known exactly), and each random pick stands for
(messages in the pool - messages labeled otherwise) / random picks of them. With too few random picks of either
class the estimate is too noisy to trust, and the labels count as they are (no correction).
"""

from __future__ import annotations

import numpy as np

MIN_RANDOM_PER_CLASS = 10  # random picks of each class below which the labels are weighed as they are


def threshold_weights(random_pick: np.ndarray, labels: np.ndarray, pool_size: int) -> np.ndarray | None:
    """One weight per labeled message (random_pick: whether it was picked at random) for choosing the threshold;
    None when no correction applies (no random picks, too few of a class, every label random, or the whole pool
    labeled: equal weights)."""
    random_pick = np.asarray(random_pick, dtype=bool)
    labels = np.asarray(labels)
    n_random = int(random_pick.sum())
    if n_random == len(random_pick):
        return None
    if min(int((labels[random_pick] == c).sum()) for c in (0, 1)) < MIN_RANDOM_PER_CLASS:
        return None
    others = len(random_pick) - n_random
    stands_for = max(pool_size - others, n_random) / n_random
    if stands_for == 1.0:  # the whole pool is labeled: every label counts once, as without weights
        return None
    return np.where(random_pick, stands_for, 1.0)
