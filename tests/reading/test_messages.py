"""Messages: empty messages and their rows, streaming in chunks, the shared benchmark, tables read once."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engage.errors import InputError
from engage.reading import (
    iter_messages,
    read_messages,
    read_table,
)
from tests.reading.helpers import TRAIN, delimited, input_error, many_rows, write_file


def test_header_only(tmp_path):
    error = input_error(read_messages, write_file(tmp_path, "h.csv", "id,text,engage\n"))
    assert "no data rows" in str(error) and error.file.endswith("h.csv")
    assert "no data rows" in str(input_error(read_messages, write_file(tmp_path, "h2.csv", "id,text\n\n\n")))


def test_empty_messages_counted_with_rows(tmp_path):
    path = write_file(tmp_path, "m.csv", 'id,text\n1,hello\n2,\n3,"   "\n\n5,bye\n\n\n')
    messages = read_messages(path)
    # the blank line inside is a row (an empty message); blank lines at the end are not
    assert messages.texts == ["hello", "", "", "", "bye"]
    assert messages.empty_rows == [3, 4, 5]


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet", ".xlsx"])
def test_iter_messages_matches_read_messages(tmp_path, suffix):
    frame = pd.DataFrame(many_rows(27))
    path = tmp_path / f"big{suffix}"
    if suffix == ".csv":
        path.write_bytes(frame.to_csv(index=False, sep=";").encode("cp1252"))
    elif suffix == ".jsonl":
        frame.to_json(path, orient="records", lines=True)
    elif suffix == ".parquet":
        frame.to_parquet(path)
    else:
        frame.to_excel(path, index=False)
    whole = read_messages(path)
    chunks = list(iter_messages(path, chunk_size=10))
    assert [c.row_offset for c in chunks] == [0, 10, 20]
    assert [len(c.texts) for c in chunks] == [10, 10, 7]
    assert sum((c.texts for c in chunks), []) == whole.texts
    assert sum((c.empty_rows for c in chunks), []) == whole.empty_rows
    assert np.concatenate([c.labels for c in chunks]).tolist() == whole.labels.tolist()
    assert all(c.text_col == "text" and c.label_col == "engage" for c in chunks)
    assert chunks[1].frame.index[0] == 10 and chunks[1].row_number(0) == whole.row_number(10)
    assert pd.concat([c.frame for c in chunks])["id"].astype(str).tolist() == frame["id"].tolist()


def test_iter_messages_row_numbers_in_errors(tmp_path):
    rows = many_rows(27)
    rows[23]["engage"] = "perhaps"
    path = write_file(tmp_path, "m.csv", delimited(",", rows))
    chunks = iter_messages(path, chunk_size=10)
    assert len(next(chunks).texts) == 10
    with pytest.raises(InputError) as info:
        list(chunks)
    assert info.value.row == 25 and "'perhaps'" in str(info.value)
    with pytest.raises(InputError, match="no data rows"):
        list(iter_messages(write_file(tmp_path, "h.csv", "text\n\n")))


def test_iter_messages_keeps_first_chunk_text_column(tmp_path):
    path = write_file(tmp_path, "m.csv", "a,b\nshort,a much longer message\n" + "a much longer message,x\n" * 3)
    chunks = list(iter_messages(path, chunk_size=1))
    assert {c.text_col for c in chunks} == {"b"}
    assert [c.empty_rows for c in chunks] == [[], [], [], []]


@pytest.mark.skipif(not TRAIN.exists(), reason=f"shared data absent: {TRAIN}")
def test_complaints_train():
    messages = read_messages(TRAIN)
    assert len(messages.texts) == 2760
    assert messages.text_col == "text" and messages.label_col == "engage"
    assert int(messages.labels.sum()) == 986
    assert messages.frame["id"].iloc[0] == "101966809401540608"
    assert messages.empty_rows == []


def test_messages_from_an_already_read_table_equal_a_fresh_read_and_share_it(tmp_path):
    from engage.reading import messages_from_table

    path = tmp_path / "m.csv"
    path.write_text("id,text,engage\n1,where is my refund,1\n2,,0\n3,love it,0\n", encoding="utf-8")
    table = read_table(path.read_bytes(), name="m.csv")
    shared = messages_from_table(table, name="m.csv")
    fresh = read_messages(path)
    assert shared.frame is table
    assert (shared.texts, shared.empty_rows, shared.text_col, shared.label_col) == (
        fresh.texts, fresh.empty_rows, fresh.text_col, fresh.label_col)
    assert shared.labels.tolist() == fresh.labels.tolist() == [1, 0, 0]
