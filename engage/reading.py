"""Reading messages from user files: formats, encodings, delimiters, columns, labels, and clear errors.

Every problem the user can fix becomes one InputError naming the file, and the row and column where known.
Row numbers are what a person sees: in CSV/TSV/Excel the header is row 1 and the first message row 2; in JSON
Lines a row is a line; in Parquet and JSON arrays a row is the 1-based record number.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pandas as pd

from engage.errors import InputError

SUPPORTED_SUFFIXES: tuple[str, ...] = (
    '.csv', '.tsv', '.txt', '.xlsx', '.parquet', '.jsonl', '.json', '.ndjson',
)
_CSV_SUFFIXES = ('.csv', '.tsv', '.txt')
_JSON_SUFFIXES = ('.jsonl', '.json', '.ndjson')

# Looked up case-insensitively, ignoring spaces, '_' and '-'; earlier names win when several exist.
TEXT_COLUMN_NAMES: tuple[str, ...] = (
    "text", "message", "messages", "cleantext", "clean_text", "tweet", "tweet_text", "full_text", "body",
    "content", "comment", "review", "post", "msg", "sentence",
)
LABEL_COLUMN_NAMES: tuple[str, ...] = (
    "engage", "engageable", "is_engageable", "label", "labels", "target", "y", "class", "complaint",
)

_POSITIVE = ("1", "1.0", "true", "yes", "engage", "engageable")
_NEGATIVE = ("0", "0.0", "false", "no", "not engage", "not engageable", "non engage", "non engageable")
_LABEL_VALUES = {**dict.fromkeys(_POSITIVE, 1), **dict.fromkeys(_NEGATIVE, 0)}
_ACCEPTED = "1/0, true/false, yes/no, engage/not engage, engageable/non-engageable"

_DELIMITERS = ",;\t|"
# A header without any delimiter means one column; the unit separator never occurs in messages.
_SINGLE_COLUMN_SEP = "\x1f"
_BLOCK = 1 << 20
_SAMPLE_BYTES = 64 * 1024
_DETECT_ROWS = 2000


@dataclass
class Messages:
    frame: pd.DataFrame        # every input column as read; index runs from row_offset
    text_col: str
    label_col: str | None
    texts: list[str]           # one per row, "" for empty/missing cells
    labels: np.ndarray | None  # int8 0/1 when label_col is set
    empty_rows: list[int]      # row numbers (see module docstring) of empty messages
    source: str                # file name for messages
    row_offset: int = 0        # for chunks: index of this chunk's first data row in the file
    first_row: int = 2         # row number of the file's first data row: 2 under a header, 1 for JSON/Parquet

    def row_number(self, i: int) -> int:
        """The row number a person would look for, of this chunk's i-th message."""
        return self.first_row + self.row_offset + i


# ---------------------------------------- sources

def _source_name(source: str | Path | bytes | BinaryIO, name: str | None) -> str:
    if name:
        return str(name)
    if isinstance(source, (str, Path)):
        return str(source)
    given = getattr(source, "name", None)
    if isinstance(given, str) and given:
        return given
    raise InputError("a file name is needed to tell the format of uploaded bytes (like 'messages.csv')")


def _suffix(name: str) -> str:
    suffix = Path(name).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        shown = f"'{suffix}'" if suffix else "none"
        raise InputError(f"unsupported file type {shown}; use one of {', '.join(SUPPORTED_SUFFIXES)}",
                         file=name)
    return suffix


def _first_row(suffix: str) -> int:
    return 1 if suffix in _JSON_SUFFIXES or suffix == ".parquet" else 2


def _existing_path(path: str | Path) -> Path:
    path = Path(path)
    if not path.is_file():
        raise InputError("no such file", file=str(path))
    return path


def _read_bytes(source: str | Path | bytes | BinaryIO) -> bytes:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source)
    if isinstance(source, (str, Path)):
        return _existing_path(source).read_bytes()
    if getattr(source, "seekable", lambda: False)():
        source.seek(0)  # an upload may have been read before (for a preview)
    return source.read()


def _file_blocks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while block := handle.read(_BLOCK):
            yield block


# ---------------------------------------- encoding

def _detect_encoding(blocks: Iterable[bytes], name: str) -> str:
    """utf-8 (BOM or not) if every byte fits, else cp1252, else latin-1; one pass, bounded memory.

    latin-1 decodes any byte, so text that fits nothing is recognised by NUL bytes instead (UTF-16 without a
    byte-order mark, Excel or other binary files), and refused.
    """
    utf8 = codecs.getincrementaldecoder("utf-8")("strict")
    utf8_ok = cp1252_ok = True
    offset = lines = 0
    head = b""
    for block in blocks:
        if not head:
            head = block[:256]
            if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
                return "utf-16"
        _refuse_nul(block, offset, lines, head, name)
        utf8_ok = utf8_ok and _decodes(utf8.decode, block)
        cp1252_ok = cp1252_ok and _decodes(lambda b: b.decode("cp1252"), block)
        offset += len(block)
        lines += block.count(b"\n")
    utf8_ok = utf8_ok and _decodes(lambda b: utf8.decode(b, final=True), b"")
    return "utf-8-sig" if utf8_ok else "cp1252" if cp1252_ok else "latin-1"


def _decodes(decode, block: bytes) -> bool:
    try:
        decode(block)
    except UnicodeDecodeError:
        return False
    return True


def _refuse_nul(block: bytes, offset: int, lines: int, head: bytes, name: str) -> None:
    at = block.find(b"\x00")
    if at < 0:
        return
    row = lines + block.count(b"\n", 0, at) + 1
    raise InputError(f"cannot read the file as text: NUL byte at byte offset {offset + at}; "
                     f"{_binary_hint(head)}", file=name, row=row)


def _binary_hint(head: bytes) -> str:
    if head.startswith(b"PK\x03\x04"):
        return "it looks like an Excel (.xlsx) or zip file: give it the .xlsx extension"
    if head.startswith(b"PAR1"):
        return "it looks like a Parquet file: give it the .parquet extension"
    half = len(head) // 2
    if half and max(head[0::2].count(0), head[1::2].count(0)) > half * 0.6:
        return "it looks like UTF-16 without a byte-order mark: save it as UTF-8"
    return "it looks like a binary file, not text: save it as UTF-8 CSV"


# ---------------------------------------- CSV / TSV

def _sniff_delimiter(sample: str, suffix: str) -> str:
    """Tab for .tsv; else the delimiter the header uses, asking csv.Sniffer only when it uses several."""
    if suffix == ".tsv":
        return "\t"
    header = sample.lstrip("\ufeff").split("\n", 1)[0]
    counts = {d: header.count(d) for d in _DELIMITERS if d in header}
    if not counts:
        return _SINGLE_COLUMN_SEP
    if len(counts) == 1:
        return next(iter(counts))
    whole_lines = sample.rsplit("\n", 1)[0] if "\n" in sample else sample
    try:
        sniffed = csv.Sniffer().sniff(whole_lines, delimiters=_DELIMITERS).delimiter
    except csv.Error:
        sniffed = ""
    return sniffed if sniffed in counts else max(counts, key=counts.get)


def _csv_options(sep: str, encoding: str) -> dict:
    # dtype=str keeps ids like 101966809401540608 exact and "NA" a message; blank lines stay rows so that row
    # numbers match what a spreadsheet shows.
    return dict(sep=sep, encoding=encoding, dtype=str, keep_default_na=False, skip_blank_lines=False,
                engine="c")


def _parse_error(exc: Exception, name: str, sep: str) -> InputError:
    text = str(exc)
    found = re.search(r"(line|row) (\d+)", text)
    row = None
    if found:
        # pandas counts lines from 1 in "Expected N fields in line L" but from 0 in "starting at row R"
        row = int(found.group(2)) + (1 if found.group(1) == "row" else 0)
    fields = re.search(r"Expected (\d+) fields in line \d+, saw (\d+)", text)
    if fields:
        message = (f"expected {fields.group(1)} fields but found {fields.group(2)} "
                   f"(delimiter {sep!r}; is a field with a delimiter not quoted?)")
    elif "EOF inside string" in text:
        message = "a quoted field is never closed (missing \" )"
    else:
        message = f"cannot parse the file: {text.strip()}"
    return InputError(message, file=name, row=row)


def _parsed(chunks: Iterable[pd.DataFrame], name: str, sep: str) -> Iterator[pd.DataFrame]:
    iterator = iter(chunks)
    while True:
        try:
            frame = next(iterator)
        except StopIteration:
            return
        except pd.errors.ParserError as exc:
            raise _parse_error(exc, name, sep) from exc
        yield frame


def _csv_layout(sample_bytes: bytes, encoding: str, suffix: str, name: str) -> str:
    sample = sample_bytes.decode(encoding, errors="ignore")  # the sample may end inside a character
    if not sample.strip("\ufeff \t\r\n"):
        raise InputError("the file is empty", file=name)
    return _sniff_delimiter(sample, suffix)


def _read_csv(data: bytes, name: str, suffix: str) -> pd.DataFrame:
    encoding = _detect_encoding([data], name)
    sep = _csv_layout(data[:_SAMPLE_BYTES], encoding, suffix, name)
    try:
        frame = pd.read_csv(io.BytesIO(data), **_csv_options(sep, encoding))
    except pd.errors.ParserError as exc:
        raise _parse_error(exc, name, sep) from exc
    return _drop_trailing_blank_rows(frame)


def _iter_csv(path: Path, name: str, suffix: str, chunk_size: int) -> Iterator[pd.DataFrame]:
    encoding = _detect_encoding(_file_blocks(path), name)
    with path.open("rb") as handle:
        sep = _csv_layout(handle.read(_SAMPLE_BYTES), encoding, suffix, name)
    with pd.read_csv(path, chunksize=chunk_size, **_csv_options(sep, encoding)) as reader:
        yield from _without_trailing_blanks(_parsed(reader, name, sep))


def _blank_rows(frame: pd.DataFrame) -> np.ndarray:
    return (frame.isna() | frame.eq("")).all(axis=1).to_numpy()


def _drop_trailing_blank_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Blank lines at the very end are not messages; blank rows inside the file are (empty ones, reported)."""
    kept = np.flatnonzero(~_blank_rows(frame))
    return frame.iloc[: kept[-1] + 1 if len(kept) else 0]


def _without_trailing_blanks(frames: Iterable[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    previous = None
    for frame in frames:
        if previous is not None:
            yield previous
        previous = frame
    if previous is not None:
        yield _drop_trailing_blank_rows(previous)


# ---------------------------------------- JSON

def _json_record(line: str, number: int, name: str) -> dict:
    try:
        value = json.loads(line)
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON ({exc.msg} at character {exc.colno}); expected one JSON object "
                         "per line", file=name, row=number) from exc
    if not isinstance(value, dict):
        raise InputError('expected one JSON object per line, like {"text": "..."}', file=name, row=number)
    return value


def _settle_column(values: pd.Series) -> pd.Series:
    """JSON integers stay exact integers even when some are missing (plain pandas would make them floats)."""
    present = values.dropna()
    if len(present) and all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        try:
            return values.astype("int64" if len(present) == len(values) else "Int64")
        except (OverflowError, TypeError, ValueError):  # beyond int64: keep the Python integers
            return values
    return values.infer_objects()


def _records_frame(records: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(records, dtype=object)
    columns = {column: _settle_column(frame[column]) for column in frame.columns}
    return pd.DataFrame(columns, index=frame.index)


def _iter_json_lines(lines: Iterable[str], name: str, chunk_size: int) -> Iterator[pd.DataFrame]:
    """A blank line inside the file is an empty message on that line; blank lines at the end are dropped."""
    records: list[dict] = []
    blanks = 0
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            blanks += 1
            continue
        records.extend({} for _ in range(blanks))
        blanks = 0
        records.append(_json_record(line, number, name))
        while len(records) >= chunk_size:
            yield _records_frame(records[:chunk_size])
            records = records[chunk_size:]
    if records:
        yield _records_frame(records)


def _json_array(text: str, name: str) -> pd.DataFrame:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON ({exc.msg})", file=name, row=exc.lineno) from exc
    for number, record in enumerate(value, start=1):
        if not isinstance(record, dict):
            raise InputError('expected an array of JSON objects, like [{"text": "..."}]',
                             file=name, row=number)
    return _records_frame(value)


def _read_json(data: bytes, name: str, suffix: str) -> pd.DataFrame:
    text = data.decode(_detect_encoding([data], name)).lstrip("\ufeff")
    if not text.strip():
        raise InputError("the file is empty", file=name)
    if text.lstrip().startswith("["):
        return _json_array(text, name)
    frames = list(_iter_json_lines(io.StringIO(text), name, chunk_size=1 << 62))
    return frames[0] if frames else pd.DataFrame()


def _iter_json(path: Path, name: str, chunk_size: int) -> Iterator[pd.DataFrame]:
    encoding = _detect_encoding(_file_blocks(path), name)
    with path.open(encoding=encoding) as handle:
        start = handle.read(_SAMPLE_BYTES).lstrip("\ufeff \t\r\n")
    if not start:
        raise InputError("the file is empty", file=name)
    if start.startswith("["):  # a JSON array cannot be streamed by lines: read it whole, then slice
        yield from _slices(_read_json(path.read_bytes(), name, ".json"), chunk_size)
        return
    with path.open(encoding=encoding) as handle:
        yield from _iter_json_lines((line.lstrip("\ufeff") for line in handle), name, chunk_size)


# ---------------------------------------- Excel, Parquet

def _read_excel(data: bytes, name: str, suffix: str) -> pd.DataFrame:
    try:
        frame = pd.read_excel(io.BytesIO(data), sheet_name=0, dtype=str, keep_default_na=False,
                              engine="openpyxl")
    except Exception as exc:  # a damaged workbook fails in many ways (zip, XML, openpyxl); all mean the same
        raise InputError(f"cannot read this Excel file, is it a valid .xlsx? ({type(exc).__name__}: {exc})",
                         file=name) from exc
    return _drop_trailing_blank_rows(frame)


def _parquet_error(exc: Exception, name: str) -> InputError:
    return InputError(f"cannot read this Parquet file, is it damaged? ({type(exc).__name__}: {exc})",
                      file=name)


def _read_parquet(data: bytes, name: str, suffix: str) -> pd.DataFrame:
    import pyarrow as pa

    try:
        return pd.read_parquet(io.BytesIO(data))
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise _parquet_error(exc, name) from exc


def _iter_parquet(path: Path, name: str, chunk_size: int) -> Iterator[pd.DataFrame]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        batches = pq.ParquetFile(path).iter_batches(batch_size=chunk_size)
        for batch in batches:
            yield batch.to_pandas()
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise _parquet_error(exc, name) from exc


def _slices(frame: pd.DataFrame, chunk_size: int) -> Iterator[pd.DataFrame]:
    for start in range(0, len(frame), chunk_size):
        yield frame.iloc[start:start + chunk_size]


_READERS = {".xlsx": _read_excel, ".parquet": _read_parquet,
            **dict.fromkeys(_CSV_SUFFIXES, _read_csv), **dict.fromkeys(_JSON_SUFFIXES, _read_json)}


def read_table(source: str | Path | bytes | BinaryIO, *, name: str | None = None) -> pd.DataFrame:
    """The whole file as a DataFrame. Bytes and file objects (browser uploads) need `name` for the format."""
    label = _source_name(source, name)
    suffix = _suffix(label)
    data = _read_bytes(source)
    if not data or data.isspace():
        raise InputError("the file is empty", file=label)
    frame = _READERS[suffix](data, label, suffix)
    if len(frame.columns) == 0:
        raise InputError("the file is empty (no columns)", file=label)
    return frame.reset_index(drop=True)


def _iter_frames(path: Path, name: str, suffix: str, chunk_size: int) -> Iterator[pd.DataFrame]:
    if path.stat().st_size == 0:
        raise InputError("the file is empty", file=name)
    if suffix in _CSV_SUFFIXES:
        return _iter_csv(path, name, suffix, chunk_size)
    if suffix in _JSON_SUFFIXES:
        return _iter_json(path, name, chunk_size)
    if suffix == ".parquet":
        return _iter_parquet(path, name, chunk_size)
    return _slices(read_table(path), chunk_size)  # xlsx cannot be streamed by pandas


# ---------------------------------------- columns

def _key(name: object) -> str:
    return re.sub(r"[\s_\-]+", "", str(name).strip().lower())


def _columns_list(frame: pd.DataFrame) -> str:
    return ", ".join(f"'{c}'" for c in frame.columns) or "none"


def _column_by_name(frame: pd.DataFrame, names: Iterable[str], exclude: Iterable[str] = ()) -> str | None:
    skip = set(exclude)
    by_key: dict[str, str] = {}
    for column in frame.columns:
        if column not in skip:
            by_key.setdefault(_key(column), column)
    for wanted in names:
        if _key(wanted) in by_key:
            return by_key[_key(wanted)]
    return None


def _text_values(values: pd.Series) -> pd.Series | None:
    """The non-empty strings of a column, or None when it is not a column of text (numbers, ids, dates)."""
    if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_datetime64_any_dtype(values):
        return None
    strings = values[values.map(lambda v: isinstance(v, str))].str.strip()
    strings = strings[strings != ""]
    if strings.empty or pd.to_numeric(strings, errors="coerce").notna().mean() >= 0.9:
        return None
    return strings


def _longest_text_column(frame: pd.DataFrame) -> str | None:
    best, best_length = None, 0.0
    for column in frame.columns:
        strings = _text_values(frame[column].head(_DETECT_ROWS))
        if strings is not None and strings.str.len().mean() > best_length:
            best, best_length = column, float(strings.str.len().mean())
    return best


def _header_hint(frame: pd.DataFrame) -> str:
    looks_like_data = any(len(str(c)) > 40 or pd.to_numeric(pd.Series([str(c)]), errors="coerce").notna()[0]
                          for c in frame.columns)
    return " (the first row looks like data: add a header row naming the columns)" if looks_like_data else ""


def detect_text_column(frame: pd.DataFrame, *, source: str = "") -> str:
    """A column named like text (text, message, CleanText, tweet, body, ...), else the longest text."""
    column = _column_by_name(frame, TEXT_COLUMN_NAMES) or _longest_text_column(frame)
    if column is None:
        raise InputError(f"no text column found: no column is named {', '.join(TEXT_COLUMN_NAMES)} and no "
                         f"column holds text; the columns are {_columns_list(frame)}; pass --text-col"
                         f"{_header_hint(frame)}", file=source or None)
    return column


def detect_label_column(frame: pd.DataFrame, text_col: str) -> str | None:
    """A column named engage, engageable, label, labels, target, y, class, complaint or is_engageable."""
    return _column_by_name(frame, LABEL_COLUMN_NAMES, exclude=[text_col])


def _resolve_column(frame: pd.DataFrame, wanted: str, source: str) -> str:
    """An explicit column: exact name, else the one column that matches ignoring case and outer spaces."""
    if wanted in frame.columns:
        return wanted
    close = [c for c in frame.columns if str(c).strip().lower() == str(wanted).strip().lower()]
    if len(close) == 1:
        return close[0]
    raise InputError(f"no column named '{wanted}'; the columns are {_columns_list(frame)}",
                     file=source, column=wanted)


# ---------------------------------------- labels

def _missing(value: object) -> bool:
    return value is None or (np.ndim(value) == 0 and bool(pd.isna(value)))


def _label_key(value: object) -> str:
    if _missing(value):
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
    keys = [_label_key(v) for v in values.tolist()]
    base = first_row + row_offset
    empty = [base + i for i, k in enumerate(keys) if k == ""]
    unknown = [(base + i, raw) for i, (k, raw) in enumerate(zip(keys, values.tolist(), strict=True))
               if k and k not in _LABEL_VALUES]
    if empty and not (unknown and unknown[0][0] < empty[0]):  # report the problem the file shows first
        raise InputError(f"empty label in row(s) {_rows_text(empty)}; every row needs a label ({_ACCEPTED})",
                         file=source, row=empty[0], column=column)
    if unknown:
        distinct = list(dict.fromkeys(str(raw).strip() for _, raw in unknown))
        listed = ", ".join(f"'{v}'" for v in distinct[:10]) + (" ..." if len(distinct) > 10 else "")
        raise InputError(f"unknown label value(s) {listed} (first in row {unknown[0][0]}); "
                         f"accepted: {_ACCEPTED}", file=source, row=unknown[0][0], column=column)
    return np.fromiter((_LABEL_VALUES[k] for k in keys), dtype=np.int8, count=len(keys))


def _has_known_label(values: pd.Series) -> bool:
    return any(_label_key(v) in _LABEL_VALUES for v in values.head(_DETECT_ROWS).tolist())


def _pick_label_column(frame: pd.DataFrame, text_col: str, label_col: str | None, source: str,
                       detect_labels: bool, require_labels: bool) -> str | None:
    if label_col is not None:
        return _resolve_column(frame, label_col, source)
    found = detect_label_column(frame, text_col) if detect_labels else None
    # A column found by name with no label value in it (categories, a blank column to fill) is not the labels.
    if found is not None and not require_labels and not _has_known_label(frame[found]):
        found = None
    if found is None and require_labels:
        raise InputError(f"no label column found: looked for columns named {', '.join(LABEL_COLUMN_NAMES)}; "
                         f"the columns are {_columns_list(frame)}; pass --label-col", file=source)
    return found


# ---------------------------------------- messages

def _text(value: object) -> str:
    if _missing(value):
        return ""
    text = value if isinstance(value, str) else str(value)
    return text if text.strip() else ""


def _messages(frame: pd.DataFrame, *, source: str, text_col: str | None, label_col: str | None,
              detect_labels: bool, require_labels: bool, row_offset: int, first_row: int) -> Messages:
    frame.index = pd.RangeIndex(row_offset, row_offset + len(frame))
    if text_col is None:
        text_col = detect_text_column(frame, source=source)
    else:
        text_col = _resolve_column(frame, text_col, source)
    label_col = _pick_label_column(frame, text_col, label_col, source, detect_labels, require_labels)
    labels = None if label_col is None else normalize_labels(
        frame[label_col], source=source, column=label_col, row_offset=row_offset, first_row=first_row)
    texts = [_text(v) for v in frame[text_col].tolist()]
    empty_rows = [first_row + row_offset + i for i, text in enumerate(texts) if not text]
    return Messages(frame=frame, text_col=text_col, label_col=label_col, texts=texts, labels=labels,
                    empty_rows=empty_rows, source=source, row_offset=row_offset, first_row=first_row)


def _no_rows(source: str) -> InputError:
    return InputError("the file has a header row but no data rows", file=source)


def read_messages(source: str | Path | bytes | BinaryIO, *, name: str | None = None,
                  text_col: str | None = None, label_col: str | None = None, require_labels: bool = False,
                  detect_labels: bool = True) -> Messages:
    """The whole file as messages: text column (detected or given), optional 0/1 labels, empty rows listed."""
    label = _source_name(source, name)
    return messages_from_table(read_table(source, name=label), name=label, text_col=text_col, label_col=label_col,
                               require_labels=require_labels, detect_labels=detect_labels)


def messages_from_table(frame: pd.DataFrame, *, name: str, text_col: str | None = None, label_col: str | None = None,
                        require_labels: bool = False, detect_labels: bool = True) -> Messages:
    """Messages from a table that read_table returned for the file `name` (the app reads an upload once, for its
    preview and for scoring). The table is used as is, not copied."""
    if frame.empty:
        raise _no_rows(name)
    return _messages(frame, source=name, text_col=text_col, label_col=label_col, detect_labels=detect_labels,
                     require_labels=require_labels, row_offset=0, first_row=_first_row(_suffix(name)))


def iter_messages(path: str | Path, *, chunk_size: int = 10_000, text_col: str | None = None,
                  label_col: str | None = None, detect_labels: bool = True) -> Iterator[Messages]:
    """Messages in chunks with bounded memory; columns chosen on the first chunk are kept; rows stay right."""
    name = str(path)
    suffix = _suffix(name)
    path = _existing_path(path)
    offset = 0
    for frame in _iter_frames(path, name, suffix, chunk_size):
        if frame.empty:
            continue
        chunk = _messages(frame, source=name, text_col=text_col, label_col=label_col,
                          detect_labels=detect_labels, require_labels=False, row_offset=offset,
                          first_row=_first_row(suffix))
        text_col, label_col, detect_labels = chunk.text_col, chunk.label_col, False
        offset += len(frame)
        yield chunk
    if offset == 0:
        raise _no_rows(name)
