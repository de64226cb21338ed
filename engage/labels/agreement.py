"""Agreement between annotators, conflicts, and the one label per message that training uses.

All of it works on active labels (engage.labels.answers.active_labels): each annotator's latest non-undone label per
message; skips do not count.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd

_PAIR_COLUMNS = ["annotator_a", "annotator_b", "messages", "agreement", "kappa"]


@dataclass
class Agreement:
    pairs: pd.DataFrame      # one row per annotator pair with common messages: _PAIR_COLUMNS; kappa NaN if undefined
    conflicts: pd.DataFrame  # message_id, text, then one column per annotator: their value, <NA> if none


def _wide(active: pd.DataFrame) -> pd.DataFrame:
    """message_id x annotator -> value (<NA> where the annotator gave none)."""
    wide = active.pivot(index="message_id", columns="annotator", values="value")
    return wide.astype("Int8").rename_axis(columns=None)


def _kappa(a: pd.Series, b: pd.Series) -> float:
    from sklearn.exceptions import UndefinedMetricWarning
    from sklearn.metrics import cohen_kappa_score

    with warnings.catch_warnings():  # one label in common: kappa is undefined, reported as NaN
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        return float(cohen_kappa_score(a.to_numpy(int), b.to_numpy(int), labels=[0, 1],
                                       replace_undefined_by=np.nan))


def _pairs(wide: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for a, b in combinations(sorted(wide.columns), 2):
        both = wide[[a, b]].dropna()
        if len(both):
            rows.append((a, b, len(both), float((both[a] == both[b]).mean()), _kappa(both[a], both[b])))
    return pd.DataFrame(rows, columns=_PAIR_COLUMNS)


def agreement(active: pd.DataFrame) -> Agreement:
    """Cohen's kappa (scikit-learn) for every pair of annotators on the messages both labeled, and the messages
    where annotators disagree."""
    if active.empty:
        return Agreement(pd.DataFrame(columns=_PAIR_COLUMNS), pd.DataFrame(columns=["message_id", "text"]))
    wide = _wide(active)
    disagree = (wide.count(axis=1) >= 2) & (wide.min(axis=1) != wide.max(axis=1))
    texts = active.drop_duplicates("message_id").set_index("message_id")["text"]
    conflicts = wide[disagree].dropna(axis=1, how="all")
    conflicts.insert(0, "text", texts.loc[conflicts.index])
    return Agreement(_pairs(wide), conflicts.reset_index())


def majority(active: pd.DataFrame) -> pd.DataFrame:
    """One label per message: the majority of the annotators' labels; a tie goes to the most recent label.

    Returns message_id, text, label, n_labels (annotators who labeled it), n_engageable; in message_id order.
    """
    groups = active.groupby("message_id", sort=True)
    counts = groups["value"].agg(n_labels="count", n_engageable="sum")
    latest = active.loc[groups["label_id"].idxmax()].set_index("message_id")
    twice = 2 * counts["n_engageable"]
    label = np.where(twice > counts["n_labels"], 1, np.where(twice < counts["n_labels"], 0, latest["value"]))
    out = pd.DataFrame({"text": latest["text"], "label": label.astype(np.int8),
                        "n_labels": counts["n_labels"], "n_engageable": counts["n_engageable"].astype(int)})
    return out.reset_index()
