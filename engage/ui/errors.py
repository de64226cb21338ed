"""How a page shows problems: an InputError is the user's to fix and is shown as it is; a label database that
cannot be reached (a server down or restarting) is said in those words, and the next action tries again; anything
else is a bug, shown as a short generic message while its trace goes to the log, never to the page."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import streamlit as st
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from engage.errors import InputError, chain_of
from engage.trace_log import log_trace

DATABASE_DOWN = ("The label database cannot be reached (it may be restarting): nothing saved is lost, and engage "
                 "tries again on your next action.")
# What SQLite says when its file cannot be used for now (the error types also cover mistakes in SQL, which are bugs).
_SQLITE_DOWN = ("unable to open database", "disk i/o error", "database is locked", "readonly database")


def database_unreachable(exc: BaseException) -> bool:
    """Whether `exc` says the label database cannot be reached now (connection refused or lost, a file that cannot
    be opened or stays locked), as opposed to a bug."""
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    if isinstance(exc, (OperationalError, InterfaceError)):
        if _is_psycopg_down(exc.orig):  # psycopg's OperationalError: the server or the network
            return True
        return any(said in str(exc.orig).lower() for said in _SQLITE_DOWN)
    # SQLAlchemy's pre-ping on a socket that just closed: psycopg raises OperationalError, then refuses to reset
    # autocommit on the dead connection (a ProgrammingError), and only the second reaches us, raised while handling
    # the first.
    return any(_is_psycopg_down(e) for e in chain_of(exc.orig))


def _is_psycopg_down(exc: BaseException | None) -> bool:
    return type(exc).__module__.startswith("psycopg") and type(exc).__name__ in ("OperationalError", "InterfaceError")


def log_bug() -> tuple[str, Path]:
    """Write the current exception's trace to the log; returns (incident id, log path)."""
    incident = uuid.uuid4().hex[:8]
    return incident, log_trace("engage.ui", f"internal error {incident}")


@contextmanager
def shown_errors() -> Iterator[None]:
    """Turn errors inside the block into st.error; Streamlit's own control flow (rerun, stop) passes through
    because it derives from BaseException."""
    try:
        yield
    except InputError as exc:
        st.error(str(exc), icon=":material/error:")
    except Exception as exc:
        if database_unreachable(exc):
            st.error(DATABASE_DOWN, icon=":material/cloud_off:")
            return
        incident, path = log_bug()
        st.error(f"Something went wrong inside engage: this is a bug, not a problem with your file. "
                 f"The details are in the log {path} (incident {incident}).", icon=":material/bug_report:")


def run_page(body: Callable[[], None]) -> None:
    """Run a page's body; whatever it raises ends as a message on the page, and the server carries on."""
    with shown_errors():
        body()
