"""JSON Lines and JSON arrays: records, exact integers, and rows that are lines."""

from __future__ import annotations

import json

import pytest

from engage.reading import (
    read_messages,
)
from tests.reading.helpers import ROWS, assert_rows, write_file


@pytest.mark.parametrize("suffix", [".jsonl", ".ndjson", ".json"])
def test_json_lines(tmp_path, suffix):
    lines = [json.dumps({**r, "id": int(r["id"])}) for r in ROWS]
    messages = read_messages(write_file(tmp_path, "m" + suffix, "\n".join(lines) + "\n"))
    assert_rows(messages)
    assert messages.frame["id"].tolist()[0] == 101966809401540608


def test_json_array(tmp_path):
    messages = read_messages(write_file(tmp_path, "m.json", json.dumps(ROWS, indent=1)))
    assert_rows(messages)


def test_empty_messages_jsonl_rows_are_lines(tmp_path):
    content = '{"text": "a"}\n{"text": ""}\n\n{"text": null}\n{"other": 1}\n{"text": "b"}\n\n'
    messages = read_messages(write_file(tmp_path, "m.jsonl", content))
    assert messages.texts == ["a", "", "", "", "", "b"]
    assert messages.empty_rows == [2, 3, 4, 5]
