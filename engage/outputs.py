"""Scored rows out: formula-safe CSV and Excel downloads, and `TableWriter`, the one chunked writer behind every
output file (CSV, TSV, JSON Lines, Parquet, Excel).

A TableWriter never leaves a half-written file where the result belongs: it writes to a hidden file beside the
target and renames it over the target only when the last chunk is in (an error or Ctrl-C removes the partial
file and leaves any previous result untouched). Its columns are fixed by the first chunk; a later chunk with other
columns is a bug of the caller, refused instead of written under the wrong header.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from engage.errors import InputError
from engage.formula_guard import for_csv, guard_frame, header_for_csv

# xlsxwriter would turn strings starting with '=' into formulas (and some into links or numbers): keep them text.
_EXCEL_OPTIONS = {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}


# RFC 4180's line end; it also makes the writer quote a cell holding a lone CR, which a "\n" file would leave bare
# and every reader would split into two rows.
CSV_LINE_END = "\r\n"


def neutralize_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Text cells that a spreadsheet would execute get a leading apostrophe, reversibly (engage.formula_guard:
    engage's readers take it off again); numbers are left alone."""
    return guard_frame(frame)


def to_csv_bytes(frame: pd.DataFrame, spreadsheet_safe: bool = True) -> bytes:
    """CSV bytes, formula-guarded unless spreadsheet_safe is False (engage.formula_guard.PLAIN_CSV)."""
    return for_csv(frame, spreadsheet_safe).to_csv(index=False, lineterminator=CSV_LINE_END).encode("utf-8")


def to_excel_bytes(frame: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="xlsxwriter", engine_kwargs={"options": _EXCEL_OPTIONS}) as w:
        frame.to_excel(w, index=False, sheet_name="scored")
    return buf.getvalue()


EXCEL_MAX_ROWS = 1_048_575  # a sheet's 1,048,576 rows, less the header
OUTPUT_SUFFIXES = (".csv", ".tsv", ".jsonl", ".parquet", ".xlsx")


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

    def discard(self) -> None:
        """Stop without finishing the workbook (its file is removed by the caller)."""
        try:
            self.book.close()
        except Exception:  # an unfinished workbook may not close cleanly; it is thrown away anyway
            pass


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


class TableWriter:
    """One output file written chunk by chunk, with memory bounded by a chunk. Use as a context manager, or call
    close() (publish the file) or abort() (remove what was written) yourself. CSV and TSV are formula-guarded
    unless spreadsheet_safe is False (engage.formula_guard.PLAIN_CSV)."""

    def __init__(self, path: str | Path, spreadsheet_safe: bool = True) -> None:
        self.path = Path(path)
        suffix = self.path.suffix.lower()
        if suffix not in OUTPUT_SUFFIXES:
            raise InputError(f"cannot write '{suffix}' files; use one of {', '.join(OUTPUT_SUFFIXES)}",
                             file=str(self.path))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".partial", dir=self.path.parent)
        os.close(fd)
        self.tmp = Path(tmp)
        self.columns: list[str] | None = None
        self.rows = 0
        self._sink = (_DelimitedSink(self.tmp, _SEPARATORS[suffix], spreadsheet_safe) if suffix in _SEPARATORS
                      else _SINKS[suffix](self.tmp))

    def write(self, frame: pd.DataFrame) -> None:
        if self.columns is None:
            self.columns = [str(c) for c in frame.columns]
        elif [str(c) for c in frame.columns] != self.columns:
            raise ValueError(f"chunk columns {list(frame.columns)} differ from the file's {self.columns}")
        self._sink.write(frame)
        self.rows += len(frame)

    def close(self) -> Path:
        """Finish the file and put it in place (replacing an older one at once)."""
        try:
            self._sink.close(self.columns or [])
        except BaseException:
            self.abort()
            raise
        os.replace(self.tmp, self.path)
        return self.path

    def abort(self) -> None:
        self._sink.discard()
        self.tmp.unlink(missing_ok=True)

    def __enter__(self) -> TableWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


class _DelimitedSink:
    def __init__(self, path: Path, sep: str, spreadsheet_safe: bool = True) -> None:
        self.file = open(path, "w", encoding="utf-8", newline="")
        self.sep = sep
        self.header = True
        self.safe = spreadsheet_safe

    def write(self, frame: pd.DataFrame) -> None:
        for_csv(frame, self.safe).to_csv(self.file, header=self.header, index=False, sep=self.sep,
                                         lineterminator=CSV_LINE_END)
        self.header = False

    def close(self, columns: Sequence[str]) -> None:
        if self.header and columns:  # no chunk at all: still a header, so the file says what it would hold
            pd.DataFrame(columns=header_for_csv(columns, self.safe)).to_csv(self.file, index=False, sep=self.sep,
                                                       lineterminator=CSV_LINE_END)
        self.file.close()

    def discard(self) -> None:
        self.file.close()


class _JsonLinesSink:
    def __init__(self, path: Path) -> None:
        self.file = open(path, "w", encoding="utf-8")

    def write(self, frame: pd.DataFrame) -> None:
        for record in frame.to_dict(orient="records"):
            self.file.write(json.dumps({k: _json_value(v) for k, v in record.items()}, ensure_ascii=False,
                                       default=str) + "\n")

    def close(self, columns: Sequence[str]) -> None:
        self.file.close()

    def discard(self) -> None:
        self.file.close()


def _json_value(value):
    """Missing values as null (NaN is not JSON), numpy scalars as Python numbers."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and np.isnan(value):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    return value


class _ParquetSink:
    """Each chunk goes to a part file first: a column that is empty (null) in the first chunk, or numbers in one
    chunk and text in the next, gets one type for the whole file when the parts are joined at the end."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.parts_dir = Path(tempfile.mkdtemp(prefix=f"{path.name}.parts.", dir=path.parent))
        self.parts: list[Path] = []

    def write(self, frame: pd.DataFrame) -> None:
        import pyarrow.parquet as pq

        part = self.parts_dir / f"{len(self.parts):06d}.parquet"
        pq.write_table(_arrow_table(frame), part)
        self.parts.append(part)

    def close(self, columns: Sequence[str]) -> None:
        import pyarrow.parquet as pq

        try:
            schema = _joined_schema([pq.read_schema(p) for p in self.parts], columns)
            with pq.ParquetWriter(self.path, schema) as writer:
                for part in self.parts:
                    writer.write_table(_cast(pq.read_table(part), schema))
        finally:
            self.discard()

    def discard(self) -> None:
        shutil.rmtree(self.parts_dir, ignore_errors=True)


def _arrow_table(frame: pd.DataFrame):
    import pyarrow as pa

    try:
        return pa.Table.from_pandas(frame, preserve_index=False).replace_schema_metadata(None)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # a column of mixed Python types (JSON Lines): keep it as text
        mixed = {c: frame[c].map(lambda v: v if v is None or (isinstance(v, float) and np.isnan(v)) else str(v))
                 for c in frame.columns if frame[c].dtype == object}
        return pa.Table.from_pandas(frame.assign(**mixed), preserve_index=False).replace_schema_metadata(None)


def _joined_schema(schemas: list, columns: Sequence[str]):
    import pyarrow as pa

    fields = []
    for name in columns:
        types = [s.field(name).type for s in schemas if name in s.names]
        fields.append(pa.field(name, _joined_type(types)))
    return pa.schema(fields)


def _joined_type(types: list):
    import pyarrow as pa

    known = [t for t in types if not pa.types.is_null(t)]
    if not known:
        return pa.string() if types else pa.null()
    if all(t == known[0] for t in known):
        return known[0]
    if all(pa.types.is_integer(t) or pa.types.is_floating(t) for t in known):
        return pa.float64()
    return pa.string()


def _cast(table, schema):
    import pyarrow as pa
    import pyarrow.compute as pc

    columns = []
    for field in schema:
        column = table.column(field.name)
        if column.type != field.type:
            column = pc.cast(column, field.type) if not pa.types.is_nested(column.type) else \
                pa.array([None if v is None else str(v) for v in column.to_pylist()], type=field.type)
        columns.append(column)
    return pa.Table.from_arrays(columns, schema=schema)


class _ExcelSink:
    def __init__(self, path: Path) -> None:
        self.stream = ExcelStream(path)

    def write(self, frame: pd.DataFrame) -> None:
        self.stream.append(frame)

    def close(self, columns: Sequence[str]) -> None:
        if self.stream.row == 0 and columns:
            self.stream.append(pd.DataFrame(columns=list(columns)))
        self.stream.close()

    def discard(self) -> None:
        self.stream.discard()


_SEPARATORS = {".csv": ",", ".tsv": "\t"}
_SINKS = {".jsonl": _JsonLinesSink, ".parquet": _ParquetSink, ".xlsx": _ExcelSink}
