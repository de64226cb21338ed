"""Search within a labeling set, bulk labels with one undo, and "more like this" (issue 23 items 1-3): engine."""

from __future__ import annotations

import time

import pandas as pd
import pytest
from sqlalchemy import create_engine, inspect, select

from engage.errors import InputError
from engage.labels import LabelStore
from engage.labels.answers import active_answers
from engage.labels.db import snapshot
from engage.labels.migrations import migrate
from engage.labels.schema import label_batches, labels
from engage.labels.search import SearchQuery

TEXTS = [
    "Refund please, my order never came",      # 0
    "my REFUNDS are late again",              # 1
    "prefund nonsense",                       # 2
    "hello world",                            # 3
    "late again, really late",                # 4
    "where is my parcel? order 1234",          # 5
]


def _set(store: LabelStore, texts=TEXTS) -> tuple[int, list[int]]:
    set_id = store.import_messages("search.csv", texts)
    return set_id, store.messages(set_id)["message_id"].tolist()


def _texts(store, set_id, query, annotator="ana", columns=None) -> list[str]:
    return store.search(set_id, query, annotator, columns=columns).frame["text"].tolist()


def test_words_phrases_and_exclusions(store):
    set_id, _ = _set(store)
    assert _texts(store, set_id, SearchQuery(words="refund")) == TEXTS[:2]  # word starts, any case; not "prefund"
    assert _texts(store, set_id, SearchQuery(words="late refund")) == [TEXTS[1]]  # every term
    assert _texts(store, set_id, SearchQuery(words='"late again"')) == [TEXTS[1], TEXTS[4]]
    assert _texts(store, set_id, SearchQuery(words='"late again" -refunds')) == [TEXTS[4]]
    assert _texts(store, set_id, SearchQuery(words='"again really"')) == [TEXTS[4]]  # punctuation between words
    assert _texts(store, set_id, SearchQuery()) == TEXTS  # no filter: the whole set, file order
    with pytest.raises(InputError, match="unclosed quote"):
        store.search(set_id, SearchQuery(words='"late'))


def test_scores_predicted_class_status_and_columns(store):
    set_id, ids = _set(store)
    store.store_scores(set_id, "m1", dict(zip(ids[:5], [0.9, 0.7, 0.2, 0.1, 0.5], strict=True)), 0.5)
    store.label(ids[0], "ana", 1, set_id=set_id)
    store.label(ids[1], "ana", 1, set_id=set_id)
    store.label(ids[1], "bo", 0, set_id=set_id)            # disputed
    store.label(ids[2], "bo", 0, set_id=set_id)
    store.skip(ids[3], "ana", set_id=set_id)                # a skip is not a label
    assert _texts(store, set_id, SearchQuery(score_min=0.5, score_max=0.8)) == [TEXTS[1], TEXTS[4]]
    assert _texts(store, set_id, SearchQuery(predicted=("engageable",))) == [TEXTS[0], TEXTS[1], TEXTS[4]]
    assert _texts(store, set_id, SearchQuery(predicted=("no score",))) == [TEXTS[5]]
    assert _texts(store, set_id, SearchQuery(status=("disputed",))) == [TEXTS[1]]
    assert _texts(store, set_id, SearchQuery(status=("labeled",))) == [TEXTS[0], TEXTS[2]]
    assert _texts(store, set_id, SearchQuery(status=("unlabeled",))) == [TEXTS[3], TEXTS[4], TEXTS[5]]
    found = store.search(set_id, SearchQuery(words="refund"), "ana").frame
    assert found[["labels", "engageable", "status"]].values.tolist() == [[1, 1, "labeled"], [2, 1, "disputed"]]
    assert found["yours"].tolist() == [1, 1] and found["score"].tolist() == [0.9, 0.7]
    columns = pd.DataFrame({"airline": ["united", "delta", "united", "virgin", "delta", "united"]}, index=ids)
    query = SearchQuery(columns=(("airline", ("united", "virgin")),), predicted=("not engageable",))
    assert _texts(store, set_id, query, columns=columns) == [TEXTS[2], TEXTS[3]]
    with pytest.raises(InputError, match="keeps no column 'airline'"):
        store.search(set_id, query)
    with pytest.raises(InputError, match="unknown status"):
        store.search(set_id, SearchQuery(status=("maybe",)))


def test_regular_expressions_and_the_runaway_one_refused(store):
    set_id, _ = _set(store, [*TEXTS, "a" * 40 + "!"])
    assert _texts(store, set_id, SearchQuery(pattern=r"order \d+")) == [TEXTS[5]]
    assert _texts(store, set_id, SearchQuery(pattern=r"^MY\b")) == [TEXTS[1]]  # case-insensitive
    with pytest.raises(InputError, match="not a valid regular expression: .* at position"):
        store.search(set_id, SearchQuery(pattern="(late"))
    with pytest.raises(InputError, match="at most 300 are allowed"):
        store.search(set_id, SearchQuery(pattern="a" * 301))
    start = time.monotonic()
    with pytest.raises(InputError, match=r"took more than 2 s of CPU .* \(stopped at row 7\).* backtracks"):
        store.search(set_id, SearchQuery(pattern=r"(a|aa)+$"))  # ~fib(40) ways to fail on the last row
    assert time.monotonic() - start < 30  # stopped (a loose bound: the budget is the regex module's, under load)


def _answers(store, set_id) -> list[tuple]:
    with snapshot(store.engine) as conn:
        active = active_answers(conn, set_id)
    return sorted(map(tuple, active[["label_id", "annotator", "message_id", "kind", "value"]].astype(object)
                      .values.tolist()))


def test_bulk_label_then_one_undo_restores_exactly_the_previous_answers(store):
    set_id, ids = _set(store)
    store.store_scores(set_id, "m1", {ids[0]: 0.8}, 0.5)
    store.label(ids[0], "ana", 0, set_id=set_id)      # changed by the batch
    store.label(ids[1], "ana", 1, set_id=set_id)      # already so: left as it is
    store.skip(ids[2], "ana", set_id=set_id)          # a skip becomes a label
    store.label(ids[3], "bo", 0, set_id=set_id)       # another annotator's answer is untouched
    store.label(ids[4], "ana", 1, set_id=set_id)
    store.undo("ana", set_id)                         # an undone answer stays undone
    before = _answers(store, set_id)
    chosen = [ids[0], ids[1], ids[2], ids[3], ids[0]]
    plan = store.bulk_plan(set_id, chosen, "ana", 1)
    assert (plan.selected, plan.to_label, plan.already) == (4, 3, 1)
    batch = store.bulk_label(set_id, chosen, "ana", 1, actor="lead@brand.example", query={"words": "x"})
    assert (batch.size, batch.already) == (3, 1)
    after = _answers(store, set_id)
    assert after != before
    with snapshot(store.engine) as conn:
        bulk_rows = conn.execute(select(labels.c.message_id, labels.c.value, labels.c.score, labels.c.batch_id)
                                 .where(labels.c.batch_id.is_not(None)).order_by(labels.c.id)).all()
    assert [tuple(r) for r in bulk_rows] == [(ids[0], 1, 0.8, batch.id), (ids[2], 1, None, batch.id),
                                             (ids[3], 1, None, batch.id)]
    trail = store.audit()
    assert trail.loc[0, "action"] == "bulk_label" and trail.loc[0, "actor"] == "lead@brand.example"
    assert trail.loc[0, "detail"]["labels"] == 3 and trail.loc[0, "detail"]["query"] == {"words": "x"}
    undone = store.undo("ana", set_id)                # one undo: the whole batch
    assert (undone.kind, undone.count, undone.batch_id) == ("bulk", 3, batch.id)
    assert _answers(store, set_id) == before
    assert store.audit().loc[0, "action"] == "bulk_undo"
    assert store.batches(set_id).loc[0, "undone_at"] is not None
    again = store.undo("ana", set_id)                 # the next undo reaches the single answers before the batch
    assert (again.kind, again.message_id) == ("skip", ids[2])


def test_bulk_label_refusals(store):
    set_id, ids = _set(store)
    other, other_ids = _set(store, ["elsewhere"])
    with pytest.raises(InputError, match="not in labeling set"):
        store.bulk_label(set_id, [ids[0], other_ids[0]], "ana", 1)
    with pytest.raises(InputError, match="no message is selected"):
        store.bulk_label(set_id, [], "ana", 1)
    with pytest.raises(InputError, match="a label is 1"):
        store.bulk_label(set_id, ids, "ana", 2)
    store.bulk_label(set_id, ids[:2], "ana", 0)
    with pytest.raises(InputError, match="already labeled all 2"):
        store.bulk_label(set_id, ids[:2], "ana", 0)
    assert len(store.batches()) == 1 and store.audit().loc[0, "action"] == "bulk_label"


def test_training_may_leave_bulk_labels_out(store):
    from engage.label_loop import training_data

    set_id, ids = _set(store)
    store.label(ids[0], "ana", 0, set_id=set_id)
    store.bulk_label(set_id, ids[1:4], "ana", 1)
    store.label(ids[1], "bo", 0, set_id=set_id)  # a single label by another annotator on a bulk-labeled message
    assert store.bulk_labels(set_id) == 3
    assert training_data(store, set_id).messages.texts == TEXTS[:4]  # default: bulk labels train
    kept = training_data(store, set_id, bulk=False).messages
    assert kept.texts == TEXTS[:2] and kept.labels.tolist() == [0, 0]


def test_deleting_a_set_keeps_its_batches(store):
    set_id, ids = _set(store)
    store.bulk_label(set_id, ids[:3], "ana", 1)
    store.delete_set(set_id)
    assert store.batches()["set_id"].isna().all() and store.labeled_messages().labels.tolist() == [1, 1, 1]


def test_a_v7_database_upgrades_with_its_audit_rows_and_labels(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    engine = create_engine(url)
    from engage.labels.db import open_engine

    old = open_engine(url)
    assert migrate(old, target=7) == 7
    old.dispose()
    engine.dispose()
    with LabelStore(url) as store:  # v7 -> latest, then it works as a new one would
        assert "batch_id" in {c["name"] for c in inspect(store.engine).get_columns("labels")}
        set_id, ids = _set(store)
        store.label(ids[0], "ana", 1, set_id=set_id)
        store.bulk_label(set_id, ids[1:3], "ana", 0)
        assert store.audit()["action"].tolist() == ["bulk_label", "import"]
        with snapshot(store.engine) as conn:
            assert conn.execute(select(label_batches.c.size)).scalar() == 2


def test_neighbours_of_a_message_put_its_near_duplicate_first(tmp_path, hub_fixture):
    from engage.cache import EmbeddingCache, cached_layer_means
    from engage.encoders import load_encoder
    from engage.similar import build_index, neighbours

    encoder, cache = load_encoder(str(hub_fixture)), EmbeddingCache(tmp_path / "cache")
    texts = [f"note {i}: {w} {v} and {u}" for i, (w, v, u) in enumerate(
        zip(["shipping", "price", "login", "music", "rain", "coffee", "train", "goal"] * 3,
            ["late", "high", "broken", "loud", "cold", "great", "full", "scored"] * 3,
            ["refund", "sale", "password", "gig", "umbrella", "beans", "ticket", "match"] * 3, strict=True))]
    texts += ["my parcel never arrived and nobody answers the phone",
              "my parcel never arrived and nobody answers the phone!!"]
    ids = list(range(100, 100 + len(texts)))
    with pytest.raises(InputError, match="score the set"):
        build_index(ids, texts, encoder.fingerprint, cache)  # nothing cached yet: never runs ELMo itself
    cached_layer_means(encoder, texts[:-3] + texts[-2:], cache)  # one message left unembedded
    index = build_index(ids, texts, encoder.fingerprint, cache)
    assert index.missing == (ids[-3],) and len(index) == len(texts) - 1
    near = neighbours(index, ids[-2], k=5)
    assert near["message_id"].tolist()[0] == ids[-1] and len(near) == 5
    assert ids[-2] not in near["message_id"].tolist()
    assert near["similarity"].is_monotonic_decreasing and near["similarity"].iloc[0] > near["similarity"].iloc[1] + 0.2
    with pytest.raises(InputError, match="no cached embedding"):
        neighbours(index, ids[-3])
