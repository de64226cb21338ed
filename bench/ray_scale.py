"""The Ray engine against the local engine on one file of 20,000 distinct messages, side by side in one run.

    .venv/bin/python bench/ray_scale.py [--rows 20000] [--model NAME] [--models-dir DIR]

Runs, each in a fresh process, on the same CSV (built from ../shared/data/tweets-corpus into a temporary folder):
local engine, Ray with 1 worker, Ray with 2 workers; each cold (empty embedding cache) then warm (the cache the cold
run filled). The Ray runs start their own Ray on this machine, so its start-up is part of their time. Reported:
seconds, rows/s, the driver's peak RSS (the process that runs `engage score`; Ray's workers are other processes),
and each as a ratio to the local engine's run with the same cache state. Goal (issue 10): Ray at most 1.3x the
local engine's time; the driver's memory does not grow with rows.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "data" / "tweets-corpus"

# Runs engage score in this process, then reports this process's peak RSS (the driver's, for Ray runs).
_RUNNER = """
import json, resource, sys, time
from engage.cli import run
start = time.monotonic()
code = run(sys.argv[1:])
seconds = time.monotonic() - start
print(json.dumps({"code": code, "seconds": seconds,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def build_input(rows: int, folder: Path) -> Path:
    """rows distinct tweets (first seen first), with an id column, as CSV."""
    import pandas as pd

    seen: dict[str, None] = {}
    for name in ("tweeteval.txt", "sentiment140-sample.txt"):
        with open(CORPUS / name, encoding="utf-8") as handle:
            for line in handle:
                text = line.strip()
                if text:
                    seen.setdefault(text)
                if len(seen) >= rows:
                    break
        if len(seen) >= rows:
            break
    if len(seen) < rows:
        raise SystemExit(f"the corpus holds only {len(seen)} distinct messages")
    path = folder / "messages.csv"
    pd.DataFrame({"id": range(rows), "text": list(seen)}).to_csv(path, index=False)
    return path


def one_run(args: list[str], cache: Path) -> dict:
    env = os.environ | {"ENGAGE_CACHE_DIR": str(cache), "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, "-c", _RUNNER, *args], env=env, capture_output=True, text=True,
                          cwd=ROOT, timeout=3600)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if result["code"] != 0:
        raise SystemExit(f"engage score {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--model", help="model version (default: the active one)")
    parser.add_argument("--models-dir", help="ENGAGE_MODELS_DIR (default: the project's models/)")
    opts = parser.parse_args()
    if not CORPUS.is_dir():
        raise SystemExit(f"the tweets corpus is not at {CORPUS}")
    if opts.models_dir:
        os.environ["ENGAGE_MODELS_DIR"] = opts.models_dir
    model = ["--model", opts.model] if opts.model else []
    base = Path(tempfile.mkdtemp(prefix="engage-ray-bench-"))
    source = build_input(opts.rows, base)
    configs = {"local": lambda out: ["score", str(source), "--out", str(out / "local.parquet"), *model],
               "ray, 1 worker": lambda out: ["score", str(source), "--out", str(out / "ray1"), "--engine", "ray",
                                             "--workers", "1", *model],
               "ray, 2 workers": lambda out: ["score", str(source), "--out", str(out / "ray2"), "--engine", "ray",
                                              "--workers", "2", *model]}
    results: dict[str, dict] = {}
    started = time.monotonic()
    for name, make_args in configs.items():
        cache = base / f"cache-{len(results)}"
        for state in ("cold", "warm"):
            out = base / f"out-{len(results)}"
            out.mkdir()
            results[f"{name}, {state}"] = one_run(make_args(out), cache)
            print(f"{name}, {state}: {results[f'{name}, {state}']}", file=sys.stderr, flush=True)
    print(f"{opts.rows:,} distinct messages; {os.cpu_count()} CPUs; {time.monotonic() - started:.0f} s in all")
    print(f"{'run':<24}{'seconds':>9}{'rows/s':>9}{'x local':>9}{'RSS MB':>9}{'x local':>9}")
    for key, result in results.items():
        local = results[f"local, {key.rsplit(', ', 1)[1]}"]
        result["rows_per_s"] = opts.rows / result["seconds"]
        result["time_ratio"] = result["seconds"] / local["seconds"]
        result["rss_ratio"] = result["peak_rss_mb"] / local["peak_rss_mb"]
        print(f"{key:<24}{result['seconds']:>9.1f}{result['rows_per_s']:>9.0f}{result['time_ratio']:>9.2f}"
              f"{result['peak_rss_mb']:>9.0f}{result['rss_ratio']:>9.2f}")
    print(json.dumps({"rows": opts.rows, "cpus": os.cpu_count(), "runs": results}))


if __name__ == "__main__":
    main()
