"""Encodings: UTF-8 with or without BOM, cp1252, latin-1, UTF-16; binary files refused with a hint."""

from __future__ import annotations

import struct
import zlib

import pandas as pd
import pytest

from engage.reading import (
    iter_messages,
    read_messages,
)
from tests.reading.helpers import ROWS, assert_rows, delimited, input_error, write_file


def test_utf8_bom(tmp_path):
    path = write_file(tmp_path, "m.csv", "\ufeff" + delimited(","))
    messages = read_messages(path)
    assert_rows(messages)
    assert messages.frame.columns[0] == "id"  # the BOM is not part of the first column's name


def test_cp1252(tmp_path):
    rows = [{"text": "Le café était froid \u201cvraiment\u201d", "label": "yes"},
            {"text": "Na\u00efve question \u2013 où?", "label": "no"}]
    path = write_file(tmp_path, "m.csv", delimited(",", rows), encoding="cp1252")
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")
    messages = read_messages(path)
    assert messages.texts == [r["text"] for r in rows]
    assert messages.labels.tolist() == [1, 0]


def test_latin1_bytes_undefined_in_cp1252(tmp_path):
    # 0x81 and 0x9d are undefined in cp1252: only latin-1 takes them
    path = write_file(tmp_path, "m.csv", b"text\nabc \x81 d\xe9f \x9d\n")
    assert read_messages(path).texts == ["abc \x81 d\u00e9f \x9d"]


def test_utf16_with_bom(tmp_path):
    path = write_file(tmp_path, "m.csv", "text,engage\nbonjour café,1\n".encode("utf-16"))
    messages = read_messages(path)
    assert messages.texts == ["bonjour café"]


@pytest.mark.parametrize("content, hint", [
    ("text,engage\nhello,1\n".encode("utf-16-le"), "UTF-16"),
    (b"text\nabc\n\x00\x01\x02\xff\xfe binary", "binary"),
])
def test_undecodable_bytes(tmp_path, content, hint):
    error = input_error(read_messages, write_file(tmp_path, "u.csv", content))
    assert "byte offset" in str(error) and hint in str(error) and error.row is not None


def test_undecodable_bytes_row(tmp_path):
    error = input_error(read_messages, write_file(tmp_path, "u.csv", b"text\nfine\nbad\x00here\n"))
    assert error.row == 3 and "byte offset 13" in str(error)


def test_xlsx_renamed_to_csv_gets_a_hint(tmp_path):
    path = tmp_path / "m.xlsx"
    pd.DataFrame(ROWS).to_excel(path, index=False)
    assert ".xlsx extension" in str(input_error(read_messages, write_file(tmp_path, "m.csv", path.read_bytes())))


def _png() -> bytes:
    """A real 1x1 PNG image, built by the format's rules (signature, IHDR, IDAT, IEND chunks)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
            + chunk(b"IEND", b""))


def test_png_renamed_to_csv_is_not_a_text_file(tmp_path):
    path = write_file(tmp_path, "photo.csv", _png())
    for error in (input_error(read_messages, path), input_error(read_messages, _png(), name="photo.csv"),
                  input_error(lambda: list(iter_messages(path)))):
        assert "not a text file" in str(error) and "binary content" in str(error) and "PNG image" in str(error)
        assert error.file.endswith("photo.csv") and str(error).startswith(error.file)
        assert "NUL" not in str(error) and error.row is None


def test_unknown_binary_is_not_a_text_file(tmp_path):
    elf = b"\x7fELF\x02\x01\x01\x00" + bytes(range(1, 9)) * 8 + b"\x00" * 40
    error = input_error(read_messages, write_file(tmp_path, "tool.csv", elf))
    assert "not a text file" in str(error) and "binary content" in str(error) and error.file.endswith("tool.csv")
