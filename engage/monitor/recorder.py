"""Recording a scored file chunk by chunk: each chunk is summarized (bounded) and merged, and the file is written to
the history once, after its output is complete, under one batch key (so scoring it again adds nothing)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from engage.contract import FLAG_COL, SCORE_COL, ScoredBatch
from engage.errors import InputError
from engage.monitor.history import HistoryWriter
from engage.monitor.summary import DaySummary, file_batch_key, merge_all, split_candidates, summarize
from engage.reading import Messages
from engage.reading.times import TimeReader, detect_time_column
from engage.thresholds import flagged

SCORING_TIME = ""  # as a time_col: no time column, the scoring time dates every message (None: detect one by name)


def _no_time_note(time_col: str | None) -> str:
    if time_col == SCORING_TIME:
        return "no time column chosen: the messages are recorded under the scoring time"
    return "no time column found: the messages are recorded under the scoring time (pass --time-col)"


def batch_parts(messages: Messages, time_col: str | None, reader: TimeReader | None = None,
                split_cols: list[str] | None = None) -> tuple[TimeReader | None, list[str], dict]:
    """The time reader (column given, else detected by name; None without one or for SCORING_TIME), the split
    columns, and this chunk's times and columns for a ScoredBatch."""
    frame = messages.frame
    skip = (messages.text_col, messages.label_col, SCORE_COL, FLAG_COL)
    if reader is None:
        column = detect_time_column(frame, exclude=tuple(c for c in skip if c)) if time_col is None else time_col
        reader = TimeReader(column, messages.source) if column else None
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
            notes.append(_no_time_note(self.time_col))
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
    recorder.add(messages, pd.DataFrame({SCORE_COL: scores, FLAG_COL: flagged(scores, threshold)}))
    return recorder.finish(sha256)


# ---------------------------------------- the Ray engine: decided on the driver, summarized per block, merged


@dataclass(frozen=True)
class BlockSpec:
    """What each Ray write task needs to summarize its block (plain values: it crosses to the workers)."""

    text_col: str
    time_col: str | None
    dayfirst: bool | None
    ambiguous: bool
    split_cols: tuple[str, ...]
    sample_size: int
    notes: tuple[str, ...] = ()


def block_spec(first_chunk: Messages, time_col: str | None, sample_size: int) -> BlockSpec:
    """Decided once on the driver from the first file's first rows, so every block reads times the same way."""
    reader, splits, _ = batch_parts(first_chunk, time_col)
    return BlockSpec(first_chunk.text_col, reader.column if reader else None, reader.dayfirst if reader else None,
                     bool(reader and reader.ambiguous), tuple(splits), sample_size,
                     tuple(reader.notes) if reader else (_no_time_note(time_col),))


def summarize_block(spec: BlockSpec, frame: pd.DataFrame) -> dict[date, DaySummary]:
    """One scored block (input columns + engage_score + engageable) summarized per day."""
    texts = ["" if v is None or (not isinstance(v, str) and pd.isna(v)) or not str(v).strip() else str(v)
             for v in frame[spec.text_col].tolist()]
    times = None
    if spec.time_col is not None and not spec.ambiguous and spec.time_col in frame.columns:
        reader = TimeReader(spec.time_col, dayfirst=spec.dayfirst, _decided=True)
        try:
            times = reader.read(frame, 0)
        except InputError:  # a bad time in a later block must not fail the scoring: this block gets its time
            times = None
    columns = {c: frame[c].tolist() for c in spec.split_cols if c in frame.columns}
    batch = ScoredBatch("ray", "", texts, frame[SCORE_COL].to_numpy(dtype=float),
                        frame[FLAG_COL].to_numpy(dtype=bool), times, None, columns or None)
    return summarize(batch, sample_size=spec.sample_size)
