"""A message's context in its file: the row's id (so labels join back to the file) and its other columns (so an
annotator sees the airline, the author, the date beside the text).

Bounded, because a set is stored whole and each card reads one row of it: at most MAX_COLUMNS columns are kept
(the first ones in the file's order, the text column left out), column names are cut to MAX_NAME_CHARS and values
to MAX_VALUE_CHARS characters (an ellipsis marks a cut). Missing cells are left out. Values are kept as text, as
the file shows them; they are untrusted like the message itself, and every page escapes them where drawn.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import pandas as pd

from engage.labels.texts import as_text
from engage.reading.columns import is_id_name

MAX_COLUMNS = 20
MAX_NAME_CHARS = 100
MAX_VALUE_CHARS = 200
MAX_ID_CHARS = 200  # set_messages.source_id is a String(200)
# Exact id names first, in this order; else the first column named like an id ("tweet_id", "Case ID").
_ID_NAMES = ("id", "tweet_id", "message_id", "post_id", "comment_id", "case_id", "row_id")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _key(name: object) -> str:
    return re.sub(r"[\s_\-]+", "", str(name).strip().lower())


def id_column(frame: pd.DataFrame, text_col: str) -> str | None:
    """The file's id column: one named like an id whose filled values are all different; None when there is none."""
    columns = [c for c in frame.columns if c != text_col]
    by_key = {_key(c): c for c in reversed(columns)}
    named = [by_key[_key(n)] for n in _ID_NAMES if _key(n) in by_key]
    for column in named + [c for c in columns if is_id_name(c) and c not in named]:
        values = frame[column].dropna()
        if len(values) and values.is_unique:
            return column
    return None


def context_columns(frame: pd.DataFrame, text_col: str) -> list[str]:
    """The columns kept with each message: every column but the text, the first MAX_COLUMNS."""
    return [c for c in frame.columns if c != text_col][:MAX_COLUMNS]


def row_context(frame: pd.DataFrame, text_col: str) -> list[dict[str, str]]:
    """One dict per row: column name -> value as text, bounded (see the module's docstring)."""
    columns = context_columns(frame, text_col)
    names = [_cut(str(c), MAX_NAME_CHARS) for c in columns]
    rows = []
    for values in frame[columns].itertuples(index=False, name=None):
        cells = ((name, as_text(value)) for name, value in zip(names, values, strict=True))
        rows.append({name: _cut(text, MAX_VALUE_CHARS) for name, text in cells if text.strip()})
    return rows


def row_ids(frame: pd.DataFrame, column: str | None) -> list[str | None]:
    """Each row's id as text (None where missing), or None for every row when the file has no id column."""
    if column is None:
        return [None] * len(frame)
    return [as_text(v)[:MAX_ID_CHARS] or None for v in frame[column].tolist()]


def of_rows(frame: pd.DataFrame, text_col: str) -> tuple[list[str | None], list[dict[str, str]], dict]:
    """(ids, contexts, what the set records about them: id_column and context_columns) for a file's rows."""
    found = id_column(frame, text_col)
    record = {"id_column": None if found is None else str(found),
              "context_columns": [_cut(str(c), MAX_NAME_CHARS) for c in context_columns(frame, text_col)]}
    return row_ids(frame, found), row_context(frame, text_col), record


def picked(context: dict | None, columns: Sequence[str]) -> list[tuple[str, str]]:
    """The (column, value) pairs of a message's context the analyst chose to see, in the chosen order."""
    context = context or {}
    return [(c, context[c]) for c in columns if c in context]
