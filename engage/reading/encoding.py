"""Which text encoding a file uses, and refusing files that are not text (with a hint at what they are)."""

from __future__ import annotations

import codecs
from collections.abc import Iterable

from engage.errors import InputError


def detect_encoding(blocks: Iterable[bytes], name: str) -> str:
    """utf-8 (BOM or not) if every byte fits, else cp1252, else latin-1; one pass, bounded memory.

    latin-1 decodes any byte, so text that fits nothing is recognised by NUL bytes instead (UTF-16 without a
    byte-order mark, Excel or other binary files), and refused.
    """
    utf8 = codecs.getincrementaldecoder("utf-8")("strict")
    utf8_ok = cp1252_ok = True
    offset = lines = 0
    head = b""
    for block in blocks:
        if not head:
            head = block[:256]
            if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
                return "utf-16"
        _refuse_nul(block, offset, lines, head, name)
        utf8_ok = utf8_ok and _decodes(utf8.decode, block)
        cp1252_ok = cp1252_ok and _decodes(lambda b: b.decode("cp1252"), block)
        offset += len(block)
        lines += block.count(b"\n")
    utf8_ok = utf8_ok and _decodes(lambda b: utf8.decode(b, final=True), b"")
    return "utf-8-sig" if utf8_ok else "cp1252" if cp1252_ok else "latin-1"


def _decodes(decode, block: bytes) -> bool:
    try:
        decode(block)
    except UnicodeDecodeError:
        return False
    return True


def _refuse_nul(block: bytes, offset: int, lines: int, head: bytes, name: str) -> None:
    """No text file holds a NUL byte. A binary file (an image, a workbook) is named as such; in text, the row of
    the stray NUL helps find it."""
    at = block.find(b"\x00")
    if at < 0:
        return
    binary = _binary_kind(head)
    if binary is not None:
        kind, fix = binary
        raise InputError(f"not a text file: it holds binary content ({kind}); {fix}", file=name)
    row = lines + block.count(b"\n", 0, at) + 1
    raise InputError(f"cannot read the file as text: NUL byte at byte offset {offset + at}; "
                     f"{_text_hint(head)}", file=name, row=row)


_CHOOSE_ANOTHER = "choose the file with the messages (CSV, TSV, Excel, JSON Lines or Parquet)"
# A file's first bytes tell its kind, whatever its name says.
_SIGNATURES: tuple[tuple[bytes, str, str], ...] = (
    (b"PK\x03\x04", "it looks like an Excel (.xlsx) or zip file", "give it the .xlsx extension"),
    (b"PAR1", "it looks like a Parquet file", "give it the .parquet extension"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "it looks like an old Excel (.xls) or Word file",
     "save it as .xlsx or as UTF-8 CSV"),
    (b"\x89PNG\r\n\x1a\n", "it looks like a PNG image", _CHOOSE_ANOTHER),
    (b"\xff\xd8\xff", "it looks like a JPEG image", _CHOOSE_ANOTHER),
    (b"GIF8", "it looks like a GIF image", _CHOOSE_ANOTHER),
    (b"%PDF", "it looks like a PDF document", _CHOOSE_ANOTHER),
    (b"\x1f\x8b", "it looks like a gzip archive", "unpack it first"),
    (b"SQLite format 3\x00", "it looks like an SQLite database", _CHOOSE_ANOTHER),
)
# Bytes no text holds, apart from a stray one: tab, newline, carriage return, form feed and escape are text.
_CONTROL = bytes(b for b in range(32) if b not in b"\t\n\r\x0c\x1b") + b"\x7f"


def _binary_kind(head: bytes) -> tuple[str, str] | None:
    """(what the file looks like, how to fix it) when its first bytes are not text at all, else None."""
    for signature, kind, fix in _SIGNATURES:
        if head.startswith(signature):
            return kind, fix
    if _looks_utf16(head):
        return None  # text in the wrong encoding, told by _text_hint
    if sum(head.count(bytes([b])) for b in _CONTROL) > 0.3 * len(head):
        return "control bytes throughout", _CHOOSE_ANOTHER
    return None


def _looks_utf16(head: bytes) -> bool:
    half = len(head) // 2
    return bool(half) and max(head[0::2].count(0), head[1::2].count(0)) > half * 0.6


def _text_hint(head: bytes) -> str:
    """Why a text file holds a NUL byte, so the user knows how to fix it."""
    if _looks_utf16(head):
        return "it looks like UTF-16 without a byte-order mark: save it as UTF-8"
    return "it looks like a binary file, not text: save it as UTF-8 CSV"
