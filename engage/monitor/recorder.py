"""Recording a scored file chunk by chunk: each chunk is summarized (bounded) and merged, and the file is written to
the history once, after its output is complete, under one batch key (so scoring it again adds nothing)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from engage.contract import FLAG_COL, SCORE_COL, ScoredBatch
from engage.monitor.history import HistoryWriter
from engage.monitor.summary import DaySummary, file_batch_key, merge_all, split_candidates
from engage.reading import Messages
from engage.reading.times import TimeReader, detect_time_column


def batch_parts(messages: Messages, time_col: str | None, reader: TimeReader | None = None,
                split_cols: list[str] | None = None) -> tuple[TimeReader | None, list[str], dict]:
    """The time reader (column given, else detected by name; None without one), the split columns, and this
    chunk's times and columns for a ScoredBatch."""
    frame = messages.frame
    skip = (messages.text_col, messages.label_col, SCORE_COL, FLAG_COL)
    if reader is None:
        column = time_col or detect_time_column(frame, exclude=tuple(c for c in skip if c))
        reader = TimeReader(column, messages.source) if column is not None else None
    if split_cols is None:
        split_cols = split_candidates(frame, exclude=[c for c in (*skip, reader and reader.column) if c])
    times = reader.read(frame, messages.first_row + messages.row_offset) if reader is not None else None
    columns = {c: frame[c].tolist() for c in split_cols if c in frame.columns}
    return reader, split_cols, {"times": times, "columns": columns or None}


class FileRecorder:
    def __init__(self, history: HistoryWriter, source: str, model: str, time_col: str | None) -> None:
        self.history, self.source, self.model, self.time_col = history, source, model, time_col
        self.reader: TimeReader | None = None
        self.split_cols: list[str] | None = None
        self.days: dict[date, DaySummary] = {}
        self.text_col = ""

    def add(self, chunk: Messages, scored: pd.DataFrame) -> None:
        self.reader, self.split_cols, parts = batch_parts(chunk, self.time_col, self.reader, self.split_cols)
        self.text_col = chunk.text_col
        batch = ScoredBatch(self.source, self.model, chunk.texts, scored[SCORE_COL].to_numpy(dtype=float),
                            scored[FLAG_COL].to_numpy(dtype=bool), **parts)
        self.days = merge_all([self.days, self.history.summarize(batch)], self.history.settings.sample_size)

    def finish(self, sha256: str) -> dict:
        recorded = self.history.record_summary(self.source, self.model, self.days,
                                               file_batch_key(sha256, self.text_col))
        notes = list(self.reader.notes) if self.reader is not None else []
        if self.reader is None:
            notes.append("no time column found: the messages are recorded under the scoring time (pass --time-col)")
        return {"history": "recorded" if recorded else "already recorded (same file, same model)",
                "time_col": self.reader.column if self.reader is not None else None, "time_notes": notes,
                "history_days": len(self.days)}


def record_messages(history: HistoryWriter, messages: Messages, scores, threshold: float, model: str,
                    sha256: str, *, source: str = "app", time_col: str | None = None) -> dict:
    """A whole table scored at once (the Score page): recorded under the file's batch key. Returns what to tell the
    user: whether it was recorded, the time column used, notes."""
    if not history.enabled:
        return {"history": "off", "time_col": None, "time_notes": []}
    recorder = FileRecorder(history, source, model, time_col)
    scores = np.asarray(scores, dtype=float)
    recorder.add(messages, pd.DataFrame({SCORE_COL: scores, FLAG_COL: scores >= threshold}))
    return recorder.finish(sha256)
