"""Which row is which: one scheme for every place that names a row of a file (the Score page's table, its notes and
its explain chooser, the labeling card, the CLI).

The file's own id column when it has one (named like an id, every cell filled and no two alike, so an id names one
row: an id Excel mangled into "5.70306E+17" repeats and is not used), else the row number a person sees in the file
(engage.reading's rule: under a header the first message is row 2, in JSON Lines and Parquet it is record 1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from engage.reading.columns import is_id_name
from engage.reading.messages import Messages

ROW = "row"  # the name of the row-number column when the file has no id column


@dataclass(frozen=True)
class RowIds:
    """One id per message of a Messages, as text, and what they are."""

    column: str            # the file's id column, or ROW
    values: np.ndarray     # str per message, in file order
    from_file: bool        # True: the file's own id column; False: row numbers

    @property
    def said(self) -> str:
        """What the ids are, in words (for captions and help texts)."""
        if self.from_file:
            return f"rows are named by the file's id column '{self.column}'"
        return "rows are numbered as in the file: the header is row 1, the first message row 2" if \
            self.values.size and self.values[0] == "2" else "rows are numbered from 1, as the file's records"

    def of(self, i: int) -> str:
        return str(self.values[int(i)])

    def label(self, i: int) -> str:
        """Row i as a person finds it in the file: "tweet_id 570306133677760513", "row 204"."""
        return f"{self.column} {self.of(i)}"

    def find(self, wanted: str) -> int | None:
        """The position of the row whose id is `wanted` (surrounding spaces ignored), or None."""
        hits = np.flatnonzero(self.values == str(wanted).strip())
        return int(hits[0]) if hits.size else None


def id_column(frame: pd.DataFrame, exclude: tuple[str | None, ...] = ()) -> str | None:
    """The file's id column: named like an id, every cell filled, no two alike; the first such column."""
    for column in frame.columns:
        if column in exclude or not is_id_name(column):
            continue
        values = frame[column]
        if values.notna().all() and values.astype(str).str.strip().ne("").all() and values.is_unique:
            return column
    return None


def _as_text(values: pd.Series) -> np.ndarray:
    # Whole floats (an integer id column read with a gap) are shown without ".0".
    if pd.api.types.is_float_dtype(values) and np.all(np.mod(values.to_numpy(), 1) == 0):
        values = values.astype("int64")
    return values.astype(str).str.strip().to_numpy(dtype=object)


def row_ids(messages: Messages) -> RowIds:
    """The ids of messages' rows: its id column's values, else the rows' numbers in the file."""
    column = id_column(messages.frame, exclude=(messages.text_col, messages.label_col))
    if column is not None:
        return RowIds(column, _as_text(messages.frame[column]), True)
    numbers = np.arange(len(messages.texts)) + messages.first_row + messages.row_offset
    return RowIds(ROW, numbers.astype(str).astype(object), False)
