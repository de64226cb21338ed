"""CSV, TSV and TXT: the delimiter the header uses, one-column files, and parse errors with rows."""

from __future__ import annotations

import pytest

from engage.reading import (
    read_messages,
)
from tests.reading.helpers import assert_rows, delimited, input_error, write_file


@pytest.mark.parametrize("sep", [",", ";", "|"])
def test_csv_delimiters(tmp_path, sep):
    path = write_file(tmp_path, "m.csv", delimited(sep))
    messages = read_messages(path)
    assert_rows(messages)
    assert messages.source == str(path)
    assert list(messages.frame.columns) == ["id", "text", "engage"]


def test_tsv_uses_tab(tmp_path):
    assert_rows(read_messages(write_file(tmp_path, "m.tsv", delimited("\t"))))


def test_txt_sniffs_semicolon(tmp_path):
    assert_rows(read_messages(write_file(tmp_path, "m.txt", delimited(";"))))


def test_single_column_with_commas_in_messages(tmp_path):
    path = write_file(tmp_path, "m.txt", "message\nhello, there\nsecond, one, here\n")
    messages = read_messages(path)
    assert messages.text_col == "message"
    assert messages.texts == ["hello, there", "second, one, here"]


def test_bad_csv_row_and_json_line(tmp_path):
    error = input_error(read_messages, write_file(tmp_path, "b.csv", "text,engage\na,1\nb,0,extra\n"))
    assert error.row == 3 and "expected 2 fields" in str(error)
    error = input_error(read_messages, write_file(tmp_path, "q.csv", 'text,engage\na,1\n"never closed,0\n'))
    assert error.row == 3 and "never closed" in str(error)
    error = input_error(read_messages, write_file(tmp_path, "b.jsonl", '{"text": "a"}\n{"text": oops}\n'))
    assert error.row == 2 and "JSON" in str(error)
