"""A scored batch summarized per message day: counts, fixed-bin histograms, per-column splits and a bounded random
sample. Summaries merge exactly (counts add; the sample keeps the texts with the smallest random priorities, which is
a uniform sample of the union), so Ray shards, file chunks and the database row combine the same way."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import numpy as np

from engage.contract import ScoredBatch
from engage.language import non_english

SCORE_EDGES = np.linspace(0.0, 1.0, 21)  # 20 bins of 0.05
# characters; the last bin holds everything from 1000 up
LENGTH_EDGES = np.array([0, 20, 40, 60, 80, 100, 120, 140, 160, 200, 240, 280, 400, 600, 1000, np.inf])
MAX_SPLIT_VALUES = 50   # values kept per split column and day; the rest are counted under OTHER
MAX_SPLIT_COLUMNS = 10
OTHER = "(other)"
DEFAULT_SAMPLE = 200


def score_histogram(scores: np.ndarray) -> np.ndarray:
    return np.histogram(np.clip(np.asarray(scores, dtype=float), 0.0, 1.0), bins=SCORE_EDGES)[0].astype(np.int64)


def length_histogram(texts: Sequence[str]) -> np.ndarray:
    lengths = np.fromiter((len(t) for t in texts), dtype=float, count=len(texts))
    return np.histogram(lengths, bins=LENGTH_EDGES)[0].astype(np.int64)


@dataclass
class DaySummary:
    n: int = 0
    flagged: int = 0
    empty: int = 0
    non_english: int = 0
    score_hist: np.ndarray = field(default_factory=lambda: np.zeros(len(SCORE_EDGES) - 1, dtype=np.int64))
    length_hist: np.ndarray = field(default_factory=lambda: np.zeros(len(LENGTH_EDGES) - 1, dtype=np.int64))
    splits: dict[str, dict[str, list[int]]] = field(default_factory=dict)
    sample: list[tuple[float, str, float, datetime]] = field(default_factory=list)  # (priority, text, score, at)

    def merge(self, other: DaySummary, sample_size: int = DEFAULT_SAMPLE) -> DaySummary:
        splits = {c: {v: list(x) for v, x in values.items()} for c, values in self.splits.items()}
        add_splits(splits, other.splits)
        return DaySummary(self.n + other.n, self.flagged + other.flagged, self.empty + other.empty,
                          self.non_english + other.non_english, self.score_hist + other.score_hist,
                          self.length_hist + other.length_hist, splits,
                          sorted(self.sample + other.sample)[:sample_size])


def add_splits(into: dict[str, dict[str, list[int]]], more: dict[str, dict[str, list[int]]]) -> None:
    """Adds counts in place; a column keeps at most MAX_SPLIT_VALUES values, later ones go to OTHER."""
    for column, values in more.items():
        if column not in into and len(into) >= MAX_SPLIT_COLUMNS:
            continue
        kept = into.setdefault(column, {})
        for value, (n, flagged) in values.items():
            key = value if value in kept or len(kept) < MAX_SPLIT_VALUES - 1 or value == OTHER else OTHER
            pair = kept.setdefault(key, [0, 0])
            pair[0] += int(n)
            pair[1] += int(flagged)


def day_of(at: datetime) -> date:
    return at.astimezone(UTC).date()


def _as_utc(at: datetime | None, now: datetime) -> datetime:
    if at is None:
        return now
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def summarize(batch: ScoredBatch, *, sample_size: int = DEFAULT_SAMPLE, now: datetime | None = None,
              rng: np.random.Generator | None = None) -> dict[date, DaySummary]:
    """The batch per UTC day of each message's time (its scoring time when it has none)."""
    now = now or datetime.now(UTC)
    texts = list(batch.texts)
    n = len(texts)
    scores = np.asarray(batch.scores, dtype=float).reshape(-1)
    flagged = np.asarray(batch.flagged, dtype=bool).reshape(-1)
    if len(scores) != n or len(flagged) != n or (batch.times is not None and len(batch.times) != n):
        raise ValueError(f"a scored batch needs one score, flag and time per text ({n} texts)")
    times = [now] * n if batch.times is None else [_as_utc(t, now) for t in batch.times]
    days = np.array([t.date() for t in times], dtype=object)
    empty = np.fromiter((not t.strip() for t in texts), dtype=bool, count=n)
    foreign = non_english(texts)
    priority = (rng or np.random.default_rng()).random(n)
    out: dict[date, DaySummary] = {}
    for day in sorted(set(days.tolist())):
        rows = np.flatnonzero(days == day)
        filled = rows[~empty[rows]]
        kept = filled[np.argsort(priority[filled])[:sample_size]]
        out[day] = DaySummary(
            n=len(rows), flagged=int(flagged[rows].sum()), empty=int(empty[rows].sum()),
            non_english=int(foreign[rows].sum()), score_hist=score_histogram(scores[filled]),
            length_hist=length_histogram([texts[i] for i in filled]),
            splits=_splits(batch.columns, rows, flagged),
            sample=sorted((float(priority[i]), texts[i], float(scores[i]), times[i]) for i in kept))
    return out


def _splits(columns: dict[str, list] | None, rows: np.ndarray, flagged: np.ndarray) -> dict:
    out: dict[str, dict[str, list[int]]] = {}
    for column, values in list((columns or {}).items())[:MAX_SPLIT_COLUMNS]:
        counts: dict[str, list[int]] = {}
        for i in rows:
            value = values[i]
            key = "" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)[:100]
            pair = counts.setdefault(key, [0, 0])
            pair[0] += 1
            pair[1] += int(flagged[i])
        add_splits(out, {str(column): counts})
    return out


def merge_all(parts: Iterable[dict[date, DaySummary]], sample_size: int = DEFAULT_SAMPLE) -> dict[date, DaySummary]:
    out: dict[date, DaySummary] = {}
    for part in parts:
        for day, summary in part.items():
            out[day] = out[day].merge(summary, sample_size) if day in out else summary
    return out


def split_candidates(frame, exclude: Sequence[str] = ()) -> list[str]:
    """Columns worth splitting the volume by (channel, brand, airline): text-like or boolean, with at most
    MAX_SPLIT_VALUES distinct values among the given rows, never an id."""
    from engage.reading.columns import is_id_name

    out = []
    for column in frame.columns:
        if column in exclude or is_id_name(column) or len(out) >= MAX_SPLIT_COLUMNS:
            continue
        values = frame[column]
        if values.dtype.kind in "ifcmM":
            continue
        distinct = values.dropna().astype(str).nunique()
        if 1 < distinct <= MAX_SPLIT_VALUES and distinct < max(2, len(values) // 2):
            out.append(str(column))
    return out


def file_batch_key(sha256: str, text_col: str) -> str:
    """The same file and text column scored again (by any front end) is the same batch."""
    return f"file:{sha256}:{text_col}"[:128]
