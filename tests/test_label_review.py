"""Review (engage/labels/review.py) and suspected label errors (engage/suspects.py): decisions are the gold label
training uses and keep what they overrule, agreement before and after review, the suspects queue, and the ranking
putting deliberately flipped labels first."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from engage.errors import InputError
from engage.label_loop import record_suspects, training_messages
from engage.suspects import RANK_COL, SUSPECT_COL, rank_suspects

_ASK = ["my order never arrived", "the app crashes at login", "still waiting on my refund", "charged twice again",
        "support hung up on me", "the charger broke already"]
_CHAT = ["loving the new lineup", "great match last night", "best coffee ever", "happy friday all",
         "that ad made me laugh", "sunny day at the beach"]


def _labeled(store, texts, by_annotator: dict[str, list[int | None]]):
    set_id = store.import_messages("review", texts)
    ids = store.messages(set_id)["message_id"].tolist()
    for who, values in by_annotator.items():
        for message_id, value in zip(ids, values, strict=True):
            if value is not None:
                store.label(message_id, who, value, set_id=set_id)
    return set_id, ids


def test_a_decision_is_the_gold_label_training_uses_and_keeps_what_it_overrules(store):
    set_id, ids = _labeled(store, ["a b", "c d", "e f"], {"ana": [1, 0, 1], "bo": [1, 1, 1], "cy": [None, 1, 0]})
    before = training_messages(store, set_id)
    assert before.labels.tolist() == [1, 1, 1]  # the majority each time; decide two against it
    first = store.decide(ids[1], "lead@brand.example", 0, source="dispute", set_id=set_id)
    store.decide(ids[2], "carl@brand.example", 0, source="label", set_id=set_id)
    after = training_messages(store, set_id)
    assert after.labels.tolist() == [1, 0, 0]
    assert after.frame["reviewed"].tolist() == [False, True, True]
    # The originals are untouched in the answers, and the decision keeps a copy of them, who and when.
    history = store.export(set_id, fmt="jsonl", history=True).decode().splitlines()
    assert len(history) == 8
    made = store.decisions(set_id).set_index("message_id")
    assert made.loc[ids[1], "reviewer"] == "lead@brand.example" and made.loc[ids[1], "source"] == "dispute"
    assert made.loc[ids[1], "before"] == {"labels": {"ana": 0, "bo": 1, "cy": 1}, "label": 1}
    assert pd.notna(made.loc[ids[1], "created_at"])
    # A later decision replaces it for training; both stay on record.
    store.decide(ids[1], "carl@brand.example", 1, source="dispute", set_id=set_id)
    assert training_messages(store, set_id).labels.tolist() == [1, 1, 0]
    every = store.decisions(set_id, latest=False)
    assert every["review_id"].tolist()[0] == first and len(every) == 3
    assert every["before"].iloc[2]["label"] == 0  # the label training had: the first decision's


def test_the_labels_export_keeps_what_review_settled_and_which_labels_were_bulk(store):
    set_id, ids = _labeled(store, ["a b", "c d", "e f"], {"ana": [1, 0, None], "bo": [1, 1, None]})
    store.bulk_label(set_id, [ids[2]], "cy", 0)
    store.decide(ids[1], "lead@brand.example", 0, source="dispute", set_id=set_id)
    for fmt in ("csv", "jsonl"):
        data = store.export(set_id, fmt=fmt)
        rows = (pd.read_csv(io.BytesIO(data), dtype={"reviewed_by": object}) if fmt == "csv"
                else pd.read_json(io.BytesIO(data), lines=True))
        by = {(r.message_id, r.annotator): r for r in rows.itertuples()}
        assert len(by) == 5
        # The annotators' own labels stay as given; the training label is the decision, with its reviewer.
        assert [by[(ids[1], who)].label for who in ("ana", "bo")] == [0, 1]
        assert {by[(ids[1], who)].training_label for who in ("ana", "bo")} == {0}
        assert {by[(ids[1], who)].reviewed_by for who in ("ana", "bo")} == {"lead@brand.example"}
        # Undecided: the majority (a tie goes to the latest label), no reviewer.
        assert by[(ids[0], "ana")].training_label == 1 and pd.isna(by[(ids[0], "ana")].reviewed_by)
        assert bool(by[(ids[2], "cy")].bulk) and not bool(by[(ids[0], "ana")].bulk)
        assert by[(ids[2], "cy")].training_label == 0


def test_agreement_before_and_after_review(store):
    set_id, ids = _labeled(store, ["a", "b", "c", "d"], {"ana": [1, 0, 1, 0], "bo": [1, 1, 1, None],
                                                          "cy": [1, 1, 0, None]})
    found = store.review_agreement(set_id)
    # b: ana 0 against bo and cy (majority 1); c: cy 0 against 1. 10 labels, 8 equal to the majority.
    assert (found.disputed, found.decided, found.open, found.changed) == (2, 0, 2, 0)
    assert found.before == pytest.approx(8 / 10) and found.after == pytest.approx(8 / 10)
    store.decide(ids[1], "lead@brand.example", 0, source="dispute", set_id=set_id)  # ana was right
    found = store.review_agreement(set_id)
    assert (found.disputed, found.decided, found.open, found.changed) == (2, 1, 1, 1)
    assert found.before == pytest.approx(8 / 10) and found.after == pytest.approx(7 / 10)
    per = found.by_annotator.set_index("annotator")
    assert per.loc["ana", "before"] == pytest.approx(3 / 4) and per.loc["ana", "after"] == pytest.approx(1.0)


def test_bad_decisions_are_refused(store):
    set_id, ids = _labeled(store, ["a", "b"], {"ana": [1, 0]})
    other = store.import_messages("other", ["zzz"])
    with pytest.raises(InputError, match="1 .engageable. or 0"):
        store.decide(ids[0], "lead@brand.example", 2, source="dispute")
    with pytest.raises(InputError, match="unknown review source"):
        store.decide(ids[0], "lead@brand.example", 1, source="majority")
    with pytest.raises(InputError, match="not in labeling set"):
        store.decide(ids[0], "lead@brand.example", 1, source="dispute", set_id=other)
    with pytest.raises(InputError, match="who made it"):
        store.decide(ids[0], " ", 1, source="dispute")
    assert store.decisions().empty


def test_suspects_queue_leaves_out_decided_messages(store):
    texts = [f"message {i}" for i in range(6)]
    set_id, ids = _labeled(store, texts, {"ana": [1, 1, 1, 0, 0, 0]})
    messages = training_messages(store, set_id)
    oof = np.array([0.05, 0.9, 0.8, 0.2, 0.97, 0.1])  # message 0 and message 4 contradict their labels
    order = [messages.texts.index(t) for t in texts]
    assert record_suspects(store, messages, oof[np.argsort(order)], "v1") == 6
    queue = store.suspects(set_id)
    assert queue["text"].tolist()[:2] == ["message 4", "message 0"] and queue["model"].iloc[0] == "v1"
    store.decide(ids[4], "lead@brand.example", 1, source="suspect", set_id=set_id)
    assert store.suspects(set_id)["text"].tolist()[0] == "message 0"
    assert len(store.suspects(set_id, reviewed=True)) == 6
    assert training_messages(store, set_id).labels[messages.texts.index("message 4")] == 1


def test_rank_suspects_puts_contradicted_labels_first():
    y = np.array([1] * 10 + [0] * 10)
    p = np.where(y == 1, 0.85, 0.15)
    p[[3, 14]] = [0.1, 0.95]  # the model strongly disagrees with these two labels
    ranked = rank_suspects(y, p)
    assert set(ranked.index[ranked[RANK_COL] <= 2]) == {3, 14}
    assert ranked[SUSPECT_COL].sum() >= 2 and ranked.loc[[3, 14], SUSPECT_COL].all()
    assert sorted(ranked[RANK_COL]) == list(range(1, 21))
    with pytest.raises(InputError, match="20 labels but 3"):
        rank_suspects(y, p[:3])


@pytest.mark.slow
def test_out_of_fold_ranking_finds_deliberately_flipped_labels(app_env, tmp_path):
    """The real recipe path (engage.train.out_of_fold_scores on the fixture ELMo, the lexical branch) on a small set
    with 6 of 72 labels flipped on purpose: the flipped labels are the top of the ranking."""
    from engage.cache import EmbeddingCache
    from engage.encoders import load_encoder
    from engage.head import HeadConfig
    from engage.reading import read_messages
    from engage.recipe import Recipe
    from engage.suspects import suspects_of

    rng = np.random.default_rng(3)
    rows = [(f"{_ASK[i % 6]} #{i}", 1) if i % 2 else (f"{_CHAT[i % 6]} #{i}", 0) for i in range(72)]
    frame = pd.DataFrame(rows, columns=["text", "engage"])
    flipped = np.sort(rng.choice(len(frame), 6, replace=False))
    frame.loc[flipped, "engage"] = 1 - frame.loc[flipped, "engage"]
    path = tmp_path / "flipped.csv"
    frame.to_csv(path, index=False)
    messages = read_messages(path, label_col="engage")
    recipe = Recipe(encoder=str(app_env.encoder), head=HeadConfig(lexical=True, elmo_branch="linear"))
    ranked = suspects_of(messages, recipe, folds=4, cache=EmbeddingCache(app_env.cache / "embeddings"))
    assert list(ranked.columns[:2]) == ["text", "engage"] and len(ranked) == 72
    assert sorted(ranked.index[:6]) == flipped.tolist()
    # A cross-validated training computes the same out-of-fold scores (what the Train page stores for review).
    from engage.train import train_model
    from engage.validation import Validation

    trained = train_model(messages, load_encoder(str(app_env.encoder)), recipe.head, name="flipped",
                          validation=Validation.cross(4), cache=EmbeddingCache(app_env.cache / "embeddings"),
                          root=tmp_path / "models")
    np.testing.assert_allclose(trained.oof_scores, ranked.sort_index()["engage_oof_score"], rtol=1e-6)
