"""Excel workbooks within a stated budget: a small .xlsx that unpacks to millions of cells (a "zip bomb") is refused
with a clear message before it is parsed; a normal workbook reads as pandas.read_excel reads it."""

from __future__ import annotations

import time
import zipfile
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest
import xlsxwriter

from engage.reading import read_messages, read_table
from engage.reading.excel import MAX_CELLS, MAX_XML_BYTES
from tests.reading.helpers import input_error

_SHEET = "xl/worksheets/sheet1.xml"
_OPEN = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet '
         b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>')
# The refusal took 594 s of a server core; refused before parsing, it is a few seconds even under load.
QUICK_S = 60


def _bomb(folder: Path, rows: int, cols: int) -> Path:
    """A real workbook (xlsxwriter) whose sheet is `rows` x `cols` cells of its one shared string."""
    seed, path = folder / "seed.xlsx", folder / f"bomb-{rows}x{cols}.xlsx"
    book = xlsxwriter.Workbook(str(seed))
    book.add_worksheet().write(0, 0, "spam")
    book.close()
    row = b"<row>" + b'<c t="s"><v>0</v></c>' * cols + b"</row>"
    with zipfile.ZipFile(seed) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            if info.filename != _SHEET:
                out.writestr(info, src.read(info))
        with out.open(_SHEET, "w", force_zip64=True) as sheet:
            sheet.write(_OPEN)
            for _ in range(rows // 1000):
                sheet.write(row * 1000)
            sheet.write(b"</sheetData></worksheet>")
    return path


@pytest.mark.parametrize("rows, cols, says", [
    (200_000, 50, "unpacks to"),                   # the bomb: 10,000,000 cells past MAX_XML_BYTES
    (100_000, 50, f"more than {MAX_CELLS:,} cells"),  # within MAX_XML_BYTES, refused on its cell count
])
def test_an_xlsx_bomb_is_refused_quickly_with_a_clear_message(tmp_path, rows, cols, says):
    path = _bomb(tmp_path, rows, cols)
    assert path.stat().st_size < 2 * 1024 * 1024 and rows * cols > MAX_CELLS
    started = time.perf_counter()
    error = input_error(read_messages, path)
    assert says in str(error) and "CSV" in str(error) and path.name in str(error)
    assert time.perf_counter() - started < QUICK_S
    assert MAX_XML_BYTES < 2**31


def test_a_workbook_within_the_budget_reads_as_pandas_reads_it(tmp_path):
    path = tmp_path / "m.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet()
    rows = [["id", "text", "score", "when", "flag", "", "note"],
            [101966809401540608, "my order is late", 1.5, datetime(2024, 5, 1, 12, 30), True, None, "NA"],
            [7, "=not a formula", 2.0, None, False, None, None],
            [None, None, None, None, None, None, None],
            [8, "café ☕", -3, "text date", None, None, "x"]]
    for r, values in enumerate(rows):
        for c, value in enumerate(values):
            if isinstance(value, datetime):
                sheet.write_datetime(r, c, value, book.add_format({"num_format": "yyyy-mm-dd hh:mm"}))
            elif isinstance(value, str):
                sheet.write_string(r, c, value)
            elif value is not None:
                sheet.write(r, c, value)
    sheet.write_string(7, 0, "")  # a trailing row with an empty cell only
    book.close()
    expected = pd.read_excel(path, sheet_name=0, dtype=str, keep_default_na=False, engine="openpyxl")
    got = read_table(path)
    pd.testing.assert_frame_equal(got, expected.iloc[:len(got)].reset_index(drop=True))
    assert got["id"].tolist()[:2] == ["101966809401540608", "7"]
