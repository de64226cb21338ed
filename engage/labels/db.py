"""Connecting to the label database: where it lives, SQLite settings for safe concurrent use, transactions."""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import StaticPool

from engage.errors import InputError

BUSY_TIMEOUT_S = 30.0


def data_dir() -> Path:
    """Labels are work people did, not a cache (which systems clean): they live in the user's data folder."""
    default = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "engage"
    return Path(os.environ.get("ENGAGE_DATA_DIR") or default)


def default_url() -> str:
    """ENGAGE_DATABASE_URL (e.g. postgresql+psycopg://user@host/db) or a SQLite file in data_dir()."""
    return os.environ.get("ENGAGE_DATABASE_URL") or f"sqlite:///{data_dir() / 'labels.sqlite'}"


def database_exists(url: str) -> bool:
    """Whether there is a label database at `url` to read, without creating one: a SQLite file that exists, or any
    server database (which its administrator created)."""
    parsed = _parse(url)
    if parsed.get_backend_name() != "sqlite":
        return True
    return parsed.database not in (None, "", ":memory:") and Path(parsed.database).expanduser().is_file()


def shown_url(url: str | URL) -> str:
    """The URL for messages, without its password."""
    return make_url(url).render_as_string(hide_password=True)


def utcnow() -> datetime:
    """Stored times are naive UTC (the same in SQLite and PostgreSQL); readers attach UTC."""
    return datetime.now(UTC).replace(tzinfo=None)


def as_utc(value: datetime | None) -> datetime | None:
    return None if value is None else value.replace(tzinfo=UTC)


def _parse(url: str) -> URL:
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise InputError(f"not a database URL: {url!r} (expected sqlite:///path or postgresql+psycopg://...)") \
            from exc
    if parsed.drivername in ("postgresql", "postgres"):  # psycopg 3 is the driver we install, not psycopg2
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def open_engine(url: str) -> Engine:
    parsed = _parse(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(parsed)
    if backend == "postgresql":
        return create_engine(parsed, pool_pre_ping=True)
    raise InputError(f"unsupported database {backend!r}: use SQLite or PostgreSQL", file=shown_url(parsed))


def _sqlite_engine(url: URL) -> Engine:
    memory = url.database in (None, "", ":memory:")
    if memory:  # one shared connection, else every connection would see its own empty database
        engine = create_engine(url, poolclass=StaticPool, connect_args={"check_same_thread": False})
    else:
        Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_S})
    event.listen(engine, "connect", _sqlite_connect)
    event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_connect(dbapi_connection, _record) -> None:
    # The driver's own transaction handling would defer BEGIN; we issue BEGIN ourselves (see _sqlite_begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
    _use_wal(cursor)  # readers never block the labeler, nor the labeler them
    cursor.execute("PRAGMA synchronous = FULL")  # a committed label survives a crash or power cut
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.close()


def _use_wal(cursor) -> None:
    """WAL mode is stored in the file, so only its first opener switches it. SQLite answers a switch made while
    another opener holds a lock with "database is locked" at once, without waiting out busy_timeout: retry."""
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            if cursor.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                cursor.execute("PRAGMA journal_mode = WAL")  # an in-memory database stays "memory"
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def _sqlite_begin(connection: Connection) -> None:
    # IMMEDIATE takes the single write lock at the start, so a read-then-write (claiming a message) cannot race.
    mode = connection.get_execution_options().get("sqlite_begin", "IMMEDIATE")
    connection.exec_driver_sql(f"BEGIN {mode}")


@contextmanager
def writing(engine: Engine) -> Iterator[Connection]:
    """One transaction that writes; it is committed when the block ends without an error."""
    with engine.begin() as conn:
        yield conn


@contextmanager
def snapshot(engine: Engine) -> Iterator[Connection]:
    """One consistent read-only snapshot; on SQLite it takes no write lock."""
    with engine.connect() as conn:
        conn.execution_options(sqlite_begin="DEFERRED")
        with conn.begin():
            yield conn


def upsert_insert(conn: Connection):
    """The dialect's insert(), which has on_conflict_do_nothing / on_conflict_do_update."""
    return postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
