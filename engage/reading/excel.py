"""Excel workbooks (.xlsx): the first sheet, every cell as a string, like a CSV."""

from __future__ import annotations

import io

import pandas as pd

from engage.errors import InputError
from engage.reading.rows import drop_trailing_blank_rows


def read_excel(data: bytes, name: str, suffix: str) -> pd.DataFrame:
    """The first sheet; strings keep ids exact and "NA" a message, as in CSV."""
    try:
        frame = pd.read_excel(io.BytesIO(data), sheet_name=0, dtype=str, keep_default_na=False,
                              engine="openpyxl")
    except Exception as exc:  # a damaged workbook fails in many ways (zip, XML, openpyxl); all mean the same
        raise InputError(f"cannot read this Excel file, is it a valid .xlsx? ({type(exc).__name__}: {exc})",
                         file=name) from exc
    return drop_trailing_blank_rows(frame)
