"""The scoring history's cost and the Monitor page's speed, each as figures of one run.

1. Scoring N messages with `engage score`'s engine (score_file, the shipped model, no embedding cache) with
   recording on and off, in alternating order; goal: recording on is at most 5 % slower. Also the recording alone
   (summaries + database) for 100,000 scored messages, which is what recording adds whatever the model's speed.
2. The Monitor page's figures (engage.monitor.report.monitor_report: every figure, alerts included) over a year of
   daily history from 5 sources (a few hundred messages a day each, stored scores of the shipped model, texts of
   the complaints and tweets files); goal: at most 2 s.

    .venv/bin/python bench/monitor.py [--rows 100000] [--skip-scoring] [--json]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from engage.contract import ScoredBatch
from engage.monitor.history import HistoryWriter
from engage.monitor.settings import MonitorSettings
from engage.testing import monitor_stream

ROOT = Path(__file__).resolve().parents[1]

GOALS = {"recording_overhead": 0.05, "report_seconds": 2.0}


def _texts(n: int) -> tuple[list[str], np.ndarray]:
    comp, tweets = monitor_stream.complaints(), monitor_stream.tweets()
    pool = pd.concat([comp[["text", "score"]], tweets[["text", "score"]]], ignore_index=True)
    idx = np.arange(n) % len(pool)
    return [f"{pool['text'][i]} #{k}" for k, i in enumerate(idx)], pool["score"].to_numpy()[idx]


def recording_alone(rows: int, work: Path) -> dict:
    texts, scores = _texts(rows)
    writer = HistoryWriter(f"sqlite:///{work / 'alone.sqlite'}", MonitorSettings())
    start = datetime.now(UTC) - timedelta(days=3)
    times = [start + timedelta(seconds=2 * i) for i in range(rows)]
    t0 = time.perf_counter()
    writer.record(ScoredBatch("bench", "engage-default", texts, scores, scores >= 0.41, times, "alone"))
    return {"rows": rows, "seconds": time.perf_counter() - t0}


def scoring_on_off(rows: int, work: Path) -> dict:
    from engage.scoring import load_classifier, score_file

    texts, _ = _texts(rows)
    source = work / "messages.csv"
    pd.DataFrame({"text": texts}).to_csv(source, index=False)
    clf = load_classifier("engage-default", root=ROOT / "models", use_cache=False)
    clf.score(texts[:50])  # warm up TensorFlow
    seconds = {"on": [], "off": []}
    for k, mode in enumerate(("off", "on", "on", "off")):
        writer = HistoryWriter(f"sqlite:///{work / f'h{k}.sqlite'}", MonitorSettings()) if mode == "on" else None
        t0 = time.perf_counter()
        score_file(clf, source, work / f"out{k}.csv", history=writer, source="bench")
        seconds[mode].append(time.perf_counter() - t0)
    on, off = sum(seconds["on"]), sum(seconds["off"])
    return {"rows": rows, "seconds_on": seconds["on"], "seconds_off": seconds["off"], "overhead": on / off - 1}


def year_of_history(work: Path, sources: int = 5, days: int = 365, per_day: int = 300) -> str:
    url = f"sqlite:///{work / 'year.sqlite'}"
    writer = HistoryWriter(url, MonitorSettings(keep_texts_days=0))
    comp, tweets = monitor_stream.complaints(), monitor_stream.tweets()
    rng = np.random.default_rng(0)
    first = datetime.now(UTC).replace(hour=8, minute=0, second=0, microsecond=0) - timedelta(days=days)
    for d in range(days):
        for s in range(sources):
            pool = tweets if (s == 4 and d > days - 20) else comp
            rows = pool.iloc[rng.integers(0, len(pool), per_day)]
            at = first + timedelta(days=d)
            scores = rows["score"].to_numpy(dtype=float)
            writer.record(ScoredBatch(f"source-{s}", "engage-default", rows["text"].tolist(), scores,
                                      scores >= monitor_stream.threshold(),
                                      [at + timedelta(seconds=60 * i) for i in range(per_day)], f"y{d}-{s}",
                                      {"channel": rng.choice(["mail", "chat", "twitter"], per_day).tolist()}))
    return url


def report_speed(url: str, models: Path, runs: int = 3) -> dict:
    from engage.monitor.history import read_history
    from engage.monitor.report import monitor_report

    days = read_history(url, samples=False).days["day"]
    since, until = days.min().date(), days.max().date()
    seconds = []
    for _ in range(runs):
        t0 = time.perf_counter()
        report = monitor_report(url=url, since=since, until=until, root=models, split_by="channel",
                                settings=MonitorSettings(keep_texts_days=0))
        seconds.append(time.perf_counter() - t0)
    return {"days": (until - since).days + 1, "sources": len(report["sources"]), "rows": int(len(
        read_history(url, samples=False).days)), "messages": report["totals"]["messages"],
        "seconds": seconds, "median_seconds": float(np.median(seconds)), "alerts": len(report["alerts"])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000, help="messages scored with recording on and off")
    parser.add_argument("--skip-scoring", action="store_true", help="leave out scoring with recording on and off")
    parser.add_argument("--skip-recording", action="store_true", help="leave out recording 100,000 messages alone")
    parser.add_argument("--keep", metavar="DIR", help="build the year of history in DIR and keep it (reused when "
                                                       "there)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    out: dict = {"date": date.today().isoformat()}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if not args.skip_recording:
            out["recording_100k"] = recording_alone(100_000, work)
            print(f"recording 100,000 scored messages alone: {out['recording_100k']['seconds']:.2f} s", flush=True)
        if not args.skip_scoring:
            out["scoring"] = scoring_on_off(args.rows, work)
            s = out["scoring"]
            print(f"scoring {s['rows']:,} messages: off {s['seconds_off']} s, on {s['seconds_on']} s -> recording "
                  f"costs {s['overhead']:+.1%} (goal <= {GOALS['recording_overhead']:.0%})", flush=True)
        keep = Path(args.keep) if args.keep else work
        keep.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        url = f"sqlite:///{keep / 'year.sqlite'}" if (keep / "year.sqlite").is_file() else year_of_history(keep)
        out["year_built_seconds"] = time.perf_counter() - t0
        models = monitor_stream.shipped_with_texts(work / "models")
        out["report"] = report_speed(url, models)
        r = out["report"]
        print(f"monitor report over {r['days']} days x {r['sources']} sources ({r['messages']:,} messages, "
              f"{r['rows']:,} history rows): median {r['median_seconds']:.2f} s of {r['seconds']} "
              f"(goal <= {GOALS['report_seconds']} s), {r['alerts']} alerts", flush=True)
    if args.json:
        print(json.dumps(out))


if __name__ == "__main__":
    main()
