"""API keys for the HTTP service: random keys shown once, stored only as their sha256 in the label database (so every
replica and every restart sees the same keys), each with a role. Creation and revocation are audit rows, written in
the same transaction as the change.

A key is 256 random bits, so a plain sha256 is enough to store it (a slow password hash guards guessable secrets; no
one guesses 256 bits), and lookups are by hash, so nothing compares a secret character by character.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from engage.errors import InputError
from engage.labels import LabelStore
from engage.labels import audit as audit_rows
from engage.labels.db import snapshot, utcnow, writing
from engage.labels.schema import API_KEY_ROLES, api_keys

KEY_PREFIX = "engage_"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


@dataclass(frozen=True)
class ApiKey:
    name: str
    role: str
    created_at: datetime
    created_by: str
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create_key(store: LabelStore, name: str, role: str, actor: str) -> str:
    """A new key for `name` with `role`; returns the key itself (the only time it exists outside the client)."""
    if not _NAME.match(name or ""):
        raise InputError(f"key name {name!r} is not allowed: use letters, digits, '.', '_' or '-' (at most 100, "
                         "starting with a letter or digit)")
    if role not in API_KEY_ROLES:
        raise InputError(f"unknown role {role!r}; known: {', '.join(API_KEY_ROLES)}")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    with writing(store.engine) as conn:
        if conn.execute(select(api_keys.c.id).where(api_keys.c.name == name)).first() is not None:
            raise InputError(f"there is already a key named {name!r} (names of revoked keys stay taken); choose "
                             "another name")
        conn.execute(api_keys.insert().values(name=name, key_hash=key_hash(key), role=role, created_at=utcnow(),
                                              created_by=actor))
        audit_rows.record(conn, "api_key_create", actor, name, detail={"role": role})
    return key


def revoke_key(store: LabelStore, name: str, actor: str) -> None:
    with writing(store.engine) as conn:
        row = conn.execute(select(api_keys.c.id, api_keys.c.revoked_at).where(api_keys.c.name == name)).first()
        if row is None:
            known = ", ".join(k.name for k in list_keys(store)) or "none"
            raise InputError(f"no key named {name!r} (known: {known})")
        if row.revoked_at is not None:
            raise InputError(f"key {name!r} was already revoked at {row.revoked_at:%Y-%m-%d %H:%M:%S} UTC")
        conn.execute(api_keys.update().where(api_keys.c.id == row.id).values(revoked_at=utcnow()))
        audit_rows.record(conn, "api_key_revoke", actor, name)


def list_keys(store: LabelStore) -> list[ApiKey]:
    with snapshot(store.engine) as conn:
        rows = conn.execute(select(api_keys.c.name, api_keys.c.role, api_keys.c.created_at, api_keys.c.created_by,
                                   api_keys.c.revoked_at).order_by(api_keys.c.id)).all()
    return [ApiKey(*row) for row in rows]


class KeyChecker:
    """Who a bearer key belongs to, for the service: lookups by hash, each answer reused for `ttl_s` seconds (a
    revocation takes effect within it; 0 looks up every request)."""

    def __init__(self, store: LabelStore, ttl_s: float) -> None:
        self.store = store
        self.ttl_s = ttl_s
        self._lock = threading.Lock()
        self._seen: dict[str, tuple[float, ApiKey | None]] = {}
        self._any: tuple[float, bool] | None = None

    def _fresh(self, at: float) -> bool:
        return self.ttl_s > 0 and time.monotonic() - at < self.ttl_s

    def lookup(self, key: str) -> ApiKey | None:
        """The active key's record, or None for an unknown or revoked key."""
        digest = key_hash(key)
        with self._lock:
            hit = self._seen.get(digest)
        if hit is not None and self._fresh(hit[0]):
            return hit[1]
        with snapshot(self.store.engine) as conn:
            row = conn.execute(select(api_keys.c.name, api_keys.c.role, api_keys.c.created_at, api_keys.c.created_by,
                                      api_keys.c.revoked_at).where(api_keys.c.key_hash == digest)).first()
        found = ApiKey(*row) if row is not None and row.revoked_at is None else None
        with self._lock:
            if len(self._seen) > 10_000:  # wrong keys must not grow memory without bound
                self._seen.clear()
            self._seen[digest] = (time.monotonic(), found)
        return found

    def any_active(self) -> bool:
        """Whether any key is defined and not revoked (with none, the service runs in open mode on loopback)."""
        with self._lock:
            cached = self._any
        if cached is not None and self._fresh(cached[0]):
            return cached[1]
        found = any_active_key(self.store)
        with self._lock:
            self._any = (time.monotonic(), found)
        return found


def any_active_key(store: LabelStore) -> bool:
    with snapshot(store.engine) as conn:
        count = conn.execute(select(func.count()).select_from(api_keys)
                             .where(api_keys.c.revoked_at.is_(None))).scalar_one()
    return count > 0
