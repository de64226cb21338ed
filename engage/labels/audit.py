"""The audit trail in the label database: who promoted or activated a model version (from which to which), who
imported or deleted a labeling set, and when. Rows are written in the same transaction as the change they record
where the change is in this database (imports, deletions); a promotion moves the registry's pointer first, then
records it (a pointer that did not move is never recorded as moved)."""

from __future__ import annotations

import json

import pandas as pd
from sqlalchemy import Connection, select

from engage.errors import InputError
from engage.labels.db import utcnow
from engage.labels.schema import AUDIT_ACTIONS, audit

COLUMNS = ["id", "at", "actor", "action", "subject", "set_id", "from_version", "to_version", "detail"]
_ACTOR_MAX = audit.c.actor.type.length
_SUBJECT_MAX = audit.c.subject.type.length


def record(conn: Connection, action: str, actor: str, subject: str, *, set_id: int | None = None,
           from_version: str | None = None, to_version: str | None = None, detail: dict | None = None) -> int:
    if action not in AUDIT_ACTIONS:
        raise ValueError(f"unknown audit action {action!r}; known: {', '.join(AUDIT_ACTIONS)}")
    if not isinstance(actor, str) or not actor.strip():
        raise InputError("an audit row needs who did it (the signed-in address or cli:<user>)")
    if len(actor) > _ACTOR_MAX:
        raise InputError(f"an actor is at most {_ACTOR_MAX} characters, got {len(actor)}")
    row = dict(at=utcnow(), actor=actor.strip(), action=action, subject=str(subject)[:_SUBJECT_MAX],
               set_id=None if set_id is None else int(set_id), from_version=from_version, to_version=to_version,
               detail=detail)
    return int(conn.execute(audit.insert().values(**row)).inserted_primary_key[0])


def rows(conn: Connection, limit: int | None = None) -> pd.DataFrame:
    """Newest first; `at` as naive UTC times."""
    query = select(*(audit.c[name] for name in COLUMNS)).order_by(audit.c.id.desc())
    if limit is not None:
        query = query.limit(int(limit))
    frame = pd.DataFrame(conn.execute(query).mappings().all(), columns=COLUMNS)
    frame["set_id"] = frame["set_id"].astype("Int64")
    return frame


def export_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """For a file: ISO 8601 UTC times, the detail as JSON text (a CSV cell holds no object)."""
    out = frame.copy()
    out["at"] = pd.to_datetime(out["at"]).dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ").astype(object)
    out["detail"] = [None if d is None else json.dumps(d, ensure_ascii=False, sort_keys=True) for d in out["detail"]]
    return out
