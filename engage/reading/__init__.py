"""Reading messages from user files: formats, encodings, delimiters, columns, labels, and clear errors.

Every problem the user can fix becomes one InputError naming the file, and the row and column where known.
Row numbers are what a person sees: in CSV/TSV/Excel the header is row 1 and the first message row 2; in JSON
Lines a row is a line; in Parquet and JSON arrays a row is the 1-based record number.

One module per idea: `sources` (where the bytes come from), `encoding` (which text encoding, binary refused),
`delimited` (CSV/TSV/TXT and their delimiter), `json_records` (JSON Lines and JSON arrays), `excel`, `parquet`,
`rows` (blank trailing rows, chunks), `formats` (which reader for which suffix), `columns` (text and label
columns), `label_values` (0/1 from the spellings people use), `messages` (the `Messages` a file becomes).
"""

from engage.reading.columns import (
    LABEL_COLUMN_NAMES,
    TEXT_COLUMN_NAMES,
    choose_text_column,
    detect_label_column,
    detect_text_column,
    guessed_column_note,
    is_id_name,
)
from engage.reading.formats import SUPPORTED_SUFFIXES, read_table
from engage.reading.label_values import normalize_labels
from engage.reading.messages import Messages, iter_messages, messages_from_table, read_messages

__all__ = [
    "LABEL_COLUMN_NAMES",
    "SUPPORTED_SUFFIXES",
    "TEXT_COLUMN_NAMES",
    "Messages",
    "choose_text_column",
    "detect_label_column",
    "detect_text_column",
    "guessed_column_note",
    "is_id_name",
    "iter_messages",
    "messages_from_table",
    "normalize_labels",
    "read_messages",
    "read_table",
]
