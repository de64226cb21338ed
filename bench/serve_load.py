"""`engage serve` under closed-loop load against `engage score` on the same kind of messages, in one run.

    .venv/bin/python bench/serve_load.py [--clients 1 8 32] [--seconds 15] [--messages 4000] [--model NAME]
                                         [--max-batch 64] [--max-wait-ms 5]

Distinct tweets from ../shared/data/tweets-corpus, in a temporary folder with its own empty embedding cache:
- batch: `engage score`'s engine (load_classifier + score_file, model load not timed) on a slice of the messages;
- the service (`engage serve`, the local engine, a separate process on 127.0.0.1): for each client count, that many
  clients in a closed loop (each sends one message, waits for the answer, sends the next) for --seconds, every
  message distinct and never seen before (cold cache, as batch scoring);
- warm: one client re-sending messages already scored (the embedding cache answers).
Reported per row: requests/s, messages/s, p50/p95/p99 latency (ms), messages/s as a share of batch scoring's.
Goals (issue 21, 2-core machine): 32 clients >= 70 % of batch messages/s; 1 client warm p50 <= 60 ms; 8 clients
p99 <= 500 ms.

--ray adds the Ray engine (`engage serve --engine ray`, one scorer replica on a Ray started here) with 1 and 8
clients beside the local rows (goal: latency at most 1.5x the local engine's). Ray Serve replicas open a port on all
interfaces, so run the bench in a private network namespace then:
    unshare -n sh -c 'ip link set lo up; exec .venv/bin/python bench/serve_load.py --ray'
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "data" / "tweets-corpus"


def distinct_tweets(n: int) -> list[str]:
    seen: dict[str, None] = {}
    for name in ("tweeteval.txt", "sentiment140-sample.txt"):
        with open(CORPUS / name, encoding="utf-8") as handle:
            for line in handle:
                if line.strip():
                    seen.setdefault(line.strip())
                if len(seen) >= n:
                    return list(seen)
    raise SystemExit(f"the corpus holds only {len(seen)} distinct messages")


def batch_rate(texts: list[str], model: str | None, folder: Path) -> float:
    """Messages/s of `engage score`'s engine on texts (a CSV file in, a CSV file out), cold cache."""
    import pandas as pd

    from engage.cache import EmbeddingCache
    from engage.scoring import load_classifier, score_file

    path = folder / "batch.csv"
    pd.DataFrame({"text": texts}).to_csv(path, index=False)
    clf = load_classifier(model, cache=EmbeddingCache(folder / "batch-cache"))
    start = time.perf_counter()
    score_file(clf, path, folder / "batch-out.csv")
    return len(texts) / (time.perf_counter() - start)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_service(args, folder: Path, engine: str = "local") -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = os.environ | {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_USAGE_STATS_ENABLED": "0",
                        "ENGAGE_CACHE_DIR": str(folder / "serve-cache"), "ENGAGE_DATA_DIR": str(folder / "data"),
                        "ENGAGE_CONFIG": str(folder / "engage.toml"), "PYTHONPATH": str(ROOT)}
    (folder / "engage.toml").write_text(f"[serve]\nmax_batch_size = {args.max_batch}\nmax_wait_ms = "
                                        f"{args.max_wait_ms}\nrate_per_key = 0\nrequest_timeout_s = 60\n")
    command = [sys.executable, "-m", "engage.cli", "serve", "--port", str(port), "--engine", engine]
    if args.model:
        command += ["--model", args.model]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=open(folder / "serve.log", "w"),
                            start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    import httpx

    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"engage serve exited: {(folder / 'serve.log').read_text()[-2000:]}")
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    stop(proc)
    raise SystemExit("engage serve did not become ready in 300 s")


def stop(proc: subprocess.Popen) -> None:
    """The service's whole process group (Ray's processes too): SIGTERM, then SIGKILL."""
    import signal

    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
            proc.wait(30)
            return
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            continue


def closed_loop(base: str, clients: int, texts: list[str], seconds: float) -> dict:
    """`clients` threads, each sending one message a request until `seconds` pass or the texts run out."""
    import httpx

    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    next_index = [0]
    stop_at = time.monotonic() + seconds

    def client() -> None:
        with httpx.Client(base_url=base, timeout=60) as http:
            while time.monotonic() < stop_at:
                with lock:
                    i = next_index[0]
                    next_index[0] += 1
                if i >= len(texts):
                    return
                start = time.perf_counter()
                resp = http.post("/v1/score", json={"messages": [{"id": i, "text": texts[i]}]})
                took = time.perf_counter() - start
                with lock:
                    if resp.status_code == 200:
                        latencies.append(took)
                    else:
                        errors[0] += 1

    start = time.monotonic()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + 120)
    elapsed = time.monotonic() - start
    lat = np.array(latencies) * 1000
    return {"requests": len(latencies), "errors": errors[0], "rps": len(latencies) / elapsed,
            "p50": float(np.percentile(lat, 50)), "p95": float(np.percentile(lat, 95)),
            "p99": float(np.percentile(lat, 99)), "used": min(next_index[0], len(texts))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--seconds", type=float, default=15.0, help="per client count")
    parser.add_argument("--messages", type=int, default=4000, help="distinct messages (batch scoring takes 1,000)")
    parser.add_argument("--batch-messages", type=int, default=1000)
    parser.add_argument("--model", help="version (default: the active one)")
    parser.add_argument("--max-batch", type=int, default=64)
    parser.add_argument("--max-wait-ms", type=float, default=5.0)
    parser.add_argument("--ray", action="store_true", help="also the Ray engine (run inside unshare -n)")
    args = parser.parse_args()
    texts = distinct_tweets(args.messages + args.batch_messages)
    batch_texts, pool = texts[:args.batch_messages], texts[args.batch_messages:]
    with tempfile.TemporaryDirectory(prefix="serve-load-") as tmp:
        folder = Path(tmp)
        batch = batch_rate(batch_texts, args.model, folder)
        proc, base = start_service(args, folder)
        rows = []
        try:
            import httpx

            httpx.post(f"{base}/v1/score", json={"messages": [{"text": "warm up"}]}, timeout=120)
            offset = 0
            for clients in args.clients:
                result = closed_loop(base, clients, pool[offset:], args.seconds)
                offset += result["used"]
                rows.append((f"{clients} client{'s' if clients > 1 else ''}, cold", result))
            warm = closed_loop(base, 1, pool[:offset], min(args.seconds, 10))
            rows.append(("1 client, warm cache", warm))
        finally:
            stop(proc)
        if args.ray:
            proc, base = start_service(args, folder, engine="ray")
            try:
                httpx.post(f"{base}/v1/score", json={"messages": [{"text": "warm up"}]}, timeout=120)
                for clients in (1, 8):
                    result = closed_loop(base, clients, pool[offset:], args.seconds)
                    offset += result["used"]
                    rows.append((f"ray, {clients} client{'s' if clients > 1 else ''}, cold", result))
            finally:
                stop(proc)
    print(f"batch scoring (engage score's engine, cold cache, {len(batch_texts)} messages): {batch:.1f} messages/s")
    print("| load | requests | errors | requests/s | messages/s | p50 ms | p95 ms | p99 ms | share of batch |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, r in rows:
        print(f"| {name} | {r['requests']} | {r['errors']} | {r['rps']:.1f} | {r['rps']:.1f} | {r['p50']:.0f} | "
              f"{r['p95']:.0f} | {r['p99']:.0f} | {r['rps'] / batch:.0%} |")


if __name__ == "__main__":
    main()
