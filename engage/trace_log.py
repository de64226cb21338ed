"""The one way a front end records a bug: the current exception's trace appended to engage's log file, never shown
to the person (the CLI prints the log's path, a page an incident id, the HTTP service a 500 with the id)."""

from __future__ import annotations

import logging
import traceback
from pathlib import Path

from engage.config import log_path


def log_trace(source: str, label: str = "internal error") -> Path:
    """Appends `label` and the current exception's trace to the log, under logger `source` (engage.cli, engage.ui,
    ...); returns the log's path. A handler of our own, not logging.basicConfig, which does nothing once anything in
    the process (a library, a test runner, Streamlit) has configured the root logger. If the log cannot be written
    the trace goes to the process's own log (the server's stderr) instead."""
    path = log_path()
    logger = logging.getLogger(source)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(path, encoding="utf-8")
    except OSError:
        logger.exception("%s (could not write %s)", label, path)
        return path
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger.addHandler(handler)
    try:
        logger.error("%s\n%s", label, traceback.format_exc())
    finally:
        logger.removeHandler(handler)
        handler.close()
    return path
