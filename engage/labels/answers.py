"""Answers: labels (1 engageable / 0 not engageable) and skips, each its own committed row, and undo.

Nothing is ever deleted: undo stamps `undone_at`. What counts for an annotator and a message is their latest answer
that is not undone ("active"): a later answer replaces an earlier one, and a skip is not a label.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from datetime import datetime, timedelta

import pandas as pd
from sqlalchemy import Connection, exists, select, update

from engage.errors import InputError
from engage.labels.db import as_utc, utcnow
from engage.labels.queue import ORDERS, claim, release
from engage.labels.schema import labels, messages, set_messages

UNDO_DEPTH = 10


@dataclass(frozen=True)
class Undone:
    label_id: int
    message_id: int
    set_id: int | None
    kind: str               # "label" or "skip"
    value: int | None
    created_at: datetime    # UTC


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


def undo(conn: Connection, annotator: str, set_id: int | None, session: str,
         claim_seconds: float, now: datetime | None = None) -> Undone | None:
    """Undoes the annotator's latest active answer among their last UNDO_DEPTH answers (in the set, if given).

    The message is claimed back for the session, so that next_message shows it again.
    """
    annotator = check_annotator(annotator)
    recent = select(labels).where(labels.c.annotator == annotator)
    if set_id is not None:
        recent = recent.where(labels.c.set_id == set_id)
    window = recent.order_by(labels.c.id.desc()).limit(UNDO_DEPTH).subquery()
    row = conn.execute(select(window).where(window.c.undone_at.is_(None))
                       .order_by(window.c.id.desc()).limit(1)).first()
    if row is None:
        return None
    now = now or utcnow()
    conn.execute(update(labels).where(labels.c.id == row.id).values(undone_at=now))
    if row.set_id is not None:
        release(conn, session, row.set_id)
        claim(conn, row.message_id, row.set_id, annotator, session, now, now + timedelta(seconds=claim_seconds))
    return Undone(label_id=row.id, message_id=row.message_id, set_id=row.set_id, kind=row.kind, value=row.value,
                  created_at=as_utc(row.created_at))


def _in_set(set_id: int | None):
    if set_id is None:
        return None
    return exists().where(set_messages.c.set_id == set_id, set_messages.c.message_id == labels.c.message_id)


def answer_history(conn: Connection, set_id: int | None = None) -> pd.DataFrame:
    """Every answer ever given (undone ones too) on the set's messages (all messages if set_id is None)."""
    query = (select(labels.c.id.label("label_id"), labels.c.message_id, messages.c.text, labels.c.annotator,
                    labels.c.kind, labels.c.value, labels.c.created_at, labels.c.score, labels.c.model,
                    labels.c.set_id, labels.c.session, labels.c.picked, labels.c.undone_at)
             .join(messages, messages.c.id == labels.c.message_id).order_by(labels.c.id))
    if set_id is not None:
        query = query.where(_in_set(set_id))
    frame = pd.DataFrame(conn.execute(query).mappings().all(), columns=list(query.selected_columns.keys()))
    frame["value"] = frame["value"].astype("Int8")
    frame["set_id"] = frame["set_id"].astype("Int64")
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

