"""Labeling queue: orders, claims, concurrent labelers, and a labeler killed with SIGKILL; SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from itertools import combinations
from pathlib import Path

import pytest

from engage.errors import InputError
from engage.labels import LabelStore
from tests.fixtures.labels_db import make_set as _set

ROOT = Path(__file__).resolve().parents[1]


def _walk(store: LabelStore, set_id: int, annotator: str, order: str) -> list[int]:
    """The whole queue as the annotator would see it, skipping each message."""
    seen = []
    while (item := store.next_message(set_id, annotator, order=order)) is not None:
        seen.append(item.message_id)
        store.skip(item.message_id, annotator, set_id=set_id)
    return seen


# Exact binary fractions, so that equal distances to the threshold are really equal (ties go to file order).
_SCORES = [0.875, 0.625, 0.125, 0.375, 0.5, None, 0.75, 0.375]


@pytest.fixture
def scored(store):
    set_id, ids = _set(store, len(_SCORES))
    store.store_scores(set_id, "m1", {m: s for m, s in zip(ids, _SCORES, strict=True) if s is not None}, 0.5)
    return set_id, ids


def test_uncertain_order_is_closest_to_the_threshold_first(store, scored):
    set_id, ids = scored
    assert _walk(store, set_id, "ana", "uncertain") == [ids[i] for i in (4, 1, 3, 7, 6, 0, 2, 5)]


def test_highest_and_file_orders(store, scored):
    set_id, ids = scored
    assert _walk(store, set_id, "ana", "highest") == [ids[i] for i in (0, 6, 1, 4, 3, 7, 2, 5)]
    assert _walk(store, set_id, "bob", "file") == ids
    with pytest.raises(InputError, match="unknown queue order 'best'"):
        store.next_message(set_id, "cy", order="best")


def test_new_scores_rerank_the_queue(store, scored):
    set_id, ids = scored
    first = store.next_message(set_id, "ana", order="uncertain")
    assert (first.message_id, first.score, first.model, first.threshold) == (ids[4], 0.5, "m1", 0.5)
    store.label(first.message_id, "ana", 1, score=first.score, model=first.model, set_id=set_id)
    store.store_scores(set_id, "m2", {ids[2]: 0.3, ids[5]: 0.875}, 0.25)  # a retrained model rescored two
    item = store.next_message(set_id, "ana", order="uncertain")
    assert (item.message_id, item.model, item.threshold) == (ids[2], "m2", 0.25)


def test_random_order_is_stable_per_annotator(store, tmp_path):
    set_id, ids = _set(store, 20)
    first = store.next_message(set_id, "ana", order="random", session="tab")
    store.release("tab", set_id)
    assert store.next_message(set_id, "ana", order="random", session="tab").message_id == first.message_id
    store.release("tab", set_id)
    ana = _walk(store, set_id, "ana", "random")
    bob = _walk(store, set_id, "bob", "random")
    assert sorted(ana) == sorted(bob) == ids
    assert ana != ids and bob != ana
    with LabelStore(f"sqlite:///{tmp_path / 'other.sqlite'}") as other:  # same messages elsewhere: same order
        other_set, other_ids = _set(other, 20)
        assert other_ids == ids
        assert _walk(other, other_set, "ana", "random") == ana


def test_answered_messages_never_come_back_unless_undone(store):
    set_id, ids = _set(store, 3)
    other = store.import_messages("other.csv", ["message number 0", "message number 1", "new"])
    store.label(ids[0], "ana", 1, set_id=set_id)
    store.skip(ids[1], "ana", set_id=set_id)
    # labeled or skipped in one set: not offered again in another set that holds the same message
    assert _walk(store, other, "ana", "file") == [store.messages(other)["message_id"].iloc[2]]
    assert store.next_message(set_id, "ana", order="file").message_id == ids[2]
    store.undo("ana", other)  # ana's skip of "new" in the other set
    assert store.undo("ana", set_id).message_id == ids[1]
    assert store.next_message(set_id, "ana", order="file").message_id == ids[1]
    assert store.next_message(set_id, "bob", order="file").message_id == ids[0]  # bob has answered nothing


def test_a_session_keeps_its_message_until_it_answers(store):
    set_id, ids = _set(store, 3)
    shown = store.next_message(set_id, "ana", order="file", session="tab-1")
    assert store.next_message(set_id, "ana", order="file", session="tab-1").message_id == shown.message_id
    assert store.next_message(set_id, "ana", order="file", session="tab-2").message_id == ids[1]
    assert store.next_message(set_id, "bob", order="file", session="tab-3").message_id == ids[2]
    assert store.next_message(set_id, "cy", order="file", session="tab-4") is None  # all claimed just now
    store.label(shown.message_id, "ana", 0, set_id=set_id, session="tab-1")  # releases the claim
    assert store.next_message(set_id, "cy", order="file", session="tab-4").message_id == ids[0]


def test_expired_claims_are_taken_over(db_url):
    # The store's clock is moved by hand, so the test does not depend on how busy the machine is.
    now = [datetime(2024, 5, 1, 12, 0)]
    with LabelStore(db_url, claim_seconds=60, clock=lambda: now[0]) as store:
        set_id, ids = _set(store, 4)
        assert store.next_message(set_id, "ana", order="file", session="a").message_id == ids[0]
        assert store.next_message(set_id, "bob", order="file", session="b").message_id == ids[1]
        now[0] += timedelta(seconds=59)  # not yet expired: nobody else gets them
        assert store.next_message(set_id, "dan", order="file", session="d").message_id == ids[2]
        now[0] += timedelta(seconds=2)
        assert store.next_message(set_id, "cy", order="file", session="c").message_id == ids[0]
        # ana's claim was taken over: she moves on instead of seeing the message at the same time as cy
        assert store.next_message(set_id, "ana", order="file", session="a").message_id == ids[1]


def test_progress_per_annotator(store):
    set_id, ids = _set(store, 5)
    for m in ids[:3]:
        store.label(m, "ana", 1, set_id=set_id)
    store.label(ids[0], "bob", 0, set_id=set_id)
    store.skip(ids[4], "bob", set_id=set_id)
    progress = store.progress(set_id)
    assert (progress.total, progress.labeled) == (5, 3)
    assert {k: (v.labeled, v.skipped) for k, v in progress.by_annotator.items()} == {"ana": (3, 0), "bob": (1, 1)}


# ---------------------------------------------------------------- reliability

def _labeler(url, set_id, annotator, session, done, shown, errors, start):
    """Labels until nothing is left and `done(store)`; records when each message was on screen: after
    next_message returned, and before label() was called."""
    rng = random.Random(session)
    try:
        with LabelStore(url) as store:  # its own engine and connections
            start.wait()
            while True:
                item = store.next_message(set_id, annotator, order="file", session=session)
                if item is None:
                    if done(store):
                        break
                    time.sleep(0.002)  # what is left is on the other labeler's screen
                    continue
                on_screen = time.monotonic()
                time.sleep(rng.uniform(0.002, 0.01))  # a person reads it: long enough to collide
                off_screen = time.monotonic()
                label_id = store.label(item.message_id, annotator, rng.randint(0, 1), set_id=set_id, session=session)
                shown.append((item.message_id, session, on_screen, off_screen, label_id))
    except Exception as exc:  # noqa: BLE001 - reported by the test
        errors.append(exc)


def _run_labelers(url, set_id, who, done) -> list[tuple]:
    shown, errors, start = [], [], threading.Barrier(len(who))
    threads = [threading.Thread(target=_labeler, args=(url, set_id, annotator, session, done, shown, errors, start))
               for annotator, session in who]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    return shown


def _never_on_two_screens(shown) -> None:
    by_message = {}
    for message_id, session, on, off, _ in shown:
        by_message.setdefault(message_id, []).append((session, on, off))
    for views in by_message.values():
        for (s1, on1, off1), (s2, on2, off2) in combinations(views, 2):
            assert s1 == s2 or off1 < on2 or off2 < on1, "one message on two screens at the same moment"


def test_two_sessions_of_one_annotator_share_the_work_without_losing_a_label(store, db_url):
    set_id, ids = _set(store, 40)
    shown = _run_labelers(db_url, set_id, [("ana", "tab-1"), ("ana", "tab-2")],
                          done=lambda s: s.progress(set_id).labeled == len(ids))
    assert sorted(m for m, *_ in shown) == ids  # each message exactly once: none lost, none given twice
    assert {session for _, session, *_ in shown} == {"tab-1", "tab-2"}
    exported = store.export(set_id, fmt="jsonl", history=True).decode().splitlines()
    assert len(exported) == len(shown)
    _never_on_two_screens(shown)


def test_two_annotators_at_once_each_label_everything(store, db_url):
    set_id, ids = _set(store, 30)

    def done(s):
        return all(p.labeled == len(ids) for p in s.progress(set_id).by_annotator.values()) and \
            len(s.progress(set_id).by_annotator) == 2

    shown = _run_labelers(db_url, set_id, [("ana", "a"), ("bob", "b")], done=done)
    assert len(shown) == 2 * len(ids)
    labels = store.labeled_messages(set_id)
    assert len(labels.texts) == len(ids)
    assert store.agreement(set_id).pairs["messages"].tolist() == [len(ids)]
    _never_on_two_screens(shown)


_CHILD = """
import sys
from engage.labels import LabelStore

store = LabelStore(sys.argv[1])
set_id = int(sys.argv[2])
while (item := store.next_message(set_id, "kim", order="random")) is not None:
    value = item.message_id % 2
    label_id = store.label(item.message_id, "kim", value, score=0.5, model="m", set_id=set_id)
    print("ack", label_id, item.message_id, value, flush=True)
print("done", flush=True)
"""


def test_a_killed_labeler_loses_nothing_it_acknowledged(store, db_url):
    set_id, ids = _set(store, 2000)
    child = subprocess.Popen([sys.executable, "-c", _CHILD, db_url, str(set_id)], cwd=ROOT, stdout=subprocess.PIPE,
                             text=True, env=os.environ.copy())
    watchdog = threading.Timer(120, child.kill)
    watchdog.start()
    acked = []
    try:
        for line in child.stdout:
            assert line.startswith("ack"), f"the labeler finished or failed before it was killed: {line!r}"
            acked.append(tuple(int(x) for x in line.split()[1:]))
            if len(acked) == 40:
                os.kill(child.pid, signal.SIGKILL)  # mid-session: it is busy with the next label
                break
    finally:
        child.wait()
        watchdog.cancel()
    assert child.returncode == -signal.SIGKILL
    with LabelStore(db_url) as reopened:
        frame = reopened.labeled_messages(set_id).frame.set_index("message_id")
        for _, message_id, value in acked:
            assert frame.loc[message_id, "label"] == value
        history = [json.loads(line) for line in reopened.export(set_id, fmt="jsonl", history=True).splitlines()]
        assert {(r["label_id"], r["message_id"], r["value"]) for r in history} >= set(acked)
        assert all(r["undone_at"] is None for r in history)
        # the database is fine: the same labeler takes up where it was, its claim still its own
        item = reopened.next_message(set_id, "kim", order="random")
        assert item is not None and item.message_id not in {m for _, m, _ in acked}
