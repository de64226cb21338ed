"""Web sign-ins on the server. Streamlit's identity cookie is a signed copy of the ID token's claims that stays
valid for 30 days whatever happens (Streamlit 1.67 fixes its Max-Age and has no revocation): sign-out only deletes it
from the browser that signed out, so another open tab keeps its copy and a copied cookie works again. So the app
keeps one row per sign-in, keyed by a hash of the claims that make that sign-in unique (issuer, subject, issue time,
nonce), checks it on every action, ends it at sign-out, and lets it lapse after the configured session lifetime.

A sign-in seen for the first time is recorded (Streamlit has just set its cookie after the provider's callback); it
starts at the token's issue time when the token has one, so an old cookie never starts a fresh lifetime.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, Row, select, update

from engage.labels.db import upsert_insert
from engage.labels.schema import sign_ins

_EMAIL_MAX = sign_ins.c.email.type.length


def key_of(claims: Mapping[str, object]) -> str:
    """The id of the sign-in these ID-token claims come from (a hash: the claims themselves are not stored)."""
    unique = {name: claims.get(name) for name in ("iss", "sub", "iat", "nonce", "email")}
    return hashlib.sha256(json.dumps(unique, sort_keys=True, default=str).encode()).hexdigest()


def issued_at(claims: Mapping[str, object]) -> datetime | None:
    """The token's issue time (naive UTC), if it has a usable one."""
    try:
        return datetime.fromtimestamp(float(claims["iat"]), UTC).replace(tzinfo=None)  # type: ignore[arg-type]
    except (KeyError, TypeError, ValueError, OverflowError, OSError):
        return None


def state(conn: Connection, key: str) -> Row | None:
    """The sign-in's row (email, expires_at, ended_at), or None if never seen."""
    return conn.execute(select(sign_ins.c.email, sign_ins.c.expires_at, sign_ins.c.ended_at)
                        .where(sign_ins.c.id == key)).one_or_none()


def record(conn: Connection, key: str, email: str, lifetime: timedelta, now: datetime,
           started: datetime | None = None) -> Row:
    """Records a sign-in at first sight (from `started`, else now; a row already there is kept); returns its row."""
    begin = min(started, now) if started is not None else now
    conn.execute(upsert_insert(conn)(sign_ins).values(
        id=key, email=email[:_EMAIL_MAX], started_at=begin, expires_at=begin + lifetime).on_conflict_do_nothing())
    return state(conn, key)


def acts(row: Row, email: str, now: datetime) -> bool:
    """Whether a sign-in's row lets `email` act now: not ended, not expired, the same address."""
    return row.ended_at is None and row.expires_at > now and row.email == email[:_EMAIL_MAX]


def end(conn: Connection, key: str, now: datetime) -> None:
    """Sign-out: the sign-in acts no more, wherever its cookie is."""
    conn.execute(update(sign_ins).where(sign_ins.c.id == key, sign_ins.c.ended_at.is_(None)).values(ended_at=now))
