"""Labels out as CSV (formula-safe, or plain for other programs: engage/outputs.py) or JSON Lines."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pandas as pd

from engage.errors import InputError
from engage.outputs import to_csv_bytes

FORMATS = ("csv", "jsonl")
_LABEL_COLUMNS = ["message_id", "text", "annotator", "label", "labeled_at", "score", "model", "set_id", "label_id",
                  "bulk", "training_label", "reviewed_by"]


def _iso(times: pd.Series) -> pd.Series:
    """Naive UTC times -> ISO 8601 text with a Z; missing stays missing."""
    return pd.to_datetime(times).dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ").astype(object).where(times.notna(), None)


def label_rows(active_labels: pd.DataFrame, gold: pd.DataFrame, decided: pd.DataFrame) -> pd.DataFrame:
    """One row per annotator and message: their active label; whether it was given in bulk (engage/labels/bulk.py);
    and the message's training label with the reviewer who decided it, if one did (gold: engage.labels.review.gold
    of these labels and the decisions `decided`), so that an export keeps what review settled."""
    out = active_labels.rename(columns={"value": "label", "created_at": "labeled_at"})
    out["labeled_at"] = _iso(out["labeled_at"])
    out["bulk"] = out["batch_id"].notna()
    training = gold.set_index("message_id")["label"]
    reviewer = decided.set_index("message_id")["reviewer"]
    out["training_label"] = out["message_id"].map(training).astype("Int8")
    out["reviewed_by"] = out["message_id"].map(reviewer).astype(object).where(out["message_id"].isin(reviewer.index),
                                                                               None)
    return out[_LABEL_COLUMNS]


def with_source(rows: pd.DataFrame, sources: pd.DataFrame) -> pd.DataFrame:
    """Adds where each message came from, to join labels back to the file: source_row (the file's data row, 1 the
    first under the header, as the label card counts) and source_id (the row's value in the file's id column, if
    the file had one). A label given in a set has its set's row; one given elsewhere (or in a deleted set) the
    first set's that holds the message, when the export is not of one set."""
    keys = ["set_id", "message_id"]
    found = sources.assign(source_row=sources["position"].astype("Int64") + 1).drop(columns=["position"])
    found["set_id"] = found["set_id"].astype("Int64")
    if found["set_id"].nunique() == 1:  # one set: every message's row is that set's, wherever it was labeled
        by_message = found.drop(columns=["set_id"]).drop_duplicates("message_id")
        out = rows.merge(by_message, on="message_id", how="left")
    else:
        exact = rows.assign(set_id=rows["set_id"].astype("Int64")).merge(found, on=keys, how="left")
        first = found.sort_values(keys).drop_duplicates("message_id").drop(columns=["set_id"])
        fallback = rows[["message_id"]].merge(first, on="message_id", how="left")
        out = exact.copy()
        for column in ("source_row", "source_id"):
            out[column] = exact[column].where(exact[column].notna(), fallback[column].to_numpy())
        out["set_id"] = rows["set_id"].to_numpy()
    return out.astype({"source_row": "Int64"})


def history_rows(history: pd.DataFrame) -> pd.DataFrame:
    """Every answer, skips and undone ones included."""
    out = history.rename(columns={"created_at": "answered_at"})
    for column in ("answered_at", "undone_at"):
        out[column] = _iso(out[column])
    return out


def to_bytes(frame: pd.DataFrame, fmt: str, spreadsheet_safe: bool = True) -> bytes:
    """CSV (formula-guarded unless spreadsheet_safe is False: engage.formula_guard.PLAIN_CSV) or JSON Lines."""
    if fmt not in FORMATS:
        raise InputError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")
    if fmt == "csv":
        return to_csv_bytes(frame, spreadsheet_safe)
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
