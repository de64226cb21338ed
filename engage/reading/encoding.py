"""Which text encoding a file uses, and refusing files that are not text (with a hint at what they are)."""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterable

from engage.errors import InputError


def detect_encoding(blocks: Iterable[bytes], name: str) -> str:
    """utf-8 (BOM or not) if every byte fits, else cp1252, else latin-1; one pass, bounded memory.

    The choice is made on the whole file's evidence: a file whose non-ASCII text is mostly valid UTF-8 is UTF-8,
    and its few bytes that are not are an InputError naming their rows (decoding all of it as cp1252 would turn
    every "café" into "cafÃ©" without a word). Only a file without that evidence is read as cp1252 or latin-1.
    latin-1 decodes any byte, so text that fits nothing is recognised by NUL bytes instead (UTF-16 without a
    byte-order mark, Excel or other binary files), and refused.
    """
    utf8 = _Utf8Evidence()
    cp1252_ok = True
    offset = lines = 0
    head = b""
    for block in blocks:
        if not head:
            head = block[:256]
            if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
                return "utf-16"
        _refuse_nul(block, offset, lines, head, name)
        utf8.feed(block, lines)
        cp1252_ok = cp1252_ok and _decodes(lambda b: b.decode("cp1252"), block)
        offset += len(block)
        lines += block.count(b"\n")
    utf8.finish(lines)
    if not utf8.bad:
        return "utf-8-sig"
    if utf8.good >= utf8.bad:
        raise utf8.error(name)
    return "cp1252" if cp1252_ok else "latin-1"


class _Utf8Evidence:
    """Counts, over a file fed block by block, the evidence for UTF-8 (`good`: continuation bytes of valid multi-byte
    characters, at least one per character) and against it (`bad`: bytes that are not UTF-8), with the line and
    the byte in that line of the first few bad ones."""

    SHOWN = 5

    def __init__(self) -> None:
        # surrogateescape turns each byte that is not UTF-8 into one lone surrogate U+DC80..U+DCFF: both counts
        # come from one decode at C speed
        self.decoder = codecs.getincrementaldecoder("utf-8")("surrogateescape")
        self.good = self.bad = 0
        self.where: list[tuple[int, int, int]] = []  # (line, byte in the line, the byte's value)

    def feed(self, block: bytes, lines: int, final: bool = False) -> None:
        pending = len(self.decoder.getstate()[0])  # bytes of the previous block held back, mid-character
        text = self.decoder.decode(block, final)
        if text.isascii():
            return
        consumed = pending + len(block) - len(self.decoder.getstate()[0])
        # each escaped byte is one character that utf-8 "ignore" drops; each valid k-byte character adds k - 1
        # continuation bytes: both counted at C speed
        bad = consumed - len(text.encode("utf-8", "ignore"))
        self.good += consumed - len(text)
        if bad and len(self.where) < self.SHOWN:
            self._locate(block, text, pending, lines)
        self.bad += bad

    def _locate(self, block: bytes, text: str, pending: int, lines: int) -> None:
        for found in _ESCAPED.finditer(text):
            if len(self.where) >= self.SHOWN:
                return
            at = len(text[:found.start()].encode("utf-8", "surrogateescape")) - pending  # its offset in block
            at = max(at, 0)  # a byte held back from the previous block: shown at this block's start
            line_start = block.rfind(b"\n", 0, at) + 1
            value = block[at] if at < len(block) else ord(found.group()) - 0xDC00
            self.where.append((lines + block.count(b"\n", 0, at) + 1, at - line_start + 1, value))

    def finish(self, lines: int) -> None:
        self.feed(b"", lines, final=True)

    def error(self, name: str) -> InputError:
        shown = "; ".join(f"line {line} byte {col} (0x{value:02x})" for line, col, value in self.where)
        more = f" and {self.bad - len(self.where):,} more" if self.bad > len(self.where) else ""
        return InputError(
            f"the file is UTF-8 except for {self.bad:,} byte(s) that are not: "
            f"{shown}{more}. Fix or remove them (or save the file again as UTF-8): engage does not read the whole "
            "file in another encoding for a few bytes", file=name, row=self.where[0][0] if self.where else None)


_ESCAPED = re.compile("[\udc80-\udcff]")


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
