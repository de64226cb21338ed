"""Drift of a period against a model version's reference: the scores (population stability index over the fixed
bins, two-sample Kolmogorov-Smirnov test) and the texts (how well a classifier tells the period's sampled texts
from the reference's: cross-validated ROC-AUC, 0.5 = indistinguishable, 1.0 = entirely different; and the words
most typical of each side)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict

PSI_EPSILON = 1e-4       # a bin empty on one side would make the logarithm infinite
TEXT_SAMPLE = 1000       # texts per side at most, so that a year of history is judged in well under a second
TEXT_MIN = 20            # fewer texts on a side: no text drift figure
TOP_WORDS = 10


def psi(reference_hist, current_hist, epsilon: float = PSI_EPSILON) -> float:
    """Population stability index: sum over bins of (current share - reference share) x ln(current / reference).
    Under 0.1: stable; 0.1-0.25: a moderate shift; above 0.25: a large shift (the usual reading)."""
    ref = np.asarray(reference_hist, dtype=float)
    cur = np.asarray(current_hist, dtype=float)
    if ref.sum() == 0 or cur.sum() == 0:
        return float("nan")
    p = np.clip(ref / ref.sum(), epsilon, None)
    q = np.clip(cur / cur.sum(), epsilon, None)
    p, q = p / p.sum(), q / q.sum()
    return float(np.sum((q - p) * np.log(q / p)))


@dataclass
class KS:
    statistic: float
    pvalue: float


def ks(reference_scores, current_scores) -> KS:
    """Two-sample KS test of the period's sampled scores against the reference's validation scores."""
    a, b = np.asarray(reference_scores, dtype=float), np.asarray(current_scores, dtype=float)
    if len(a) == 0 or len(b) == 0:
        return KS(float("nan"), float("nan"))
    result = stats.ks_2samp(a, b)
    return KS(float(result.statistic), float(result.pvalue))


@dataclass
class TextDrift:
    auc: float
    n_reference: int
    n_current: int
    reference_words: list[str]   # most typical of the reference (training) texts
    current_words: list[str]     # most typical of the period's texts
    oof: np.ndarray | None = None  # out-of-fold probability of "current" per text (reference first)


def _subsample(texts: list[str], size: int, rng: np.random.Generator) -> list[str]:
    # Each distinct text once: a repeated message (a retweet, a template) in both a training and a held-out fold
    # would be recognised, not generalised from, and pass for drift.
    texts = list(dict.fromkeys(t for t in texts if t and t.strip()))
    if len(texts) <= size:
        return texts
    return [texts[i] for i in np.sort(rng.permutation(len(texts))[:size])]


def text_drift(reference_texts: list[str], current_texts: list[str], *, seed: int = 0,
               sample: int = TEXT_SAMPLE, folds: int = 5) -> TextDrift | None:
    """ROC-AUC of a TF-IDF logistic regression telling current from reference texts, out of fold; None with
    fewer than TEXT_MIN texts on a side."""
    rng = np.random.default_rng(seed)
    ref, cur = _subsample(reference_texts, sample, rng), _subsample(current_texts, sample, rng)
    if len(ref) < TEXT_MIN or len(cur) < TEXT_MIN:
        return None
    texts = ref + cur
    y = np.r_[np.zeros(len(ref), dtype=int), np.ones(len(cur), dtype=int)]
    vectorizer = TfidfVectorizer(lowercase=True, ngram_range=(1, 1), min_df=2, sublinear_tf=True,
                                 token_pattern=r"(?u)[#@]?\b\w\w+\b")
    try:
        features = vectorizer.fit_transform(texts)
    except ValueError:  # no word seen twice: nothing to tell the sides apart by
        return TextDrift(0.5, len(ref), len(cur), [], [])
    model = LogisticRegression(C=1.0, solver="liblinear", class_weight="balanced")
    splitter = StratifiedKFold(min(folds, len(ref), len(cur)), shuffle=True, random_state=seed)
    oof = cross_val_predict(model, features, y, cv=splitter, method="predict_proba")[:, 1]
    model.fit(features, y)
    words = np.asarray(vectorizer.get_feature_names_out())
    order = np.argsort(model.coef_[0])
    return TextDrift(float(roc_auc_score(y, oof)), len(ref), len(cur),
                     [str(w) for w in words[order[:TOP_WORDS]]], [str(w) for w in words[order[::-1][:TOP_WORDS]]],
                     oof)


@dataclass
class GroupDrift:
    auc: dict            # group -> ROC-AUC of that group's texts against the reference's, out of fold
    oof: np.ndarray      # out-of-fold probability of "current" per text: the reference's first, then each group's
    groups: list         # the group of each current text, in oof order (after the reference's)
    n_reference: int


def text_drift_by_group(reference_texts: list[str], groups: dict, *, seed: int = 0, sample: int = TEXT_SAMPLE,
                        folds: int = 3) -> GroupDrift | None:
    """Text drift of many groups (sources x days) at the cost of one cross-validated classifier: reference texts
    against every group's texts together, then each group's AUC from its own out-of-fold scores against the
    reference's. A text seen in several groups is kept in the first only (it would be recognised, not generalised
    from). Groups with fewer than TEXT_MIN texts get no figure."""
    rng = np.random.default_rng(seed)
    ref = _subsample(reference_texts, sample, rng)
    seen: set[str] = set()
    cur, owner = [], []
    for key, texts in groups.items():
        for text in dict.fromkeys(t for t in texts if t and t.strip()):
            if text not in seen:
                seen.add(text)
                cur.append(text)
                owner.append(key)
    if len(ref) < TEXT_MIN or len(cur) < TEXT_MIN:
        return None
    texts = ref + cur
    y = np.r_[np.zeros(len(ref), dtype=int), np.ones(len(cur), dtype=int)]
    vectorizer = TfidfVectorizer(lowercase=True, min_df=2, sublinear_tf=True, token_pattern=r"(?u)[#@]?\b\w\w+\b")
    try:
        features = vectorizer.fit_transform(texts)
    except ValueError:
        return GroupDrift({k: 0.5 for k in groups}, np.full(len(texts), 0.5), owner, len(ref))
    model = LogisticRegression(C=1.0, solver="liblinear", class_weight="balanced")
    splitter = StratifiedKFold(folds, shuffle=True, random_state=seed)
    oof = cross_val_predict(model, features, y, cv=splitter, method="predict_proba")[:, 1]
    index = {key: i for i, key in enumerate(groups)}  # keys may be tuples: compare by number
    ref_oof, cur_oof, owners = oof[:len(ref)], oof[len(ref):], np.array([index[k] for k in owner])
    auc = {}
    for key in groups:
        mine = cur_oof[owners == index[key]]
        if len(mine) >= TEXT_MIN:
            auc[key] = float(roc_auc_score(np.r_[np.zeros(len(ref_oof)), np.ones(len(mine))], np.r_[ref_oof, mine]))
    return GroupDrift(auc, oof, owner, len(ref))
