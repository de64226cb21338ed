"""Model behaviour: the default model the project ships runs offline, as a user gets it, and still does its job."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from engage import baselines, registry
from engage.config import PROJECT_ROOT
from engage.metrics import metric_table
from engage.reading import read_messages
from engage.scoring import load_classifier

SHIPPED = PROJECT_ROOT / "models"
REFERENCE_SCORES = PROJECT_ROOT / "tests" / "fixtures" / "shipped_scores_test.csv"


@pytest.fixture(scope="module")
def shipped():
    return load_classifier(root=SHIPPED, use_cache=False)


def test_the_active_model_is_ours_and_verified():
    version = registry.read_model(None, SHIPPED)
    assert version.meta["encoder"]["kind"] == "bilm"
    assert version.meta["encoder"]["handle"] == "elmo-tweets"  # relative: found in any clone
    elmo = SHIPPED / "elmo-tweets"
    assert (elmo / "weights.hdf5").stat().st_size < 30 * 2**20
    assert (elmo / "README.md").is_file()


def test_it_scores_offline_and_a_complaint_beats_praise(shipped):
    scores = shipped.score(["@AcmeHelp my order never arrived and nobody answers, I want a refund now",
                            "what a lovely sunny day with friends", ""]).values
    assert scores[0] > scores[1] and scores[2] == 0.0
    assert 0.0 <= scores.min() and scores.max() <= 1.0


def test_a_message_scores_the_same_alone_or_in_a_batch(shipped):
    texts = ["@Delta flight delayed 3 hours, no updates", "thanks @Apple, the new update is great", "ok"]
    together = shipped.score(texts).values
    alone = np.array([shipped.score([t]).values[0] for t in texts])
    np.testing.assert_allclose(together, alone, atol=1e-5)


@pytest.fixture(scope="module")
def test_split_scores(shipped, complaints):
    """The shipped model's scores on the complaints test split, computed once for the tests below."""
    test = read_messages(complaints / "test.csv", label_col="engage")
    return test, shipped.score(test.texts).values


def test_its_scores_on_the_test_split_are_those_recorded_before_any_refactoring(test_split_scores):
    # tests/fixtures/shipped_scores_test.csv: the scores of the shipped model on the complaints test split, written
    # once (repr of each float64, so exact) by the code before issue 20's restructuring. A change to the engine
    # that moves a shipped score by more than float noise is a change of the model, not a refactoring. Float noise:
    # the float32 encoder's kernels differ between CPUs (oneDNN picks them by the instruction set), up to 6e-7 apart
    # on this split between two machines; the tolerance is the one a message alone and in a batch are held to
    # (above), far below what any change of the model or of the reading moves a score by.
    test, scores = test_split_scores
    recorded = pd.read_csv(REFERENCE_SCORES)
    assert recorded["row"].tolist() == list(range(len(test.texts)))
    assert np.abs(np.asarray(scores, dtype=float) - recorded["engage_score"].to_numpy()).max() <= 1e-5


def test_quality_on_the_fixed_test_split_has_not_regressed(shipped, test_split_scores):
    test, scores = test_split_scores
    m = metric_table(test.labels, scores, shipped.threshold)
    # Floors a little under the figures in models/engage-default/README.md (bench/quality.py gives them).
    assert m["roc_auc"] >= 0.92 and m["f1"] >= 0.79 and m["accuracy"] >= 0.84, m


# The shipped model against TF-IDF words + chars (the standard recipe, engage/baselines.py), both at their own
# thresholds chosen on 5-fold cross-validation of the training file, as bench/quality.py and the model card
# (models/engage-default/README.md) compare them. "Ahead" is claimed only where the paired bootstrap interval of
# the lead excludes 0 there; everywhere else the claim is "level": not behind beyond the interval.
AHEAD_OF_WORDS_CHARS = {"roc_auc", "pr_auc"}


@pytest.fixture(scope="module")
def lead_over_words_chars(shipped, complaints):
    training = shipped.version.meta["training_data"]
    assert shipped.version.meta["threshold"]["method"] == "best_f1" and training["cv_folds"] == 5, training
    train = read_messages(complaints / "train.csv", label_col="engage")
    test = read_messages(complaints / "test.csv", label_col="engage")
    base = baselines.fit_and_score(baselines.tfidf_words_chars, train.texts, train.labels, test.texts, folds=5)
    return baselines.paired_lead(test.labels, (shipped.score(test.texts).values, shipped.threshold), base,
                                 rounds=1000, seed=0)


@pytest.mark.slow
@pytest.mark.parametrize("metric", baselines.LEAD_METRICS)
def test_it_is_ahead_of_or_level_with_the_tfidf_words_and_chars_baseline(lead_over_words_chars, metric):
    lead, low, high = lead_over_words_chars[metric]
    if metric in AHEAD_OF_WORDS_CHARS:
        assert low > 0, f"{metric}: lead {lead:+.4f}, 95 % interval [{low:+.4f}, {high:+.4f}]: not ahead"
    else:
        assert high > 0, f"{metric}: lead {lead:+.4f}, 95 % interval [{low:+.4f}, {high:+.4f}]: behind"


def test_a_model_json_with_an_unknown_head_key_is_refused_naming_the_file(shipped):
    from engage.errors import InputError
    from engage.scoring import Classifier

    meta = json.loads(json.dumps(shipped.version.meta))
    meta["head"]["config"]["hidden_layers"] = 2
    edited = registry.ModelVersion(shipped.version.name, shipped.version.path, meta)
    with pytest.raises(InputError, match=r"model\.json: .*unknown key 'hidden_layers'"):
        Classifier(edited, shipped.encoder, None)
