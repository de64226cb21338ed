"""CSV, TSV and TXT files: the delimiter the header uses, pandas' options, its parse errors made readable, and
engage's formula guard taken off (engage.formula_guard)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

import pandas as pd

from engage.errors import InputError
from engage.formula_guard import unguard_frame
from engage.reading.encoding import detect_encoding
from engage.reading.rows import drop_trailing_blank_rows, without_trailing_blanks
from engage.reading.sources import SAMPLE_BYTES, file_blocks

_DELIMITERS = ",;\t|"
# A header without any delimiter means one column; the unit separator never occurs in messages.
_SINGLE_COLUMN_SEP = "\x1f"


def sniff_delimiter(sample: str, suffix: str) -> str:
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
    """pandas' message turned into what is wrong and on which row, as a spreadsheet numbers it."""
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
    """The chunks, with a parse error in a later chunk raised as a clear InputError too."""
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
    return sniff_delimiter(sample, suffix)


def read_csv(data: bytes, name: str, suffix: str) -> pd.DataFrame:
    """The whole delimited file (an upload) as strings."""
    encoding = detect_encoding([data], name)
    sep = _csv_layout(data[:SAMPLE_BYTES], encoding, suffix, name)
    try:
        frame = pd.read_csv(io.BytesIO(data), **_csv_options(sep, encoding))
    except pd.errors.ParserError as exc:
        raise _parse_error(exc, name, sep) from exc
    return unguard_frame(drop_trailing_blank_rows(frame))


def iter_csv(path: Path, name: str, suffix: str, chunk_size: int) -> Iterator[pd.DataFrame]:
    """The delimited file in chunks; the encoding is settled on the whole file first, so no chunk fails late."""
    encoding = detect_encoding(file_blocks(path), name)
    with path.open("rb") as handle:
        sep = _csv_layout(handle.read(SAMPLE_BYTES), encoding, suffix, name)
    with pd.read_csv(path, chunksize=chunk_size, **_csv_options(sep, encoding)) as reader:
        # engage's own CSV exports carry the formula guard's quote: taken off, so their texts score as before
        for frame in without_trailing_blanks(_parsed(reader, name, sep)):
            yield unguard_frame(frame)
