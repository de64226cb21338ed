"""The learning curve: will more labels help? The recipe trained on 10 / 25 / 50 / 75 / 100 % of the labels, each
share drawn again on every repeat, with the cross-validated ROC-AUC and F1 that `engage train` reports for a version
(the same folds, threshold rule and metrics: engage.train.cross_validated_scores), their spread over repeats, and a
plain sentence: still rising, or flat.

A share's rows are a stratified sample (each class in its own proportion), seeded by the repeat, and its
cross-validation folds are seeded by the repeat too, so the spread at a share counts both which labels were drawn
and how they were split (at 100 % only the split varies). The ELMo vectors are read once (cached) and the lexical
rows' shared work is done once for all rows (engage.head.share_work): every subset's fit in it is exact.

The sentence compares the last step, 75 % -> 100 % (the last quarter of the labels): the curve is still rising when
ROC-AUC or F1 gained more than MIN_GAIN and more than the noise of that difference (the two points' spreads
combined, sqrt(sd75^2 + sd100^2)); otherwise it is flat.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from engage.errors import InputError
from engage.thresholds import DEFAULT_METHOD, choose_threshold
from engage.validation import Validation

if TYPE_CHECKING:  # the rest is imported where it is used, so the CLI's parser reads the defaults cheaply
    from engage.cache import EmbeddingCache
    from engage.encoders.base import Encoder, Progress
    from engage.head import HeadConfig
    from engage.reading import Messages
    from engage.scoring import Classifier

SHARES = (0.10, 0.25, 0.50, 0.75, 1.00)
DEFAULT_REPEATS = 3
DEFAULT_FOLDS = 5
MIN_GAIN = 0.005  # half a point of ROC-AUC or F1: a smaller gain from a quarter more labels is flat, whatever noise
CURVE_METRICS = ("roc_auc", "f1")
NAMES = {"roc_auc": "ROC-AUC", "f1": "F1"}


@dataclass(frozen=True)
class CurvePoint:
    """The recipe on `share` of the labels (`rows` of them), one figure per repeat of each metric (F1 None where
    undefined: nothing flagged and nothing to flag)."""

    share: float
    rows: int
    roc_auc: tuple[float, ...]
    f1: tuple[float | None, ...]

    def values(self, metric: str) -> np.ndarray:
        return np.array([np.nan if v is None else v for v in getattr(self, metric)], dtype=float)

    def mean(self, metric: str) -> float:
        return float(np.nanmean(self.values(metric)))

    def spread(self, metric: str) -> float:
        """The standard deviation over repeats (0 with one repeat)."""
        values = self.values(metric)
        values = values[~np.isnan(values)]
        return float(values.std(ddof=1)) if len(values) > 1 else 0.0


@dataclass(frozen=True)
class Verdict:
    rising: bool | None  # None: too few points to tell
    sentence: str


@dataclass(frozen=True)
class LearningCurve:
    points: tuple[CurvePoint, ...]
    skipped: tuple[float, ...]  # shares with too few labels of a class for the folds
    repeats: int
    folds: int
    verdict: Verdict

    def table(self):
        """One row per share: rows, and each metric's mean and spread (a pandas DataFrame)."""
        import pandas as pd

        return pd.DataFrame([{"share": p.share, "rows": p.rows,
                              **{f"{m}{k}": f(m) for m in CURVE_METRICS
                                 for k, f in (("", p.mean), ("_spread", p.spread))}} for p in self.points])

    def to_json(self) -> dict:
        return {"shares": [p.share for p in self.points], "repeats": self.repeats, "folds": self.folds,
                "skipped_shares": list(self.skipped), "rising": self.verdict.rising,
                "sentence": self.verdict.sentence,
                "points": [{"share": p.share, "rows": p.rows, "roc_auc": list(p.roc_auc), "f1": list(p.f1),
                            **{f"{m}_mean": p.mean(m) for m in CURVE_METRICS},
                            **{f"{m}_spread": p.spread(m) for m in CURVE_METRICS}} for p in self.points]}


def subsample(y: np.ndarray, share: float, seed: int) -> np.ndarray:
    """Sorted row indices of a stratified sample of about `share` of the rows (all of them at 1.0): each class
    keeps round(share x its count) rows, at least one."""
    if not 0 < share <= 1:
        raise InputError(f"a learning curve's share must be in (0, 1], got {share}")
    y = np.asarray(y, dtype=int)
    if share == 1:
        return np.arange(len(y))
    rng = np.random.default_rng(seed)
    picked = [rng.choice(rows, max(1, round(share * len(rows))), replace=False)
              for rows in (np.flatnonzero(y == c) for c in (0, 1)) if len(rows)]
    return np.sort(np.concatenate(picked))


def verdict(points: Sequence[CurvePoint]) -> Verdict:
    """Still rising or flat, from the last step of the curve (the module docstring says how)."""
    if len(points) < 2:
        return Verdict(None, "Too few labels to draw a curve: label more of each class, then draw it again.")
    before, last = points[-2], points[-1]
    gains = {m: last.mean(m) - before.mean(m) for m in CURVE_METRICS}
    noise = {m: math.hypot(before.spread(m), last.spread(m)) for m in CURVE_METRICS}
    rising = any(gains[m] > max(MIN_GAIN, noise[m]) for m in CURVE_METRICS)
    step = f"going from {before.share:.0%} to {last.share:.0%} of the labels ({before.rows:,} to {last.rows:,})"
    moved = " and ".join(f"{NAMES[m]} by {100 * gains[m]:+.1f} points (noise {100 * noise[m]:.1f})"
                         for m in CURVE_METRICS)
    if rising:
        return Verdict(True, f"Still rising: {step} moved {moved}. More labels of this kind should still help.")
    return Verdict(False, f"Flat: {step} moved {moved}, no more than the noise or half a point. More labels of "
                          "the same kind will help little; labels of another kind (other messages, corrected "
                          "labels) may help more.")


def learning_curve(messages: Messages, encoder: Encoder, config: HeadConfig, *,
                   threshold_method: str = DEFAULT_METHOD, threshold_value: float | None = None,
                   shares: Sequence[float] = SHARES, repeats: int = DEFAULT_REPEATS, folds: int = DEFAULT_FOLDS,
                   cache: EmbeddingCache | None = None, progress: Progress | None = None,
                   on_fit: Callable[[int, int], None] | None = None) -> LearningCurve:
    """The recipe (encoder, head config, threshold rule) on each share of the labeled messages, `repeats` times,
    each with `folds`-fold cross-validation. progress: encoding, as train_model's; on_fit(done, total) after each
    share x repeat."""
    from engage.cache import cached_layer_means
    from engage.head import head_inputs, share_work

    if messages.labels is None:
        raise InputError("a learning curve needs labels: name the column that says engageable or not",
                         file=messages.source)
    if repeats < 1:
        raise InputError(f"a learning curve needs at least one repeat, got {repeats}")
    y = messages.labels.astype(np.int8)
    validation = Validation.cross(folds)
    validation.check(y)  # the whole set must be; a share too small is skipped below
    vectors, _ = cached_layer_means(encoder, messages.texts, cache, progress)
    inputs = share_work(config, head_inputs(config, vectors, messages.texts))
    return curve_of_inputs(config, inputs, y, threshold_method=threshold_method, threshold_value=threshold_value,
                           shares=shares, repeats=repeats, folds=folds, on_fit=on_fit)


def curve_of_inputs(config: HeadConfig, inputs: dict, y: np.ndarray, *, threshold_method: str = DEFAULT_METHOD,
                    threshold_value: float | None = None, shares: Sequence[float] = SHARES,
                    repeats: int = DEFAULT_REPEATS, folds: int = DEFAULT_FOLDS,
                    on_fit: Callable[[int, int], None] | None = None) -> LearningCurve:
    """learning_curve on the head's inputs (head_inputs, shared once: share_work) and labels."""
    from engage.metrics import metric_table
    from engage.train import cross_validated_scores

    need = Validation.cross(folds).min_per_class()
    samples = {s: [subsample(y, s, config.seed + r) for r in range(repeats)] for s in sorted(set(shares))}
    usable = {s: rows for s, rows in samples.items()
              if all(np.bincount(y[r], minlength=2).min() >= need for r in rows)}
    points, done, total = [], 0, repeats * len(usable)
    for share, rows in usable.items():
        figures = []
        for repeat, idx in enumerate(rows):
            part = {k: v[idx] for k, v in inputs.items()}
            scores = cross_validated_scores(replace(config, seed=config.seed + repeat), part, y[idx], folds)
            threshold = choose_threshold(y[idx], scores, threshold_method, threshold_value)
            figures.append(metric_table(y[idx], scores, threshold))
            done += 1
            if on_fit:
                on_fit(done, total)
        points.append(CurvePoint(share, len(rows[0]), tuple(f["roc_auc"] for f in figures),
                                 tuple(f["f1"] for f in figures)))
    skipped = tuple(s for s in samples if s not in usable)
    return LearningCurve(tuple(points), skipped, repeats, folds, verdict(points))


def learning_curve_of(messages: Messages, clf: Classifier, **kwargs) -> LearningCurve:
    """learning_curve with the recipe of a loaded version (engage.scoring.Classifier: its encoder, head config,
    threshold rule and embedding cache), as retraining it would use them (engage.label_loop.retrain)."""
    rule = clf.version.meta["threshold"]
    return learning_curve(messages, clf.encoder, clf.config, threshold_method=rule.get("method") or DEFAULT_METHOD,
                          threshold_value=rule.get("target"), cache=clf.cache, **kwargs)
