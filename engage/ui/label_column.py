"""The label column an analyst chose for a file, remembered for this browser session, so that another page given
the same file (the Train page's labeled file after the Score page) starts from that choice. Pages write and read it
through these two functions, never through each other's widget keys."""

from __future__ import annotations

import streamlit as st

KEY_PREFIX = "labelcol_"  # labelcol_<first 16 hex digits of the file's sha256>: str, the column; "" for none


def remember(sha256: str, column: str | None) -> None:
    """The analyst chose `column` (None: no label column) for the file with this sha256."""
    st.session_state[f"{KEY_PREFIX}{sha256[:16]}"] = "" if column is None else str(column)


def recalled(sha256: str, columns: list) -> str | None:
    """The column chosen before for this file, if it is one of `columns`; else None."""
    chosen = st.session_state.get(f"{KEY_PREFIX}{sha256[:16]}")
    return next((c for c in columns if chosen and str(c) == chosen), None)
