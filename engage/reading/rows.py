"""Row bookkeeping shared by the readers: blank rows at the end of a table, and tables cut into chunks."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np
import pandas as pd


def _blank_rows(frame: pd.DataFrame) -> np.ndarray:
    return (frame.isna() | frame.eq("")).all(axis=1).to_numpy()


def drop_trailing_blank_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Blank lines at the very end are not messages; blank rows inside the file are (empty ones, reported)."""
    kept = np.flatnonzero(~_blank_rows(frame))
    return frame.iloc[: kept[-1] + 1 if len(kept) else 0]


def without_trailing_blanks(frames: Iterable[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    """The chunks as they come, the last one without its trailing blank rows (only it can hold the file's end)."""
    previous = None
    for frame in frames:
        if previous is not None:
            yield previous
        previous = frame
    if previous is not None:
        yield drop_trailing_blank_rows(previous)


def slices(frame: pd.DataFrame, chunk_size: int) -> Iterator[pd.DataFrame]:
    """A table read whole (Excel, a JSON array) served in the same chunks as a streamed one."""
    for start in range(0, len(frame), chunk_size):
        yield frame.iloc[start:start + chunk_size]
