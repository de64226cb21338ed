"""Training's two ways to pick the threshold and report metrics: a held-out split or K-fold cross-validation."""

import inspect

import numpy as np
import pandas as pd
import pytest

from engage import train as train_mod
from engage.encoders import load_encoder
from engage.errors import InputError
from engage.head import HeadConfig, head_inputs
from engage.metrics import metric_table
from engage.reading import Messages
from engage.thresholds import choose_threshold
from engage.train import cross_validated_scores, train_model
from engage.validation import DEFAULT_VALIDATION, Validation

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


class _Spied:
    """Every head train_model fits and every score it takes, by row number: each input row carries its index
    (an extra input the head never sees), so which rows a head learned from and which it scored is observed, not
    recomputed with the function under test."""

    def __init__(self, monkeypatch):
        self.fits: list[np.ndarray] = []     # rows of each fitted head, in fitting order
        self.scored: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # (fit rows, scored rows, scores)
        self._fitted_on: dict[int, np.ndarray] = {}
        real_inputs, real_train, real_predict = train_mod.head_inputs, train_mod.train_head, train_mod.predict

        def head_inputs(config, vectors, texts):
            return real_inputs(config, vectors, texts) | {"row": np.arange(len(texts))}

        def train_head(config, inputs, y, *args, **kwargs):
            model, history = real_train(config, _without_row(inputs), y, *args, **kwargs)
            self.fits.append(inputs["row"])
            self._fitted_on[id(model)] = inputs["row"]
            return model, history

        def predict(model, inputs, *args, **kwargs):
            scores = real_predict(model, _without_row(inputs), *args, **kwargs)
            self.scored.append((self._fitted_on[id(model)], inputs["row"], scores))
            return scores

        monkeypatch.setattr(train_mod, "head_inputs", head_inputs)
        monkeypatch.setattr(train_mod, "train_head", train_head)
        monkeypatch.setattr(train_mod, "predict", predict)


def _without_row(inputs: dict) -> dict:
    return {k: v for k, v in inputs.items() if k != "row"}


@pytest.mark.slow
@pytest.mark.parametrize("branch", ["mlp", "linear"])
def test_cross_validation_scores_every_row_with_a_head_that_never_saw_it(tmp_path, encoder, branch, monkeypatch):
    messages = _messages()
    n = len(messages.texts)
    config = HeadConfig(epochs=3, lexical=True, lexical_features=2**10, elmo_branch=branch)
    spied = _Spied(monkeypatch)
    result = train_model(messages, encoder, config, name="cv", validation=Validation.cross(4), root=tmp_path)
    meta = result.version.meta
    assert meta["training_data"]["cv_folds"] == 4
    assert meta["training_data"]["train_rows"] == meta["training_data"]["heldout_rows"] == n
    assert result.heldout["method"] == "4-fold cross-validation" and result.heldout["n"] == n
    # Four fold heads, then the final head on every row.
    assert len(spied.fits) == 5 and sorted(spied.fits[-1]) == list(range(n))
    held_out = [np.setdiff1d(np.arange(n), rows) for rows in spied.fits[:4]]
    assert sorted(np.concatenate(held_out)) == list(range(n))  # the held-out folds partition the rows
    assert all(abs(len(h) - n / 4) <= 1 for h in held_out)
    for h in held_out:  # stratified: each fold holds its share of each class
        assert abs(messages.labels[h].mean() - messages.labels.mean()) < 0.05
    # Every honest score comes from a head that did not train on the row it scores, and every row gets one.
    honest = np.full(n, np.nan)
    for fit_rows, rows, scores in spied.scored:
        assert not np.intersect1d(fit_rows, rows).size, "a row was scored by a head trained on it"
        assert np.isnan(honest[rows]).all()
        honest[rows] = scores
    assert not np.isnan(honest).any()
    # The recorded threshold and metrics are those of these observed out-of-fold scores.
    threshold = choose_threshold(messages.labels, honest, "best_f1")
    assert meta["threshold"]["value"] == pytest.approx(threshold, abs=1e-6)
    assert result.heldout["f1"] == pytest.approx(metric_table(messages.labels, honest, threshold)["f1"], abs=1e-6)
    # The same out-of-fold scores that cross_validated_scores returns (same seed, same folds).
    monkeypatch.undo()
    inputs = head_inputs(config, encoder.layer_means(messages.texts), messages.texts)
    np.testing.assert_allclose(cross_validated_scores(config, inputs, messages.labels, 4), honest, atol=1e-6)


def test_a_held_out_split_still_reports_on_its_own_rows(tmp_path, encoder):
    result = train_model(_messages(), encoder, HeadConfig(epochs=2), name="split", validation=Validation.held_out(0.25),
                         root=tmp_path)
    assert result.heldout["method"] == "held-out split" and result.heldout["n"] == 30
    assert result.version.meta["training_data"]["train_rows"] == 90


@pytest.mark.parametrize(("folds", "share", "message"), [
    (5, 0.1, "either cross-validation or a held-out share, not both"),
    (1, 0.0, "cross-validation needs at least 2 folds, got 1"),
    (0, 0.95, "the held-out share must be between 0 and 0.9, got 0.95"),
    (80, 0.0, "80-fold cross-validation needs at least 80 messages of each class"),
    (5, 0.0, "early stopping watches held-out messages"),
])
def test_impossible_validations_are_refused_in_words_before_any_work(tmp_path, encoder, folds, share, message):
    config = HeadConfig(epochs=1, early_stopping="early" in message)
    with pytest.raises(InputError, match=message) as refused:
        train_model(_messages(), encoder, config, validation=Validation(folds=folds, share=share), root=tmp_path)
    assert "--" not in str(refused.value)  # words every front end can show, not a CLI flag
    assert not list(tmp_path.iterdir())  # nothing saved


def test_one_default_validation_for_the_engine_the_cli_and_retraining():
    from engage.cli import _validation, build_parser

    assert DEFAULT_VALIDATION == Validation.cross(5)
    assert inspect.signature(train_model).parameters["validation"].default is DEFAULT_VALIDATION
    assert _validation(build_parser().parse_args(["train", "data.csv"])) is DEFAULT_VALIDATION
    assert Validation.of_record({}) is DEFAULT_VALIDATION  # what retrain uses for a version that recorded none
    assert _validation(build_parser().parse_args(["train", "d.csv", "--val-split", "0.2"])) == Validation(share=0.2)
    assert _validation(build_parser().parse_args(["train", "d.csv", "--cv-folds", "0"])) == Validation()
