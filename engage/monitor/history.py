"""The scoring history in the project's database: what was scored, per source, message day and model version.

    writer = HistoryWriter()             # the project's database (ENGAGE_DATABASE_URL or the SQLite file)
    writer.record(ScoredBatch(source="cli", model=clf.name, texts=texts, scores=s, flagged=f, batch_key=sha256))

Storage is bounded by days x sources x model versions: one row each (counts, two histograms of 20 and 15 bins,
at most 10 split columns of 50 values) plus at most [monitor] sample_size sampled texts, which are deleted after
keep_texts_days. A batch key recorded once with a model is never counted again with that model.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import Engine, and_, delete, select, update

from engage.contract import ScoredBatch
from engage.labels.db import default_url, open_engine, snapshot, upsert_insert, utcnow, writing
from engage.labels.migrations import migrate
from engage.labels.schema import history_batches, history_days, history_samples
from engage.monitor.settings import MonitorSettings, monitor_settings
from engage.monitor.summary import DaySummary, add_splits, merge_all, summarize

_ENGINES: dict[str, Engine] = {}
_ENGINES_LOCK = threading.Lock()


def history_engine(url: str | None = None) -> Engine:
    """One migrated engine per URL and process (the label store's database)."""
    url = url or default_url()
    with _ENGINES_LOCK:
        if url not in _ENGINES:
            engine = open_engine(url)
            migrate(engine)
            _ENGINES[url] = engine
        return _ENGINES[url]


class HistoryWriter:
    """Records scored batches; safe to share between threads (one transaction per batch, serialized here)."""

    def __init__(self, url: str | None = None, settings: MonitorSettings | None = None) -> None:
        self.url = url
        self.settings = settings or monitor_settings()
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.settings.record

    def summarize(self, batch: ScoredBatch) -> dict[date, DaySummary]:
        return summarize(batch, sample_size=self.settings.sample_size)

    def record(self, batch: ScoredBatch) -> bool:
        """Adds the batch to the history; False when recording is off or its key was recorded with this model."""
        if not self.enabled:
            return False
        return self.record_summary(batch.source, batch.model, self.summarize(batch), batch.batch_key)

    def record_summary(self, source: str, model: str, days: dict[date, DaySummary],
                       batch_key: str | None = None) -> bool:
        """Adds summaries already made (file chunks, Ray shards merged by the driver)."""
        if not self.enabled:
            return False
        engine = history_engine(self.url)
        with self._lock, writing(engine) as conn:
            if batch_key is not None:
                insert = upsert_insert(conn)(history_batches).values(
                    batch_key=batch_key[:128], model=model, recorded_at=utcnow())
                inserted = conn.execute(insert.on_conflict_do_nothing().returning(history_batches.c.model)).first()
                if inserted is None:
                    return False
            for day, summary in sorted(days.items()):
                _add_day(conn, source[:200], day, model, summary, self.settings.sample_size)
            if self.settings.keep_texts_days:
                cutoff = datetime.now(UTC).date() - timedelta(days=self.settings.keep_texts_days)
                old = select(history_days.c.id).where(history_days.c.day < cutoff)
                conn.execute(delete(history_samples).where(history_samples.c.day_id.in_(old)))
        return True


def _add_day(conn, source: str, day: date, model: str, summary: DaySummary, sample_size: int) -> None:
    key = and_(history_days.c.source == source, history_days.c.day == day, history_days.c.model == model)
    empty = DaySummary()
    conn.execute(upsert_insert(conn)(history_days).values(
        source=source, day=day, model=model, n=0, flagged=0, empty=0, non_english=0,
        score_hist=empty.score_hist.tolist(), length_hist=empty.length_hist.tolist(), splits={},
        updated_at=utcnow()).on_conflict_do_nothing())
    row = conn.execute(select(history_days).where(key).with_for_update()).mappings().one()
    splits = {c: {v: list(x) for v, x in vals.items()} for c, vals in (row["splits"] or {}).items()}
    add_splits(splits, summary.splits)
    conn.execute(update(history_days).where(history_days.c.id == row["id"]).values(
        n=row["n"] + summary.n, flagged=row["flagged"] + summary.flagged, empty=row["empty"] + summary.empty,
        non_english=row["non_english"] + summary.non_english,
        score_hist=(np.asarray(row["score_hist"], dtype=np.int64) + summary.score_hist).tolist(),
        length_hist=(np.asarray(row["length_hist"], dtype=np.int64) + summary.length_hist).tolist(),
        splits=splits, updated_at=utcnow()))
    _add_sample(conn, row["id"], summary.sample, sample_size)


def _add_sample(conn, day_id: int, sample: list, size: int) -> None:
    """Keep the `size` smallest priorities of the stored sample and the new one: a uniform sample of all."""
    if not sample:
        return
    stored = conn.execute(select(history_samples.c.id, history_samples.c.priority)
                          .where(history_samples.c.day_id == day_id)).all()
    merged = sorted([(p, "old", i) for i, p in stored] + [(s[0], "new", k) for k, s in enumerate(sample)])
    keep, drop = merged[:size], merged[size:]
    gone = [i for _, kind, i in drop if kind == "old"]
    if gone:
        conn.execute(delete(history_samples).where(history_samples.c.id.in_(gone)))
    rows = [{"day_id": day_id, "priority": sample[k][0], "text": sample[k][1], "score": sample[k][2],
             "at": sample[k][3].astimezone(UTC).replace(tzinfo=None)} for _, kind, k in keep if kind == "new"]
    if rows:
        conn.execute(history_samples.insert(), rows)


# ------------------------------------------------------------------ reading


@dataclass
class History:
    days: pd.DataFrame      # one row per source, day, model: n, flagged, empty, non_english, histograms, splits
    samples: pd.DataFrame   # source, day, model, text, score, at


def read_history(url: str | None = None, *, since: date | None = None, until: date | None = None,
                 source: str | None = None, model: str | None = None, samples: bool = True,
                 max_priority: float | None = None) -> History:
    """The history between since and until (inclusive), optionally one source and one model version. Samples
    with max_priority: only texts whose random priority is below it (a uniform subsample of every day's)."""
    engine = history_engine(url)
    where = []
    if since is not None:
        where.append(history_days.c.day >= since)
    if until is not None:
        where.append(history_days.c.day <= until)
    if source is not None:
        where.append(history_days.c.source == source)
    if model is not None:
        where.append(history_days.c.model == model)
    with snapshot(engine) as conn:
        days = pd.DataFrame(conn.execute(select(history_days).where(*where).order_by(
            history_days.c.day, history_days.c.source, history_days.c.model)).mappings().all(),
            columns=[c.name for c in history_days.columns])
        found = pd.DataFrame(columns=["source", "day", "model", "text", "score", "at"])
        if samples and len(days):
            found = pd.DataFrame(conn.execute(
                select(history_days.c.source, history_days.c.day, history_days.c.model, history_samples.c.text,
                       history_samples.c.score, history_samples.c.at)
                .join(history_days, history_days.c.id == history_samples.c.day_id)
                .where(*where, *([] if max_priority is None else [history_samples.c.priority < max_priority]))
                .order_by(history_days.c.day, history_samples.c.priority)).mappings().all(),
                columns=["source", "day", "model", "text", "score", "at"])
    days["day"] = pd.to_datetime(days["day"])
    found["day"] = pd.to_datetime(found["day"])
    return History(days, found)


def sources_and_models(url: str | None = None) -> tuple[list[str], list[str]]:
    engine = history_engine(url)
    with snapshot(engine) as conn:
        sources = conn.execute(select(history_days.c.source).distinct().order_by(history_days.c.source)).scalars()
        sources = list(sources)
        models = list(conn.execute(select(history_days.c.model).distinct().order_by(history_days.c.model)).scalars())
    return sources, models


def merged_days(history: History) -> pd.DataFrame:
    """Per day over the chosen sources and models: counts summed, histograms added."""
    frame = history.days
    if frame.empty:
        return pd.DataFrame(columns=["day", "n", "flagged", "empty", "non_english", "score_hist", "length_hist"])
    rows = []
    for day, group in frame.groupby("day", sort=True):
        rows.append({"day": day, "n": int(group["n"].sum()), "flagged": int(group["flagged"].sum()),
                     "empty": int(group["empty"].sum()), "non_english": int(group["non_english"].sum()),
                     "score_hist": np.sum([np.asarray(h) for h in group["score_hist"]], axis=0),
                     "length_hist": np.sum([np.asarray(h) for h in group["length_hist"]], axis=0)})
    return pd.DataFrame(rows)


__all__ = ["History", "HistoryWriter", "history_engine", "merge_all", "merged_days", "read_history",
           "sources_and_models"]
