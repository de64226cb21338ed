"""The audit trail in the label database, on SQLite and PostgreSQL: imports and set deletions recorded in their own
transaction, promotions recorded with who and from which version to which, the v4 migration keeping older data,
and the trail exported beside the labels."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest
from sqlalchemy import inspect, text

from engage import registry
from engage.errors import InputError
from engage.labels import SCHEMA_VERSION, LabelStore
from engage.labels.db import open_engine
from engage.labels.migrations import migrate
from engage.promotion import promote
from tests.e2e.app_world import ACTIVE_VERSION, OTHER_VERSION
from tests.fixtures.labels_db import make_set


def test_an_import_is_audited_with_its_actor(store):
    set_id = store.import_messages("tweets.csv", ["a", "b", "", "a"], actor="carl@acme.example")
    row = store.audit().iloc[0]
    assert (row.action, row.actor, row.subject, row.set_id) == ("import", "carl@acme.example", "tweets.csv", set_id)
    assert row.detail == {"source": "file", "messages": 2, "rows": 4}
    store.import_messages("second.csv", ["c"])  # no actor: local code, named by the OS user
    assert store.audit().iloc[0].actor.startswith("cli:")


def test_a_refused_import_leaves_no_audit_row(store):
    with pytest.raises(InputError, match="every text is empty"):
        store.import_messages("empty.csv", ["", " "], actor="carl@acme.example")
    assert store.audit().empty


def test_deleting_a_set_keeps_its_labels_and_is_audited(store):
    set_id, ids = make_set(store, 3, "doomed.csv")
    other, _ = make_set(store, 2, "kept.csv")
    store.label(ids[0], "ana@acme.example", 1, set_id=set_id)
    store.skip(ids[1], "ana@acme.example", set_id=set_id)
    store.store_scores(set_id, "m", dict.fromkeys(ids, 0.4), 0.5)
    store.next_message(set_id, "bo@acme.example")  # a claim on the set
    done = store.delete_set(set_id, actor="boss@acme.example")
    assert (done.id, done.name, done.messages, done.labels_kept) == (set_id, "doomed.csv", 3, 2)
    assert [s.id for s in store.sets()] == [other]
    with pytest.raises(InputError, match=f"no labeling set with id {set_id}"):
        store.messages(set_id)
    assert store.labeled_messages().texts == ["message number 0"]  # the work people did stays
    row = store.audit().iloc[0]
    assert (row.action, row.actor, row.subject, row.set_id) == ("delete_set", "boss@acme.example", "doomed.csv",
                                                               set_id)
    assert row.detail == {"messages": 3, "labels_kept": 2}
    with pytest.raises(InputError, match="no labeling set"):
        store.delete_set(set_id, actor="boss@acme.example")
    assert len(store.audit()) == 3  # two imports and one deletion: the refused second deletion wrote nothing


def test_audit_rows_are_checked(store):
    with pytest.raises(ValueError, match="unknown audit action"):
        store.record_audit("rename", "a@b.example", "x")
    with pytest.raises(InputError, match="needs who did it"):
        store.record_audit("activate", " ", "x")
    with pytest.raises(InputError, match="at most 320 characters"):
        store.record_audit("activate", "a" * 321, "x")


def test_promotion_is_audited_from_which_version_to_which(world, store):
    set_id, _ = make_set(store, 4)
    root = world.models
    before = registry.active_name(root)
    try:
        done = promote(OTHER_VERSION, store, root=root, actor="boss@acme.example", action="promote")
        assert done.previous == ACTIVE_VERSION and set_id in done.rescored
        row = store.audit().iloc[0]
        assert (row.action, row.actor, row.subject, row.from_version, row.to_version) == (
            "promote", "boss@acme.example", OTHER_VERSION, ACTIVE_VERSION, OTHER_VERSION)
        assert row.detail == {"rescored_sets": 1, "rescored_messages": 4}
        promote(ACTIVE_VERSION, store, root=root)  # the command line's way: no actor given
        row = store.audit().iloc[0]
        assert (row.action, row.from_version, row.to_version) == ("activate", OTHER_VERSION, ACTIVE_VERSION)
        assert row.actor.startswith("cli:")
        with pytest.raises(InputError):  # a version that does not exist: nothing moves, nothing is recorded
            promote("no-such-version", store, root=root, actor="boss@acme.example")
        assert len(store.audit()) == 3  # the set's import and two promotions
    finally:
        registry.activate(before, root)


def test_the_trail_exports_as_csv_and_jsonl(store, tmp_path):
    set_id = store.import_messages("t.csv", ["x"], actor="carl@acme.example")
    store.record_audit("activate", "boss@acme.example", "v2", from_version="v1", to_version="v2",
                       detail={"rescored_sets": 1})
    frame = pd.read_csv(io.BytesIO(store.export_audit("csv", path=tmp_path / "audit.csv")))
    assert list(frame["action"]) == ["activate", "import"]
    assert frame["at"].str.endswith("Z").all()
    assert json.loads(frame["detail"][0]) == {"rescored_sets": 1}
    assert (tmp_path / "audit.csv").read_bytes() == store.export_audit("csv")
    lines = [json.loads(line) for line in store.export_audit("jsonl").decode().splitlines()]
    assert [(r["actor"], r["set_id"]) for r in lines] == [("boss@acme.example", None), ("carl@acme.example", set_id)]
    with pytest.raises(InputError, match="unknown export format 'xml'"):
        store.export_audit("xml")


def test_a_v3_database_gains_the_audit_table_and_keeps_its_labels(db_url):
    engine = open_engine(db_url)
    assert migrate(engine, target=3) == 3
    assert "audit" not in inspect(engine).get_table_names()
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO messages (text_hash, text, created_at) VALUES ('h', 'old', '2024-05-01')"))
        conn.execute(text("INSERT INTO labels (message_id, annotator, kind, value, created_at) "
                          "VALUES (1, 'ana', 'label', 1, '2024-05-01')"))
    engine.dispose()
    with LabelStore(db_url) as store:
        assert store.schema_version == SCHEMA_VERSION == 5
        assert store.labeled_messages().texts == ["old"]
        assert store.audit().empty
        store.record_audit("activate", "boss@acme.example", "v1", to_version="v1")
        assert len(store.audit()) == 1
