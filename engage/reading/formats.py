"""Which reader reads which file: the supported suffixes, and a table read whole or in chunks."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import pandas as pd

from engage.errors import InputError
from engage.reading.delimited import iter_csv, read_csv
from engage.reading.excel import read_excel
from engage.reading.json_records import iter_json, read_json
from engage.reading.parquet import iter_parquet, read_parquet
from engage.reading.rows import slices
from engage.reading.sources import read_bytes, source_name

SUPPORTED_SUFFIXES: tuple[str, ...] = (
    '.csv', '.tsv', '.txt', '.xlsx', '.parquet', '.jsonl', '.json', '.ndjson',
)
_CSV_SUFFIXES = ('.csv', '.tsv', '.txt')
_JSON_SUFFIXES = ('.jsonl', '.json', '.ndjson')

_READERS = {".xlsx": read_excel, ".parquet": read_parquet,
            **dict.fromkeys(_CSV_SUFFIXES, read_csv), **dict.fromkeys(_JSON_SUFFIXES, read_json)}


def suffix_of(name: str) -> str:
    """The file's lower-cased suffix, refused with the list of supported ones when no reader takes it."""
    suffix = Path(name).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        shown = f"'{suffix}'" if suffix else "none"
        raise InputError(f"unsupported file type {shown}; use one of {', '.join(SUPPORTED_SUFFIXES)}",
                         file=name)
    return suffix


def first_row_number(suffix: str) -> int:
    """The row number of the first data row: files with a header row start at 2, record formats at 1."""
    return 1 if suffix in _JSON_SUFFIXES or suffix == ".parquet" else 2


def read_table(source: str | Path | bytes | BinaryIO, *, name: str | None = None) -> pd.DataFrame:
    """The whole file as a DataFrame. Bytes and file objects (browser uploads) need `name` for the format."""
    label = source_name(source, name)
    suffix = suffix_of(label)
    data = read_bytes(source)
    if not data or data.isspace():
        raise InputError("the file is empty", file=label)
    frame = _READERS[suffix](data, label, suffix)
    if len(frame.columns) == 0:
        raise InputError("the file is empty (no columns)", file=label)
    return frame.reset_index(drop=True)


def iter_frames(path: Path, name: str, suffix: str, chunk_size: int) -> Iterator[pd.DataFrame]:
    """The file in chunks of chunk_size rows, streamed where the format allows it."""
    if path.stat().st_size == 0:
        raise InputError("the file is empty", file=name)
    if suffix in _CSV_SUFFIXES:
        return iter_csv(path, name, suffix, chunk_size)
    if suffix in _JSON_SUFFIXES:
        return iter_json(path, name, chunk_size)
    if suffix == ".parquet":
        return iter_parquet(path, name, chunk_size)
    return slices(read_table(path), chunk_size)  # xlsx cannot be streamed by pandas
