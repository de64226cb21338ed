"""Where a file's bytes come from: a path, uploaded bytes or a file object; whole, in blocks, or a sample."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from engage.errors import InputError

BLOCK = 1 << 20
# Enough of the file's start to tell its delimiter or whether JSON is an array, without reading it all.
SAMPLE_BYTES = 64 * 1024


def source_name(source: str | Path | bytes | BinaryIO, name: str | None) -> str:
    """The name errors show and the suffix is taken from; bytes carry none, so uploads must pass one."""
    if name:
        return str(name)
    if isinstance(source, (str, Path)):
        return str(source)
    given = getattr(source, "name", None)
    if isinstance(given, str) and given:
        return given
    raise InputError("a file name is needed to tell the format of uploaded bytes (like 'messages.csv')")


def existing_path(path: str | Path) -> Path:
    """The path, or a clear error instead of a FileNotFoundError traceback."""
    path = Path(path)
    if not path.is_file():
        raise InputError("no such file", file=str(path))
    return path


def read_bytes(source: str | Path | bytes | BinaryIO) -> bytes:
    """All the bytes, from the start even when an upload was read before (for a preview)."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source)
    if isinstance(source, (str, Path)):
        return existing_path(source).read_bytes()
    if getattr(source, "seekable", lambda: False)():
        source.seek(0)
    return source.read()


def file_blocks(path: Path) -> Iterator[bytes]:
    """The file in blocks, so that a large file is checked with bounded memory."""
    with path.open("rb") as handle:
        while block := handle.read(BLOCK):
            yield block
