"""Does adapting the shipped ELMo to the task's own messages (`engage adapt`) help? Through the product's commands:
adapt, then the shipped recipe (`engage train --lexical --elmo-branch linear --cv-folds 5 --encoder E`), then
`engage evaluate` on the test file; against the same recipe on the unadapted encoder; and the ELMo branch alone
(bench/heads.py) on both encoders.

    .venv/bin/python bench/adapt.py WORK_DIR [--time-limit 600] [--tweets] [--splits complaints domains]

Splits: `complaints` (the fixed split; adaptation reads the training file's texts only, never the test texts) and
`domains` (bench/domain_split.py: adaptation reads the training domains' texts plus the unseen domains' texts
without their labels, what an analyst does with a new file). --tweets adds a `complaints+tweets` row: the training
texts plus the tweets of ../shared/data/tweets-corpus with an @mention (a cheap filter for messages to brands).
WORK_DIR (outside the project: the data is not ours to ship) keeps the adapted encoders; an encoder already there
(its adapt.json exists) is reused, not adapted again. Model versions go to WORK_DIR/models (a rerun trains them
again).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
BASE = ROOT / "models" / "elmo-tweets"
RECIPE = ["--label-col", "engage", "--lexical", "--elmo-branch", "linear", "--cv-folds", "5"]
MENTION = re.compile(r"(?<!\w)@\w+")


def engage(*args: str, env: dict[str, str]) -> dict:
    """One `engage` command; its --json payload (the last line of output)."""
    done = subprocess.run([sys.executable, "-m", "engage.cli", *args, "--json"], capture_output=True, text=True,
                          env=env, cwd=ROOT, check=False)
    if done.returncode:
        raise SystemExit(f"engage {' '.join(args)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def heads(train: Path, test: Path, encoder: Path, env: dict[str, str]) -> dict[str, float]:
    """The linear ELMo branch alone: 5-fold CV ROC-AUC on train, and on test (bench/heads.py's own lines)."""
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "heads.py"), "--train", str(train), "--test",
                           str(test), "--encoder", str(encoder)], capture_output=True, text=True, env=env,
                          cwd=ROOT, check=True)
    line = next(x for x in done.stdout.splitlines() if x.strip().startswith("linear"))
    cv, test_auc = (float(v) for v in re.findall(r"(?:train|test)\s+([\d.]+)", line))
    return {"elmo_alone_cv": cv, "elmo_alone_test": test_auc}


def mention_tweets(out: Path) -> Path:
    """The corpus's tweets with an @mention, as a one-column CSV (engage reads it like any file)."""
    import pandas as pd

    path = out / "tweets-at.csv"
    if not path.is_file():
        lines = []
        for name in ("tweeteval.txt", "sentiment140-sample.txt"):
            with open(SHARED / "tweets-corpus" / name, encoding="utf-8", errors="replace") as fin:
                lines += [x.strip() for x in fin if MENTION.search(x)]
        pd.DataFrame({"text": lines}).to_csv(path, index=False)
    return path


def adapted(name: str, files: list[Path], work: Path, time_limit: float, env: dict[str, str]) -> tuple[Path, dict]:
    out = work / f"elmo-{name}"
    if not (out / "adapt.json").is_file():
        engage("adapt", *map(str, files), "--encoder", str(BASE), "--out", str(out), "--time-limit",
               str(time_limit), env=env)
    return out, json.loads((out / "adapt.json").read_text())


def recipe(train: Path, test: Path, encoder: Path, name: str, env: dict[str, str]) -> dict[str, float]:
    # A rerun in the same WORK_DIR trains its versions again (the encoders are what it keeps): the bench's own
    # models folder, never the project's.
    shutil.rmtree(Path(env["ENGAGE_MODELS_DIR"]) / name, ignore_errors=True)
    engage("train", str(train), *RECIPE, "--encoder", str(encoder), "--name", name, env=env)
    got = engage("evaluate", str(test), "--label-col", "engage", "--model", name, env=env)
    return {"roc_auc": 100 * got["roc_auc"], "f1": 100 * got["f1"], "accuracy": 100 * got["accuracy"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("work")
    parser.add_argument("--time-limit", type=float, default=600.0, help="seconds per adaptation")
    parser.add_argument("--tweets", action="store_true")
    parser.add_argument("--splits", nargs="+", default=["complaints", "domains"])
    args = parser.parse_args()
    work = Path(args.work).resolve()
    work.mkdir(parents=True, exist_ok=True)
    env = os.environ | {"ENGAGE_MODELS_DIR": str(work / "models"), "PYTHONPATH": str(ROOT),
                        "TF_CPP_MIN_LOG_LEVEL": "2"}
    complaints = SHARED / "complaints"
    plans = []  # (split, train, test, adaptation name or None, adaptation files)
    if "complaints" in args.splits:
        train, test = complaints / "train.csv", complaints / "test.csv"
        plans += [("complaints", train, test, None, []), ("complaints", train, test, "complaints", [train])]
        if args.tweets:
            plans.append(("complaints", train, test, "complaints-tweets", [train, mention_tweets(work)]))
    if "domains" in args.splits:
        split = work / "domains"
        if not (split / "train.csv").is_file():
            subprocess.run([sys.executable, str(ROOT / "bench" / "domain_split.py"), str(split)], check=True)
        train, test = split / "train.csv", split / "test.csv"
        plans += [("domains", train, test, None, []), ("domains", train, test, "domains", [train, test])]
    rows = []
    for split, train, test, name, files in plans:
        encoder, summary = (BASE, None) if name is None else adapted(name, files, work, args.time_limit, env)
        row = {"split": split, "encoder": "elmo-tweets" if name is None else f"adapted on {name}"}
        row |= recipe(train, test, encoder, f"{split}-{name or 'base'}", env) | heads(train, test, encoder, env)
        if summary is not None:
            row |= {"adapt_min": summary["wall_time_s"] / 60, "steps": summary["steps"],
                    "best_step": summary["best_step"], "ppl_before": summary["heldout_perplexity_before"],
                    "ppl_after": summary["heldout_perplexity_after"],
                    "adapt_messages": summary["n_train_messages"] + summary["n_heldout_messages"]}
        rows.append(row)
        print(json.dumps(row), flush=True)
    import pandas as pd

    table = pd.DataFrame(rows).set_index(["split", "encoder"])
    with pd.option_context("display.width", 220, "display.max_columns", 20):
        print(table.round(2).to_string())
    (work / "adapt-bench.json").write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
