"""What the reading tests share: three rows with a large id and delimiters inside a message, and file writers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engage.errors import InputError
from engage.reading import Messages

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
TRAIN = SHARED / "data" / "complaints" / "train.csv"

ROWS = [
    {"id": "101966809401540608", "text": "My order never arrived, please help", "engage": "1"},
    {"id": "104310845818929152", "text": "Lovely weather today", "engage": "0"},
    {"id": "7", "text": "The app crashes; every time | always", "engage": "1"},
]


def write_file(tmp_path: Path, name: str, content: str | bytes, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode(encoding))
    return path


def delimited(sep: str, rows: list[dict] = ROWS) -> str:
    frame = pd.DataFrame(rows)
    return frame.to_csv(sep=sep, index=False, lineterminator="\n")


def assert_rows(messages: Messages) -> None:
    """The messages are ROWS, read right: texts, columns, int8 labels, the large id exact."""
    assert messages.texts == [r["text"] for r in ROWS]
    assert messages.text_col == "text"
    assert messages.label_col == "engage"
    assert messages.labels.dtype == np.int8
    assert messages.labels.tolist() == [1, 0, 1]
    assert messages.empty_rows == []
    assert messages.frame["id"].tolist()[0] in ("101966809401540608", 101966809401540608)


def input_error(func, *args, **kwargs) -> InputError:
    """The InputError func raises; its message is one line, as the CLI and the app show it."""
    with pytest.raises(InputError) as info:
        func(*args, **kwargs)
    message = str(info.value)
    assert "\n" not in message
    return info.value


def many_rows(n: int) -> list[dict]:
    """n rows with large ids, a non-ASCII character, yes/no labels and three empty messages."""
    rows = [{"id": str(10**17 + i), "text": f"message number {i}, café", "engage": "yes" if i % 3 else "no"}
            for i in range(n)]
    for i in (4, 11, 25):
        rows[i]["text"] = ""
    return rows
