"""Training's two ways to pick the threshold and report metrics: a held-out split or K-fold cross-validation."""

import numpy as np
import pandas as pd
import pytest

from engage.encoders import load_encoder
from engage.errors import InputError
from engage.head import HeadConfig, head_inputs
from engage.metrics import metric_table
from engage.reading import Messages
from engage.thresholds import choose_threshold
from engage.train import cross_validated_scores, train_model

WORDS_YES = ["refund", "broken", "waiting", "never", "late", "charged"]
WORDS_NO = ["thanks", "love", "great", "nice", "happy", "cool"]


def _messages(n: int = 120, seed: int = 0) -> Messages:
    rng = np.random.default_rng(seed)
    labels = (rng.random(n) < 0.4).astype(np.int8)
    texts = [" ".join(rng.choice(WORDS_YES if y else WORDS_NO, 3)) + f" #{i}" for i, y in enumerate(labels)]
    return Messages(frame=pd.DataFrame({"text": texts, "label": labels}), text_col="text", label_col="label",
                    texts=texts, labels=labels, empty_rows=[], source="made.csv", first_row=2)


@pytest.fixture(scope="module")
def encoder(hub_fixture):
    return load_encoder(str(hub_fixture))


@pytest.mark.parametrize("branch", ["mlp", "linear"])
def test_cross_validation_picks_the_threshold_on_every_rows_honest_score(tmp_path, encoder, branch):
    messages = _messages()
    config = HeadConfig(epochs=3, lexical=True, lexical_features=2**10, elmo_branch=branch)
    result = train_model(messages, encoder, config, name="cv", val_split=0, cv_folds=4, root=tmp_path)
    meta = result.version.meta
    assert meta["training_data"]["cv_folds"] == 4
    assert meta["training_data"]["train_rows"] == meta["training_data"]["heldout_rows"] == len(messages.texts)
    assert result.heldout["method"] == "4-fold cross-validation" and result.heldout["n"] == len(messages.texts)
    # The recorded threshold and metrics are those of the out-of-fold scores, recomputed here.
    inputs = head_inputs(config, encoder.layer_means(messages.texts), messages.texts)
    scores = cross_validated_scores(config, inputs, messages.labels, 4)
    threshold = choose_threshold(messages.labels, scores, "best_f1")
    assert meta["threshold"]["value"] == pytest.approx(threshold, abs=1e-6)
    assert result.heldout["f1"] == pytest.approx(metric_table(messages.labels, scores, threshold)["f1"], abs=1e-6)


def test_a_held_out_split_still_reports_on_its_own_rows(tmp_path, encoder):
    result = train_model(_messages(), encoder, HeadConfig(epochs=2), name="split", val_split=0.25, root=tmp_path)
    assert result.heldout["method"] == "held-out split" and result.heldout["n"] == 30
    assert result.version.meta["training_data"]["train_rows"] == 90


@pytest.mark.parametrize(("folds", "val_split", "message"), [
    (5, 0.1, "either a held-out split .* or cross-validation"),
    (1, 0.0, "at least 2"),
    (80, 0.0, "needs at least 80 messages of each class"),
    (5, 0.0, "early-stopping watches a held-out split"),
])
def test_impossible_fold_settings_are_refused_before_any_work(tmp_path, encoder, folds, val_split, message):
    config = HeadConfig(epochs=1, early_stopping="early" in message)
    with pytest.raises(InputError, match=message):
        train_model(_messages(), encoder, config, val_split=val_split, cv_folds=folds, root=tmp_path)
    assert not list(tmp_path.iterdir())  # nothing saved
