import numpy as np
import pytest
from sklearn.metrics import f1_score, precision_score, recall_score

from engage.errors import InputError
from engage.thresholds import choose_threshold

rng = np.random.default_rng(0)
Y = rng.integers(0, 2, 400)
S = np.clip(Y * 0.3 + rng.random(400) * 0.7, 0, 1)


def test_fixed_defaults_to_half_and_checks_range():
    assert choose_threshold(None, S) == 0.5
    assert choose_threshold(None, S, "fixed", 0.3) == 0.3
    with pytest.raises(InputError, match="between 0 and 1"):
        choose_threshold(None, S, "fixed", 1.5)


def test_best_f1_beats_every_other_cut():
    t = choose_threshold(Y, S, "best_f1")
    best = f1_score(Y, S >= t)
    assert all(f1_score(Y, S >= c) <= best + 1e-12 for c in np.unique(S))


def test_target_precision_is_reached_with_most_recall():
    t = choose_threshold(Y, S, "target_precision", 0.8)
    assert precision_score(Y, S >= t) >= 0.8
    lower = [c for c in np.unique(S) if c < t and precision_score(Y, S >= c) >= 0.8]
    assert all(recall_score(Y, S >= c) <= recall_score(Y, S >= t) for c in lower)


def test_target_recall_is_reached_at_the_highest_threshold():
    t = choose_threshold(Y, S, "target_recall", 0.9)
    assert recall_score(Y, S >= t) >= 0.9
    chosen = np.min(S[S >= t])  # the lowest score still flagged
    assert recall_score(Y, S >= np.min(S[S > chosen])) < 0.9


def test_thresholds_fall_between_scores_so_rescoring_noise_cannot_flip_a_decision():
    for method, value in (("best_f1", None), ("target_precision", 0.8), ("target_recall", 0.9), ("top_k", 25)):
        t = choose_threshold(Y, S, method, value)
        assert not np.isclose(S, t, rtol=0, atol=1e-9).any(), method


def test_top_k_flags_k_messages_without_labels():
    t = choose_threshold(None, S, "top_k", 25)
    assert (S >= t).sum() == 25


@pytest.mark.parametrize("method,value,msg", [
    ("best_f1", None, "needs labels"), ("top_k", 0, "K >= 1"), ("top_k", 2.5, "whole number"),
    ("target_recall", 0, "between 0 and 1"), ("magic", None, "unknown threshold method"),
])
def test_bad_choices_say_what_is_wrong(method, value, msg):
    with pytest.raises(InputError, match=msg):
        choose_threshold(None if method == "best_f1" else Y, S, method, value)


def test_one_class_labels_are_refused():
    with pytest.raises(InputError, match="only one class"):
        choose_threshold(np.ones(10), S[:10], "best_f1")


def test_unreachable_precision_is_refused():
    with pytest.raises(InputError, match="no threshold reaches precision"):
        choose_threshold(np.array([0, 1, 0, 1]), np.array([0.9, 0.1, 0.8, 0.2]), "target_precision", 0.99)
