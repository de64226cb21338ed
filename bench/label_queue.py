"""Milliseconds the label store takes to hand out the next message and record a label, per queue order, on a large
labeling set (SQLite, the app's default store): the database part of every key press on the Label page.

    .venv/bin/python bench/label_queue.py [--messages 50000] [--labels 50] [--url sqlite:///...] [--json]

Every message of the set gets a model score first (as "Send to labeling" from the Score page stores them), so the
uncertain and highest orders have something to sort by.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from engage.labels.queue import ORDERS
from engage.labels.store import LabelStore


def build(store: LabelStore, n: int) -> int:
    rng = np.random.default_rng(0)
    set_id = store.import_messages("bench", (f"message {i} about order {rng.integers(1_000_000)}" for i in range(n)))
    ids = store.messages(set_id)["message_id"].tolist()
    store.store_scores(set_id, "bench-model", dict(zip(ids, rng.random(len(ids)).tolist(), strict=True)), 0.4)
    return set_id


def lap(store: LabelStore, set_id: int, order: str, labels: int) -> dict:
    times = []
    for i in range(labels):
        start = time.perf_counter()
        item = store.next_message(set_id, f"bench-{order}", order)
        store.label(item.message_id, f"bench-{order}", i % 2, score=item.score, model=item.model, set_id=set_id)
        times.append((time.perf_counter() - start) * 1000)
    return {"median_ms": statistics.median(times), "p90_ms": float(np.percentile(times, 90)), "max_ms": max(times)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--labels", type=int, default=50)
    parser.add_argument("--url", help="database URL (default: a fresh SQLite file)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = LabelStore(args.url or f"sqlite:///{Path(tmp) / 'labels.sqlite'}")
        start = time.perf_counter()
        set_id = build(store, args.messages)
        setup = time.perf_counter() - start
        result = {order: lap(store, set_id, order, args.labels) for order in ORDERS}
        store.close()
    if args.json:
        print(json.dumps({"messages": args.messages, "setup_s": setup, "orders": result}))
        return
    print(f"{args.messages:,} messages, import + scores {setup:.1f} s; next message + label, {args.labels} labels:")
    for order, r in result.items():
        print(f"  {order:10s} median {r['median_ms']:7.1f} ms  p90 {r['p90_ms']:7.1f} ms  max {r['max_ms']:7.1f} ms")


if __name__ == "__main__":
    main()
