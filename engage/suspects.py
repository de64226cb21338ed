"""Suspected label errors: which labels are most likely wrong, from each row's out-of-fold score (confident learning,
cleanlab).

A row's out-of-fold score comes from a head that never saw the row (engage.train.out_of_fold_scores, or a
cross-validated training's TrainResult.oof_scores), so a label the rest of the data contradicts gets a low
probability for the class it was given. Ranked by cleanlab's label quality (self-confidence: the out-of-fold
probability of the given label), lowest first: rank 1 is the most suspect. `suspected` marks the rows cleanlab's
confident learning (prune by noise rate, per-class thresholds) counts as label issues; the rank covers every row.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from engage.encoders.base import Encoder, Progress
from engage.errors import InputError
from engage.reading import Messages
from engage.recipe import Recipe

SCORE_COL = "engage_oof_score"          # the out-of-fold probability of engageable
QUALITY_COL = "engage_label_quality"    # the out-of-fold probability of the given label: low = suspect
SUSPECT_COL = "engage_suspected"        # cleanlab counts it as a label issue
RANK_COL = "engage_suspect_rank"        # 1 = most suspect
COLUMNS = (SCORE_COL, QUALITY_COL, SUSPECT_COL, RANK_COL)


def rank_suspects(labels: np.ndarray, oof_scores: np.ndarray) -> pd.DataFrame:
    """One row per label, in input order: score, quality, suspected, rank (1 = most likely wrong; ties keep input
    order)."""
    from cleanlab.filter import find_label_issues
    from cleanlab.rank import get_label_quality_scores

    y = np.asarray(labels, dtype=int)
    p = np.clip(np.asarray(oof_scores, dtype=float), 0.0, 1.0)
    if y.shape != p.shape:
        raise InputError(f"{len(y)} labels but {len(p)} out-of-fold scores")
    if not np.isfinite(p).all():
        raise InputError("out-of-fold scores must be finite numbers")
    probs = np.column_stack([1.0 - p, p])
    quality = get_label_quality_scores(y, probs, method="self_confidence")
    if np.bincount(y, minlength=2).min() >= 1:  # confident learning needs both classes given
        with warnings.catch_warnings():  # a small set: cleanlab warns it "may not flag all"; the rank still holds
            warnings.filterwarnings("ignore", message="May not flag all label issues")
            issues = find_label_issues(y, probs, filter_by="prune_by_noise_rate", n_jobs=1)
    else:
        issues = np.zeros(len(y), dtype=bool)
    order = np.argsort(quality, kind="stable")
    rank = np.empty(len(y), dtype=int)
    rank[order] = np.arange(1, len(y) + 1)
    return pd.DataFrame({SCORE_COL: p, QUALITY_COL: quality, SUSPECT_COL: issues.astype(bool), RANK_COL: rank})


def suspects_of(messages: Messages, recipe: Recipe, *, folds: int, cache=None, encoder: Encoder | None = None,
                progress: Progress | None = None) -> pd.DataFrame:
    """Every row of a labeled file with its out-of-fold score and rank, most suspect first (the file's columns,
    then COLUMNS; the index is the row's position in the file)."""
    from engage.encoders import load_encoder
    from engage.train import out_of_fold_scores

    encoder = encoder or load_encoder(recipe.encoder, max_tokens=recipe.max_tokens)
    scores = out_of_fold_scores(messages, encoder, recipe.head, folds, cache=cache, progress=progress)
    ranked = rank_suspects(messages.labels, scores)
    ranked.index = messages.frame.index
    out = pd.concat([messages.frame, ranked], axis=1)
    return out.sort_values(RANK_COL, kind="stable")


def summary(ranked: pd.DataFrame, messages: Messages, *, output: str | Path, top: int = 10) -> dict:
    """The --json summary of `engage suspects`: counts, and the most suspect rows with their file row numbers."""
    labels = messages.labels
    return {"rows": len(ranked), "source": messages.source, "label_col": messages.label_col, "output": str(output),
            "suspected": int(ranked[SUSPECT_COL].sum()),
            "top": [{"rank": int(r[RANK_COL]), "row": messages.row_number(int(i) - messages.row_offset),
                     "label": int(labels[int(i) - messages.row_offset]), "score": round(float(r[SCORE_COL]), 4)}
                    for i, r in ranked.head(top).iterrows()]}
