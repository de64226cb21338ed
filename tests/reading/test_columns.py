"""Columns: the text and label columns found by name or content, explicit names, clear errors."""

from __future__ import annotations

import pandas as pd
import pytest

from engage.errors import InputError
from engage.reading import (
    detect_label_column,
    detect_text_column,
    read_messages,
)
from tests.reading.helpers import input_error, write_file


@pytest.mark.parametrize("name", ["text", "Message", "CleanText", "clean_text", "TWEET", "body", "content"])
def test_text_column_by_name(name):
    frame = pd.DataFrame({"notes": ["a much longer string than the text itself, really"], name: ["short"]})
    assert detect_text_column(frame) == name


def test_text_column_by_longest_values():
    frame = pd.DataFrame({"id": ["101966809401540608", "104310845818929152"], "domain": ["apparel", "tech"],
                          "what": ["my parcel is lost, help me", "the screen went black again"]})
    assert detect_text_column(frame) == "what"


def test_text_column_explicit_override(tmp_path):
    path = write_file(tmp_path, "m.csv", "text,other\nhello,world wide\n")
    assert read_messages(path, text_col="other").texts == ["world wide"]
    assert read_messages(path, text_col="OTHER").text_col == "other"


def test_label_column_detection():
    frame = pd.DataFrame({"text": ["a"], "Is_Engageable": ["yes"]})
    assert detect_label_column(frame, "text") == "Is_Engageable"
    assert detect_label_column(pd.DataFrame({"text": ["a"], "note": ["b"]}), "text") is None


def test_label_column_explicit_and_switched_off(tmp_path):
    path = write_file(tmp_path, "m.csv", "text,engage,mine\nhi,1,no\nyo,0,yes\n")
    assert read_messages(path, label_col="mine").labels.tolist() == [0, 1]
    messages = read_messages(path, detect_labels=False)
    assert messages.label_col is None and messages.labels is None


def test_detected_column_without_label_values_is_not_labels(tmp_path):
    path = write_file(tmp_path, "m.csv", "text,class\nhello,apparel\nworld,food\n")
    assert read_messages(path).label_col is None
    with pytest.raises(InputError, match="unknown label value"):
        read_messages(path, require_labels=True)


def test_no_text_column(tmp_path):
    error = input_error(read_messages, write_file(tmp_path, "n.csv", "id,score\n1,2\n3,4\n"))
    assert "no text column" in str(error) and "'id', 'score'" in str(error) and "--text-col" in str(error)


def test_header_that_looks_like_data(tmp_path):
    error = input_error(read_messages, write_file(tmp_path, "n.csv", "101966809401540608,17\n104310845818929152,18\n"))
    assert "looks like data" in str(error)


def test_missing_named_column(tmp_path):
    path = write_file(tmp_path, "m.csv", "id,text,engage\n1,hi,1\n")
    error = input_error(read_messages, path, text_col="body")
    assert error.column == "body" and "'id', 'text', 'engage'" in str(error)
    assert input_error(read_messages, path, label_col="gold").column == "gold"


def test_require_labels_without_label_column(tmp_path):
    error = input_error(read_messages, write_file(tmp_path, "m.csv", "text\nhi\n"), require_labels=True)
    assert "--label-col" in str(error) and "engage" in str(error)
