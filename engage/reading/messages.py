"""Messages: a file (or a table already read) becomes texts, optional 0/1 labels and the rows of empty ones."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pandas as pd

from engage.errors import InputError
from engage.reading.columns import choose_text_column, pick_label_column, resolve_column
from engage.reading.formats import first_row_number, iter_frames, read_table, suffix_of
from engage.reading.label_values import is_missing, normalize_labels
from engage.reading.sources import existing_path, source_name


@dataclass
class Messages:
    """One file, or one chunk of it, as messages, with the row numbers a person sees in the file."""

    frame: pd.DataFrame        # every input column as read; index runs from row_offset
    text_col: str
    label_col: str | None
    texts: list[str]           # one per row, "" for empty/missing cells
    labels: np.ndarray | None  # int8 0/1 when label_col is set
    empty_rows: list[int]      # row numbers (see the engage.reading docstring) of empty messages
    source: str                # file name for messages
    row_offset: int = 0        # for chunks: index of this chunk's first data row in the file
    first_row: int = 2         # row number of the file's first data row: 2 under a header, 1 for JSON/Parquet
    # True when no column name said "text": text_col is the column with the longest texts, worth telling the user
    text_col_guessed: bool = False
    # Labels from the label store: each row's weight for choosing the threshold (engage/labels/picks.py), None when
    # every row counts the same.
    threshold_weights: np.ndarray | None = None

    def row_number(self, i: int) -> int:
        """The row number a person would look for, of this chunk's i-th message."""
        return self.first_row + self.row_offset + i


def _text(value: object) -> str:
    """A cell as message text; missing or blank cells are "" so that they are counted as empty messages."""
    if is_missing(value):
        return ""
    text = value if isinstance(value, str) else str(value)
    return text if text.strip() else ""


def _messages(frame: pd.DataFrame, *, source: str, text_col: str | None, label_col: str | None,
              detect_labels: bool, require_labels: bool, row_offset: int, first_row: int,
              text_col_guessed: bool = False) -> Messages:
    """text_col_guessed carries the first chunk's guess to the later chunks, which get its column by name."""
    frame.index = pd.RangeIndex(row_offset, row_offset + len(frame))
    if text_col is None:
        text_col, text_col_guessed = choose_text_column(frame, source=source)
    else:
        text_col = resolve_column(frame, text_col, source)
    label_col = pick_label_column(frame, text_col, label_col, source, detect_labels, require_labels)
    labels = None if label_col is None else normalize_labels(
        frame[label_col], source=source, column=label_col, row_offset=row_offset, first_row=first_row)
    texts = [_text(v) for v in frame[text_col].tolist()]
    empty_rows = [first_row + row_offset + i for i, text in enumerate(texts) if not text]
    return Messages(frame=frame, text_col=text_col, label_col=label_col, texts=texts, labels=labels,
                    empty_rows=empty_rows, source=source, row_offset=row_offset, first_row=first_row,
                    text_col_guessed=text_col_guessed)


def _no_rows(source: str) -> InputError:
    return InputError("the file has a header row but no data rows", file=source)


def read_messages(source: str | Path | bytes | BinaryIO, *, name: str | None = None,
                  text_col: str | None = None, label_col: str | None = None, require_labels: bool = False,
                  detect_labels: bool = True) -> Messages:
    """The whole file as messages: text column (detected or given), optional 0/1 labels, empty rows listed."""
    label = source_name(source, name)
    return messages_from_table(read_table(source, name=label), name=label, text_col=text_col, label_col=label_col,
                               require_labels=require_labels, detect_labels=detect_labels)


def messages_from_table(frame: pd.DataFrame, *, name: str, text_col: str | None = None, label_col: str | None = None,
                        require_labels: bool = False, detect_labels: bool = True) -> Messages:
    """Messages from a table that read_table returned for the file `name` (the app reads an upload once, for its
    preview and for scoring). The table is used as is, not copied."""
    if frame.empty:
        raise _no_rows(name)
    return _messages(frame, source=name, text_col=text_col, label_col=label_col, detect_labels=detect_labels,
                     require_labels=require_labels, row_offset=0, first_row=first_row_number(suffix_of(name)))


def iter_messages(path: str | Path, *, chunk_size: int = 10_000, text_col: str | None = None,
                  label_col: str | None = None, detect_labels: bool = True) -> Iterator[Messages]:
    """Messages in chunks with bounded memory; columns chosen on the first chunk are kept; rows stay right."""
    name = str(path)
    suffix = suffix_of(name)
    path = existing_path(path)
    offset = 0
    guessed = False
    for frame in iter_frames(path, name, suffix, chunk_size):
        if frame.empty:
            continue
        chunk = _messages(frame, source=name, text_col=text_col, label_col=label_col,
                          detect_labels=detect_labels, require_labels=False, row_offset=offset,
                          first_row=first_row_number(suffix), text_col_guessed=guessed)
        text_col, label_col, detect_labels, guessed = chunk.text_col, chunk.label_col, False, chunk.text_col_guessed
        offset += len(frame)
        yield chunk
    if offset == 0:
        raise _no_rows(name)
