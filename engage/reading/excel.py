"""Excel workbooks (.xlsx): the first sheet, every cell as a string, like a CSV, within a stated budget.

A workbook is a zip of XML: 700 KB can hold 200,000 rows x 50 cells of one shared string (a "zip bomb" that took
pandas 594 s of a server core). So before anything is parsed, the zip's declared uncompressed size is checked
(MAX_XML_BYTES); then the sheets' cell tags are counted in its inflated XML at C speed (a second for
the bomb's 10,000,000 cells, where parsing them takes minutes), and only a sheet within MAX_CELLS is parsed, row
by row, still refused as soon as it passes MAX_CELLS cells or MAX_ROWS rows: the work and memory one workbook may
cost are bounded whatever it claims. The rows are turned into
a table as pandas.read_excel does (openpyxl read-only, then pandas' TextParser with dtype=str).
"""

from __future__ import annotations

import io
import re
import zipfile

import numpy as np
import pandas as pd

from engage.errors import InputError
from engage.reading.rows import drop_trailing_blank_rows

# 1,000,000 cells: 100,000 messages with 10 columns (openpyxl parses some 30,000-100,000 cells a second, so such
# a sheet already takes tens of seconds). 200 MB of XML: such a sheet's cells plus its messages in the shared
# strings, with room to spare. Past either, save the sheet as CSV (read in chunks).
MAX_CELLS = 1_000_000
MAX_ROWS = 1_048_576  # what a sheet holds
MAX_XML_BYTES = 200 * 1024 * 1024
_TOO_BIG = "save the sheet as CSV, which engage reads in chunks, or split the workbook"


def read_excel(data: bytes, name: str, suffix: str) -> pd.DataFrame:
    """The first sheet; strings keep ids exact and "NA" a message, as in CSV."""
    _check_archive(data, name)
    try:
        _count_cells(data, name)  # before openpyxl, whose loading alone already parses the sheets
        rows = _sheet_rows(data, name)
    except InputError:
        raise
    except Exception as exc:  # a damaged workbook fails in many ways (zip, XML, openpyxl); all mean the same
        raise InputError(f"cannot read this Excel file, is it a valid .xlsx? ({type(exc).__name__}: {exc})",
                         file=name) from exc
    if not rows:
        return pd.DataFrame()
    from pandas.io.parsers import TextParser

    frame = TextParser(rows, header=0, dtype=str, keep_default_na=False, skip_blank_lines=False).read()
    return drop_trailing_blank_rows(frame)


def _check_archive(data: bytes, name: str) -> None:
    """The zip's declared uncompressed size, before any of it is inflated (zipfile never inflates past it)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            size = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise InputError(f"cannot read this Excel file, is it a valid .xlsx? ({type(exc).__name__}: {exc})",
                         file=name) from exc
    if size > MAX_XML_BYTES:
        raise InputError(f"this workbook unpacks to {size / 2**20:,.0f} MB, more than engage reads from one "
                         f"workbook ({MAX_XML_BYTES / 2**20:,.0f} MB); {_TOO_BIG}", file=name)


def _sheet_rows(data: bytes, name: str) -> list[list]:
    """The first sheet's rows as pandas' openpyxl reader gives them (trailing empty cells and rows trimmed, rows
    padded to one width), counting cells as they are parsed and stopping past the budget."""
    import openpyxl
    from openpyxl.cell.cell import TYPE_ERROR, TYPE_NUMERIC

    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True, keep_links=False)
    try:
        sheet = book.worksheets[0]
        sheet.reset_dimensions()  # a declared size can be wrong: count what is really there
        rows: list[list] = []
        cells = last = 0
        for number, row in enumerate(sheet.rows, start=1):
            cells += len(row)
            if cells > MAX_CELLS or number > MAX_ROWS:
                raise InputError(f"the first sheet has more than {MAX_CELLS:,} cells (row {number:,}, "
                                 f"{len(row):,} columns), more than engage reads from one workbook; {_TOO_BIG}",
                                 file=name, row=number)
            values = [_cell(c, TYPE_ERROR, TYPE_NUMERIC) for c in row]
            while values and values[-1] == "":
                values.pop()
            if values:
                last = number
            rows.append(values)
    finally:
        book.close()
    rows = rows[:last]
    width = max((len(r) for r in rows), default=0)
    return [r + [""] * (width - len(r)) for r in rows]


# A cell's opening tag, with or without a namespace prefix: <c r="A1" ...>, <c>, <c/>, <x:c ...>.
_CELL_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?c[\s/>]")


def _count_cells(data: bytes, name: str) -> None:
    """The cells of every sheet, counted in their XML as it inflates, block by block: refused past MAX_CELLS
    before openpyxl reads any of it."""
    cells = 0
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for member in archive.infolist():
            if not (member.filename.startswith("xl/worksheets/") and member.filename.endswith(".xml")):
                continue
            carry = b""
            with archive.open(member) as xml:
                while block := xml.read(1 << 20):
                    chunk = carry + block
                    cut = chunk.rfind(b"<")  # a tag cut by the block's end is counted with the next block
                    cut = len(chunk) if cut < 0 else cut
                    cells += len(_CELL_TAG.findall(chunk, 0, cut))
                    carry = chunk[cut:]
                    if cells > MAX_CELLS:
                        raise InputError(f"the workbook's sheets have more than {MAX_CELLS:,} cells, more than "
                                         f"engage reads from one workbook; {_TOO_BIG}", file=name)
            cells += len(_CELL_TAG.findall(carry))


def _cell(cell, type_error: str, type_numeric: str):
    """A cell's value as pandas' openpyxl reader converts it: empty "", errors NaN, whole numbers int."""
    value = cell.value
    if value is None:
        return ""
    if cell.data_type == type_error:
        return np.nan
    if cell.data_type == type_numeric:
        whole = int(value)
        return whole if whole == value else float(value)
    return value
