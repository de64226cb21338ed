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
    """No text file holds a NUL byte; the row it sits on helps find it when it is a stray one."""
    at = block.find(b"\x00")
    if at < 0:
        return
    row = lines + block.count(b"\n", 0, at) + 1
    raise InputError(f"cannot read the file as text: NUL byte at byte offset {offset + at}; "
                     f"{_binary_hint(head)}", file=name, row=row)


def _binary_hint(head: bytes) -> str:
    """What the file probably is, from its first bytes, so the user knows how to fix it."""
    if head.startswith(b"PK\x03\x04"):
        return "it looks like an Excel (.xlsx) or zip file: give it the .xlsx extension"
    if head.startswith(b"PAR1"):
        return "it looks like a Parquet file: give it the .parquet extension"
    half = len(head) // 2
    if half and max(head[0::2].count(0), head[1::2].count(0)) > half * 0.6:
        return "it looks like UTF-16 without a byte-order mark: save it as UTF-8"
    return "it looks like a binary file, not text: save it as UTF-8 CSV"
