"""Labels out as CSV (formula-safe) or JSON Lines."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pandas as pd

from engage.errors import InputError
from engage.outputs import to_csv_bytes

FORMATS = ("csv", "jsonl")
_LABEL_COLUMNS = ["message_id", "text", "annotator", "label", "labeled_at", "score", "model", "set_id", "label_id"]


def _iso(times: pd.Series) -> pd.Series:
    """Naive UTC times -> ISO 8601 text with a Z; missing stays missing."""
    return pd.to_datetime(times).dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ").astype(object).where(times.notna(), None)


def label_rows(active_labels: pd.DataFrame) -> pd.DataFrame:
    """One row per annotator and message: their active label."""
    out = active_labels.rename(columns={"value": "label", "created_at": "labeled_at"})
    out["labeled_at"] = _iso(out["labeled_at"])
    return out[_LABEL_COLUMNS]


def history_rows(history: pd.DataFrame) -> pd.DataFrame:
    """Every answer, skips and undone ones included."""
    out = history.rename(columns={"created_at": "answered_at"})
    for column in ("answered_at", "undone_at"):
        out[column] = _iso(out[column])
    return out


def to_bytes(frame: pd.DataFrame, fmt: str) -> bytes:
    if fmt not in FORMATS:
        raise InputError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")
    if fmt == "csv":
        return to_csv_bytes(frame)
    if frame.empty:
        return b""
    return frame.to_json(orient="records", lines=True, force_ascii=False).encode("utf-8")


def write_atomic(data: bytes, path: str | Path) -> None:
    """A reader never sees half a file: write beside it, then rename over it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
