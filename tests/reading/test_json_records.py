"""JSON Lines and JSON arrays: records, exact integers, and rows that are lines."""

from __future__ import annotations

import json

import pytest

from engage.reading import (
    iter_messages,
    read_messages,
)
from tests.reading.helpers import ROWS, assert_rows, input_error, write_file


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


DEEP = '{"text": "hi", "x": ' + "[" * 5000 + "]" * 5000 + "}"


@pytest.mark.parametrize("read", ["whole", "chunks"])
def test_json_lines_nested_5000_deep_is_an_input_error_with_its_row(tmp_path, read):
    path = write_file(tmp_path, "deep.jsonl", '{"text": "a"}\n{"text": "b"}\n' + DEEP + "\n")
    call = read_messages if read == "whole" else (lambda p: list(iter_messages(p, chunk_size=1)))
    error = input_error(call, path)  # before: an uncaught RecursionError (the app said "bug", the CLI exit 2)
    assert error.row == 3 and "nested too deeply" in str(error)


def test_a_json_array_nested_5000_deep_is_an_input_error(tmp_path):
    error = input_error(read_messages, write_file(tmp_path, "deep.json", "[" + DEEP + "]"))
    assert "nested too deeply" in str(error)


def test_the_cli_on_deep_json_lines_exits_1_naming_the_row(tmp_path, capsys):
    from engage.cli import run

    path = write_file(tmp_path, "deep.jsonl", '{"text": "a", "label": 1}\n' + DEEP + "\n")
    assert run(["evaluate", str(path), "--label-col", "label"]) == 1  # reads the file before any model
    assert "row 2" in capsys.readouterr().err
