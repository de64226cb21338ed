"""Reading messages: every format, encoding and delimiter, column and label detection, and each bad input."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engage.errors import InputError
from engage.reading import (
    SUPPORTED_SUFFIXES,
    Messages,
    detect_label_column,
    detect_text_column,
    iter_messages,
    normalize_labels,
    read_messages,
    read_table,
)

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
TRAIN = SHARED / "data" / "complaints" / "train.csv"

ROWS = [
    {"id": "101966809401540608", "text": "My order never arrived, please help", "engage": "1"},
    {"id": "104310845818929152", "text": "Lovely weather today", "engage": "0"},
    {"id": "7", "text": "The app crashes; every time | always", "engage": "1"},
]


def _write(tmp_path: Path, name: str, content: str | bytes, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode(encoding))
    return path


def _delimited(sep: str, rows: list[dict] = ROWS) -> str:
    frame = pd.DataFrame(rows)
    return frame.to_csv(sep=sep, index=False, lineterminator="\n")


def _assert_rows(messages: Messages) -> None:
    assert messages.texts == [r["text"] for r in ROWS]
    assert messages.text_col == "text"
    assert messages.label_col == "engage"
    assert messages.labels.dtype == np.int8
    assert messages.labels.tolist() == [1, 0, 1]
    assert messages.empty_rows == []
    assert messages.frame["id"].tolist()[0] in ("101966809401540608", 101966809401540608)


# ---------------------------------------- one test per reader path

@pytest.mark.parametrize("sep", [",", ";", "|"])
def test_csv_delimiters(tmp_path, sep):
    path = _write(tmp_path, "m.csv", _delimited(sep))
    messages = read_messages(path)
    _assert_rows(messages)
    assert messages.source == str(path)
    assert list(messages.frame.columns) == ["id", "text", "engage"]


def test_tsv_uses_tab(tmp_path):
    _assert_rows(read_messages(_write(tmp_path, "m.tsv", _delimited("\t"))))


def test_txt_sniffs_semicolon(tmp_path):
    _assert_rows(read_messages(_write(tmp_path, "m.txt", _delimited(";"))))


def test_single_column_with_commas_in_messages(tmp_path):
    path = _write(tmp_path, "m.txt", "message\nhello, there\nsecond, one, here\n")
    messages = read_messages(path)
    assert messages.text_col == "message"
    assert messages.texts == ["hello, there", "second, one, here"]


def test_utf8_bom(tmp_path):
    path = _write(tmp_path, "m.csv", "\ufeff" + _delimited(","))
    messages = read_messages(path)
    _assert_rows(messages)
    assert messages.frame.columns[0] == "id"  # the BOM is not part of the first column's name


def test_cp1252(tmp_path):
    rows = [{"text": "Le café était froid \u201cvraiment\u201d", "label": "yes"},
            {"text": "Na\u00efve question \u2013 où?", "label": "no"}]
    path = _write(tmp_path, "m.csv", _delimited(",", rows), encoding="cp1252")
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")
    messages = read_messages(path)
    assert messages.texts == [r["text"] for r in rows]
    assert messages.labels.tolist() == [1, 0]


def test_latin1_bytes_undefined_in_cp1252(tmp_path):
    # 0x81 and 0x9d are undefined in cp1252: only latin-1 takes them
    path = _write(tmp_path, "m.csv", b"text\nabc \x81 d\xe9f \x9d\n")
    assert read_messages(path).texts == ["abc \x81 d\u00e9f \x9d"]


def test_utf16_with_bom(tmp_path):
    path = _write(tmp_path, "m.csv", "text,engage\nbonjour café,1\n".encode("utf-16"))
    messages = read_messages(path)
    assert messages.texts == ["bonjour café"]


def test_xlsx(tmp_path):
    path = tmp_path / "m.xlsx"
    pd.DataFrame(ROWS).to_excel(path, index=False, engine="openpyxl")
    _assert_rows(read_messages(path))


def test_parquet(tmp_path):
    path = tmp_path / "m.parquet"
    frame = pd.DataFrame(ROWS)
    frame = frame.assign(id=frame["id"].astype("int64"), engage=frame["engage"] == "1")
    frame.to_parquet(path)
    messages = read_messages(path)
    _assert_rows(messages)
    assert messages.frame["id"].tolist() == [101966809401540608, 104310845818929152, 7]
    assert messages.first_row == 1 and messages.row_number(0) == 1


@pytest.mark.parametrize("suffix", [".jsonl", ".ndjson", ".json"])
def test_json_lines(tmp_path, suffix):
    lines = [json.dumps({**r, "id": int(r["id"])}) for r in ROWS]
    messages = read_messages(_write(tmp_path, "m" + suffix, "\n".join(lines) + "\n"))
    _assert_rows(messages)
    assert messages.frame["id"].tolist()[0] == 101966809401540608


def test_json_array(tmp_path):
    messages = read_messages(_write(tmp_path, "m.json", json.dumps(ROWS, indent=1)))
    _assert_rows(messages)


def test_upload_bytes_and_file_object():
    data = _delimited(",").encode()
    _assert_rows(read_messages(data, name="upload.csv"))
    _assert_rows(read_messages(io.BytesIO(data), name="upload.csv"))
    assert read_messages(data, name="upload.csv").source == "upload.csv"
    with pytest.raises(InputError, match="file name is needed"):
        read_table(data)


def test_read_table_keeps_every_column_as_strings(tmp_path):
    frame = read_table(_write(tmp_path, "m.csv", "id,text,note\n0012,hi,NA\n"))
    assert frame.to_dict("records") == [{"id": "0012", "text": "hi", "note": "NA"}]
    assert ".csv" in SUPPORTED_SUFFIXES and ".xlsx" in SUPPORTED_SUFFIXES


# ---------------------------------------- large ids

def test_large_ids_kept_exactly(tmp_path):
    ids = ["101966809401540608", "9007199254740993", "18446744073709551615"]
    csv_frame = read_table(_write(tmp_path, "ids.csv", "id,text\n" + "".join(f"{i},x\n" for i in ids)))
    assert csv_frame["id"].tolist() == ids
    records = [{"id": int(ids[0]), "text": "a"}, {"text": "b"}, {"id": int(ids[1]), "text": "c"}]
    json_frame = read_table(_write(tmp_path, "ids.jsonl", "\n".join(json.dumps(r) for r in records)))
    assert json_frame["id"].tolist()[0] == int(ids[0]) and json_frame["id"].tolist()[2] == int(ids[1])


# ---------------------------------------- columns

@pytest.mark.parametrize("name", ["text", "Message", "CleanText", "clean_text", "TWEET", "body", "content"])
def test_text_column_by_name(name):
    frame = pd.DataFrame({"notes": ["a much longer string than the text itself, really"], name: ["short"]})
    assert detect_text_column(frame) == name


def test_text_column_by_longest_values():
    frame = pd.DataFrame({"id": ["101966809401540608", "104310845818929152"], "domain": ["apparel", "tech"],
                          "what": ["my parcel is lost, help me", "the screen went black again"]})
    assert detect_text_column(frame) == "what"


def test_text_column_explicit_override(tmp_path):
    path = _write(tmp_path, "m.csv", "text,other\nhello,world wide\n")
    assert read_messages(path, text_col="other").texts == ["world wide"]
    assert read_messages(path, text_col="OTHER").text_col == "other"


def test_label_column_detection():
    frame = pd.DataFrame({"text": ["a"], "Is_Engageable": ["yes"]})
    assert detect_label_column(frame, "text") == "Is_Engageable"
    assert detect_label_column(pd.DataFrame({"text": ["a"], "note": ["b"]}), "text") is None


def test_label_column_explicit_and_switched_off(tmp_path):
    path = _write(tmp_path, "m.csv", "text,engage,mine\nhi,1,no\nyo,0,yes\n")
    assert read_messages(path, label_col="mine").labels.tolist() == [0, 1]
    messages = read_messages(path, detect_labels=False)
    assert messages.label_col is None and messages.labels is None


def test_detected_column_without_label_values_is_not_labels(tmp_path):
    path = _write(tmp_path, "m.csv", "text,class\nhello,apparel\nworld,food\n")
    assert read_messages(path).label_col is None
    with pytest.raises(InputError, match="unknown label value"):
        read_messages(path, require_labels=True)


# ---------------------------------------- labels

POSITIVE = ["1", "1.0", "true", "TRUE", "Yes", "yes", "engage", "Engage", "engageable", "ENGAGEABLE", " 1 ",
            True, 1, 1.0]
NEGATIVE = ["0", "0.0", "false", "False", "no", "NO", "not engage", "Not Engage", "non-engageable",
            "Non-Engageable", "not engageable", "non engageable", "non-engage", "not_engage", False, 0, 0.0]


def test_every_accepted_label_spelling():
    values = pd.Series(POSITIVE + NEGATIVE, dtype=object)
    labels = normalize_labels(values, source="f.csv", column="engage")
    assert labels.dtype == np.int8
    assert labels.tolist() == [1] * len(POSITIVE) + [0] * len(NEGATIVE)


# ---------------------------------------- bad input

def _error(func, *args, **kwargs) -> InputError:
    with pytest.raises(InputError) as info:
        func(*args, **kwargs)
    message = str(info.value)
    assert "\n" not in message
    return info.value


def test_unknown_labels_listed_with_first_row(tmp_path):
    path = _write(tmp_path, "bad.csv", "text,engage\na,1\nb,maybe\nc,0\nd,2\ne,maybe\n")
    error = _error(read_messages, path)
    assert error.row == 3 and error.column == "engage" and error.file == str(path)
    assert "'maybe', '2'" in str(error) and "first in row 3" in str(error)


def test_empty_label_names_row(tmp_path):
    path = _write(tmp_path, "bad.csv", "text,engage\na,1\nb,\nc,0\n")
    error = _error(read_messages, path)
    assert error.row == 3 and error.column == "engage" and "empty label" in str(error)
    error = _error(read_messages, _write(tmp_path, "both.csv", "text,engage\na,1\nb,maybe\nc,\n"))
    assert error.row == 3 and "'maybe'" in str(error)  # the first problem in the file is reported


def test_empty_file(tmp_path):
    for name in ("e.csv", "e.jsonl", "e.xlsx", "e.parquet"):
        assert "empty" in str(_error(read_messages, _write(tmp_path, name, b"")))
    assert "empty" in str(_error(read_messages, _write(tmp_path, "ws.csv", "\ufeff\n\n")))
    assert "empty" in str(_error(read_messages, _write(tmp_path, "ws.jsonl", "\n \n")))


def test_header_only(tmp_path):
    error = _error(read_messages, _write(tmp_path, "h.csv", "id,text,engage\n"))
    assert "no data rows" in str(error) and error.file.endswith("h.csv")
    assert "no data rows" in str(_error(read_messages, _write(tmp_path, "h2.csv", "id,text\n\n\n")))


def test_no_text_column(tmp_path):
    error = _error(read_messages, _write(tmp_path, "n.csv", "id,score\n1,2\n3,4\n"))
    assert "no text column" in str(error) and "'id', 'score'" in str(error) and "--text-col" in str(error)


def test_header_that_looks_like_data(tmp_path):
    error = _error(read_messages, _write(tmp_path, "n.csv", "101966809401540608,17\n104310845818929152,18\n"))
    assert "looks like data" in str(error)


def test_missing_named_column(tmp_path):
    path = _write(tmp_path, "m.csv", "id,text,engage\n1,hi,1\n")
    error = _error(read_messages, path, text_col="body")
    assert error.column == "body" and "'id', 'text', 'engage'" in str(error)
    assert _error(read_messages, path, label_col="gold").column == "gold"


def test_require_labels_without_label_column(tmp_path):
    error = _error(read_messages, _write(tmp_path, "m.csv", "text\nhi\n"), require_labels=True)
    assert "--label-col" in str(error) and "engage" in str(error)


@pytest.mark.parametrize("content, hint", [
    ("text,engage\nhello,1\n".encode("utf-16-le"), "UTF-16"),
    (b"text\nabc\n\x00\x01\x02\xff\xfe binary", "binary"),
])
def test_undecodable_bytes(tmp_path, content, hint):
    error = _error(read_messages, _write(tmp_path, "u.csv", content))
    assert "byte offset" in str(error) and hint in str(error) and error.row is not None


def test_undecodable_bytes_row(tmp_path):
    error = _error(read_messages, _write(tmp_path, "u.csv", b"text\nfine\nbad\x00here\n"))
    assert error.row == 3 and "byte offset 13" in str(error)


def test_xlsx_renamed_to_csv_gets_a_hint(tmp_path):
    path = tmp_path / "m.xlsx"
    pd.DataFrame(ROWS).to_excel(path, index=False)
    assert ".xlsx extension" in str(_error(read_messages, _write(tmp_path, "m.csv", path.read_bytes())))


def test_unsupported_extension(tmp_path):
    error = _error(read_messages, _write(tmp_path, "m.xls", "text\nhi\n"))
    assert "unsupported file type '.xls'" in str(error)
    assert "unsupported" in str(_error(read_messages, b"text\nhi\n", name="noext"))


def test_missing_file(tmp_path):
    assert "no such file" in str(_error(read_messages, tmp_path / "absent.csv"))


def test_corrupt_parquet_and_xlsx(tmp_path):
    path = tmp_path / "m.parquet"
    pd.DataFrame(ROWS).to_parquet(path)
    broken = path.read_bytes()[:-40]
    assert "Parquet" in str(_error(read_messages, _write(tmp_path, "b.parquet", broken)))
    with pytest.raises(InputError, match="Parquet"):
        list(iter_messages(_write(tmp_path, "b2.parquet", b"PAR1 not really parquet")))
    assert "Excel" in str(_error(read_messages, _write(tmp_path, "b.xlsx", b"PK\x03\x04 not a workbook")))


def test_bad_csv_row_and_json_line(tmp_path):
    error = _error(read_messages, _write(tmp_path, "b.csv", "text,engage\na,1\nb,0,extra\n"))
    assert error.row == 3 and "expected 2 fields" in str(error)
    error = _error(read_messages, _write(tmp_path, "q.csv", 'text,engage\na,1\n"never closed,0\n'))
    assert error.row == 3 and "never closed" in str(error)
    error = _error(read_messages, _write(tmp_path, "b.jsonl", '{"text": "a"}\n{"text": oops}\n'))
    assert error.row == 2 and "JSON" in str(error)


# ---------------------------------------- empty messages

def test_empty_messages_counted_with_rows(tmp_path):
    path = _write(tmp_path, "m.csv", 'id,text\n1,hello\n2,\n3,"   "\n\n5,bye\n\n\n')
    messages = read_messages(path)
    # the blank line inside is a row (an empty message); blank lines at the end are not
    assert messages.texts == ["hello", "", "", "", "bye"]
    assert messages.empty_rows == [3, 4, 5]


def test_empty_messages_jsonl_rows_are_lines(tmp_path):
    content = '{"text": "a"}\n{"text": ""}\n\n{"text": null}\n{"other": 1}\n{"text": "b"}\n\n'
    messages = read_messages(_write(tmp_path, "m.jsonl", content))
    assert messages.texts == ["a", "", "", "", "", "b"]
    assert messages.empty_rows == [2, 3, 4, 5]


# ---------------------------------------- streaming

def _many(n: int) -> list[dict]:
    rows = [{"id": str(10**17 + i), "text": f"message number {i}, café", "engage": "yes" if i % 3 else "no"}
            for i in range(n)]
    for i in (4, 11, 25):
        rows[i]["text"] = ""
    return rows


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet", ".xlsx"])
def test_iter_messages_matches_read_messages(tmp_path, suffix):
    frame = pd.DataFrame(_many(27))
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
    rows = _many(27)
    rows[23]["engage"] = "perhaps"
    path = _write(tmp_path, "m.csv", _delimited(",", rows))
    chunks = iter_messages(path, chunk_size=10)
    assert len(next(chunks).texts) == 10
    with pytest.raises(InputError) as info:
        list(chunks)
    assert info.value.row == 25 and "'perhaps'" in str(info.value)
    with pytest.raises(InputError, match="no data rows"):
        list(iter_messages(_write(tmp_path, "h.csv", "text\n\n")))


def test_iter_messages_keeps_first_chunk_text_column(tmp_path):
    path = _write(tmp_path, "m.csv", "a,b\nshort,a much longer message\n" + "a much longer message,x\n" * 3)
    chunks = list(iter_messages(path, chunk_size=1))
    assert {c.text_col for c in chunks} == {"b"}
    assert [c.empty_rows for c in chunks] == [[], [], [], []]


# ---------------------------------------- the shared benchmark

@pytest.mark.skipif(not TRAIN.exists(), reason=f"shared data absent: {TRAIN}")
def test_complaints_train():
    messages = read_messages(TRAIN)
    assert len(messages.texts) == 2760
    assert messages.text_col == "text" and messages.label_col == "engage"
    assert int(messages.labels.sum()) == 986
    assert messages.frame["id"].iloc[0] == "101966809401540608"
    assert messages.empty_rows == []


def test_messages_from_an_already_read_table_equal_a_fresh_read_and_share_it(tmp_path):
    from engage.reading import messages_from_table, read_table

    path = tmp_path / "m.csv"
    path.write_text("id,text,engage\n1,where is my refund,1\n2,,0\n3,love it,0\n", encoding="utf-8")
    table = read_table(path.read_bytes(), name="m.csv")
    shared = messages_from_table(table, name="m.csv")
    fresh = read_messages(path)
    assert shared.frame is table
    assert (shared.texts, shared.empty_rows, shared.text_col, shared.label_col) == (
        fresh.texts, fresh.empty_rows, fresh.text_col, fresh.label_col)
    assert shared.labels.tolist() == fresh.labels.tolist() == [1, 0, 0]
