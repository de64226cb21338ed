"""Label store: dedup, labels and skips, undo, migrations, agreement, majority labels, export; SQLite and PostgreSQL."""

from __future__ import annotations

import io
import json
import threading
import time
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import cohen_kappa_score
from sqlalchemy import create_engine, inspect, select, text, update

from engage.errors import InputError
from engage.labels import SCHEMA_VERSION, UNDO_DEPTH, LabelStore, default_url, normalize_text, text_hash
from engage.labels.db import open_engine
from engage.labels.migrations import migrate
from engage.labels.schema import metadata, schema_version, scores
from tests.fixtures.labels_db import make_set as _set

# ---------------------------------------------------------------- dedup and sets

def test_normalize_text_folds_width_case_and_spaces():
    assert normalize_text("  Ｈｅｌｌｏ\t\n  WORLD ") == "hello world"
    assert normalize_text("Straße") == normalize_text("STRASSE")
    assert text_hash("a  b") == text_hash(" A B") != text_hash("ab")


def test_import_deduplicates_within_and_across_sets(store):
    first = store.import_messages("a.csv", ["Hello  world", "hello world", "", "   ", None, "Other", float("nan")],
                                  extra={"text_col": "text"})
    second = store.import_messages("b.csv", ["HELLO WORLD", "new one"], source="score page")
    a, b = store.messages(first), store.messages(second)
    assert a["text"].tolist() == ["Hello  world", "Other"]  # the text as first seen, file order kept
    assert a["position"].tolist() == [0, 5]
    assert b["message_id"].iloc[0] == a["message_id"].iloc[0]  # the same message in two sets
    sets = {s.id: s for s in store.sets()}
    assert (sets[first].size, sets[first].n_rows, sets[first].n_empty) == (2, 7, 4)
    assert sets[first].extra == {"text_col": "text"} and sets[second].source == "score page"
    assert sets[first].created_at.tzinfo is UTC


def test_import_refuses_nothing_to_label(store):
    with pytest.raises(InputError, match="every text is empty"):
        store.import_messages("empty.csv", ["", "  ", None])
    with pytest.raises(InputError, match="needs a name"):
        store.import_messages(" ", ["x"])
    assert store.sets() == []


# ---------------------------------------------------------------- labels, skips, undo

def test_label_keeps_annotator_time_value_score_and_model(store):
    set_id, ids = _set(store, 3)
    before = datetime.now(UTC)
    label_id = store.label(ids[0], "ana", 1, score=0.73, model="m-2024", set_id=set_id)
    after = datetime.now(UTC)
    row = json.loads(store.export(set_id, fmt="jsonl").decode().splitlines()[0])
    assert row["label_id"] == label_id and row["annotator"] == "ana" and row["label"] == 1
    assert row["score"] == pytest.approx(0.73) and row["model"] == "m-2024" and row["set_id"] == set_id
    labeled_at = datetime.fromisoformat(row["labeled_at"].replace("Z", "+00:00"))
    assert before <= labeled_at <= after


def test_numpy_ids_and_numbers_are_accepted(store):
    set_id, _ = _set(store, 2)
    frame = store.messages(np.int64(set_id))  # ids straight from pandas
    store.label(frame["message_id"].iloc[0], "ana", np.int64(1), score=np.float32(0.25), set_id=np.int64(set_id))
    item = store.next_message(np.int64(set_id), "ana", order="file")
    assert item.message_id == frame["message_id"].iloc[1]
    assert store.progress(np.int64(set_id)).labeled == 1 and store.undo("ana", np.int64(set_id)).value == 1


@pytest.mark.parametrize("value", [2, -1, "1", True, 0.5])
def test_label_refuses_bad_values(store, value):
    set_id, ids = _set(store, 1)
    with pytest.raises(InputError, match="1 \\(engageable\\) or 0"):
        store.label(ids[0], "ana", value, set_id=set_id)


def test_label_refuses_unknown_message_set_or_annotator(store):
    set_id, ids = _set(store, 2)
    other, _ = _set(store, 1, name="other.csv")
    with pytest.raises(InputError, match="no message with id 999"):
        store.label(999, "ana", 1)
    with pytest.raises(InputError, match=f"not in labeling set {other}"):
        store.label(ids[1], "ana", 1, set_id=other)
    with pytest.raises(InputError, match="annotator"):
        store.label(ids[0], "  ", 1)
    with pytest.raises(InputError, match="no labeling set with id 77"):
        store.progress(77)
    assert store.export(fmt="jsonl") == b""


def test_skip_is_not_a_label(store):
    set_id, ids = _set(store, 3)
    store.skip(ids[0], "ana", set_id=set_id)
    store.label(ids[1], "ana", 0, set_id=set_id)
    progress = store.progress(set_id)
    assert (progress.total, progress.labeled) == (3, 1)
    assert (progress.by_annotator["ana"].labeled, progress.by_annotator["ana"].skipped) == (1, 1)
    assert store.labeled_messages(set_id).texts == ["message number 1"]
    history = pd.read_csv(io.BytesIO(store.export(set_id, history=True)))
    assert history["kind"].tolist() == ["skip", "label"] and history["value"].isna().tolist() == [True, False]


def test_undo_goes_back_up_to_ten_answers_and_keeps_them_recorded(store):
    set_id, ids = _set(store, UNDO_DEPTH + 3)
    given = [store.label(m, "ana", m % 2, set_id=set_id) for m in ids[:UNDO_DEPTH + 2]]
    store.label(ids[0], "bob", 1, set_id=set_id)  # another annotator's answers are not ana's to undo
    undone = [store.undo("ana", set_id) for _ in range(UNDO_DEPTH)]
    assert [u.label_id for u in undone] == given[::-1][:UNDO_DEPTH]
    assert [u.value for u in undone] == [m % 2 for m in ids[:UNDO_DEPTH + 2]][::-1][:UNDO_DEPTH]
    assert store.undo("ana", set_id) is None  # only ten back
    history = pd.read_csv(io.BytesIO(store.export(set_id, history=True)))
    assert len(history) == UNDO_DEPTH + 3  # nothing deleted: undone answers stay, stamped
    assert history["undone_at"].notna().sum() == UNDO_DEPTH
    assert store.progress(set_id).by_annotator["ana"].labeled == 2
    assert store.progress(set_id).by_annotator["bob"].labeled == 1


def test_undo_brings_the_message_back_first(store):
    set_id, ids = _set(store, 5)
    for _ in range(3):
        item = store.next_message(set_id, "ana", order="file")
        store.label(item.message_id, "ana", 1, set_id=set_id)
    store.next_message(set_id, "ana", order="file")  # showing the 4th now
    assert store.undo("ana", set_id).message_id == ids[2]
    assert store.next_message(set_id, "ana", order="file").message_id == ids[2]
    assert store.undo("bob", set_id) is None


# ---------------------------------------------------------------- migrations

def _columns(engine) -> dict[str, set[str]]:
    found = inspect(engine)
    return {name: {c["name"] for c in found.get_columns(name)} for name in found.get_table_names()}


def test_empty_database_migrates_to_the_latest_schema(db_url):
    with LabelStore(db_url) as store:
        assert store.schema_version == SCHEMA_VERSION
        assert _columns(store.engine) == {t.name: {c.name for c in t.columns} for t in metadata.sorted_tables}
        with store.engine.connect() as conn:
            assert conn.execute(select(schema_version.c.version)).scalars().all() == [SCHEMA_VERSION]
    with LabelStore(db_url) as again:  # reopening changes nothing
        assert again.schema_version == SCHEMA_VERSION


def test_v1_database_is_upgraded_with_its_labels(db_url):
    engine = open_engine(db_url)
    assert migrate(engine, target=1) == 1
    assert "claims" not in _columns(engine)
    now = datetime(2024, 5, 1, 12, 0)
    with engine.begin() as conn:  # written as version 1 knew the tables
        conn.execute(text("INSERT INTO messages (text_hash, text, created_at) VALUES (:h, 'Old one', :t)"),
                     {"h": text_hash("Old one"), "t": now})
        conn.execute(text("INSERT INTO label_sets (name, source, created_at, n_rows, n_empty) "
                          "VALUES ('old.csv', 'file', :t, 1, 0)"), {"t": now})
        message_id = conn.execute(text("SELECT id FROM messages")).scalar_one()
        set_id = conn.execute(text("SELECT id FROM label_sets")).scalar_one()
        conn.execute(text("INSERT INTO set_messages (set_id, message_id, position) VALUES (:s, :m, 0)"),
                     {"s": set_id, "m": message_id})
        conn.execute(text("INSERT INTO labels (message_id, set_id, annotator, kind, value, created_at) "
                          "VALUES (:m, :s, 'ana', 'label', 1, :t)"), {"m": message_id, "s": set_id, "t": now})
    engine.dispose()
    with LabelStore(db_url) as store:
        assert store.schema_version == SCHEMA_VERSION
        assert store.labeled_messages().texts == ["Old one"]
        new_set = store.import_messages("new.csv", ["old ONE", "fresh"])
        new_ids = store.messages(new_set)["message_id"].tolist()
        assert new_ids[0] == message_id  # dedup reaches the old messages
        store.store_scores(new_set, "m", dict.fromkeys(new_ids, 0.5), 0.5)
        assert store.next_message(new_set, "ana").text == "fresh"  # v2's queue over v1's answers


def _score_indexes(engine) -> set[str]:
    # SQLAlchemy's inspector leaves out SQLite's expression indexes: ask the catalogs (PostgreSQL: this test's own
    # schema only; the other test worker's schemas hold the same table names).
    query = ("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'scores'"
             if engine.dialect.name == "sqlite" else
             "SELECT indexname FROM pg_indexes WHERE tablename = 'scores' AND schemaname = current_schema()")
    with engine.connect() as conn:
        return set(conn.execute(text(query)).scalars())


def test_v2_database_gains_the_queue_indexes_and_keeps_its_scores(db_url):
    engine = open_engine(db_url)
    assert migrate(engine, target=2) == 2
    assert not {"ix_scores_uncertain", "ix_scores_highest"} & _score_indexes(engine)
    engine.dispose()
    with LabelStore(db_url) as store:
        set_id = store.import_messages("s", ["a", "b", "c"])
        ids = store.messages(set_id)["message_id"].tolist()
        store.store_scores(set_id, "m", {ids[0]: 0.9, ids[1]: 0.45, ids[2]: 0.1}, 0.5)
        assert store.next_message(set_id, "ana").message_id == ids[1]
        assert store.next_message(set_id, "bo", "highest").message_id == ids[0]
    engine = open_engine(db_url)
    assert migrate(engine, target=2) == SCHEMA_VERSION  # already newer: nothing done, version reported
    assert {"ix_scores_uncertain", "ix_scores_highest"} <= _score_indexes(engine)
    engine.dispose()


def test_scored_queue_orders_walk_their_index_without_sorting(tmp_path):
    from engage.labels.queue import scored_key

    with LabelStore(f"sqlite:///{tmp_path / 'plan.sqlite'}") as store, store.engine.connect() as conn:
        for order, index in (("uncertain", "ix_scores_uncertain"), ("highest", "ix_scores_highest")):
            query = (select(scores.c.message_id).where(scores.c.set_id == 1)
                     .order_by(scored_key(order), scores.c.message_id).limit(1))
            sql = str(query.compile(conn, compile_kwargs={"literal_binds": True}))
            plan = " ".join(row[-1] for row in conn.execute(text("EXPLAIN QUERY PLAN " + sql)))
            assert index in plan and "TEMP B-TREE" not in plan, plan


def test_newer_schema_is_refused(db_url):
    LabelStore(db_url).close()
    engine = open_engine(db_url)
    with engine.begin() as conn:
        conn.execute(update(schema_version).values(version=SCHEMA_VERSION + 1))
    engine.dispose()
    with pytest.raises(InputError, match=f"schema version {SCHEMA_VERSION + 1}, newer than"):
        LabelStore(db_url)


def test_foreign_database_is_refused(db_url):
    engine = create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE customers (id INTEGER PRIMARY KEY)"))
    engine.dispose()
    with pytest.raises(InputError, match="not an engage label database.*customers"):
        LabelStore(db_url)


@pytest.fixture
def migration_runs(monkeypatch) -> list[int]:
    """The number of each migration step run, in order (engage.labels.migrations.MIGRATIONS, counted)."""
    from engage.labels import migrations

    runs: list[int] = []
    lock = threading.Lock()

    def counted(number: int, step):
        def run(conn):
            with lock:
                runs.append(number)
            time.sleep(0.05)  # a slow step widens the window in which a second opener could run it too
            step(conn)
        return run

    monkeypatch.setattr(migrations, "MIGRATIONS", [counted(i + 1, f) for i, f in enumerate(migrations.MIGRATIONS)])
    return runs


def test_each_migration_runs_once_and_reopening_runs_none(db_url, migration_runs):
    LabelStore(db_url).close()
    assert migration_runs == list(range(1, SCHEMA_VERSION + 1))
    LabelStore(db_url).close()
    assert migration_runs == list(range(1, SCHEMA_VERSION + 1))


def test_concurrent_openers_migrate_once(db_url, migration_runs):
    errors, versions = [], []

    def open_it():
        try:
            with LabelStore(db_url) as opened:
                versions.append(opened.schema_version)
        except Exception as exc:  # noqa: BLE001 - the test reports any failure below
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and versions == [SCHEMA_VERSION] * 4
    assert sorted(migration_runs) == list(range(1, SCHEMA_VERSION + 1))  # each step once, by whichever opener


def test_opening_a_new_sqlite_file_waits_for_another_openers_lock(tmp_path):
    # The switch to WAL mode is refused at once ("database is locked", busy_timeout not applied) while another
    # connection holds a write lock: the opener must wait for it, as every other statement does.
    import sqlite3

    path = tmp_path / "labels.sqlite"
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    release = threading.Timer(0.5, lambda: holder.execute("ROLLBACK"))
    release.start()
    try:
        with LabelStore(f"sqlite:///{path}") as opened:
            assert opened.schema_version == SCHEMA_VERSION
    finally:
        release.join()
        holder.close()


def test_sqlite_file_is_wal_with_a_busy_timeout(tmp_path):
    with LabelStore(f"sqlite:///{tmp_path / 'deep' / 'dir' / 'labels.sqlite'}") as store:
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 1000
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL


def test_not_a_database_file_is_a_clear_error(tmp_path):
    path = tmp_path / "labels.sqlite"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(InputError, match="cannot open the label database"):
        LabelStore(f"sqlite:///{path}")
    with pytest.raises(InputError, match="unsupported database 'mysql'"):
        LabelStore("mysql://localhost/labels")


def test_default_url_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("ENGAGE_DATABASE_URL", raising=False)
    monkeypatch.delenv("ENGAGE_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
    assert default_url() == f"sqlite:///{tmp_path / 'share' / 'engage' / 'labels.sqlite'}"
    monkeypatch.setenv("ENGAGE_DATA_DIR", str(tmp_path / "data"))
    assert default_url() == f"sqlite:///{tmp_path / 'data' / 'labels.sqlite'}"
    with LabelStore() as store:
        store.import_messages("x.csv", ["hi"])
    assert (tmp_path / "data" / "labels.sqlite").is_file()
    monkeypatch.setenv("ENGAGE_DATABASE_URL", "postgresql+psycopg://u@db/labels")
    assert default_url() == "postgresql+psycopg://u@db/labels"


# ---------------------------------------------------------------- agreement and training labels

# message -> {annotator: value}; hand-made so that every pair has both classes.
_AGREEMENT_CASE = {
    0: {"ana": 1, "bob": 1, "cy": 1},
    1: {"ana": 1, "bob": 0, "cy": 1},
    2: {"ana": 0, "bob": 0},
    3: {"ana": 0, "bob": 1, "cy": 0},
    4: {"ana": 1, "bob": 1},
    5: {"ana": 0, "bob": 0, "cy": 1},
    6: {"bob": 1, "cy": 1},
    7: {"ana": 1},
}


def _label_case(store: LabelStore) -> tuple[int, list[int]]:
    set_id, ids = _set(store, len(_AGREEMENT_CASE))
    for i, given in _AGREEMENT_CASE.items():
        for annotator, value in given.items():
            store.label(ids[i], annotator, value, set_id=set_id)
    return set_id, ids


def test_agreement_equals_scikit_learn_and_lists_conflicts(store):
    set_id, ids = _label_case(store)
    store.label(ids[7], "bob", 1, set_id=set_id)
    store.undo("bob", set_id)  # undone: not part of the agreement
    result = store.agreement(set_id)
    pairs = result.pairs.set_index(["annotator_a", "annotator_b"])
    for a, b in [("ana", "bob"), ("ana", "cy"), ("bob", "cy")]:
        common = [m for m, g in _AGREEMENT_CASE.items() if a in g and b in g]
        ya, yb = [_AGREEMENT_CASE[m][a] for m in common], [_AGREEMENT_CASE[m][b] for m in common]
        assert pairs.loc[(a, b), "messages"] == len(common)
        assert pairs.loc[(a, b), "kappa"] == pytest.approx(cohen_kappa_score(ya, yb))
        assert pairs.loc[(a, b), "agreement"] == pytest.approx(np.mean(np.equal(ya, yb)))
    assert pairs.loc[("ana", "bob"), "kappa"] == pytest.approx(1 / 3)  # by hand: po 4/6, pe 1/2
    conflicts = result.conflicts.set_index("message_id")
    assert conflicts.index.tolist() == [ids[1], ids[3], ids[5]]
    assert conflicts.loc[ids[1], ["ana", "bob", "cy"]].tolist() == [1, 0, 1]
    assert conflicts.loc[ids[5], "text"] == "message number 5"


def test_kappa_is_nan_when_undefined(store):
    set_id, ids = _set(store, 2)
    for m in ids:
        store.label(m, "ana", 1, set_id=set_id)
        store.label(m, "bob", 1, set_id=set_id)
    pairs = store.agreement(set_id).pairs
    assert pairs["agreement"].tolist() == [1.0] and np.isnan(pairs["kappa"].iloc[0])
    assert store.agreement(set_id).conflicts.empty


def test_labeled_messages_take_the_majority_and_ties_go_to_the_latest(store):
    set_id, ids = _label_case(store)
    store.label(ids[2], "bob", 1, set_id=set_id)  # bob changes his mind: his latest label counts -> a tie
    store.label(ids[4], "ana", 0, set_id=set_id)  # a tie again, ana's 0 now the latest
    store.skip(ids[6], "ana", set_id=set_id)
    messages = store.labeled_messages(set_id)
    frame = messages.frame.set_index("message_id")
    want = {0: 1, 1: 1, 2: 1, 3: 0, 4: 0, 5: 0, 6: 1, 7: 1}
    assert {ids.index(m): v for m, v in frame["label"].items()} == want
    assert frame.loc[ids[1], "n_labels"] == 3 and frame.loc[ids[1], "n_engageable"] == 2
    assert messages.labels.dtype == np.int8 and messages.labels.tolist() == frame["label"].tolist()
    assert messages.texts == frame["text"].tolist() and (messages.text_col, messages.label_col) == ("text", "label")
    other = store.import_messages("other.csv", ["MESSAGE number 0", "never labeled"])
    assert store.labeled_messages(other).texts == ["message number 0"]  # labels belong to the message


# ---------------------------------------------------------------- export

def test_export_csv_is_formula_safe_and_jsonl_round_trips(store, tmp_path):
    set_id = store.import_messages("x.csv", ["=HYPERLINK(\"http://x\")", "plain, with comma", "ünïcode ✓"])
    for m in store.messages(set_id)["message_id"]:
        store.label(m, "ana", 1, score=0.5, model="m", set_id=set_id)
    csv_bytes = store.export(set_id, fmt="csv", path=tmp_path / "out" / "labels.csv")
    assert (tmp_path / "out" / "labels.csv").read_bytes() == csv_bytes
    frame = pd.read_csv(io.BytesIO(csv_bytes))
    assert frame["text"].tolist() == ["'=HYPERLINK(\"http://x\")", "plain, with comma", "ünïcode ✓"]
    rows = [json.loads(line) for line in store.export(set_id, fmt="jsonl").decode().splitlines()]
    assert [r["text"] for r in rows] == ["=HYPERLINK(\"http://x\")", "plain, with comma", "ünïcode ✓"]
    assert {r["label"] for r in rows} == {1}
    with pytest.raises(InputError, match="unknown export format 'xml'"):
        store.export(set_id, fmt="xml")


def test_store_scores_checks_its_input(store):
    set_id, ids = _set(store, 2)
    other, other_ids = _set(store, 1, name="o.csv")
    with pytest.raises(InputError, match="not in labeling set"):
        store.store_scores(set_id, "m", {ids[0]: 0.1, 12345: 0.2}, 0.5)
    with pytest.raises(InputError, match="finite"):
        store.store_scores(set_id, "m", {ids[0]: float("nan")}, 0.5)
    assert store.store_scores(set_id, "m", pd.Series([0.2, 0.9], index=ids), 0.5) == 2
    with store.engine.connect() as conn:
        stored = conn.execute(select(scores.c.score).order_by(scores.c.message_id)).scalars().all()
    assert stored == [0.2, 0.9]
