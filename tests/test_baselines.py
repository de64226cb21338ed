"""The baselines a model is measured against: thresholds chosen on the training rows only, the paired bootstrap of
a lead, and the shared README's recipe reproduced."""

from __future__ import annotations

import numpy as np
import pytest

from engage import baselines
from engage.metrics import metric_table
from engage.reading import read_messages


def _noisy(y: np.ndarray, noise: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(0.5 + (y - 0.5) * 0.6 + rng.normal(0, noise, len(y)), 0, 1)


@pytest.fixture
def labels() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 2, 400)


def test_a_model_against_itself_leads_by_nothing(labels):
    scores = _noisy(labels, 0.3, 1)
    lead = baselines.paired_lead(labels, (scores, 0.5), (scores, 0.5), rounds=50)
    assert set(lead) == set(baselines.LEAD_METRICS)
    assert all(v == (0.0, 0.0, 0.0) for v in lead.values()), lead


def test_a_clearly_better_model_is_ahead_and_the_other_behind(labels):
    good, poor = (_noisy(labels, 0.1, 1), 0.5), (_noisy(labels, 0.6, 2), 0.5)
    ahead = baselines.paired_lead(labels, good, poor, rounds=200)
    behind = baselines.paired_lead(labels, poor, good, rounds=200)
    for key in baselines.LEAD_METRICS:
        lead, low, high = ahead[key]
        assert 0 < low <= lead <= high, (key, ahead[key])
        assert behind[key][0] == pytest.approx(-lead) and behind[key][2] < 0, (key, behind[key])


def test_the_lead_on_the_rows_as_given_is_the_metric_tables_difference(labels):
    ours, base = (_noisy(labels, 0.3, 1), 0.42), (_noisy(labels, 0.4, 2), 0.61)
    lead = baselines.paired_lead(labels, ours, base, rounds=10)
    m1, m2 = metric_table(labels, *ours), metric_table(labels, *base)
    for key in baselines.LEAD_METRICS:
        assert lead[key][0] == pytest.approx(m1[key] - m2[key]), key


def test_the_same_seed_gives_the_same_interval_and_another_seed_another(labels):
    ours, base = (_noisy(labels, 0.3, 1), 0.5), (_noisy(labels, 0.35, 2), 0.5)
    first = baselines.paired_lead(labels, ours, base, rounds=100, seed=0)
    assert baselines.paired_lead(labels, ours, base, rounds=100, seed=0) == first
    assert baselines.paired_lead(labels, ours, base, rounds=100, seed=1)["roc_auc"][1:] != first["roc_auc"][1:]


def test_a_baselines_threshold_comes_from_the_training_rows_alone():
    rng = np.random.default_rng(0)
    words = np.array(["refund", "broken", "late", "thanks", "great", "love"])
    y = rng.integers(0, 2, 120)
    texts = [" ".join(rng.choice(words[:3] if label else words[3:], 4)) + " " + rng.choice(words) for label in y]
    scores_a, t_a = baselines.fit_and_score(baselines.tfidf_words, texts, y, ["refund late", "thanks"])
    scores_b, t_b = baselines.fit_and_score(baselines.tfidf_words, texts, y, ["great love great"] * 3)
    assert t_a == t_b and len(scores_a) == 2 and len(scores_b) == 3
    assert scores_a[0] > t_a > scores_a[1]
    _, fixed = baselines.fit_and_score(baselines.tfidf_words, texts, y, ["late"], threshold_method="fixed",
                                       threshold_value=0.3)
    assert fixed == 0.3


@pytest.mark.slow
def test_the_shared_readmes_recipe_gives_its_figures(complaints):
    """The unstated settings engage/baselines.py names for ../shared/data/complaints/README.md's figures."""
    train = read_messages(complaints / "train.csv", label_col="engage")
    test = read_messages(complaints / "test.csv", label_col="engage")
    readme = {baselines.reference_words: {"accuracy": 0.808, "f1": 0.752, "roc_auc": 0.882},
              baselines.reference_words_chars: {"accuracy": 0.833, "f1": 0.782, "roc_auc": 0.912}}
    for make, figures in readme.items():
        scores = make().fit(train.texts, train.labels).predict_proba(test.texts)[:, 1]
        m = metric_table(test.labels, scores, 0.5)
        assert {k: round(m[k], 3) for k in figures} == figures, make.__name__
