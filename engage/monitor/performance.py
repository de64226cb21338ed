"""Performance without labels and with them.

Estimated (confidence-based performance estimation, as NannyML's CBPE): if a score is a calibrated probability,
a flagged message is a true positive with that probability, and an unflagged one a missed positive with it; summing
gives the expected confusion matrix, hence precision, recall and F1, before anyone labels a message. It is only as
good as the calibration, so it is checked on the version's validation scores (expected calibration error, ECE) and,
when off by more than CALIBRATION_TOLERANCE, the scores are recalibrated on them (isotonic regression). It assumes
the link between score and truth holds in the period: under strong text drift, trust the measured figures.

Measured: from spot checks, labels on a random sample of the period, with Wilson score intervals.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.isotonic import IsotonicRegression

from engage.monitor.summary import SCORE_EDGES

CALIBRATION_BINS = 10
CALIBRATION_TOLERANCE = 0.03
Z95 = 1.959963984540054


def expected_calibration_error(scores, labels, bins: int = CALIBRATION_BINS) -> float:
    """Mean |share positive - mean score| over equal-width score bins, weighted by their size."""
    scores, labels = np.asarray(scores, dtype=float), np.asarray(labels, dtype=float)
    which = np.minimum((scores * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        inside = which == b
        if inside.any():
            total += inside.sum() * abs(labels[inside].mean() - scores[inside].mean())
    return float(total / max(len(scores), 1))


@dataclass
class Calibration:
    ece_raw: float
    ece_used: float
    recalibrated: bool
    bin_probability: np.ndarray   # probability of engageable per SCORE_EDGES bin, as used by the estimate
    curve: list[dict]             # per calibration bin: mean score, share positive, count (for the chart)


def calibration(ref_scores, ref_labels, tolerance: float = CALIBRATION_TOLERANCE) -> Calibration:
    scores, labels = np.asarray(ref_scores, dtype=float), np.asarray(ref_labels, dtype=int)
    raw = expected_calibration_error(scores, labels)
    iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(scores, labels)
    recalibrate = raw > tolerance
    used = iso.predict(scores) if recalibrate else scores
    # Within each history bin, the mean calibrated probability of the reference scores that fell there (the bin's
    # midpoint where too few did).
    mids = (SCORE_EDGES[:-1] + SCORE_EDGES[1:]) / 2
    which = np.clip(np.digitize(scores, SCORE_EDGES[1:-1]), 0, len(mids) - 1)
    fallback = iso.predict(mids) if recalibrate else mids
    prob = np.array([used[which == b].mean() if (which == b).sum() >= 5 else fallback[b] for b in range(len(mids))])
    curve = []
    for b in range(CALIBRATION_BINS):
        inside = np.minimum((scores * CALIBRATION_BINS).astype(int), CALIBRATION_BINS - 1) == b
        if inside.any():
            curve.append({"mean_score": float(scores[inside].mean()), "share_positive": float(labels[inside].mean()),
                          "n": int(inside.sum())})
    return Calibration(raw, expected_calibration_error(used, labels), recalibrate, prob, curve)


@dataclass
class Estimate:
    precision: float
    recall: float
    f1: float
    expected_tp: float
    expected_fp: float
    expected_fn: float


def _ratios(tp: float, fp: float, fn: float) -> tuple[float, float, float]:
    precision = tp / (tp + fp) if tp + fp > 0 else float("nan")
    recall = tp / (tp + fn) if tp + fn > 0 else float("nan")
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn > 0 else float("nan")
    return precision, recall, f1


def estimate(score_hist, flagged: int, threshold: float, cal: Calibration) -> Estimate:
    """Expected confusion matrix from a score histogram and the exact number flagged. Bins wholly above the
    threshold are flagged, wholly below are not; the bin holding the threshold has (flagged - those above) of its
    messages flagged."""
    hist = np.asarray(score_hist, dtype=float)
    lo, hi = SCORE_EDGES[:-1], SCORE_EDGES[1:]
    above = lo >= threshold
    straddle = (lo < threshold) & (hi > threshold)
    flagged_in = np.where(above, hist, 0.0)
    if straddle.any():
        b = int(np.flatnonzero(straddle)[0])
        flagged_in[b] = float(np.clip(flagged - hist[above].sum(), 0, hist[b]))
    unflagged_in = hist - flagged_in
    tp = float(flagged_in @ cal.bin_probability)
    fn = float(unflagged_in @ cal.bin_probability)
    fp = float(flagged_in.sum() - tp)
    return Estimate(*_ratios(tp, fp, fn), tp, fp, fn)


def wilson(successes: int, trials: int, z: float = Z95) -> tuple[float, float]:
    """95 % Wilson score interval of a proportion."""
    if trials == 0:
        return float("nan"), float("nan")
    p = successes / trials
    centre = (p + z * z / (2 * trials)) / (1 + z * z / trials)
    half = z * np.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / (1 + z * z / trials)
    # The interval always holds p and lies in [0, 1]; at 0 or all successes rounding can put a bound a hair past p
    # (0 of 12: a lower bound of 5.6e-17 above a precision of 0).
    return float(min(max(centre - half, 0.0), p)), float(max(min(centre + half, 1.0), p))


@dataclass
class Measured:
    n: int
    precision: float
    precision_interval: tuple[float, float]
    recall: float
    recall_interval: tuple[float, float]
    f1: float
    f1_interval: tuple[float, float]


def measured(labels, flagged, *, boot: int = 1000, seed: int = 0) -> Measured:
    """Precision and recall with Wilson intervals; F1 with a bootstrap percentile interval."""
    y, f = np.asarray(labels, dtype=int), np.asarray(flagged, dtype=bool)
    tp, fp, fn = int((f & (y == 1)).sum()), int((f & (y == 0)).sum()), int((~f & (y == 1)).sum())
    precision, recall, f1 = _ratios(tp, fp, fn)
    rng = np.random.default_rng(seed)
    f1s = []
    if len(y):
        for _ in range(boot):
            i = rng.integers(0, len(y), len(y))
            t, p_, n_ = (f[i] & (y[i] == 1)).sum(), (f[i] & (y[i] == 0)).sum(), (~f[i] & (y[i] == 1)).sum()
            if t + p_ + n_:
                f1s.append(2 * t / (2 * t + p_ + n_))
    interval = (float(np.percentile(f1s, 2.5)), float(np.percentile(f1s, 97.5))) if f1s else (np.nan, np.nan)
    return Measured(len(y), precision, wilson(tp, tp + fp), recall, wilson(tp, tp + fn), f1, interval)
