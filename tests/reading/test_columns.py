"""Columns: the text and label columns found by name or content, explicit names, clear errors."""

from __future__ import annotations

import pandas as pd
import pytest

from engage.errors import InputError
from engage.reading import (
    choose_text_column,
    detect_label_column,
    detect_text_column,
    iter_messages,
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


# ---------------------------------------- text words inside longer names

CASES = pd.DataFrame({
    "Case ID": ["CASE-2024-000123-EMEA-WEB", "CASE-2024-000124-EMEA-WEB"],
    "Message Body": ["my parcel never came", "refund please"],
    "Channel": ["email", "twitter"],
    "Agent Notes": ["customer called twice about the same parcel, escalated to tier 2 support",
                    "refund issued after checking the order history and the courier's report"],
})


def test_message_body_beats_longer_agent_notes(tmp_path):
    assert choose_text_column(CASES) == ("Message Body", False)
    path = tmp_path / "cases.csv"
    CASES.to_csv(path, index=False)
    messages = read_messages(path)
    assert messages.text_col == "Message Body" and not messages.text_col_guessed
    assert messages.texts == ["my parcel never came", "refund please"]


@pytest.mark.parametrize("name", ["Message Body", "tweet_text", "CustomerComment", "post-content", "REVIEW TEXT",
                                  "feedbackText", "Product Description", "msgBody", "user message"])
def test_text_word_inside_a_longer_name(name):
    frame = pd.DataFrame({"notes": ["a much longer string than the text itself, really"], "Case ID": ["CASE-1"],
                          name: ["short"]})
    assert choose_text_column(frame) == (name, False)


@pytest.mark.parametrize("other", ["message_id", "tweetId", "post_date", "review_score", "comment_url"])
def test_names_about_a_text_are_not_the_text(other):
    frame = pd.DataFrame({other: ["x2024-01-01T10:00:00 abcdefghijklmnopqrstuvwxyz"], "Message Body": ["short"]})
    assert choose_text_column(frame) == ("Message Body", False)


def test_exact_name_beats_a_word_in_a_longer_name():
    frame = pd.DataFrame({"message body": ["a longer message body here"], "text": ["short"]})
    assert detect_text_column(frame) == "text"


def test_customer_side_beats_agent_side():
    frame = pd.DataFrame({"Agent Reply Text": ["we are sorry to hear that, a refund is on its way to you"],
                          "Customer Message": ["where is my refund"]})
    assert detect_text_column(frame) == "Customer Message"
    assert detect_text_column(frame[["Agent Reply Text"]]) == "Agent Reply Text"


def test_guess_is_flagged_and_never_an_id(tmp_path):
    frame = pd.DataFrame({"Case ID": ["CASE-2024-000123-EMEA-WEB-PRIORITY"], "what": ["lost parcel"]})
    assert choose_text_column(frame) == ("what", True)
    path = tmp_path / "m.csv"
    path.write_text("ref,what\n1,lost parcel again\n", encoding="utf-8")
    messages = read_messages(path)
    assert messages.text_col == "what" and messages.text_col_guessed
    assert not read_messages(path, text_col="what").text_col_guessed
    with pytest.raises(InputError, match="no text column"):
        choose_text_column(frame[["Case ID"]])


def test_guess_flag_is_kept_on_every_chunk(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text("a,b\nshort,a much longer message\n" + "a much longer message,x\n" * 3, encoding="utf-8")
    chunks = list(iter_messages(path, chunk_size=1))
    assert [c.text_col_guessed for c in chunks] == [True] * 4
    named = tmp_path / "n.csv"
    named.write_text("Message Body,b\nhi,a much longer message\nyo,x\n", encoding="utf-8")
    assert [c.text_col_guessed for c in iter_messages(named, chunk_size=1)] == [False, False]
