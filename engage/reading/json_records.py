"""JSON files: JSON Lines (one object per line, streamed) and JSON arrays of objects (read whole)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Iterator
from pathlib import Path

import pandas as pd

from engage.errors import InputError
from engage.reading.encoding import detect_encoding
from engage.reading.rows import slices
from engage.reading.sources import SAMPLE_BYTES, file_blocks


def _json_record(line: str, number: int, name: str) -> dict:
    try:
        value = json.loads(line)
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON ({exc.msg} at character {exc.colno}); expected one JSON object "
                         "per line", file=name, row=number) from exc
    except RecursionError:
        raise _too_deep(name, number) from None
    if not isinstance(value, dict):
        raise InputError('expected one JSON object per line, like {"text": "..."}', file=name, row=number)
    return value


def _too_deep(name: str, row: int | None) -> InputError:
    """JSON nested deeper than Python's parser goes (thousands of levels): no message is shaped like that."""
    return InputError("JSON nested too deeply to read (thousands of levels of [ or {); a message is a flat object "
                      'like {"text": "..."}', file=name, row=row)


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


def _keys(lines: Iterable[str], name: str) -> list[str]:
    """Every key of the file, in first-seen order: a first pass, so that every chunk has the same columns."""
    seen: dict[str, None] = {}
    for number, line in enumerate(lines, start=1):
        if line.strip():
            seen.update(dict.fromkeys(_json_record(line, number, name)))
    return list(seen)


def _with_columns(frame: pd.DataFrame, columns: list[str] | None) -> pd.DataFrame:
    """The frame with exactly these columns; a key no row of this chunk has is all missing (no type of its own)."""
    if columns is None:
        return frame
    missing = {c: pd.Series([None] * len(frame), index=frame.index, dtype=object)
               for c in columns if c not in frame.columns}
    return frame.assign(**missing)[columns]


def _iter_json_lines(lines: Iterable[str], name: str, chunk_size: int,
                     columns: list[str] | None = None) -> Iterator[pd.DataFrame]:
    """A blank line inside the file is an empty message on that line; blank lines at the end are dropped. With
    `columns`, every chunk has exactly those (a key that appears late is a column from the first chunk on)."""
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
            yield _with_columns(_records_frame(records[:chunk_size]), columns)
            records = records[chunk_size:]
    if records:
        yield _with_columns(_records_frame(records), columns)


def _json_array(text: str, name: str) -> pd.DataFrame:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON ({exc.msg})", file=name, row=exc.lineno) from exc
    except RecursionError:
        raise _too_deep(name, None) from None
    for number, record in enumerate(value, start=1):
        if not isinstance(record, dict):
            raise InputError('expected an array of JSON objects, like [{"text": "..."}]',
                             file=name, row=number)
    return _records_frame(value)


def read_json(data: bytes, name: str, suffix: str) -> pd.DataFrame:
    """The whole JSON file (an upload): an array when it starts with '[', else JSON Lines."""
    text = data.decode(detect_encoding([data], name)).lstrip("\ufeff")
    if not text.strip():
        raise InputError("the file is empty", file=name)
    if text.lstrip().startswith("["):
        return _json_array(text, name)
    frames = list(_iter_json_lines(io.StringIO(text), name, chunk_size=1 << 62))
    return frames[0] if frames else pd.DataFrame()


def iter_json(path: Path, name: str, chunk_size: int) -> Iterator[pd.DataFrame]:
    """The JSON file in chunks: JSON Lines streamed line by line (twice: the keys first, so every chunk has every
    column, in first-seen order), an array read whole and then sliced."""
    encoding = detect_encoding(file_blocks(path), name)
    with path.open(encoding=encoding) as handle:
        start = handle.read(SAMPLE_BYTES).lstrip("\ufeff \t\r\n")
    if not start:
        raise InputError("the file is empty", file=name)
    if start.startswith("["):  # a JSON array cannot be streamed by lines
        yield from slices(read_json(path.read_bytes(), name, ".json"), chunk_size)
        return
    with path.open(encoding=encoding) as handle:
        columns = _keys((line.lstrip("\ufeff") for line in handle), name)
    with path.open(encoding=encoding) as handle:
        yield from _iter_json_lines((line.lstrip("\ufeff") for line in handle), name, chunk_size, columns)
