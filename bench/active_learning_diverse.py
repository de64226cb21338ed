"""Would diverse picks make the uncertain-first queue pay (issue 23 item 7)? A quick simulation beside
bench/active_learning.py, outside the label store.

    .venv/bin/python bench/active_learning_diverse.py [--orders random uncertain mixed diverse diverse-mixed]
        [--seeds 0 1 2] [--json-out FILE]
    .venv/bin/python bench/active_learning_diverse.py --report FILE

bench/active_learning.py labels through the app's own queue; the queue has no diverse order, so this one picks in
numpy instead, every order the same way, on the complaints train split as the pool: 50 random labels (seeded), then
rounds to the schedule's next count, each round picked with the model retrained on the labels so far
(label_loop.retrain on the shipped recipe, with the threshold weights of engage/labels/picks.py), and measured on
the test split (F1 at the version's threshold, ROC-AUC). The orders:
- random; uncertain: the round's most uncertain (|score - threshold|); mixed: one in three of a round at random;
- diverse: the round's B picks are the most uncertain message of each of B k-means clusters (scikit-learn) of the
  4B most uncertain messages' ELMo vectors (engage/similar.py's, from the embedding cache); diverse-mixed: the same
  for two thirds of a round, one third at random.
It prints bench/active_learning.py's report: the mean curves, and the labels each order needs to reach 95 % of the
whole pool's F1 and ROC-AUC (that bench's whole-pool model: 0.7992 and 0.9262), as schedule points and
interpolated, against random's.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
from pathlib import Path

# First, before numpy: it sets the environment (one BLAS thread, quiet TensorFlow), which OpenBLAS reads when it
# loads; and its report is this bench's.
from active_learning import DATA, ROOT, mean_table, summarize

# isort: split
import numpy as np

SCHEDULE = [50, 100, 150, 200, 250, 300, 350, 400, 450, 500, 750, 1100]
# The model retrained on the whole pool, as bench/active_learning.py measured it (bench/results/active_learning.txt):
# the orders are asked to reach 95 % of these.
REFERENCE = {"f1": 0.7992, "roc_auc": 0.9262}
ORDERS = ("random", "uncertain", "mixed", "diverse", "diverse-mixed")


class Pool:
    """The pool, the test split, the shipped model and its ELMo vectors; trains each labeled subset once."""

    def __init__(self) -> None:
        from engage.cache import EmbeddingCache
        from engage.reading import read_messages
        from engage.scoring import load_classifier
        from engage.similar import message_vectors

        self.cache = EmbeddingCache()
        self.base = load_classifier(root=ROOT / "models", cache=self.cache)
        self.pool = read_messages(DATA / "train.csv", label_col="engage")
        self.test = read_messages(DATA / "test.csv", label_col="engage")
        self.truth = self.pool.labels.astype(np.int8)
        self.base.score(self.pool.texts)  # caches every vector
        found, layer_means = self.cache.get_array(self.base.encoder.fingerprint, list(self.pool.texts))
        assert found.all()
        self.vectors = message_vectors(layer_means)
        self.work, self.trained = Path(tempfile.mkdtemp(prefix="engage-al-diverse-")), {}

    def train(self, labeled: list[int], random_pick: list[bool]):
        """(classifier, test F1, test ROC-AUC) of the recipe retrained on these labels."""
        from sklearn.metrics import roc_auc_score

        from engage.label_loop import retrain
        from engage.labels.picks import threshold_weights
        from engage.metrics import metric_table
        from engage.scoring import Classifier

        key = (tuple(sorted(labeled)), tuple(p for _, p in sorted(zip(labeled, random_pick, strict=True))))
        if key not in self.trained:
            idx = np.asarray(labeled)
            weights = threshold_weights(np.asarray(random_pick), self.truth[idx], len(self.truth))
            messages = dataclasses.replace(self.pool, frame=self.pool.frame.iloc[idx].reset_index(drop=True),
                                           texts=[self.pool.texts[i] for i in idx], labels=self.truth[idx],
                                           threshold_weights=weights)
            clf = Classifier(retrain(messages, self.base, root=self.work).version, self.base.encoder, self.cache)
            scores = clf.score(self.test.texts).values
            self.trained[key] = (clf, float(metric_table(self.test.labels, scores, clf.threshold)["f1"]),
                                 float(roc_auc_score(self.test.labels, scores)))
        return self.trained[key]

    def picks(self, order: str, clf, labeled: list[int], k: int, rng) -> tuple[list[int], list[bool]]:
        """The next k messages in `order`, and whether each was picked at random."""
        from sklearn.cluster import KMeans

        free = np.setdiff1d(np.arange(len(self.truth)), labeled)
        if order == "random":
            return [int(i) for i in rng.choice(free, k, replace=False)], [True] * k
        n_random = k // 3 if order.endswith("mixed") else 0
        n_sure = k - n_random
        certainty = np.abs(clf.score(self.pool.texts).values - clf.threshold)
        by_doubt = free[np.argsort(certainty[free], kind="stable")]
        chosen = [int(i) for i in by_doubt[:n_sure]]
        if order.startswith("diverse"):
            candidates = by_doubt[:4 * n_sure]
            clusters = KMeans(n_sure, n_init=1, random_state=0).fit_predict(self.vectors[candidates])
            chosen = [int(members[np.argmin(certainty[members])]) for c in range(n_sure)
                      if len(members := candidates[clusters == c])]
            taken = set(chosen)  # an empty cluster leaves its pick to the next most uncertain
            chosen += [int(i) for i in by_doubt if int(i) not in taken][:n_sure - len(chosen)]
        rest = np.setdiff1d(free, chosen)
        extra = [int(i) for i in rng.choice(rest, n_random, replace=False)] if n_random else []
        return chosen + extra, [False] * len(chosen) + [True] * len(extra)


def simulate(orders: list[str], seeds: list[int], out: Path | None) -> list[dict]:
    pool, rows = Pool(), []
    for seed in seeds:
        start = [int(i) for i in np.random.default_rng(100 + seed).choice(len(pool.truth), SCHEDULE[0], replace=False)]
        for order in orders:
            rng, labeled, random_pick = np.random.default_rng(seed), list(start), [True] * len(start)
            for count in SCHEDULE:
                if len(labeled) < count:
                    clf = pool.train(labeled, random_pick)[0]
                    picked, how = pool.picks(order, clf, labeled, count - len(labeled), rng)
                    labeled, random_pick = labeled + picked, random_pick + how
                _, f1, auc = pool.train(labeled, random_pick)
                rows.append({"order": order, "seed": seed, "labels": count, "f1": round(f1, 4),
                             "roc_auc": round(auc, 4)})
                print(json.dumps(rows[-1]), flush=True)
                if out is not None:
                    out.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return rows


def report(rows: list[dict]) -> None:
    """bench/active_learning.py's report of these rows: the mean curves and the labels each order needs."""
    import pandas as pd

    frame = pd.DataFrame(rows)
    orders = [o for o in ORDERS if o in set(frame["order"])]
    print(f"reference: the model retrained on the whole pool (bench/active_learning.py): test F1 "
          f"{REFERENCE['f1']:.4f}, ROC-AUC {REFERENCE['roc_auc']:.4f}")
    print(f"mean over seeds {sorted(frame['seed'].unique().tolist())}:")
    mean_table(frame, orders)
    summarize(frame, REFERENCE, orders)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", nargs="+", default=list(ORDERS), choices=ORDERS)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--json-out", type=Path, help="write the rows here as they come (JSON lines)")
    parser.add_argument("--report", type=Path, help="only print the report of rows written before")
    args = parser.parse_args()
    if args.report:
        lines = args.report.read_text(encoding="utf-8").splitlines()
        report([json.loads(line) for line in lines if line.startswith("{")])  # JSON lines, or a run's output
        return
    report(simulate(args.orders, args.seeds, args.json_out))


if __name__ == "__main__":
    main()
