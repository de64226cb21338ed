"""Does fine-tuning the ELMo on the labels (`engage train --finetune`) pay? The shipped recipe (engage-default's:
models/elmo-tweets, linear ELMo branch + lexical n-grams stacked, 5-fold cross-validation, best-F1 threshold)
against the same recipe on the ELMo fine-tuned on the training labels, both trained by the engine functions the
CLI calls and scored on the test file; and the ELMo branch alone (the linear branch, no n-grams) on the base and
on the fine-tuned encoder.

    .venv/bin/python bench/finetune.py WORK_DIR [--seeds 0 1 2] [--splits complaints domains]
                                                [--time-limit 900] [--finetune-epochs 4] [--learning-rate 1e-4]

Splits: `complaints` (../shared/data/complaints train.csv / test.csv) and `domains` (bench/domain_split.py: the
test domains never seen in training). Each seed sets the recipe's folds and the fine-tuning's shuffling, dropout
and early-stop fold. Test ROC-AUC, F1 and accuracy (in %) for both, the lead of the fine-tuned one with a 95 %
paired bootstrap interval over the test rows (engage.baselines.paired_lead), the ELMo branch alone before/after,
and the wall time of each training (on this machine, as loaded as it is: say so when quoting it) and its CPU time
(all of the process's threads). Versions go to
WORK_DIR/models (keep WORK_DIR outside the project: the data is not ours to ship). Resumable: each finished
(split, seed) row is written at once to RESULTS/finetune-<split>-seed<N>.json (default bench/results) and a row
already there is not run again (`--rerun` runs it anyway), so a longer run completes a shorter one's table; the
table is printed over every row found there for the splits and seeds asked.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"


def split_files(split: str, work: Path) -> tuple[Path, Path]:
    if split == "complaints":
        return SHARED / "complaints" / "train.csv", SHARED / "complaints" / "test.csv"
    out = work / "domains"
    if not (out / "train.csv").is_file():
        subprocess.run([sys.executable, str(ROOT / "bench" / "domain_split.py"), str(out)], check=True)
    return out / "train.csv", out / "test.csv"


def elmo_alone(encoder, train, test, seed: int) -> float:
    """Test ROC-AUC (%) of the linear ELMo branch alone, fitted on all of train."""
    from sklearn.metrics import roc_auc_score

    from engage.cache import EmbeddingCache, cached_layer_means
    from engage.head import HeadConfig, predict, train_head

    cache = EmbeddingCache()
    x = cached_layer_means(encoder, train.texts, cache)[0]
    model, _ = train_head(HeadConfig(elmo_branch="linear", seed=seed), {"layers": x}, train.labels.astype(int))
    scores = predict(model, {"layers": cached_layer_means(encoder, test.texts, cache)[0]})
    return 100 * roc_auc_score(test.labels.astype(int), scores)


def run_one(split: str, seed: int, train_path: Path, test_path: Path, work: Path, args) -> dict:
    import shutil

    from engage.baselines import paired_lead
    from engage.cache import EmbeddingCache
    from engage.encoders import load_encoder
    from engage.encoders.bilm.finetune import FinetuneSettings, finetune_model
    from engage.metrics import metric_table
    from engage.reading import read_messages
    from engage.recipe import recipe_of
    from engage.scoring import load_classifier
    from engage.train import train_model
    from engage.validation import Validation

    recipe = recipe_of("engage-default", ROOT / "models")
    config = replace(recipe.head, seed=seed)
    encoder = load_encoder(recipe.encoder, max_tokens=recipe.max_tokens)
    train = read_messages(str(train_path), label_col="engage", require_labels=True)
    test = read_messages(str(test_path), label_col="engage", require_labels=True)
    models = work / "models"
    common = {"validation": Validation.cross(5), "threshold_method": recipe.threshold_method,
              "threshold_value": recipe.threshold_value, "cache": EmbeddingCache(), "root": models}
    row: dict = {"split": split, "seed": seed, "train_rows": len(train.texts), "test_rows": len(test.texts)}
    sides = {}
    for side in ("shipped", "finetuned"):
        name = f"{split}-{side}-s{seed}"
        shutil.rmtree(models / name, ignore_errors=True)
        started, cpu = time.perf_counter(), time.process_time()  # CPU seconds too: wall time on a shared machine
        if side == "shipped":
            train_model(train, encoder, config, name=name, **common)
        else:
            settings = FinetuneSettings(epochs=args.finetune_epochs, time_limit_s=args.time_limit,
                                        learning_rate=args.learning_rate)
            result = finetune_model(train, encoder, config, name=name, settings=settings,
                                    log=lambda line: print(line, file=sys.stderr, flush=True), **common)
            tuned = result.version.meta["encoder"]["finetuned"]
            row |= {"ft_best_epoch": tuned["best_epoch"], "ft_stopped_by": tuned["stopped_by"],
                    "ft_val_before": 100 * tuned["validation"]["before"],
                    "ft_val_after": 100 * tuned["validation"]["after"], "ft_seconds": tuned["seconds"]}
        row[f"{side}_train_s"] = time.perf_counter() - started
        row[f"{side}_train_cpu_s"] = time.process_time() - cpu
        clf = load_classifier(name, root=models)
        scores = clf.score(test.texts).values
        table = metric_table(test.labels, scores, clf.threshold)
        row |= {f"{side}_{k}": 100 * table[k] for k in ("roc_auc", "f1", "accuracy")}
        row[f"{side}_elmo_alone"] = elmo_alone(clf.encoder, train, test, seed)
        sides[side] = (scores, clf.threshold)
    lead = paired_lead(test.labels, sides["finetuned"], sides["shipped"], seed=seed)
    for metric in ("roc_auc", "f1", "accuracy"):
        row[f"lead_{metric}"] = [round(100 * v, 2) for v in lead[metric]]  # lead, low, high (percentage points)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("work")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--splits", nargs="+", default=["complaints", "domains"], choices=["complaints", "domains"])
    parser.add_argument("--time-limit", type=float, default=900.0, help="seconds per fine-tuning")
    parser.add_argument("--finetune-epochs", type=int, default=4)
    parser.add_argument("--learning-rate", type=float, default=1e-4, help="the fine-tuning head's (lower groups: "
                                                                       "/ 2.6 each)")
    parser.add_argument("--results", type=Path, default=ROOT / "bench" / "results",
                        help="one finetune-<split>-seed<N>.json per finished row (default bench/results)")
    parser.add_argument("--rerun", action="store_true", help="run rows already in --results again")
    args = parser.parse_args()
    work = Path(args.work).resolve()
    work.mkdir(parents=True, exist_ok=True)
    args.results.mkdir(parents=True, exist_ok=True)
    rows = []
    for seed in args.seeds:  # seed-major: a cut-short run still covers both splits
        for split in args.splits:
            out = args.results / f"finetune-{split}-seed{seed}.json"
            if out.is_file() and not args.rerun:
                rows.append(read_row(out))
                print(f"{split} seed {seed}: kept from {out}", file=sys.stderr, flush=True)
                continue
            train, test = split_files(split, work)
            row = run_one(split, seed, train, test, work, args)
            row["settings"] = {"time_limit_s": args.time_limit, "finetune_epochs": args.finetune_epochs,
                               "learning_rate": args.learning_rate}
            out.write_text(json.dumps(row, indent=1))  # at once: a later run resumes after it
            rows.append(row)
            print(json.dumps(row), flush=True)
    report(rows)


def read_row(path: Path) -> dict:
    """A row file: one object (or, from the first run, a list holding one)."""
    data = json.loads(path.read_text())
    return data[0] if isinstance(data, list) else data


def report(rows: list[dict]) -> None:
    import pandas as pd

    frame = pd.DataFrame(rows)
    cols = ["shipped_roc_auc", "finetuned_roc_auc", "shipped_f1", "finetuned_f1", "shipped_accuracy",
            "finetuned_accuracy", "shipped_elmo_alone", "finetuned_elmo_alone", "shipped_train_s", "finetuned_train_s"]
    mean = frame.groupby("split")[cols].mean().round(2)
    mean.insert(0, "seeds", frame.groupby("split").size())
    with pd.option_context("display.width", 250, "display.max_columns", 30):
        print(mean.to_string())
        print(frame[["split", "seed", "lead_roc_auc", "lead_f1", "lead_accuracy", "ft_best_epoch", "ft_stopped_by",
                     "ft_val_before", "ft_val_after"]].to_string(index=False))


if __name__ == "__main__":
    main()
