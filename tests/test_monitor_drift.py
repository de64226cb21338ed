"""Each drift and performance figure of engage.monitor against an independent computation on the same data."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engage.monitor.drift import ks, psi, text_drift
from engage.monitor.performance import calibration, estimate, measured, wilson
from engage.monitor.report import period_psi
from engage.monitor.summary import SCORE_EDGES, score_histogram


def _psi_by_hand(a: np.ndarray, b: np.ndarray, edges: np.ndarray) -> float:
    total = 0.0
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        last = hi == edges[-1]
        p = np.mean((a >= lo) & ((a <= hi) if last else (a < hi)))
        q = np.mean((b >= lo) & ((b <= hi) if last else (b < hi)))
        total += (q - p) * math.log(q / p)
    return total


def test_psi_matches_the_formula_on_raw_scores():
    rng = np.random.default_rng(1)
    ref, cur = rng.beta(1.5, 2, 5000), rng.beta(2, 1.6, 3000)  # every bin filled on both sides
    by_hand = _psi_by_hand(ref, cur, np.linspace(0, 1, 11))
    assert period_psi(score_histogram(ref), score_histogram(cur)) == pytest.approx(by_hand, rel=1e-9)
    assert psi(score_histogram(ref), score_histogram(ref)) == pytest.approx(0.0, abs=1e-12)
    assert by_hand > 0.1  # a real shift, not a figure that is always small


def test_ks_statistic_and_p_value_by_hand():
    rng = np.random.default_rng(2)
    a, b = rng.normal(0, 1, 400), rng.normal(0.25, 1, 300)
    grid = np.sort(np.r_[a, b])
    by_hand = np.max(np.abs(np.searchsorted(np.sort(a), grid, "right") / len(a)
                            - np.searchsorted(np.sort(b), grid, "right") / len(b)))
    result = ks(a, b)
    assert result.statistic == pytest.approx(by_hand)
    ne = len(a) * len(b) / (len(a) + len(b))
    lam = (math.sqrt(ne) + 0.12 + 0.11 / math.sqrt(ne)) * by_hand  # Numerical Recipes' asymptotic form
    p = 2 * sum((-1) ** (k - 1) * math.exp(-2 * k * k * lam * lam) for k in range(1, 101))
    assert result.pvalue == pytest.approx(p, abs=0.01)
    assert result.pvalue < 0.05


def _auc_by_ranks(oof: np.ndarray, n_ref: int) -> float:
    """Mann-Whitney U / (n1 n2), ties counted half."""
    ref, cur = oof[:n_ref], oof[n_ref:]
    wins = sum(np.sum(c > ref) + 0.5 * np.sum(c == ref) for c in cur)
    return wins / (len(ref) * len(cur))


def test_text_drift_auc_is_the_rank_statistic_and_tells_sources_apart():
    rng = np.random.default_rng(3)
    complaints = [f"@brand my order {w} never arrived please help" for w in rng.integers(0, 50, 200)]
    same = [f"@brand my order {w} never arrived please help" for w in rng.integers(0, 50, 200)]
    chatter = [f"lovely sunny day at the beach {w} with friends" for w in rng.integers(0, 50, 200)]
    drifted = text_drift(complaints, chatter)
    assert drifted.auc == pytest.approx(_auc_by_ranks(drifted.oof, drifted.n_reference))
    assert drifted.auc > 0.95
    assert "beach" in drifted.current_words and "order" in drifted.reference_words
    steady = text_drift(complaints, same)
    assert steady.auc == pytest.approx(_auc_by_ranks(steady.oof, steady.n_reference))
    assert steady.auc < 0.65


def test_estimated_confusion_matches_the_per_message_sum_and_the_truth():
    rng = np.random.default_rng(4)
    scores = rng.beta(1.2, 2.0, 20000)
    labels = (rng.random(len(scores)) < scores).astype(int)  # calibrated by construction
    cal = calibration(scores[:5000], labels[:5000])
    assert not cal.recalibrated and cal.ece_raw < 0.03
    cur, y = scores[5000:], labels[5000:]
    threshold = 0.43
    flagged = cur >= threshold
    est = estimate(score_histogram(cur), int(flagged.sum()), threshold, cal)
    tp, fn = cur[flagged].sum(), cur[~flagged].sum()  # per message, CBPE by hand
    fp = flagged.sum() - tp
    assert est.f1 == pytest.approx(2 * tp / (2 * tp + fp + fn), abs=0.003)  # the bins cost less than 0.3 points
    assert est.precision == pytest.approx(tp / (tp + fp), abs=0.003)
    assert est.recall == pytest.approx(tp / (tp + fn), abs=0.003)
    real = measured(y, flagged)
    assert abs(est.f1 - real.f1) < 0.02 and abs(est.precision - real.precision) < 0.02


def test_badly_calibrated_scores_are_recalibrated():
    rng = np.random.default_rng(5)
    truth = rng.random(6000)
    labels = (rng.random(len(truth)) < truth).astype(int)
    scores = truth ** 3  # over-confident towards 0: off by a lot
    cal = calibration(scores, labels)
    assert cal.recalibrated and cal.ece_raw > 0.1 and cal.ece_used < 0.03
    threshold = 0.2
    flagged = scores >= threshold
    est = estimate(score_histogram(scores), int(flagged.sum()), threshold, cal)
    assert abs(est.f1 - measured(labels, flagged).f1) < 0.03


def test_wilson_interval_solves_its_quadratic():
    lo, hi = wilson(81, 263)
    p, n, z = 81 / 263, 263, 1.959963984540054
    for bound in (lo, hi):  # the bounds are the roots of (p - x)^2 = z^2 x (1 - x) / n
        assert (p - bound) ** 2 == pytest.approx(z * z * bound * (1 - bound) / n, rel=1e-9)
    assert lo < p < hi


def test_wilson_interval_holds_the_proportion_within_0_and_1_even_at_its_ends():
    """A spot check with no true positive among its flags has precision 0: its interval starts at 0, not a rounding
    error above it (0 of 12 gave 5.6e-17), and so for every count up to 300 trials."""
    for n in range(1, 301):
        for k in range(n + 1):
            lo, hi = wilson(k, n)
            assert 0.0 <= lo <= k / n <= hi <= 1.0, (k, n, lo, hi)
    assert wilson(0, 12)[0] == 0.0 and wilson(12, 12)[1] == 1.0


def test_histogram_bins_are_fixed():
    assert len(SCORE_EDGES) == 21 and score_histogram(np.array([0.0, 0.05, 1.0])).tolist()[:2] == [1, 1]


def test_text_drift_by_group_is_each_groups_rank_statistic():
    from engage.monitor.drift import text_drift_by_group

    rng = np.random.default_rng(6)
    reference = [f"@brand my order {w} never arrived please help" for w in rng.integers(0, 80, 300)]
    groups = {"same": [f"@brand my order {w} never arrived please help" for w in rng.integers(0, 80, 120)],
              "other": [f"lovely sunny day at the beach {w} with friends" for w in rng.integers(0, 80, 120)]}
    drift = text_drift_by_group(reference, groups)
    ref_oof, owners = drift.oof[:drift.n_reference], np.array(drift.groups)
    for key in groups:
        mine = drift.oof[drift.n_reference:][owners == key]
        assert drift.auc[key] == pytest.approx(_auc_by_ranks(np.r_[ref_oof, mine], len(ref_oof)))
    assert drift.auc["other"] > 0.95 and drift.auc["same"] < 0.7


def test_the_reports_per_day_arithmetic_equals_the_single_figures():
    from engage.monitor.report import estimate_rows, psi_rows

    rng = np.random.default_rng(7)
    ref_scores = rng.beta(1.5, 2, 3000)
    cal = calibration(ref_scores, (rng.random(3000) < ref_scores).astype(int))
    days = [rng.beta(a, 2, 250) for a in (1.0, 1.5, 3.0)]
    hists = np.array([score_histogram(d) for d in days], dtype=float)
    flagged = np.array([(x >= 0.43).sum() for x in days], dtype=float)
    rows = estimate_rows(hists, flagged, 0.43, cal)
    for i in range(len(days)):
        assert psi_rows(score_histogram(ref_scores), hists)[i] == pytest.approx(
            period_psi(score_histogram(ref_scores), hists[i]))
        single = estimate(hists[i], int(flagged[i]), 0.43, cal)
        assert rows[i] == pytest.approx([single.precision, single.recall, single.f1])
