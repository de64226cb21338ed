"""Formats: a reader for each suffix (Excel, Parquet, uploads), strings kept exact, bad files refused."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest

from engage.errors import InputError
from engage.reading import (
    SUPPORTED_SUFFIXES,
    iter_messages,
    read_messages,
    read_table,
)
from tests.reading.helpers import ROWS, assert_rows, delimited, input_error, write_file


def test_xlsx(tmp_path):
    path = tmp_path / "m.xlsx"
    pd.DataFrame(ROWS).to_excel(path, index=False, engine="openpyxl")
    assert_rows(read_messages(path))


def test_parquet(tmp_path):
    path = tmp_path / "m.parquet"
    frame = pd.DataFrame(ROWS)
    frame = frame.assign(id=frame["id"].astype("int64"), engage=frame["engage"] == "1")
    frame.to_parquet(path)
    messages = read_messages(path)
    assert_rows(messages)
    assert messages.frame["id"].tolist() == [101966809401540608, 104310845818929152, 7]
    assert messages.first_row == 1 and messages.row_number(0) == 1


def test_upload_bytes_and_file_object():
    data = delimited(",").encode()
    assert_rows(read_messages(data, name="upload.csv"))
    assert_rows(read_messages(io.BytesIO(data), name="upload.csv"))
    assert read_messages(data, name="upload.csv").source == "upload.csv"
    with pytest.raises(InputError, match="file name is needed"):
        read_table(data)


def test_read_table_keeps_every_column_as_strings(tmp_path):
    frame = read_table(write_file(tmp_path, "m.csv", "id,text,note\n0012,hi,NA\n"))
    assert frame.to_dict("records") == [{"id": "0012", "text": "hi", "note": "NA"}]
    assert ".csv" in SUPPORTED_SUFFIXES and ".xlsx" in SUPPORTED_SUFFIXES


def test_large_ids_kept_exactly(tmp_path):
    ids = ["101966809401540608", "9007199254740993", "18446744073709551615"]
    csv_frame = read_table(write_file(tmp_path, "ids.csv", "id,text\n" + "".join(f"{i},x\n" for i in ids)))
    assert csv_frame["id"].tolist() == ids
    records = [{"id": int(ids[0]), "text": "a"}, {"text": "b"}, {"id": int(ids[1]), "text": "c"}]
    json_frame = read_table(write_file(tmp_path, "ids.jsonl", "\n".join(json.dumps(r) for r in records)))
    assert json_frame["id"].tolist()[0] == int(ids[0]) and json_frame["id"].tolist()[2] == int(ids[1])


def test_empty_file(tmp_path):
    for name in ("e.csv", "e.jsonl", "e.xlsx", "e.parquet"):
        assert "empty" in str(input_error(read_messages, write_file(tmp_path, name, b"")))
    assert "empty" in str(input_error(read_messages, write_file(tmp_path, "ws.csv", "\ufeff\n\n")))
    assert "empty" in str(input_error(read_messages, write_file(tmp_path, "ws.jsonl", "\n \n")))


def test_unsupported_extension(tmp_path):
    error = input_error(read_messages, write_file(tmp_path, "m.xls", "text\nhi\n"))
    assert "unsupported file type '.xls'" in str(error)
    assert "unsupported" in str(input_error(read_messages, b"text\nhi\n", name="noext"))


def test_missing_file(tmp_path):
    assert "no such file" in str(input_error(read_messages, tmp_path / "absent.csv"))


def test_corrupt_parquet_and_xlsx(tmp_path):
    path = tmp_path / "m.parquet"
    pd.DataFrame(ROWS).to_parquet(path)
    broken = path.read_bytes()[:-40]
    assert "Parquet" in str(input_error(read_messages, write_file(tmp_path, "b.parquet", broken)))
    with pytest.raises(InputError, match="Parquet"):
        list(iter_messages(write_file(tmp_path, "b2.parquet", b"PAR1 not really parquet")))
    assert "Excel" in str(input_error(read_messages, write_file(tmp_path, "b.xlsx", b"PK\x03\x04 not a workbook")))
