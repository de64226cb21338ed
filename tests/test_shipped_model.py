"""Model behaviour: the default model the project ships runs offline, as a user gets it, and still does its job."""

from __future__ import annotations

import json

import numpy as np
import pytest

from engage import registry
from engage.config import PROJECT_ROOT
from engage.metrics import metric_table
from engage.reading import read_messages
from engage.scoring import load_classifier

SHIPPED = PROJECT_ROOT / "models"


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
                            "what a lovely sunny day with friends", ""])
    assert scores[0] > scores[1] and scores[2] == 0.0
    assert 0.0 <= scores.min() and scores.max() <= 1.0


def test_a_message_scores_the_same_alone_or_in_a_batch(shipped):
    texts = ["@Delta flight delayed 3 hours, no updates", "thanks @Apple, the new update is great", "ok"]
    together = shipped.score(texts)
    alone = np.array([shipped.score([t])[0] for t in texts])
    np.testing.assert_allclose(together, alone, atol=1e-5)


def test_quality_on_the_fixed_test_split_has_not_regressed(shipped, complaints):
    test = read_messages(complaints / "test.csv", label_col="engage")
    m = metric_table(test.labels, shipped.score(test.texts), shipped.threshold)
    # Floors a little under the figures in models/engage-default/README.md (bench/quality.py gives them).
    assert m["roc_auc"] >= 0.92 and m["f1"] >= 0.79 and m["accuracy"] >= 0.84, m


def test_it_is_ahead_of_the_tfidf_words_and_chars_baseline(shipped, complaints):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline, make_union

    train = read_messages(complaints / "train.csv", label_col="engage")
    test = read_messages(complaints / "test.csv", label_col="engage")
    baseline = make_pipeline(make_union(TfidfVectorizer(ngram_range=(1, 2)),
                                        TfidfVectorizer(analyzer="char", ngram_range=(2, 5))),
                             LogisticRegression(C=10, class_weight="balanced", max_iter=2000))
    base = metric_table(test.labels, baseline.fit(train.texts, train.labels).predict_proba(test.texts)[:, 1], 0.5)
    ours = metric_table(test.labels, shipped.score(test.texts), shipped.threshold)
    for key in ("accuracy", "f1", "roc_auc", "pr_auc"):
        assert ours[key] > base[key], (key, ours[key], base[key])


def test_a_model_json_with_an_unknown_head_key_is_refused_naming_the_file(shipped):
    from engage.errors import InputError
    from engage.scoring import Classifier

    meta = json.loads(json.dumps(shipped.version.meta))
    meta["head"]["config"]["hidden_layers"] = 2
    edited = registry.ModelVersion(shipped.version.name, shipped.version.path, meta)
    with pytest.raises(InputError, match=r"model\.json: .*unknown key 'hidden_layers'"):
        Classifier(edited, shipped.encoder, None)
