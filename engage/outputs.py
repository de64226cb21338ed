"""Scored rows out: formula-safe CSV and Excel."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd

from engage.errors import InputError

# A cell starting with one of these is run as a formula by spreadsheet programs (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# xlsxwriter would turn strings starting with '=' into formulas (and some into links or numbers): keep them text.
_EXCEL_OPTIONS = {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}


def neutralize_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Text cells that a spreadsheet would execute get a leading apostrophe; numbers are left alone."""
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(_safe_cell)
    return out


def _safe_cell(value):
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def to_csv_bytes(frame: pd.DataFrame) -> bytes:
    return neutralize_formulas(frame).to_csv(index=False).encode("utf-8")


def to_excel_bytes(frame: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="xlsxwriter", engine_kwargs={"options": _EXCEL_OPTIONS}) as w:
        frame.to_excel(w, index=False, sheet_name="scored")
    return buf.getvalue()


EXCEL_MAX_ROWS = 1_048_575  # a sheet's 1,048,576 rows, less the header


class ExcelStream:
    """An .xlsx file written chunk by chunk: xlsxwriter's constant_memory mode flushes each row as it goes, so memory
    stays bounded by a chunk. Formula-like text is stored as text, as in to_excel_bytes."""

    def __init__(self, path: str | Path) -> None:
        import xlsxwriter

        self.path = str(path)
        self.book = xlsxwriter.Workbook(self.path, {"constant_memory": True, **_EXCEL_OPTIONS})
        self.sheet = self.book.add_worksheet("scored")
        self.row = 0

    def append(self, frame: pd.DataFrame) -> None:
        if self.row == 0:
            self.sheet.write_row(0, 0, [str(c) for c in frame.columns])
            self.row = 1
        if self.row - 1 + len(frame) > EXCEL_MAX_ROWS:
            self.book.close()
            raise InputError(f"an Excel sheet holds at most {EXCEL_MAX_ROWS:,} rows; this output has more: write "
                             ".csv or .parquet instead", file=self.path)
        for values in frame.itertuples(index=False, name=None):
            self.sheet.write_row(self.row, 0, [_excel_cell(v) for v in values])
            self.row += 1

    def close(self) -> None:
        self.book.close()


def _excel_cell(value):
    """A value xlsxwriter writes as pandas.to_excel would: missing values blank, numpy scalars as numbers."""
    if isinstance(value, str) or value is None:
        return value
    if pd.api.types.is_scalar(value) and pd.isna(value):
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, float, np.integer, np.floating)):
        return value.item() if isinstance(value, np.generic) else value
    return str(value)  # dates, lists (Parquet) and anything else: as they read
