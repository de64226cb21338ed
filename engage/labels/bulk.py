"""Bulk labels: one annotator's one answer given to many messages of a set at once (the matches of a search, or the
ticked ones), as one batch.

Each message gets its own label row, as a single answer would, pointing at the batch (`labels.batch_id`): so the
batch counts like any label, undo takes all of it back in one step (engage/labels/answers.py), and agreement and
training can tell bulk labels apart. Messages the annotator has already labeled with the same value keep that label
(it is not rewritten as a bulk one). The batch and its audit row are written in one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Connection, func, select, update

from engage.errors import InputError
from engage.labels import audit
from engage.labels.answers import _check_value, check_annotator
from engage.labels.db import utcnow
from engage.labels.queue import release
from engage.labels.schema import label_batches, label_sets, labels, scores, set_messages

MAX_BATCH = 20_000  # one transaction; a larger selection is a search too broad to have been read
_CHUNK = 500


@dataclass(frozen=True)
class BulkPlan:
    """What a bulk label would do, shown before it happens."""
    selected: int        # distinct messages chosen
    to_label: int        # of them, those that get a new label
    already: int         # of them, those the annotator has already labeled with this value (left as they are)


@dataclass(frozen=True)
class Batch:
    id: int
    set_id: int
    value: int
    size: int            # labels written
    already: int         # messages left as they were (already labeled so by the annotator)


def _distinct(message_ids: Sequence[int]) -> list[int]:
    return list(dict.fromkeys(int(m) for m in message_ids))


def _check(conn: Connection, set_id: int, ids: list[int]) -> str:
    name = conn.execute(select(label_sets.c.name).where(label_sets.c.id == set_id)).scalar()
    if name is None:
        raise InputError(f"no labeling set with id {set_id}")
    if not ids:
        raise InputError("nothing to label: no message is selected")
    if len(ids) > MAX_BATCH:
        raise InputError(f"a bulk label takes at most {MAX_BATCH:,} messages at once, got {len(ids):,}: narrow the "
                         "search")
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start:start + _CHUNK]
        found = set(conn.execute(select(set_messages.c.message_id).where(
            set_messages.c.set_id == set_id, set_messages.c.message_id.in_(chunk))).scalars())
        missing = [m for m in chunk if m not in found]
        if missing:
            raise InputError(f"messages {missing[:5]} are not in labeling set {set_id}")
    return name


def _already(conn: Connection, ids: list[int], annotator: str, value: int) -> set[int]:
    """The messages whose active answer by the annotator is a label with this value."""
    same: set[int] = set()
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start:start + _CHUNK]
        rows = conn.execute(select(labels.c.message_id, labels.c.kind, labels.c.value)
                            .where(labels.c.annotator == annotator, labels.c.undone_at.is_(None),
                                   labels.c.message_id.in_(chunk))
                            .order_by(labels.c.id)).all()
        latest = {r.message_id: (r.kind, r.value) for r in rows}  # id order: the last one wins
        same.update(m for m, (kind, v) in latest.items() if kind == "label" and v == value)
    return same


def plan(conn: Connection, set_id: int, message_ids: Sequence[int], annotator: str, value: int) -> BulkPlan:
    ids = _distinct(message_ids)
    annotator, value = check_annotator(annotator), _check_value(value)
    _check(conn, set_id, ids)
    already = _already(conn, ids, annotator, value)
    return BulkPlan(selected=len(ids), to_label=len(ids) - len(already), already=len(already))


def _scores(conn: Connection, set_id: int, ids: list[int]) -> dict[int, tuple[float, str]]:
    found: dict[int, tuple[float, str]] = {}
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start:start + _CHUNK]
        found.update({r.message_id: (r.score, r.model) for r in conn.execute(
            select(scores.c.message_id, scores.c.score, scores.c.model)
            .where(scores.c.set_id == set_id, scores.c.message_id.in_(chunk)))})
    return found


def label(conn: Connection, set_id: int, message_ids: Sequence[int], annotator: str, value: int, *,
          actor: str, session: str | None = None, query: dict | None = None) -> Batch:
    """Call inside one write transaction: labels the messages as one batch and audits it under `actor`. Each label
    carries the message's stored score and model, as a single label does."""
    ids = _distinct(message_ids)
    annotator, value = check_annotator(annotator), _check_value(value)
    name = _check(conn, set_id, ids)
    already = _already(conn, ids, annotator, value)
    todo = [m for m in ids if m not in already]
    if not todo:
        raise InputError(f"nothing to label: you have already labeled all {len(ids):,} of them "
                         f"{'engageable' if value else 'not engageable'}")
    now = utcnow()
    batch_id = int(conn.execute(label_batches.insert().values(
        set_id=set_id, annotator=annotator, value=value, size=len(todo), created_at=now, last_label_id=0,
        query=query)).inserted_primary_key[0])
    shown = _scores(conn, set_id, todo)
    rows = [dict(message_id=m, set_id=set_id, annotator=annotator, kind="label", value=value, created_at=now,
                 score=shown.get(m, (None, None))[0], model=shown.get(m, (None, None))[1], session=session,
                 batch_id=batch_id) for m in todo]
    for start in range(0, len(rows), _CHUNK):
        conn.execute(labels.insert(), rows[start:start + _CHUNK])
    last = conn.execute(select(func.max(labels.c.id)).where(labels.c.batch_id == batch_id)).scalar_one()
    conn.execute(update(label_batches).where(label_batches.c.id == batch_id).values(last_label_id=last))
    if session is not None:
        release(conn, session, set_id)  # the card's message may be among them: the card draws the next one
    audit.record(conn, "bulk_label", actor, name, set_id=set_id,
                 detail={"batch": batch_id, "value": value, "labels": len(todo), "already": len(already),
                         "annotator": annotator, "query": query})
    return Batch(id=batch_id, set_id=set_id, value=value, size=len(todo), already=len(already))


def batches(conn: Connection, set_id: int | None = None) -> pd.DataFrame:
    """The bulk batches (undone ones too), newest first."""
    query = select(label_batches).order_by(label_batches.c.id.desc())
    if set_id is not None:
        query = query.where(label_batches.c.set_id == set_id)
    return pd.DataFrame(conn.execute(query).mappings().all(), columns=list(label_batches.c.keys()))
