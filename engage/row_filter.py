"""Which scored rows a search and filters keep: the Score page's "find a message" rule, usable by any front end.

A search is words and "quoted phrases": a row matches when its text holds every one of them, ignoring case (a
word matches inside longer words: "refund" finds "refunds"). Filters: a score range (both ends included), flagged
or not, and for any column a set of accepted values (compared as the text the cell shows; an empty cell is "").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from engage.contract import FLAG_COL, SCORE_COL

_PHRASE = re.compile(r'"([^"]*)"')


@dataclass(frozen=True)
class RowFilter:
    search: str = ""
    score_min: float = 0.0
    score_max: float = 1.0
    flagged: bool | None = None                            # None: flagged or not
    values: tuple[tuple[str, tuple[str, ...]], ...] = ()   # (column, accepted values); an empty tuple accepts all

    @property
    def active(self) -> bool:
        return self != RowFilter()


def search_terms(search: str) -> list[str]:
    """The "quoted phrases" and the words outside quotes, lower-cased, empty ones dropped."""
    phrases = [p.strip().lower() for p in _PHRASE.findall(search)]
    words = _PHRASE.sub(" ", search).replace('"', " ").lower().split()
    return [t for t in phrases + words if t]


def cell_text(values: pd.Series) -> pd.Series:
    """Cells as the text a filter compares: missing ones "", whole floats without ".0"."""
    if pd.api.types.is_float_dtype(values):
        whole = values.notna() & (np.mod(values.fillna(0), 1) == 0)
        shown = values.astype(object).where(~whole, values.fillna(0).astype("int64"))
        return shown.where(values.notna(), "").astype(str)
    return values.astype(object).where(values.notna(), "").astype(str)


def matches(frame: pd.DataFrame, text_col: str, flt: RowFilter) -> np.ndarray:
    """A bool per row of `frame` (the scoring contract's columns and the input's): the rows `flt` keeps."""
    keep = np.ones(len(frame), dtype=bool)
    terms = search_terms(flt.search)
    if terms:
        texts = cell_text(frame[text_col]).str.lower()
        for term in terms:
            keep &= texts.str.contains(term, regex=False).to_numpy()
    if flt.score_min > 0.0 or flt.score_max < 1.0:
        scores = frame[SCORE_COL].to_numpy(dtype=float)
        keep &= (scores >= flt.score_min) & (scores <= flt.score_max)
    if flt.flagged is not None:
        keep &= frame[FLAG_COL].to_numpy(dtype=bool) == flt.flagged
    for column, accepted in flt.values:
        if accepted:
            keep &= cell_text(frame[column]).isin(set(accepted)).to_numpy()
    return keep


def value_choices(values: pd.Series, most: int) -> list[str]:
    """A column's distinct values as a filter offers them: the most frequent first, at most `most`."""
    return cell_text(values).value_counts(sort=True).index[:most].tolist()
