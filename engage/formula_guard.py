"""The CSV formula guard and its inverse: no cell of a CSV/TSV engage writes starts with a character a spreadsheet
runs as a formula, and engage reads its own exports back to the exact texts.

OWASP's CSV injection guidance (https://owasp.org/www-community/attacks/CSV_Injection): no cell may begin with
= + - @ tab or carriage return; prefix such a cell with a single quote. Deciding which of those a spreadsheet would
really evaluate ("@brand hi" is not a formula, "@A1 B2" is an intersection in Excel) would need each program's
formula grammar, so every such cell is guarded. To make the guard reversible, a cell that already starts with
quotes before one of those characters gets one more quote; reading drops exactly one quote from any cell of the
form quote(s) + trigger character. The two are inverse on every string. Header cells are cells: guarded and
unguarded the same way.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pandas is imported where a frame is guarded: the CLI's parser reads PLAIN_CSV without it
    import pandas as pd

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

# The other kind of CSV: every text exactly as in the file (a tweet "@brand hi" stays "@brand hi"), for programs
# that read CSV as data (pandas, R, a database load). The one place that says what it is and what it risks: the
# app's download buttons and the CLI's --plain-csv show these words.
PLAIN_CSV = "CSV for other programs (texts exactly as in the file)"
PLAIN_CSV_RISK = ("Not for spreadsheets: a cell starting with = + - or @ may run as a formula if this file is opened "
                  "in Excel, LibreOffice or Google Sheets. Use the spreadsheet-safe CSV or Excel for that.")
_GUARDED = re.compile(r"^'*[=+\-@\t\r]")       # what gets a quote on the way out
_UNGUARD = re.compile(r"^'(?='*[=+\-@\t\r])")  # the one quote taken off on the way in


def guard(value):
    """A text cell a spreadsheet would run, with a leading quote; other values unchanged."""
    if isinstance(value, str) and _GUARDED.match(value):
        return "'" + value
    return value


def _text_columns(frame: pd.DataFrame) -> list:
    import pandas as pd

    return [c for c in frame.columns if frame[c].dtype == object or pd.api.types.is_string_dtype(frame[c])]


def unguard(value):
    """The inverse of guard: one quote taken off a text of the form quote(s) + trigger; other values unchanged."""
    if isinstance(value, str) and value.startswith("'"):
        return _UNGUARD.sub("", value, count=1)
    return value


def guard_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy with every text cell guarded, the header's cells too (a column named =HYPERLINK(...) is a cell a
    spreadsheet runs like any other); numbers are left alone."""
    out = frame.copy()
    for column in _text_columns(out):
        out[column] = out[column].map(guard)
    out.columns = [guard(c) for c in out.columns]
    return out


def guard_header(columns) -> list:
    """The header row as guard_frame writes it (for a file written without any row)."""
    return [guard(c) for c in columns]


def for_csv(frame: pd.DataFrame, spreadsheet_safe: bool = True) -> pd.DataFrame:
    """The frame as a CSV/TSV writer writes it: guarded (the default, safe to open in a spreadsheet), or exactly as
    it is (PLAIN_CSV, for other programs)."""
    return guard_frame(frame) if spreadsheet_safe else frame


def header_for_csv(columns, spreadsheet_safe: bool = True) -> list:
    return guard_header(columns) if spreadsheet_safe else list(columns)


def unguard_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The texts as they were before guard_frame, header included (in place; returns the frame). Only cells that
    start with a quote are looked at, so a file without any costs one vectorized check per column."""
    if any(isinstance(c, str) and c.startswith("'") for c in frame.columns):
        frame.columns = [unguard(c) for c in frame.columns]
    for column in _text_columns(frame):
        values = frame[column]
        quoted = values.str.startswith("'", na=False)
        if quoted.any():
            frame.loc[quoted, column] = values[quoted].str.replace(_UNGUARD, "", regex=True)
    return frame
