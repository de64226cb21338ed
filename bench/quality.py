"""One quality table on a labeled test split: the shipped model, the same head over a biLM with random weights,
two TF-IDF + logistic-regression baselines, and the seed notebook's published row.

    .venv/bin/python bench/quality.py [--train TRAIN.csv --test TEST.csv --label-col engage] [--model NAME]

Defaults: the complaints split in ../shared/data/complaints and the active model. Every row but the seed's is
fitted on TRAIN and scored on TEST here; metrics at the model's threshold and at 0.5.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.pipeline import make_pipeline, make_union  # noqa: E402

from engage.metrics import metric_table  # noqa: E402

COMPLAINTS = ROOT.parent / "shared" / "data" / "complaints"
SEED_ROW = {"accuracy": 0.7665, "precision": 0.7865, "recall": 0.7695, "f1": 0.7779}  # its own 10k split
# The shared data README's figures for the two baselines on this exact split (its own vectorizer settings).
README_ROWS = {"TF-IDF words 1-2 + LR (shared README)": {"accuracy": 0.808, "f1": 0.752, "roc_auc": 0.882},
               "TF-IDF words + chars 2-5 + LR (shared README)": {"accuracy": 0.833, "f1": 0.782, "roc_auc": 0.912}}
COLUMNS = ("accuracy", "precision", "recall", "f1", "roc_auc", "pr_auc")


def tfidf_words() -> object:
    return make_pipeline(TfidfVectorizer(ngram_range=(1, 2)),
                         LogisticRegression(C=10, class_weight="balanced", max_iter=2000))


def tfidf_words_chars() -> object:
    features = make_union(TfidfVectorizer(ngram_range=(1, 2)), TfidfVectorizer(analyzer="char", ngram_range=(2, 5)))
    return make_pipeline(features, LogisticRegression(C=10, class_weight="balanced", max_iter=2000))


def baseline_scores(make, train, test) -> np.ndarray:
    model = make()
    model.fit(train.texts, train.labels)
    return model.predict_proba(test.texts)[:, 1]


def recipe_scores(version, handle: str, train, test, work: Path, name: str) -> tuple[np.ndarray, float]:
    """Train the recipe of `version` (its head config, threshold method, validation split) on TRAIN over the
    encoder at `handle`, and score TEST with it."""
    from engage.encoders import load_encoder
    from engage.head import HeadConfig
    from engage.scoring import load_classifier
    from engage.train import train_model

    encoder = load_encoder(handle, max_tokens=version.meta["encoder"]["max_tokens"])
    th = version.meta["threshold"]
    train_model(train, encoder, HeadConfig.from_json(version.meta["head"]["config"]), name=name,
                root=work / "models", val_split=version.meta["training_data"]["val_split"],
                cv_folds=version.meta["training_data"].get("cv_folds", 0),
                threshold_method=th["method"], threshold_value=th["target"])
    clf = load_classifier(name, root=work / "models", use_cache=False)
    return clf.score(test.texts), clf.threshold


def random_bilm_scores(version, train, test, work: Path) -> tuple[np.ndarray, float] | None:
    """The shipped head's recipe over a biLM of the same shapes with random weights: does pretraining help?"""
    from engage import registry
    from engage.encoders import is_bilm_folder
    from engage.encoders.bilm.weights import random_bilm, read_options, save_bilm

    handle = registry.resolve_handle(version.meta["encoder"]["handle"])
    if not is_bilm_folder(handle):
        return None
    options = read_options(Path(handle) / "options.json")
    save_bilm(random_bilm(options, seed=0), work / "random-elmo", options)
    return recipe_scores(version, str(work / "random-elmo"), train, test, work, "random-bilm")


def rows_for(name: str, y: np.ndarray, scores: np.ndarray, threshold: float) -> list[dict]:
    rows = []
    for label, t in ((f"model threshold {threshold:.3f}", threshold), ("0.5", 0.5)):
        m = metric_table(y, scores, t)
        rows.append({"row": name, "at": label} | {k: m[k] for k in COLUMNS})
    return rows


def paired_bootstrap(y: np.ndarray, ours: tuple[np.ndarray, float], base: tuple[np.ndarray, float],
                     rounds: int, seed: int = 0) -> dict[str, tuple[float, float, float]]:
    """Ours minus the baseline, resampling the test rows together (95 % interval): is a lead more than luck of
    this split? Returns metric -> (difference on the split, low, high), in points."""
    from sklearn.metrics import f1_score, roc_auc_score

    rng = np.random.default_rng(seed)
    (s1, t1), (s2, t2) = ours, base
    p1, p2 = s1 >= t1, s2 >= t2

    def diffs(idx: np.ndarray) -> tuple[float, float, float]:
        yy = y[idx]
        return (100 * (roc_auc_score(yy, s1[idx]) - roc_auc_score(yy, s2[idx])),
                100 * (f1_score(yy, p1[idx]) - f1_score(yy, p2[idx])),
                100 * ((p1[idx] == yy).mean() - (p2[idx] == yy).mean()))

    full = diffs(np.arange(len(y)))
    draws = np.array([diffs(rng.integers(0, len(y), len(y))) for _ in range(rounds)])
    low, high = np.percentile(draws, [2.5, 97.5], axis=0)
    return {name: (full[i], low[i], high[i]) for i, name in enumerate(("roc_auc", "f1", "accuracy"))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train", default=str(COMPLAINTS / "train.csv"))
    parser.add_argument("--test", default=str(COMPLAINTS / "test.csv"))
    parser.add_argument("--label-col", default="engage")
    parser.add_argument("--text-col")
    parser.add_argument("--model", help="registry version (default: the active model)")
    parser.add_argument("--skip-random", action="store_true", help="leave out the random-weights biLM row")
    parser.add_argument("--retrain", action="store_true",
                        help="for another dataset: train the model's recipe on TRAIN first (same encoder, same head)")
    parser.add_argument("--out", help="also write the table as CSV here")
    parser.add_argument("--bootstrap", type=int, default=1000, metavar="N",
                        help="paired bootstrap rounds for the lead over each baseline (0 = skip)")
    args = parser.parse_args()

    from engage.reading import read_messages
    from engage.scoring import load_classifier

    train = read_messages(args.train, text_col=args.text_col, label_col=args.label_col, require_labels=True)
    test = read_messages(args.test, text_col=args.text_col, label_col=args.label_col, require_labels=True)
    y = test.labels
    clf = load_classifier(args.model, use_cache=False)
    with tempfile.TemporaryDirectory() as work:
        if args.retrain:
            from engage import registry

            handle = registry.resolve_handle(clf.version.meta["encoder"]["handle"])
            scores = recipe_scores(clf.version, handle, train, test, Path(work), "retrained")
            rows = rows_for(f"{clf.name} recipe, trained on TRAIN", y, *scores)
        else:
            scores = (clf.score(test.texts), clf.threshold)
            rows = rows_for(f"shipped: {clf.name}", y, *scores)
        found = None if args.skip_random else random_bilm_scores(clf.version, train, test, Path(work))
        if found is not None:
            rows += rows_for("same head, random-weight biLM", y, *found)
    leads = {}
    for name, make in (("TF-IDF words 1-2 + LR", tfidf_words), ("TF-IDF words + chars 2-5 + LR", tfidf_words_chars)):
        base = baseline_scores(make, train, test)
        rows += rows_for(name, y, base, 0.5)[1:]
        if args.bootstrap:
            leads[name] = paired_bootstrap(y, scores, (base, 0.5), args.bootstrap)
    if Path(args.test).resolve() == (COMPLAINTS / "test.csv").resolve():
        rows += [{"row": name, "at": "0.5"} | figures for name, figures in README_ROWS.items()]
    rows.append({"row": "seed notebook (published, own split)", "at": "0.5"} | SEED_ROW)
    table = pd.DataFrame(rows)
    print(f"train: {args.train} ({len(train.texts)} rows)  test: {args.test} ({len(y)} rows, {int(y.sum())} positive)")
    with pd.option_context("display.width", 200, "display.max_colwidth", 40):
        print((table.set_index(["row", "at"]) * 100).round(2).to_string())
    for name, lead in leads.items():
        print(f"lead over {name} (model at its threshold, baseline at 0.5; paired bootstrap, {args.bootstrap} rounds, "
              "95 % interval, points): " + "; ".join(f"{k} {d:+.2f} [{lo:+.2f}, {hi:+.2f}]"
                                                      for k, (d, lo, hi) in lead.items()))
    if args.out:
        table.to_csv(args.out, index=False)


if __name__ == "__main__":
    main()
