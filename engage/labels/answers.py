"""Answers: labels (1 engageable / 0 not engageable) and skips, each its own committed row, and undo.

Nothing is ever deleted: undo stamps `undone_at`. What counts for an annotator and a message is their latest answer
that is not undone ("active"): a later answer replaces an earlier one, and a skip is not a label. A bulk label
(engage/labels/bulk.py) is one step for undo: the whole batch goes back at once.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from datetime import datetime, timedelta

import pandas as pd
from sqlalchemy import Connection, exists, select, update

from engage.errors import InputError
from engage.labels import audit
from engage.labels.db import as_utc, utcnow
from engage.labels.queue import ORDERS, claim, release
from engage.labels.schema import label_batches, label_sets, labels, messages, set_messages

UNDO_DEPTH = 10


@dataclass(frozen=True)
class Undone:
    label_id: int
    message_id: int
    set_id: int | None
    kind: str               # "label", "skip", or "bulk" (a whole batch of labels)
    value: int | None
    created_at: datetime    # UTC
    count: int = 1          # answers taken back (a batch's size)
    batch_id: int | None = None


def check_annotator(annotator: str) -> str:
    if not isinstance(annotator, str) or not annotator.strip():
        raise InputError("an annotator name is needed (who is labeling?)")
    return annotator.strip()


def _check_value(value: object) -> int:
    if isinstance(value, bool) or value not in (0, 1):
        raise InputError(f"a label is 1 (engageable) or 0 (not engageable), got {value!r}")
    return int(value)


def _check_score(score: float | None) -> float | None:
    if score is None:
        return None
    if isinstance(score, bool) or not isinstance(score, numbers.Real) or not math.isfinite(score):
        raise InputError(f"a model score must be a finite number, got {score!r}")
    return float(score)


def _check_picked(picked: str | None) -> str | None:
    if picked is not None and picked not in ORDERS:
        raise InputError(f"unknown queue pick {picked!r}; use one of {', '.join(ORDERS)}")
    return picked


def _check_target(conn: Connection, message_id: int, set_id: int | None) -> None:
    if conn.execute(select(messages.c.id).where(messages.c.id == message_id)).first() is None:
        raise InputError(f"no message with id {message_id} in the label database")
    if set_id is not None:
        member = exists().where(set_messages.c.set_id == set_id, set_messages.c.message_id == message_id)
        if not conn.execute(select(member)).scalar():
            raise InputError(f"message {message_id} is not in labeling set {set_id}")


def record(conn: Connection, message_id: int, annotator: str, value: int | None, *, score: float | None = None,
           model: str | None = None, set_id: int | None = None, session: str | None = None,
           picked: str | None = None) -> int:
    """Adds one answer (value None = a skip) and releases the session's claim on the message; returns its id.
    `picked`: how the queue picked the message (QueueItem.picked), None when not through the queue."""
    annotator = check_annotator(annotator)
    value = None if value is None else _check_value(value)
    _check_target(conn, message_id, set_id)
    row = dict(message_id=message_id, set_id=set_id, annotator=annotator, kind="skip" if value is None else "label",
               value=value, created_at=utcnow(), score=_check_score(score), model=model, session=session,
               picked=_check_picked(picked))
    label_id = conn.execute(labels.insert().values(**row)).inserted_primary_key[0]
    release(conn, session or annotator, message_id=message_id)
    return int(label_id)


def _recent_steps(conn: Connection, annotator: str, set_id: int | None) -> list:
    """The annotator's last UNDO_DEPTH steps (in the set, if given), newest first: single answers and bulk batches,
    each a (last label id, undone, row) triple; a batch of any size is one step."""
    singles = select(labels).where(labels.c.annotator == annotator, labels.c.batch_id.is_(None))
    batches = select(label_batches).where(label_batches.c.annotator == annotator)
    if set_id is not None:
        singles = singles.where(labels.c.set_id == set_id)
        batches = batches.where(label_batches.c.set_id == set_id)
    steps = [(r.id, r.undone_at is not None, r) for r in
             conn.execute(singles.order_by(labels.c.id.desc()).limit(UNDO_DEPTH))]
    steps += [(r.last_label_id, r.undone_at is not None, r) for r in
              conn.execute(batches.order_by(label_batches.c.last_label_id.desc()).limit(UNDO_DEPTH))]
    return sorted(steps, key=lambda step: step[0], reverse=True)[:UNDO_DEPTH]


def undo(conn: Connection, annotator: str, set_id: int | None, session: str,
         claim_seconds: float, now: datetime | None = None) -> Undone | None:
    """Undoes the annotator's latest active step among their last UNDO_DEPTH (in the set, if given): one answer,
    or a whole bulk batch.

    An answer's message is claimed back for the session, so that next_message shows it again; a batch's messages
    simply count as they did before it (its undo is audited, as the batch was).
    """
    annotator = check_annotator(annotator)
    row = next((r for _, undone, r in _recent_steps(conn, annotator, set_id) if not undone), None)
    if row is None:
        return None
    now = now or utcnow()
    if "last_label_id" in row._fields:
        return _undo_batch(conn, row, annotator, now)
    conn.execute(update(labels).where(labels.c.id == row.id).values(undone_at=now))
    if row.set_id is not None:
        release(conn, session, row.set_id)
        claim(conn, row.message_id, row.set_id, annotator, session, now, now + timedelta(seconds=claim_seconds))
    return Undone(label_id=row.id, message_id=row.message_id, set_id=row.set_id, kind=row.kind, value=row.value,
                  created_at=as_utc(row.created_at))


def _undo_batch(conn: Connection, batch, annotator: str, now: datetime) -> Undone:
    taken = conn.execute(update(labels).where(labels.c.batch_id == batch.id, labels.c.undone_at.is_(None))
                         .values(undone_at=now)).rowcount
    conn.execute(update(label_batches).where(label_batches.c.id == batch.id).values(undone_at=now))
    name = None
    if batch.set_id is not None:
        name = conn.execute(select(label_sets.c.name).where(label_sets.c.id == batch.set_id)).scalar()
    audit.record(conn, "bulk_undo", annotator, name or f"set {batch.set_id}", set_id=batch.set_id,
                 detail={"batch": int(batch.id), "labels": int(taken), "value": int(batch.value)})
    message_id = conn.execute(select(labels.c.message_id).where(labels.c.id == batch.last_label_id)).scalar()
    return Undone(label_id=batch.last_label_id, message_id=int(message_id), set_id=batch.set_id, kind="bulk",
                  value=batch.value, created_at=as_utc(batch.created_at), count=int(taken), batch_id=int(batch.id))


def _in_set(set_id: int | None):
    if set_id is None:
        return None
    return exists().where(set_messages.c.set_id == set_id, set_messages.c.message_id == labels.c.message_id)


def answer_history(conn: Connection, set_id: int | None = None) -> pd.DataFrame:
    """Every answer ever given (undone ones too) on the set's messages (all messages if set_id is None)."""
    query = (select(labels.c.id.label("label_id"), labels.c.message_id, messages.c.text, labels.c.annotator,
                    labels.c.kind, labels.c.value, labels.c.created_at, labels.c.score, labels.c.model,
                    labels.c.set_id, labels.c.session, labels.c.picked, labels.c.undone_at, labels.c.batch_id)
             .join(messages, messages.c.id == labels.c.message_id).order_by(labels.c.id))
    if set_id is not None:
        query = query.where(_in_set(set_id))
    frame = pd.DataFrame(conn.execute(query).mappings().all(), columns=list(query.selected_columns.keys()))
    frame["value"] = frame["value"].astype("Int8")
    frame["set_id"] = frame["set_id"].astype("Int64")
    frame["batch_id"] = frame["batch_id"].astype("Int64")
    return frame


def active_answers(conn: Connection, set_id: int | None = None) -> pd.DataFrame:
    """Each annotator's latest non-undone answer per message: one row per (annotator, message), labels and skips."""
    history = answer_history(conn, set_id)
    active = history[history["undone_at"].isna()]
    latest = active.drop_duplicates(["annotator", "message_id"], keep="last")  # history is in id order
    return latest.drop(columns=["undone_at"]).reset_index(drop=True)


def active_labels(conn: Connection, set_id: int | None = None) -> pd.DataFrame:
    answers = active_answers(conn, set_id)
    out = answers[answers["kind"] == "label"].drop(columns=["kind"]).reset_index(drop=True)
    out["value"] = out["value"].astype("int8")
    return out

