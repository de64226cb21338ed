"""Issue 24 items 11-13 and 15, issue 23 item 7, engine side: a labeling set keeps its file's context (bounded)
and ids, the labels export joins back to the file, the plain CSV keeps texts exactly, needs_reply-style label
columns are found, and the mixed queue order's random picks weigh the threshold's labels."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import text

from engage.cli import run
from engage.formula_guard import PLAIN_CSV_RISK
from engage.labels import LabelStore
from engage.labels.context import MAX_COLUMNS, MAX_VALUE_CHARS, id_column, row_context
from engage.labels.db import open_engine
from engage.labels.migrations import LATEST, MIGRATIONS, migrate
from engage.labels.picks import MIN_RANDOM_PER_CLASS, threshold_weights
from engage.labels.queue import MIXED_EVERY
from engage.outputs import TableWriter, to_csv_bytes
from engage.reading import detect_label_column, read_messages
from engage.thresholds import choose_threshold

TWEETS = pd.DataFrame({
    "tweet_id": ["570306133677760513", "570301130888122368", "570301083672813571"],
    "airline": ["Virgin America", "United", None],
    "name": ["cairdin", "**bold** ![x](http://host.invalid/i.png)", "jnardino"],
    "text": ["@VirginAmerica What @dhepburn said.", "=HYPERLINK(\"http://evil\")", "@united lost my bag"],
    "tweet_created": ["2015-02-24 11:35:52 -0800", "2015-02-24 11:15:59 -0800", "2015-02-24 11:15:48 -0800"],
})


def _url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'labels.sqlite'}"


# ------------------------------------------------------------------ item 11: the set keeps the file's columns

def test_a_set_keeps_each_messages_columns_and_id(tmp_path):
    with LabelStore(_url(tmp_path)) as store:
        set_id = store.import_messages("tweets", TWEETS["text"], context=TWEETS, text_col="text")
        (kept,) = store.sets()
        assert kept.extra == {"id_column": "tweet_id", "context_columns": ["tweet_id", "airline", "name",
                                                                           "tweet_created"]}
        by_text = store.messages(set_id).set_index("text")["message_id"]
        assert store.context(set_id, by_text["@united lost my bag"]) == {  # a missing cell is left out
            "tweet_id": "570301083672813571", "name": "jnardino", "tweet_created": "2015-02-24 11:15:48 -0800"}
        assert store.context(set_id, by_text["=HYPERLINK(\"http://evil\")"])["name"] == TWEETS["name"][1]
        plain_set = store.import_messages("pasted", ["no context here"])
        assert store.context(plain_set, store.messages(plain_set)["message_id"][0]) == {}


def test_context_is_bounded():
    wide = pd.DataFrame({f"c{i}": ["x" * (MAX_VALUE_CHARS + 50)] for i in range(MAX_COLUMNS + 5)} | {"text": ["t"]})
    (row,) = row_context(wide, "text")
    assert list(row) == [f"c{i}" for i in range(MAX_COLUMNS)]
    assert all(len(v) == MAX_VALUE_CHARS and v.endswith("…") for v in row.values())


def test_the_id_column_is_named_like_an_id_and_unique():
    assert id_column(TWEETS, "text") == "tweet_id"
    assert id_column(TWEETS.assign(tweet_id=["1", "1", "2"]), "text") is None  # repeated: not an id
    assert id_column(TWEETS.drop(columns=["tweet_id"]), "text") is None


def test_a_database_of_the_previous_version_upgrades_and_keeps_its_rows(tmp_path):
    url = _url(tmp_path)
    engine = open_engine(url)
    migrate(engine, target=LATEST - 1)  # the version before this change
    engine.dispose()
    assert MIGRATIONS[-1].__name__.endswith("_context")  # this change is the last migration
    with LabelStore(url) as store:  # opening upgrades
        assert store.schema_version == LATEST
        set_id = store.import_messages("tweets", TWEETS["text"], context=TWEETS, text_col="text")
        item = store.next_message(set_id, "ana", "file")
        store.label(item.message_id, "ana", 1, set_id=set_id, picked=item.picked)
        with store.engine.connect() as conn:
            assert conn.execute(text("SELECT picked FROM labels")).scalars().all() == ["file"]


# ------------------------------------------------------------------ item 12: the export joins back to the file

def test_the_labels_export_joins_back_to_the_file_by_its_id(tmp_path):
    with LabelStore(_url(tmp_path)) as store:
        set_id = store.import_messages("tweets", TWEETS["text"], context=TWEETS, text_col="text")
        truth = {"@VirginAmerica What @dhepburn said.": 1, "=HYPERLINK(\"http://evil\")": 0,
                 "@united lost my bag": 1}
        while (item := store.next_message(set_id, "ana", "random")) is not None:
            store.label(item.message_id, "ana", truth[item.text], set_id=set_id)
        exported = pd.read_csv(io.BytesIO(store.export(set_id)), dtype={"source_id": str})
    joined = TWEETS.merge(exported[["source_id", "source_row", "label"]], left_on="tweet_id", right_on="source_id")
    assert joined["label"].tolist() == [truth[t] for t in TWEETS["text"]]
    assert joined["source_row"].tolist() == [1, 2, 3]  # the file's data rows, as the card counts them


# ------------------------------------------------------------------ item 13: the plain CSV

def test_the_plain_csv_keeps_every_text_exactly_and_the_default_guards(tmp_path):
    plain = pd.read_csv(io.BytesIO(to_csv_bytes(TWEETS, spreadsheet_safe=False)), dtype=str)
    assert plain["text"].tolist() == TWEETS["text"].tolist()
    guarded = pd.read_csv(io.BytesIO(to_csv_bytes(TWEETS)), dtype=str)
    assert guarded["text"].tolist() == ["'" + t for t in TWEETS["text"]]
    with TableWriter(tmp_path / "plain.tsv", spreadsheet_safe=False) as writer:
        writer.write(TWEETS)
    assert pd.read_csv(tmp_path / "plain.tsv", sep="\t", dtype=str)["text"].tolist() == TWEETS["text"].tolist()
    assert "formula" in PLAIN_CSV_RISK


def test_the_labels_export_has_a_plain_csv(tmp_path):
    with LabelStore(_url(tmp_path)) as store:
        set_id = store.import_messages("tweets", TWEETS["text"])
        item = store.next_message(set_id, "ana", "file")
        store.label(item.message_id, "ana", 1, set_id=set_id)
        plain = pd.read_csv(io.BytesIO(store.export(set_id, spreadsheet_safe=False)))
        guarded = pd.read_csv(io.BytesIO(store.export(set_id)))
    assert plain["text"].tolist() == [TWEETS["text"][0]]
    assert guarded["text"].tolist() == ["'" + TWEETS["text"][0]]


def test_plain_csv_is_refused_for_outputs_without_formulas(tmp_path, capsys):
    src = tmp_path / "in.csv"
    TWEETS.to_csv(src, index=False)
    assert run(["score", str(src), "--out", str(tmp_path / "out.parquet"), "--plain-csv"]) == 1
    assert "--plain-csv is for a .csv or .tsv output" in capsys.readouterr().err


# ------------------------------------------------------------------ item 15: reply/respond label columns

def test_reply_and_respond_label_columns_are_found():
    frame = pd.DataFrame({"text": ["where is my bag", "nice"], "needs_reply": ["yes", "no"]})
    assert detect_label_column(frame, "text") == "needs_reply"
    worded = pd.DataFrame({"text": ["a", "b"], "Agent Should Respond?": [1, 0]})
    assert detect_label_column(worded, "text") == "Agent Should Respond?"
    replies = pd.DataFrame({"text": ["a", "b"], "agent_response": ["Sorry to hear that", "Thanks!"]})
    assert detect_label_column(replies, "text") is None  # reply texts are not labels
    data = io.BytesIO(b"text,needs_reply\nwhere is my bag,yes\nnice,no\n")
    assert read_messages(data, name="r.csv").labels.tolist() == [1, 0]


# ------------------------------------------------------------------ issue 23 item 7: mixed order, weights

def test_the_mixed_order_picks_every_third_at_random_and_records_it(tmp_path):
    with LabelStore(_url(tmp_path)) as store:
        set_id = store.import_messages("pool", [f"message {i}" for i in range(60)])
        ids = store.messages(set_id)["message_id"].tolist()
        store.store_scores(set_id, "m", {m: i / 60 for i, m in enumerate(ids)}, 0.5)
        picks, distances = [], []
        for _ in range(12):
            item = store.next_message(set_id, "ana", "mixed")
            picks.append(item.picked)
            distances.append(abs(item.score - 0.5))
            store.label(item.message_id, "ana", int(item.score >= 0.5), set_id=set_id, picked=item.picked)
        history = pd.read_csv(io.BytesIO(store.export(set_id, history=True)))
    expected = ["random" if (i % MIXED_EVERY) == MIXED_EVERY - 1 else "uncertain" for i in range(12)]
    assert picks == expected and history["picked"].tolist() == expected
    uncertain = [d for d, p in zip(distances, picks, strict=True) if p == "uncertain"]
    assert uncertain == sorted(uncertain) and max(uncertain) < 0.15  # the band around the threshold, in order
    assert max(d for d, p in zip(distances, picks, strict=True) if p == "random") > 0.15  # beyond the band


def test_threshold_weights_stand_random_picks_for_the_unlabeled_rest():
    n = MIN_RANDOM_PER_CLASS
    labels = np.array([1] * n + [0] * n + [1, 0] * 5)
    random_pick = np.array([True] * (2 * n) + [False] * 10)
    weights = threshold_weights(random_pick, labels, pool_size=1000)
    assert weights.tolist() == [(1000 - 10) / (2 * n)] * (2 * n) + [1.0] * 10
    assert threshold_weights(random_pick[1:], labels[1:], 1000) is None  # one random positive too few
    assert threshold_weights(np.ones(30, bool), np.r_[np.ones(15), np.zeros(15)], 1000) is None  # all random
    assert threshold_weights(random_pick, labels, pool_size=len(labels)) is None  # the whole pool labeled


def test_weights_move_the_best_f1_threshold_to_the_pool_s():
    # Uncertain picks crowd the band 0.4-0.6, where 15 of 40 are positive: chosen on them, the threshold takes the
    # band in. The random picks show the pool: below 0.4 negative, above 0.6 positive, and the band a thin slice.
    # Weighted, the threshold is chosen for the pool, at the band's top.
    band = np.linspace(0.4, 0.6, 40)
    band_labels = (np.random.default_rng(0).random(40) < 0.45).astype(int)
    spread = np.r_[np.linspace(0.0, 0.39, 15), np.linspace(0.61, 1.0, 15)]
    spread_labels = np.r_[np.zeros(15, int), np.ones(15, int)]
    scores, labels = np.r_[band, spread], np.r_[band_labels, spread_labels]
    weights = threshold_weights(np.r_[np.zeros(40, bool), np.ones(30, bool)], labels, pool_size=3000)
    unweighted = choose_threshold(labels, scores, "best_f1")
    weighted = choose_threshold(labels, scores, "best_f1", weights=weights)
    assert band_labels.sum() == 15 and unweighted < 0.5 < 0.55 < weighted < 0.61


def test_labeled_messages_carry_the_weights_of_the_picks(tmp_path):
    with LabelStore(_url(tmp_path)) as store:
        set_id = store.import_messages("pool", [f"message {i}" for i in range(200)])
        ids = store.messages(set_id)["message_id"].tolist()
        store.store_scores(set_id, "m", {m: i / 200 for i, m in enumerate(ids)}, 0.5)
        for _ in range(90):
            item = store.next_message(set_id, "ana", "mixed")
            store.label(item.message_id, "ana", int(item.score >= 0.5), set_id=set_id, picked=item.picked)
        data = store.labeled_messages(set_id)
    random_share = 90 // MIXED_EVERY
    if min(((data.labels == c) & (data.threshold_weights > 1)).sum() for c in (0, 1)) < MIN_RANDOM_PER_CLASS:
        pytest.fail("the random picks should hold both classes")
    assert sorted(set(data.threshold_weights.round(6))) == [1.0, round((200 - (90 - random_share)) / random_share, 6)]


@pytest.mark.slow  # the app world trains two versions first
def test_engage_score_plain_csv_writes_the_texts_exactly(world, monkeypatch, tmp_path):
    for key, value in world.env().items():
        monkeypatch.setenv(key, value)
    src = tmp_path / "tweets.csv"
    TWEETS.to_csv(src, index=False)
    assert run(["score", str(src), "--out", str(tmp_path / "plain.csv"), "--plain-csv", "--no-record"]) == 0
    assert run(["score", str(src), "--out", str(tmp_path / "safe.csv"), "--no-record"]) == 0
    plain = pd.read_csv(tmp_path / "plain.csv", dtype=str)
    safe = pd.read_csv(tmp_path / "safe.csv", dtype=str)
    assert plain["text"].tolist() == TWEETS["text"].tolist()
    assert safe["text"].tolist() == ["'" + t for t in TWEETS["text"]]
    assert plain["engage_score"].tolist() == safe["engage_score"].tolist()
