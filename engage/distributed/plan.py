"""Which files a Ray job reads, and how: one reading decision, made on the first file's sample with the project's
own detection (engage.reading), checked against a sample of every other file, then handed to Ray Data's readers.

The driver reads only samples (64 KiB a file, the schema of a Parquet file), never the data itself. A problem the
readers on the cluster find later is located here again, on the one file named, with the project's own reader, so
that the user gets the same one-line message, with file and row, as `engage score --engine local` gives.
"""

from __future__ import annotations

import codecs
import csv
import glob
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from engage.errors import InputError

# The reading package's own detectors, so the cluster reads every file as the local engine would.
from engage.reading import SUPPORTED_SUFFIXES, iter_messages, messages_from_table, read_table
from engage.reading.delimited import sniff_delimiter
from engage.reading.encoding import detect_encoding

SAMPLE_BYTES = 64 * 1024
DETECT_ROWS = 2000
CSV_SUFFIXES = (".csv", ".tsv", ".txt")
JSON_SUFFIXES = (".jsonl", ".ndjson", ".json")
KINDS = {**dict.fromkeys(CSV_SUFFIXES, "csv"), **dict.fromkeys(JSON_SUFFIXES, "json"), ".parquet": "parquet"}
PATH_COLUMN = "path"  # what Ray Data's include_paths adds
_GLOB_CHARS = "*?["


@dataclass(frozen=True)
class ReadingPlan:
    """The reading decision every file must fit."""

    kind: str                    # csv, json or parquet
    files: tuple[str, ...]
    columns: tuple[str, ...]     # every input column, in the first file's order
    text_col: str
    label_col: str | None
    encoding: str | None = None  # csv/json: the Python codec name engage.reading chose
    delimiter: str | None = None
    first_row: int = 2           # row number of a file's first data row (2 under a CSV header, else 1)
    with_paths: bool = True      # Ray adds a 'path' column unless the input has one
    notes: list[str] = field(default_factory=list)

    @property
    def arrow_encoding(self) -> str:
        """pyarrow's name for the encoding: its UTF-8 reader skips a byte-order mark by itself."""
        return "utf8" if self.encoding in (None, "utf-8", "utf-8-sig") else str(self.encoding)


# ---------------------------------------- inputs

def expand_inputs(inputs: list[str]) -> list[str]:
    """Files, folders (every supported file below, sorted) and glob patterns, in the order given; no repeats."""
    files: list[str] = []
    for given in inputs:
        if "://" in given:
            files.append(given)  # cloud paths go to Ray's readers as they are (pyarrow filesystems)
            continue
        if any(ch in given for ch in _GLOB_CHARS):
            found = sorted(p for p in glob.glob(given, recursive=True) if Path(p).is_file())
            if not found:
                raise InputError(f"the pattern '{given}' matches no file")
        elif Path(given).is_dir():
            found = sorted(str(p) for p in Path(given).rglob("*") if p.is_file() and _wanted(p))
            if not found:
                raise InputError(f"the folder holds no {', '.join(SUPPORTED_SUFFIXES)} file", file=given)
        elif Path(given).is_file():
            found = [given]
        else:
            raise InputError("no such file, folder or pattern", file=given)
        files.extend(found)
    return list(dict.fromkeys(files))


def _wanted(path: Path) -> bool:
    hidden = any(part.startswith((".", "_")) for part in path.parts[-1:])
    return not hidden and path.suffix.lower() in SUPPORTED_SUFFIXES


def _kind(path: str) -> str:
    suffix = Path(path).suffix.lower()
    if suffix == ".xlsx":
        raise InputError("the Ray engine does not read Excel (.xlsx) files: save the sheet as CSV or Parquet, or "
                         "score it with --engine local", file=path)
    if suffix not in KINDS:
        raise InputError(f"unsupported file type '{suffix or 'none'}'; the Ray engine reads "
                         f"{', '.join(KINDS)}", file=path)
    return KINDS[suffix]


def _sample(path: str, size: int = SAMPLE_BYTES) -> tuple[bytes, bool]:
    """The file's first bytes, and whether that is the whole file."""
    if "://" in path:
        import pyarrow.fs as pafs

        fs, inner = pafs.FileSystem.from_uri(path)
        with fs.open_input_stream(inner) as handle:
            data = handle.read(size + 1)
    else:
        with open(path, "rb") as handle:
            data = handle.read(size + 1)
    return data[:size], len(data) <= size


def _whole_lines(data: bytes, complete: bool) -> bytes:
    """A sample cut at its last newline, so that no row (nor character) is cut in two."""
    if complete or b"\n" not in data:
        return data
    return data[: data.rindex(b"\n") + 1]


# ---------------------------------------- the decision, on the first file

def make_plan(inputs: list[str], *, text_col: str | None = None) -> ReadingPlan:
    files = expand_inputs(inputs)
    kinds = [_kind(f) for f in files]
    for path, kind in zip(files, kinds, strict=True):
        if kind != kinds[0]:
            raise InputError(f"a {kind} file among {kinds[0]} files: one job reads one format "
                             f"(the first file, {files[0]}, decides)", file=path)
    first = files[0]
    plan = {"csv": _csv_plan, "json": _json_plan, "parquet": _parquet_plan}[kinds[0]](first, tuple(files), text_col)
    for path in files[1:]:
        check_fits(plan, path)
    return plan


def _columns_of(frame: pd.DataFrame, first: str, text_col: str | None) -> tuple[str, str | None]:
    messages = messages_from_table(frame, name=first, text_col=text_col)
    return messages.text_col, messages.label_col


def _csv_plan(first: str, files: tuple[str, ...], text_col: str | None) -> ReadingPlan:
    data, complete = _sample(first)
    if not data.strip():
        raise InputError("the file is empty", file=first)
    sample = _whole_lines(data, complete)
    encoding = detect_encoding([sample], first)
    delimiter = sniff_delimiter(sample.decode(encoding, errors="ignore"), Path(first).suffix.lower())
    frame = _sample_table(sample, first, complete)
    text, label = _columns_of(frame, first, text_col)
    return ReadingPlan("csv", files, tuple(map(str, frame.columns)), text, label, encoding, delimiter, 2,
                       PATH_COLUMN not in frame.columns)


def _sample_table(sample: bytes, name: str, complete: bool) -> pd.DataFrame:
    """The sample's rows with engage.reading's own parser; a sample cut inside a quoted field is cut earlier."""
    for _ in range(8):
        try:
            frame = read_table(sample, name=name)
            return frame if complete or len(frame) <= 1 else frame.iloc[:-1]
        except InputError:
            if complete or sample.count(b"\n") < 4:
                raise
            sample = sample[: sample.rindex(b"\n", 0, len(sample) // 2) + 1]
    return read_table(sample, name=name)


def _json_plan(first: str, files: tuple[str, ...], text_col: str | None) -> ReadingPlan:
    data, complete = _sample(first)
    sample = _whole_lines(data, complete)
    if not sample.strip():
        raise InputError("the file is empty", file=first)
    encoding = detect_encoding([sample], first)
    _refuse_json_array(sample, first)
    if encoding not in ("utf-8", "utf-8-sig"):
        raise InputError(f"the Ray engine reads JSON Lines in UTF-8 only; this file looks {encoding}",
                         file=first)
    frame = read_table(sample, name=first)
    text, label = _columns_of(frame, first, text_col)
    return ReadingPlan("json", files, tuple(map(str, frame.columns)), text, label, "utf-8", None, 1,
                       PATH_COLUMN not in frame.columns)


def _refuse_json_array(sample: bytes, name: str) -> None:
    if sample.lstrip(codecs.BOM_UTF8 + b" \t\r\n").startswith(b"["):
        raise InputError("the Ray engine reads JSON Lines (one object per line), not a JSON array: convert it, "
                         "or score it with --engine local", file=name)


def _parquet_schema(path: str):
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(path if "://" not in path else _open_uri(path))
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise InputError(f"cannot read this Parquet file, is it damaged? ({type(exc).__name__}: {exc})",
                         file=path) from exc


def _open_uri(path: str):
    import pyarrow.fs as pafs

    fs, inner = pafs.FileSystem.from_uri(path)
    return fs.open_input_file(inner)


def _parquet_plan(first: str, files: tuple[str, ...], text_col: str | None) -> ReadingPlan:
    parquet = _parquet_schema(first)
    batch = next(parquet.iter_batches(batch_size=DETECT_ROWS), None)
    if batch is None or batch.num_rows == 0:
        raise InputError("the file has no rows", file=first)
    frame = batch.to_pandas()
    text, label = _columns_of(frame, first, text_col)
    return ReadingPlan("parquet", files, tuple(parquet.schema_arrow.names), text, label, None, None, 1,
                       PATH_COLUMN not in frame.columns)


# ---------------------------------------- every other file must fit

def check_fits(plan: ReadingPlan, path: str) -> None:
    """The file's sample fits the plan: same encoding family, same delimiter and columns; else say which."""
    if plan.kind == "parquet":
        names = tuple(_parquet_schema(path).schema_arrow.names)
        _same_columns(plan, path, names, row=None)
        return
    data, complete = _sample(path)
    sample = _whole_lines(data, complete)
    if not sample.strip():
        raise InputError("the file is empty", file=path)
    _fits_encoding(plan, path, sample)
    text = sample.decode(plan.encoding or "utf-8").lstrip("\ufeff")
    if plan.kind == "json":
        _refuse_json_array(sample, path)
        frame = read_table(sample, name=path)
        if plan.text_col not in frame.columns:
            raise InputError(f"no record of the file's first lines has the text column '{plan.text_col}' (chosen "
                             f"on the first file, {plan.files[0]}); the keys are {_listed(frame.columns)}",
                             file=path, row=1, column=plan.text_col)
        return
    header = next(csv.reader(io.StringIO(text.split("\n", 1)[0].rstrip("\r")), delimiter=plan.delimiter), [])
    _same_columns(plan, path, tuple(header), row=1)


def _fits_encoding(plan: ReadingPlan, path: str, sample: bytes) -> None:
    try:
        sample.decode(plan.encoding or "utf-8")
    except UnicodeDecodeError as exc:
        raise _encoding_error(plan, path, sample, exc.start) from None
    found = detect_encoding([sample], path)
    if found != plan.encoding and not sample.isascii() and {found, plan.encoding} != {"utf-8", "utf-8-sig"}:
        raise InputError(f"the file is encoded as {found}, the first file ({plan.files[0]}) as {plan.encoding}: "
                         "save every file of a job in one encoding", file=path)


def _encoding_error(plan: ReadingPlan, path: str, data: bytes, at: int, lines: int = 0,
                    offset: int = 0) -> InputError:
    row = lines + data.count(b"\n", 0, max(at, 0)) + 1
    return InputError(f"bytes that are not {plan.encoding} (the encoding chosen on the first file, "
                      f"{plan.files[0]}) at byte {offset + max(at, 0)}: save every file of a job in one encoding",
                      file=path, row=row)


def _same_columns(plan: ReadingPlan, path: str, names: tuple[str, ...], row: int | None) -> None:
    if names == plan.columns:
        return
    if plan.text_col not in names:
        raise InputError(f"no column named '{plan.text_col}' (the text column chosen on the first file, "
                         f"{plan.files[0]}); the columns are {_listed(names)}", file=path, row=row,
                         column=plan.text_col)
    raise InputError(f"the columns {_listed(names)} differ from the first file's {_listed(plan.columns)}"
                     + (f" (delimiter {plan.delimiter!r})" if plan.delimiter else "")
                     + ": every file of a job needs the same columns", file=path, row=row)


def _listed(names) -> str:
    return ", ".join(f"'{n}'" for n in names) or "none"


# ---------------------------------------- locating a problem the cluster found

def locate_problem(plan: ReadingPlan, path: str) -> InputError | None:
    """The project's own message (file, row, column) for what is wrong in this one file, found by reading it again
    on the driver in bounded chunks; None when this reading finds nothing wrong."""
    if "://" in path:
        return None
    if plan.kind != "parquet":
        problem = _first_undecodable(plan, path)
        if problem is not None:
            return problem
    try:
        for _ in iter_messages(path, chunk_size=10_000, text_col=plan.text_col, label_col=plan.label_col,
                               detect_labels=False):
            pass
    except InputError as exc:
        return exc
    return None


def _first_undecodable(plan: ReadingPlan, path: str) -> InputError | None:
    decoder = codecs.getincrementaldecoder(plan.encoding or "utf-8")("strict")
    offset = lines = 0
    for block in _blocks(path):
        try:
            decoder.decode(block)
        except UnicodeDecodeError as exc:
            return _encoding_error(plan, path, block, exc.start, lines, offset)
        offset += len(block)
        lines += block.count(b"\n")
    return None


def _blocks(path: str) -> Iterator[bytes]:
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            yield block


def problem_file(plan: ReadingPlan, text: str) -> str | None:
    """Which of the plan's files an error text from the cluster names (the longest match wins)."""
    named = [f for f in plan.files if f in text or Path(f).resolve().as_posix() in text]
    return max(named, key=len) if named else None
