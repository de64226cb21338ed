"""Label values: 0/1 from the spellings people use (1/0, true/false, yes/no, engage/not engage, ...)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from engage.errors import InputError

_POSITIVE = ("1", "1.0", "true", "yes", "engage", "engageable")
_NEGATIVE = ("0", "0.0", "false", "no", "not engage", "not engageable", "non engage", "non engageable")
LABEL_VALUES = {**dict.fromkeys(_POSITIVE, 1), **dict.fromkeys(_NEGATIVE, 0)}
_ACCEPTED = "1/0, true/false, yes/no, engage/not engage, engageable/non-engageable"


def is_missing(value: object) -> bool:
    """None, NaN or NA; a list cell (Parquet) is a value, not missing."""
    return value is None or (np.ndim(value) == 0 and bool(pd.isna(value)))


def label_key(value: object) -> str:
    """The spelling looked up in LABEL_VALUES: lower case, '_' and '-' as spaces, 1.0 as 1; "" when missing."""
    if is_missing(value):
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        value = int(value)  # Excel and Parquet give 1.0
    return re.sub(r"[\s_\-]+", " ", str(value).strip().lower())


def _rows_text(rows: list[int], limit: int = 10) -> str:
    shown = ", ".join(str(r) for r in rows[:limit])
    return shown + (f" and {len(rows) - limit} more" if len(rows) > limit else "")


def normalize_labels(values: pd.Series, *, source: str, column: str, row_offset: int = 0,
                     first_row: int = 2) -> np.ndarray:
    """int8 0/1 from 1/0, true/false, yes/no, engage/not engage, engageable/non-engageable (any case)."""
    keys = [label_key(v) for v in values.tolist()]
    base = first_row + row_offset
    empty = [base + i for i, k in enumerate(keys) if k == ""]
    unknown = [(base + i, raw) for i, (k, raw) in enumerate(zip(keys, values.tolist(), strict=True))
               if k and k not in LABEL_VALUES]
    if empty and not (unknown and unknown[0][0] < empty[0]):  # report the problem the file shows first
        raise InputError(f"empty label in row(s) {_rows_text(empty)}; every row needs a label ({_ACCEPTED})",
                         file=source, row=empty[0], column=column)
    if unknown:
        distinct = list(dict.fromkeys(str(raw).strip() for _, raw in unknown))
        listed = ", ".join(f"'{v}'" for v in distinct[:10]) + (" ..." if len(distinct) > 10 else "")
        raise InputError(f"unknown label value(s) {listed} (first in row {unknown[0][0]}); "
                         f"accepted: {_ACCEPTED}", file=source, row=unknown[0][0], column=column)
    return np.fromiter((LABEL_VALUES[k] for k in keys), dtype=np.int8, count=len(keys))
