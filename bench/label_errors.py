"""Suspected label errors on the complaints split: do flipped labels rank first, and does correcting them pay?

    nice -n 19 .venv/bin/python bench/label_errors.py [--rates 0.05 0.10] [--seeds 0 1 2] [--top 0.10]

For each noise rate and seed: flip that share of the training labels (train.csv, 2,760 rows) at random, train the
shipped recipe (models/engage-default's: 5-fold cross-validation, then the final head) on the noisy labels, rank
every label by engage.suspects.rank_suspects on the training's own out-of-fold scores, and report
- recall@top: the share of the flipped labels among the top `--top` (10 %) of the ranking (goal >= 60 %);
- recovered: correcting the top 10 % as a reviewer would (each one's true label restored; the ones that were right
  stay right), retraining, and measuring F1 on test.csv at the version's own threshold: (F1 corrected - F1 noisy) /
  (F1 clean - F1 noisy), the share of the F1 lost to the noise that the review wins back (goal >= 0.5).
Embeddings come from the cache (engage/cache.py), so each training is the head's work only. Results are written
after each run to bench/results/label_errors.json (and the table to label_errors.txt), so a run cut short keeps
what it measured.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "complaints"
OUT = ROOT / "bench" / "results"
RECALL_GOAL, RECOVERED_GOAL = 0.60, 0.50


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rates", type=float, nargs="+", default=[0.05, 0.10])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--top", type=float, default=0.10, help="share of the ranking reviewed")
    parser.add_argument("--like", default="engage-default")
    args = parser.parse_args()

    from engage.cache import EmbeddingCache
    from engage.encoders import load_encoder
    from engage.metrics import metric_table
    from engage.reading import read_messages
    from engage.recipe import recipe_of
    from engage.scoring import Classifier
    from engage.suspects import RANK_COL, rank_suspects
    from engage.train import train_model
    from engage.validation import DEFAULT_VALIDATION

    recipe = recipe_of(args.like, ROOT / "models")
    encoder = load_encoder(recipe.encoder, max_tokens=recipe.max_tokens)
    cache = EmbeddingCache()
    train = read_messages(DATA / "train.csv", label_col="engage")
    test = read_messages(DATA / "test.csv", label_col="engage")
    work = Path(tempfile.mkdtemp(prefix="engage-label-errors-"))
    truth = train.labels.astype(np.int8)
    n, n_top = len(truth), int(round(args.top * len(truth)))

    def fit(labels: np.ndarray, name: str):
        start = time.perf_counter()
        result = train_model(dataclasses.replace(train, labels=labels), encoder, recipe.head, name=name,
                             validation=DEFAULT_VALIDATION, threshold_method=recipe.threshold_method,
                             threshold_value=recipe.threshold_value, cache=cache, root=work)
        clf = Classifier(result.version, encoder, cache)  # the encoder loaded once
        f1 = metric_table(test.labels, clf.score(test.texts).values, clf.threshold)["f1"]
        return result, float(f1), time.perf_counter() - start

    _, clean_f1, seconds = fit(truth, "clean")
    print(f"clean labels: test F1 {clean_f1:.4f} ({seconds:.0f} s)", flush=True)
    rows = []
    for rate in args.rates:
        for seed in args.seeds:
            rng = np.random.default_rng(seed)
            flipped = rng.choice(n, int(round(rate * n)), replace=False)
            noisy = truth.copy()
            noisy[flipped] = 1 - noisy[flipped]
            result, noisy_f1, s1 = fit(noisy, f"noisy-{rate}-{seed}")
            ranked = rank_suspects(noisy, result.oof_scores)
            top = np.flatnonzero(ranked[RANK_COL].to_numpy() <= n_top)
            caught = len(np.intersect1d(top, flipped))
            corrected = noisy.copy()
            corrected[top] = truth[top]
            _, fixed_f1, s2 = fit(corrected, f"corrected-{rate}-{seed}")
            lost = clean_f1 - noisy_f1
            rows.append({"rate": rate, "seed": seed, "flipped": len(flipped), "reviewed": n_top, "caught": caught,
                         "recall_at_top": caught / len(flipped), "clean_f1": clean_f1, "noisy_f1": noisy_f1,
                         "corrected_f1": fixed_f1, "recovered": (fixed_f1 - noisy_f1) / lost if lost > 0 else None,
                         "seconds": s1 + s2, "load_average": os.getloadavg()[0]})
            print(json.dumps(rows[-1]), flush=True)
            _write(rows, args, clean_f1)
    _write(rows, args, clean_f1)


def _fmt(value: float | None, pct: bool = False) -> str:
    if value is None:
        return "n/a (no F1 lost)"
    return f"{100 * value:.1f} %" if pct else f"{value:.4f}"


def _write(rows: list[dict], args, clean_f1: float) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "label_errors.json").write_text(json.dumps({"clean_f1": clean_f1, "top": args.top, "rows": rows},
                                                      indent=1), encoding="utf-8")
    lines = [f"complaints train.csv, shipped recipe ({args.like}), top {args.top:.0%} of the ranking reviewed; "
             f"clean test F1 {clean_f1:.4f}",
             "| noise | seed | flipped | caught in top 10 % | recall@top (goal >= 60 %) | test F1 noisy | "
             "test F1 corrected | F1 lost recovered (goal >= 50 %) |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['rate']:.0%} | {r['seed']} | {r['flipped']} | {r['caught']} | "
                     f"{_fmt(r['recall_at_top'], True)} | {r['noisy_f1']:.4f} | {r['corrected_f1']:.4f} | "
                     f"{_fmt(r['recovered'], True)} |")
    for rate in sorted({r["rate"] for r in rows}):
        of = [r for r in rows if r["rate"] == rate]
        recall = float(np.mean([r["recall_at_top"] for r in of]))
        lost = float(np.mean([r["clean_f1"] - r["noisy_f1"] for r in of]))
        won = float(np.mean([r["corrected_f1"] - r["noisy_f1"] for r in of]))
        recovered = won / lost if lost > 0 else None
        lines.append(f"| {rate:.0%} | mean of {len(of)} | | | {_fmt(recall, True)} "
                     f"({'met' if recall >= RECALL_GOAL else 'MISSED'}) | | | {_fmt(recovered, True)} "
                     f"({'met' if recovered is not None and recovered >= RECOVERED_GOAL else 'MISSED'}; "
                     f"F1 lost {lost:.4f}, won back {won:.4f}) |")
    (OUT / "label_errors.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
