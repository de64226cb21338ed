"""Which message to show next, and short claims so that two sessions never see the same message at once.

A session (one browser tab, one labeling process) holds at most one claim per set: a `claims` row on the message,
with an expiry. Asking again returns the message it already holds (a page rerun must not skip it); a label or a skip
releases it; an expired claim may be taken by anyone. Claiming is atomic: on SQLite the transaction begins
IMMEDIATE (one writer at a time); on PostgreSQL the candidate row is locked with FOR UPDATE SKIP LOCKED (sessions
step around each other) and the claim is an upsert that only succeeds if the row is free or expired, re-checked on
the latest row version, so a race at worst moves on to the next candidate.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import BigInteger, Connection, and_, cast, delete, exists, func, or_, select, update

from engage.errors import InputError
from engage.labels.db import as_utc, upsert_insert, utcnow
from engage.labels.schema import claims, labels, messages, scores, set_messages

ORDERS = ("uncertain", "mixed", "highest", "random", "file")
# The mixed order: most uncertain first, but every MIXED_EVERY-th pick of an annotator in a set is at random. The
# uncertain picks buy ROC-AUC; the random ones are a fair sample of the messages not yet labeled, which lets training
# choose the threshold for the whole set rather than for the band around the old threshold (engage/labels/picks.py).
MIXED_EVERY = 3
CLAIM_SECONDS = 120.0
_PRIME = 2_147_483_647  # 2**31 - 1: (id * a + b) mod p is a permutation of ids below p
_MAX_TRIES = 50


@dataclass(frozen=True)
class QueueItem:
    message_id: int
    set_id: int
    text: str
    position: int            # 0-based row in the imported rows
    score: float | None      # the stored model score, if any: show it, and pass it to label()
    model: str | None
    threshold: float | None
    claimed_until: datetime  # UTC
    # How the queue picked it ("random", "uncertain", "highest", "file"): recorded with the answer (labels.picked).
    picked: str | None = field(default=None, compare=False)
    # The session held this message already, unanswered (shown before, or given back by undo): a page that has not
    # shown it yet (a reload, a reconnect after a restart) says that an answer to it was not saved.
    resumed: bool = field(default=False, compare=False)
    row_id: str | None = None  # its row in the file, as engage.reading.row_ids names it (None: imported before)


def check_order(order: str) -> str:
    if order not in ORDERS:
        raise InputError(f"unknown queue order {order!r}; use one of {', '.join(ORDERS)}")
    return order


def _answered(annotator: str, message_id=set_messages.c.message_id):
    """The annotator labeled or skipped this message (in any set), and did not undo it."""
    return exists().where(labels.c.message_id == message_id, labels.c.annotator == annotator,
                          labels.c.undone_at.is_(None))


def _free(message_id, annotator: str, session: str, now: datetime):
    """Not answered by the annotator and not claimed, unexpired, by another session."""
    taken = exists().where(claims.c.message_id == message_id, claims.c.session != session, claims.c.expires_at > now)
    return and_(~_answered(annotator, message_id), ~taken)


def _random_key(annotator: str):
    digest = hashlib.sha256(annotator.encode("utf-8")).digest()
    a = int.from_bytes(digest[:8], "big") % (_PRIME - 1) + 1
    b = int.from_bytes(digest[8:16], "big") % _PRIME
    return (cast(set_messages.c.message_id, BigInteger) * a + b) % _PRIME


def _ordering(order: str, annotator: str) -> list:
    """The orders that read only set_messages; file order breaks every tie."""
    first = {"random": [_random_key(annotator)], "file": []}[order]
    return [*first, set_messages.c.position]


def scored_key(order: str):
    """Sort key of the scored orders, spelled exactly as the indexes ix_scores_uncertain / ix_scores_highest."""
    return func.abs(scores.c.score - scores.c.threshold) if order == "uncertain" else scores.c.score.desc()


def _mixed_pick(conn: Connection, set_id: int, annotator: str) -> str:
    """The order this pick of the mixed order follows: every MIXED_EVERY-th of the annotator's active answers in the
    set is a random pick. A held message (asked again, or given back by undo) is judged by the same count."""
    answered = conn.execute(select(func.count()).where(labels.c.set_id == set_id, labels.c.annotator == annotator,
                                                       labels.c.undone_at.is_(None))).scalar_one()
    return "random" if answered % MIXED_EVERY == MIXED_EVERY - 1 else "uncertain"


def _candidate(conn: Connection, set_id: int, annotator: str, session: str, order: str, now: datetime,
               tried: list[int]) -> int | None:
    if order in ("uncertain", "highest"):
        # Scored messages walk an index in order, so a large set is not sorted again at every key press; ties go
        # by message id (import order). Messages without a score come after, in file order.
        query = (select(scores.c.message_id)
                 .where(scores.c.set_id == set_id, _free(scores.c.message_id, annotator, session, now))
                 .order_by(scored_key(order), scores.c.message_id))
        found = _first(conn, query, scores, tried)
        if found is not None:
            return found
        scored = exists().where(scores.c.set_id == set_messages.c.set_id,
                                scores.c.message_id == set_messages.c.message_id)
        query = (select(set_messages.c.message_id)
                 .where(set_messages.c.set_id == set_id, ~scored,
                        _free(set_messages.c.message_id, annotator, session, now))
                 .order_by(set_messages.c.position))
        return _first(conn, query, set_messages, tried)
    query = (select(set_messages.c.message_id)
             .where(set_messages.c.set_id == set_id, _free(set_messages.c.message_id, annotator, session, now))
             .order_by(*_ordering(order, annotator)))
    return _first(conn, query, set_messages, tried)


def _first(conn: Connection, query, table, tried: list[int]) -> int | None:
    if tried:
        query = query.where(table.c.message_id.not_in(tried))
    query = query.limit(1)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(of=table, skip_locked=True)
    return conn.execute(query).scalar()


def claim(conn: Connection, message_id: int, set_id: int, annotator: str, session: str, now: datetime,
          until: datetime) -> bool:
    """Takes the message for this session if nobody else holds an unexpired claim on it."""
    values = dict(message_id=message_id, set_id=set_id, annotator=annotator, session=session, claimed_at=now,
                  expires_at=until)
    insert = upsert_insert(conn)(claims).values(**values)
    statement = insert.on_conflict_do_update(
        index_elements=[claims.c.message_id],
        set_={key: insert.excluded[key] for key in values if key != "message_id"},
        where=or_(claims.c.expires_at <= now, claims.c.session == session),
    ).returning(claims.c.message_id)  # no row back: the WHERE kept the other holder's claim
    return conn.execute(statement).first() is not None


def _held(conn: Connection, set_id: int, annotator: str, session: str) -> int | None:
    """The message this session holds in this set and the annotator has not answered yet (expired or not: a claim
    that is still ours was not taken by anyone)."""
    query = (select(claims.c.message_id)
             .join(set_messages, and_(set_messages.c.set_id == claims.c.set_id,
                                      set_messages.c.message_id == claims.c.message_id))
             .where(claims.c.set_id == set_id, claims.c.session == session, claims.c.annotator == annotator,
                    ~_answered(annotator))
             .order_by(claims.c.claimed_at.desc()).limit(1))
    return conn.execute(query).scalar()


def release(conn: Connection, session: str, set_id: int | None = None, message_id: int | None = None) -> None:
    query = delete(claims).where(claims.c.session == session)
    if set_id is not None:
        query = query.where(claims.c.set_id == set_id)
    if message_id is not None:
        query = query.where(claims.c.message_id == message_id)
    conn.execute(query)


def _item(conn: Connection, set_id: int, message_id: int, until: datetime, picked: str,
          resumed: bool = False) -> QueueItem:
    joined = (set_messages.join(messages, messages.c.id == set_messages.c.message_id)
              .outerjoin(scores, and_(scores.c.set_id == set_messages.c.set_id,
                                      scores.c.message_id == set_messages.c.message_id)))
    row = conn.execute(select(messages.c.text, set_messages.c.position, set_messages.c.row_id, scores.c.score,
                              scores.c.model, scores.c.threshold).select_from(joined)
                       .where(set_messages.c.set_id == set_id, set_messages.c.message_id == message_id)).one()
    return QueueItem(message_id=message_id, set_id=set_id, text=row.text, position=row.position, score=row.score,
                     model=row.model, threshold=row.threshold, claimed_until=as_utc(until), resumed=resumed,
                     row_id=row.row_id, picked=picked)


def focus(conn: Connection, set_id: int, message_id: int, annotator: str, session: str,
          claim_seconds: float = CLAIM_SECONDS, now: datetime | None = None) -> None:
    """Puts a chosen message (a search's match) on the session's card: the session's claim moves to it, so
    next_message returns it and the keys label it. Refused when the annotator has answered it already or another
    session holds it."""
    if conn.execute(select(_answered(annotator, message_id))).scalar():
        raise InputError(f"you have already answered message {message_id}: undo that answer first, or label it with "
                         "a bulk label")
    now = now or utcnow()
    release(conn, session, set_id)
    if not claim(conn, message_id, set_id, annotator, session, now, now + timedelta(seconds=claim_seconds)):
        raise InputError(f"message {message_id} is on another tab's card now: try again when it is answered")


def next_message(conn: Connection, set_id: int, annotator: str, order: str, session: str,
                 claim_seconds: float = CLAIM_SECONDS, now: datetime | None = None) -> QueueItem | None:
    """Call inside one write transaction. None when the annotator has nothing left (or all left is claimed).
    `now`: naive UTC, default the current time."""
    check_order(order)
    now = now or utcnow()
    until = now + timedelta(seconds=claim_seconds)
    picked = _mixed_pick(conn, set_id, annotator) if order == "mixed" else order
    held = _held(conn, set_id, annotator, session)
    if held is not None:
        conn.execute(update(claims).where(claims.c.message_id == held).values(expires_at=until))
        return _item(conn, set_id, held, until, picked, resumed=True)
    release(conn, session, set_id)
    tried: list[int] = []
    for _ in range(_MAX_TRIES):
        message_id = _candidate(conn, set_id, annotator, session, picked, now, tried)
        if message_id is None:
            return None
        if claim(conn, message_id, set_id, annotator, session, now, until):
            return _item(conn, set_id, message_id, until, picked)
        tried.append(message_id)
    return None
