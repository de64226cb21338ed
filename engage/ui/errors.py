"""How a page shows problems: an InputError is the user's to fix and is shown as it is; anything else is a bug,
shown as a short generic message while its trace goes to the log, never to the page."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import streamlit as st

from engage.errors import InputError
from engage.trace_log import log_trace


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
    except Exception:
        incident, path = log_bug()
        st.error(f"Something went wrong inside engage: this is a bug, not a problem with your file. "
                 f"The details are in the log {path} (incident {incident}).", icon=":material/bug_report:")


def run_page(body: Callable[[], None]) -> None:
    """Run a page's body; whatever it raises ends as a message on the page, and the server carries on."""
    with shown_errors():
        body()
