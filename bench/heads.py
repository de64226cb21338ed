"""Which head reads our ELMo best? The ELMo branch alone (no lexical features), fitted with the project's own
train_head: the seed's scalar mix + Dense(256) (with per-layer standardization) against the linear branch.

    .venv/bin/python bench/heads.py [--train TRAIN.csv] [--test TEST.csv] [--encoder DIR]

ROC-AUC from 5-fold cross-validation on TRAIN (what the shipped head was chosen on), and, with --test, on TEST after
fitting on all of TRAIN (e.g. the unseen domains of bench/domain_split.py). Defaults: the complaints training file
and the active model's encoder.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]

import numpy as np  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402
from sklearn.model_selection import StratifiedKFold  # noqa: E402

from engage.head import HeadConfig, predict, train_head  # noqa: E402

COMPLAINTS = ROOT.parent / "shared" / "data" / "complaints"
HEADS = {"seed MLP (standardized, mix, Dense 256)": HeadConfig(normalize=True),
         "linear (standardized layers, logistic regression)": HeadConfig(elmo_branch="linear")}


def vectors(encoder, path: str, label_col: str) -> tuple[np.ndarray, np.ndarray]:
    from engage.cache import EmbeddingCache, cached_layer_means
    from engage.reading import read_messages

    messages = read_messages(path, label_col=label_col, require_labels=True)
    return cached_layer_means(encoder, messages.texts, EmbeddingCache())[0], messages.labels.astype(int)


def cv_auc(config: HeadConfig, x: np.ndarray, y: np.ndarray) -> float:
    scores = np.empty(len(y))
    for fit, held in StratifiedKFold(5, shuffle=True, random_state=0).split(x, y):
        model, _ = train_head(config, {"layers": x[fit]}, y[fit])
        scores[held] = predict(model, {"layers": x[held]})
    return roc_auc_score(y, scores)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train", default=str(COMPLAINTS / "train.csv"))
    parser.add_argument("--test")
    parser.add_argument("--label-col", default="engage")
    parser.add_argument("--encoder", help="ELMo folder or handle (default: the active model's)")
    args = parser.parse_args()

    from engage import registry
    from engage.encoders import load_encoder

    handle = args.encoder or registry.loadable_handle(registry.read_model(None).meta["encoder"]["handle"])
    encoder = load_encoder(handle)
    x, y = vectors(encoder, args.train, args.label_col)
    test = vectors(encoder, args.test, args.label_col) if args.test else None
    where = f", test {args.test}" if test else ""
    print(f"ELMo branch alone on {handle}; train {args.train} ({len(y)} rows){where}")
    for name, config in HEADS.items():
        line = f"  {name:52s} ROC-AUC 5-fold CV on train {100 * cv_auc(config, x, y):6.2f}"
        if test is not None:
            model, _ = train_head(config, {"layers": x}, y)
            line += f"   on test {100 * roc_auc_score(test[1], predict(model, {'layers': test[0]})):6.2f}"
        print(line, flush=True)


if __name__ == "__main__":
    main()
