"""The scoring history: counts per source/day/model, dedupe by batch key and model, the bounded sample, recording
off, retention of sampled texts, many threads at once; SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from engage.contract import ScoredBatch
from engage.monitor.history import HistoryWriter, read_history
from engage.monitor.settings import MonitorSettings, monitor_settings
from engage.monitor.summary import merge_all, summarize

T0 = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0) - timedelta(days=5)


def _batch(n: int, *, model: str = "m1", key: str | None = "k1", day: int = 0, seed: int = 0,
           source: str = "cli") -> ScoredBatch:
    rng = np.random.default_rng(seed)
    texts = [f"message {seed}-{i} about my order" if i % 10 else "" for i in range(n)]
    scores = rng.random(n)
    scores[[i for i in range(n) if not texts[i]]] = 0.0
    times = [T0 + timedelta(days=day, minutes=i) for i in range(n)]
    return ScoredBatch(source, model, texts, scores, scores >= 0.5, times, key,
                       {"channel": ["mail" if i % 2 else "chat" for i in range(n)]})


def test_counts_dedupe_and_two_models(db_url):
    writer = HistoryWriter(db_url, MonitorSettings(sample_size=30))
    batch = _batch(120)
    assert writer.record(batch) is True
    assert writer.record(batch) is False  # the same key with the same model: not counted twice
    assert writer.record(_batch(120, model="m2")) is True  # another model: its own series
    days = read_history(db_url).days
    assert sorted(days["model"]) == ["m1", "m2"]
    one = days[days["model"] == "m1"].iloc[0]
    assert one["n"] == 120 and one["empty"] == 12 and one["flagged"] == int(batch.flagged.sum())
    assert sum(one["score_hist"]) == 108 and sum(one["length_hist"]) == 108  # empty messages are not histogrammed
    assert one["splits"]["channel"] == {"chat": [60, int(batch.flagged[::2].sum())],
                                        "mail": [60, int(batch.flagged[1::2].sum())]}
    samples = read_history(db_url, model="m1").samples
    assert len(samples) == 30 and samples["text"].str.len().gt(0).all()


def test_sample_stays_bounded_and_uniform_across_batches(db_url):
    writer = HistoryWriter(db_url, MonitorSettings(sample_size=50))
    for k in range(8):
        writer.record(_batch(100, key=f"k{k}", seed=k))
    days = read_history(db_url)
    assert int(days.days["n"].sum()) == 800 and len(days.samples) == 50
    # every batch is represented about equally (uniform over all 720 non-empty messages, not the first ones)
    batches = days.samples["text"].str.extract(r"message (\d)-")[0].astype(int)
    assert batches.nunique() >= 5


def test_merged_summaries_equal_one_summary():
    batch = _batch(300)
    rng = np.random.default_rng(0)
    whole = summarize(batch, sample_size=40, rng=np.random.default_rng(0))
    parts = [summarize(ScoredBatch(batch.source, batch.model, batch.texts[a:b], batch.scores[a:b],
                                   batch.flagged[a:b], batch.times[a:b], None,
                                   {"channel": batch.columns["channel"][a:b]}), sample_size=40, rng=rng)
             for a, b in ((0, 100), (100, 250), (250, 300))]
    merged = merge_all(parts, 40)
    for day, one in whole.items():
        assert (merged[day].n, merged[day].flagged, merged[day].empty) == (one.n, one.flagged, one.empty)
        assert (merged[day].score_hist == one.score_hist).all() and merged[day].splits == one.splits
        assert len(merged[day].sample) == min(40, one.n - one.empty)


def test_recording_off_by_setting_and_environment(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'h.sqlite'}"
    (tmp_path / "engage.toml").write_text("[monitor]\nrecord = false\nkeep_texts_days = 7\n")
    monkeypatch.setenv("ENGAGE_CONFIG", str(tmp_path / "engage.toml"))
    assert monitor_settings().record is False and monitor_settings().keep_texts_days == 7
    assert HistoryWriter(url).record(_batch(10)) is False
    monkeypatch.setenv("ENGAGE_MONITOR_RECORD", "1")
    assert HistoryWriter(url).record(_batch(10)) is True
    (tmp_path / "engage.toml").write_text("[monitor]\nsample_size = 'many'\n")
    from engage.errors import InputError
    with pytest.raises(InputError, match="sample_size must be a int"):
        monitor_settings()


def test_old_sampled_texts_are_deleted_counts_kept(db_url):
    writer = HistoryWriter(db_url, MonitorSettings(sample_size=20, keep_texts_days=3))
    writer.record(_batch(50, key="old", day=0))   # 5 days ago
    writer.record(_batch(50, key="new", day=4))   # yesterday
    history = read_history(db_url)
    assert len(history.days) == 2 and int(history.days["n"].sum()) == 100
    assert history.samples["day"].nunique() == 1 and len(history.samples) == 20


def test_threads_record_at_once(db_url):
    writer = HistoryWriter(db_url, MonitorSettings(sample_size=25))
    errors = []

    def work(k: int) -> None:
        try:
            for j in range(3):
                writer.record(_batch(40, key=f"t{k}-{j}", seed=k * 10 + j, source=f"s{k % 2}"))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors
    days = read_history(db_url).days
    assert int(days["n"].sum()) == 6 * 3 * 40 and sorted(days["source"]) == ["s0", "s1"]
    assert len(read_history(db_url).samples) == 50
