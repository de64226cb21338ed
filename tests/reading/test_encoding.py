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


def _utf8_rows(n: int) -> bytes:
    """A UTF-8 file of n messages, one non-ASCII word each (the issue's 150,000-row file, smaller)."""
    return ("id,text\n" + "".join(f"{i},le café numéro {i} était froid\n" for i in range(n))).encode("utf-8")


@pytest.mark.parametrize("read", ["whole", "chunks"])
def test_one_bad_byte_in_a_large_utf8_file_is_named_not_read_as_cp1252(tmp_path, read):
    data = bytearray(_utf8_rows(150_000))
    at = data.index(b"numero".replace(b"e", b"\xc3\xa9"), len(data) // 2)  # an é in the middle of the file
    data[at:at + 2] = b"\xe9"  # that one é saved as cp1252: one byte that is not UTF-8
    path = write_file(tmp_path, "m.csv", bytes(data))
    row = data[:at].count(b"\n") + 1
    call = read_messages if read == "whole" else (lambda p: list(iter_messages(p, chunk_size=10_000)))
    error = input_error(call, path)  # before: every row decoded as cp1252 ("cafÃ©"), silently
    assert error.row == row and f"line {row} byte " in str(error) and "(0xe9)" in str(error)
    assert "UTF-8" in str(error) and "1 byte(s)" in str(error)


def test_a_few_bad_bytes_are_each_named_by_line(tmp_path):
    data = _utf8_rows(50).replace(b"le caf\xc3\xa9 num\xc3\xa9ro 7 ", b"le caf\x81 num\xc3\xa9ro 7 ")
    data = data.replace(b"20,le", b"20,\xffle")
    error = input_error(read_messages, write_file(tmp_path, "m.csv", data))
    assert "line 9 byte 9 (0x81)" in str(error) and "line 22 byte 4 (0xff)" in str(error)
    assert "2 byte(s)" in str(error)


def test_a_real_cp1252_file_with_some_utf8_looking_pairs_is_still_cp1252(tmp_path):
    # a cp1252 file is decided on its whole evidence: many lone high bytes, one pair that happens to be UTF-8
    text = "text\n" + "".join(f"Le café {i} était froid\n" for i in range(200)) + "mojibake Ã©\n"
    messages = read_messages(write_file(tmp_path, "m.csv", text, encoding="cp1252"))
    assert messages.texts[0] == "Le café 0 était froid" and messages.texts[-1] == "mojibake Ã©"


def test_a_bad_byte_across_a_block_boundary_is_found(tmp_path):
    from engage.reading.sources import BLOCK

    head = b"text\n" + b"a" * (BLOCK - 6) + b"\n"  # the next line starts 1 byte before the block's end
    data = head + "é".encode() + b" \xe9 caf\xc3\xa9 \xe2\x82\xac\n" + "ünïcode\n".encode() * 3
    error = input_error(read_messages, write_file(tmp_path, "m.csv", data))
    assert "line 3 byte 4 (0xe9)" in str(error)
