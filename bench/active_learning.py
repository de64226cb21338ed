"""Active learning, simulated: does the labeling queue's "uncertain" order need fewer labels than "random"?

    .venv/bin/python bench/active_learning.py [--pool TRAIN.csv] [--test TEST.csv] [--label-col engage]
        [--model engage-default] [--orders uncertain random] [--seeds 3] [--first-seed 0] [--start 50] [--round 50]
        [--dense-until 500] [--growth 1.5] [--max-labels N] [--validation version|cv|heldout] [--out bench/results]
        [--name active_learning] [--beside OLD.csv]

    nice -n 19 .venv/bin/python bench/active_learning.py --orders mixed --name active_learning-mixed \
        --beside bench/results/active_learning.csv     # the mixed order beside a finished run's uncertain and random

A simulated annotator labels the pool (default: the complaints train split) through the app's own code: the pool
is imported as a labeling set in a real LabelStore (a temporary SQLite file), the first `--start` labels are taken
in the queue's "random" order (the same ones for both orders of a seed), and then, round after round, the next
messages in the order under test come from LabelStore.next_message and get their true label with label(). After
each round the model is retrained with label_loop.retrain (what the Train page runs, on the recipe of `--model`,
validated as the Train page does by default: as `--model` was, the shipped model's 5-fold cross-validation; or
`--validation heldout`, a 20 % held-out split, or `cv`), promoted with engage.promotion.promote (which re-scores
the labeling set, so the uncertain order follows the new model, as in the app), and measured on the test file: F1
at the model's own threshold, and ROC-AUC.

Schedule: rounds of `--round` labels up to `--dense-until`, then steps growing by `--growth` up to `--max-labels`
(default: the whole pool); the schedule is printed. Seeds change the annotator's name, which is what the random
order is keyed on. The embedding cache makes ELMo run once per text; a training set that was already trained on
(the whole pool, reached by every run) is trained once and its result reused: training is deterministic.

Writes active_learning.csv (one row per run and round) and active_learning.html (Altair chart) under --out, and
prints the labels each order needs to reach 95 % of the F1 of the model retrained on the whole pool. Each answer
records how the queue picked it (QueueItem.picked), so retraining weighs the threshold's labels as the app does
(engage/labels/picks.py). `--beside` adds the rows of the orders a finished run measured and this one does not.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# One BLAS thread unless told otherwise: on a busy 2-core machine two OpenBLAS threads spin against each other and
# a 769 x 769 solve (each Newton step of the ELMo branch) measured 30-70x slower than with one.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
ROOT = Path(__file__).resolve().parents[1]

DATA = ROOT.parent / "shared" / "data" / "complaints"
TARGET = 0.95  # share of the whole-pool model's F1 an order has to reach
GOAL = 0.60    # uncertain should need at most this share of random's labels


def schedule(start: int, step: int, dense_until: int, growth: float, total: int) -> list[int]:
    """Label counts after each round: start, start + step, ... up to dense_until, then x growth, ending at total."""
    counts = [min(start, total)]
    while counts[-1] < total:
        last = counts[-1]
        nxt = last + step if last < dense_until else int(round(last * growth / step)) * step
        counts.append(min(max(nxt, last + 1), total))
    return counts


@dataclass
class Pool:
    texts: list[str]
    labels: list[int]


def read_pool(path: Path, label_col: str) -> Pool:
    from engage.reading import read_messages

    m = read_messages(path, label_col=label_col)
    return Pool(list(m.texts), [int(v) for v in m.labels])


class Trainer:
    """retrain + promote + test metrics, memoized by training data (the same labels give the same model)."""

    def __init__(self, base, test: Pool, work: Path, validation) -> None:
        self.base, self.test, self.work, self.seen = base, test, work, {}
        self.validation = validation
        self.fits = 0

    def round(self, store, set_id: int, run: str, step: int) -> dict:
        from engage import label_loop
        from engage.metrics import metric_table
        from engage.promotion import promote
        from engage.scoring import Classifier
        from engage.train import data_fingerprint

        data = label_loop.training_messages(store, set_id)
        weights = data.threshold_weights
        key = (data_fingerprint(data.texts, data.labels), None if weights is None else weights.tobytes())
        t0 = time.perf_counter()
        reused = key in self.seen
        if not reused:
            result = label_loop.retrain(data, self.base, name=f"{run}-{step}", root=self.work / "models",
                                        validation=self.validation)
            clf = Classifier(result.version, self.base.encoder, self.base.cache)
            m = metric_table(self.test.labels, clf.score(self.test.texts).values, clf.threshold)
            self.seen[key] = (clf, {"f1": m["f1"], "roc_auc": m["roc_auc"], "threshold": clf.threshold,
                                    "train_s": time.perf_counter() - t0})
            self.fits += 1
        clf, figures = self.seen[key]
        promote(clf.name, store, root=self.work / "models", classifier=clf)  # re-scores the set: the queue follows
        return dict(figures, round_s=time.perf_counter() - t0, reused=reused)


def simulate(order: str, seed: int, pool: Pool, counts: list[int], trainer: Trainer, work: Path) -> list[dict]:
    from engage.labels import LabelStore

    annotator, run = f"sim-{seed}", f"{order}-s{seed}"
    store = LabelStore(f"sqlite:///{work / f'{run}.sqlite'}")
    try:
        set_id = store.import_messages(f"pool {run}", pool.texts, source="bench")
        truth = {int(m): pool.labels[int(p)] for m, p in zip(*store.messages(set_id)[["message_id", "position"]]
                                                             .to_numpy().T, strict=True)}
        rows, labeled = [], 0
        for step, target in enumerate(counts):
            queue_order = "random" if step == 0 else order  # the same first labels for every order of a seed
            while labeled < target:
                item = store.next_message(set_id, annotator, order=queue_order)
                if item is None:
                    break
                store.label(item.message_id, annotator, truth[item.message_id], score=item.score,
                            model=item.model, set_id=set_id, picked=item.picked)
                labeled += 1
            figures = trainer.round(store, set_id, run, step)
            rows.append({"order": order, "seed": seed, "round": step, "labels": labeled, **figures})
            print(f"  {run:<14} {labeled:>5} labels  F1 {figures['f1']:.4f}  ROC-AUC {figures['roc_auc']:.4f}  "
                  f"{figures['round_s']:6.1f} s{'  (same data as before: reused)' if figures['reused'] else ''}",
                  flush=True)
        return rows
    finally:
        store.close()


def labels_to_reach(curve, goal: float) -> int | None:
    """The first label count of the schedule whose value reaches goal (curve: labels, value sorted by labels)."""
    hit = curve[curve["value"] >= goal]
    return int(hit["labels"].iloc[0]) if len(hit) else None


def interpolated(curve, goal: float) -> float | None:
    """Where the curve first crosses goal, linear between the two schedule points around the crossing."""
    labels, f1 = curve["labels"].to_numpy(float), curve["value"].to_numpy(float)
    for i in range(len(f1)):
        if f1[i] >= goal:
            if i == 0:
                return labels[0]
            return labels[i - 1] + (goal - f1[i - 1]) / (f1[i] - f1[i - 1]) * (labels[i] - labels[i - 1])
    return None


def summarize(frame, ref, orders: list[str]) -> None:
    """Prints the labels each order needs to reach TARGET of the whole-pool model's F1 and ROC-AUC."""
    for metric in ("f1", "roc_auc"):
        goal = TARGET * float(ref[metric])
        print(f"labels needed to reach {TARGET:.0%} of its {metric} ({goal:.4f}), on the mean curve over seeds: "
              "the first schedule point at or above it, and linear between schedule points; per seed: first "
              "schedule point")
        needed, between = {}, {}
        for order in orders:
            sub = frame[frame["order"] == order].rename(columns={metric: "value"})
            mean = sub.groupby("labels", as_index=False)["value"].mean().sort_values("labels")
            needed[order], between[order] = labels_to_reach(mean, goal), interpolated(mean, goal)
            per_seed = [labels_to_reach(s.sort_values("labels"), goal) for _, s in sub.groupby("seed")]
            about = "never" if between[order] is None else f"~{between[order]:.0f}"
            print(f"  {order:<10} schedule point {str(needed[order]):>5}   interpolated {about:>6}   "
                  f"per seed {per_seed}")
        for order in [o for o in orders if o != "random"]:
            for what, got in (("schedule points", needed), ("interpolated", between)):
                if not got.get(order) or not got.get("random"):
                    print(f"  {metric}: {order} or random never reaches it ({what})")
                    continue
                share = got[order] / got["random"]
                verdict = "meets" if share <= GOAL else "misses"
                print(f"  {metric}: {order} needs {share:.0%} of the labels random needs ({what}): {verdict} "
                      f"the goal (<= {GOAL:.0%})")


def mean_table(frame, orders: list[str]) -> None:
    """F1 and ROC-AUC at each schedule point, mean over seeds, per order (a Markdown table)."""
    mean = frame[frame["order"].isin(orders)].groupby(["labels", "order"])[["f1", "roc_auc"]].mean().unstack()
    print("| labels | " + " | ".join(f"{m} {o}" for m in ("F1", "ROC-AUC") for o in orders) + " |")
    print("|---:|" + "---:|" * (2 * len(orders)))
    for labels, row in mean.iterrows():
        cells = [f"{row[(m, o)]:.3f}" for m in ("f1", "roc_auc") for o in orders]
        print(f"| {labels} | " + " | ".join(cells) + " |")


def report(frame, ref, ref_from: str, orders: list[str]) -> None:
    print(f"\nreference: {ref_from}: test F1 {ref['f1']:.4f}, ROC-AUC {ref['roc_auc']:.4f}")
    print(f"mean over seeds {sorted(frame['seed'].unique().tolist())}:")
    mean_table(frame, orders)
    summarize(frame, ref, orders)


def chart(frame, reference: float, path: Path) -> None:
    import altair as alt
    import pandas as pd

    mean = frame.groupby(["order", "labels"], as_index=False)[["f1", "roc_auc"]].mean()
    base = alt.Chart(frame).encode(x=alt.X("labels:Q", title="labels"), color=alt.Color("order:N"))
    seeds = base.mark_line(opacity=0.25).encode(y=alt.Y("f1:Q", title="test F1", scale=alt.Scale(zero=False)),
                                                detail="seed:N")
    means = alt.Chart(mean).mark_line(point=True).encode(x="labels:Q", y="f1:Q", color="order:N",
                                                         tooltip=["order", "labels", "f1", "roc_auc"])
    rule = alt.Chart(pd.DataFrame({"f1": [TARGET * reference]})).mark_rule(strokeDash=[4, 4]).encode(y="f1:Q")
    title = (f"Test F1 against labels (mean of seeds bold; dashed: {TARGET:.0%} of the whole-pool model's "
             f"F1 {reference:.3f})")
    (seeds + means + rule).properties(width=640, height=360, title=title).save(str(path))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pool", type=Path, default=DATA / "train.csv")
    parser.add_argument("--test", type=Path, default=DATA / "test.csv")
    parser.add_argument("--label-col", default="engage")
    parser.add_argument("--model", default="engage-default", help="the version whose recipe is retrained")
    parser.add_argument("--validation", choices=["version", "cv", "heldout"], default="version",
                        help="the threshold's validation: as --model's (the Train page's default), 5-fold "
                             "cross-validation, or a 20 %% held-out split")
    parser.add_argument("--orders", nargs="+", default=["uncertain", "random"])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--first-seed", type=int, default=0, help="seeds first-seed .. first-seed + seeds - 1")
    parser.add_argument("--start", type=int, default=50)
    parser.add_argument("--round", type=int, default=50)
    parser.add_argument("--dense-until", type=int, default=500)
    parser.add_argument("--growth", type=float, default=1.5)
    parser.add_argument("--max-labels", type=int)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--name", default="active_learning", help="file names of the outputs (.csv, .html)")
    parser.add_argument("--beside", type=Path, metavar="CSV",
                        help="a finished run's rows: its orders this run does not measure are reported beside")
    parser.add_argument("--report", type=Path, metavar="CSV",
                        help="only print the report of a finished run's active_learning.csv (no training)")
    args = parser.parse_args()

    import pandas as pd

    if args.report is not None:
        frame = pd.read_csv(args.report)
        whole = frame[frame["labels"] == frame["labels"].max()]
        report(frame, whole.iloc[0], f"the model trained on the run's most labels ({whole['labels'].iloc[0]})",
               args.orders)
        return

    from engage.labels import ORDERS
    from engage.scoring import load_classifier

    bad = [o for o in args.orders if o not in ORDERS]
    if bad:
        parser.error(f"unknown order {bad}; the queue has {', '.join(ORDERS)}")
    pool, test = read_pool(args.pool, args.label_col), read_pool(args.test, args.label_col)
    total = min(args.max_labels or len(set(pool.texts)), len(set(pool.texts)))
    counts = schedule(args.start, args.round, args.dense_until, args.growth, total)
    base = load_classifier(args.model, root=ROOT / "models")
    work = Path(tempfile.mkdtemp(prefix="engage-al-"))
    from engage.label_loop import validation_of
    from engage.validation import HELD_OUT_SHARE, Validation

    validation = {"version": validation_of(base), "cv": Validation.cross(5),
                  "heldout": Validation.held_out(HELD_OUT_SHARE)}[args.validation]
    trainer = Trainer(base, test, work, validation)
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    print(f"pool {args.pool} ({len(pool.texts)} rows), test {args.test} ({len(test.texts)} rows), recipe of "
          f"{base.name} ({base.version.meta['head']['architecture']}), retrained with label_loop.retrain "
          f"({validation.describe()}{f' {validation.share}' if validation.share else ''}, "
          f"as the Train page with --validation {args.validation}), CPU cores {os.cpu_count()}, "
          f"BLAS threads {os.environ['OPENBLAS_NUM_THREADS']}")
    print(f"schedule: first {counts[0]} labels in random order, then {args.orders} in rounds of {args.round} up to "
          f"{args.dense_until}, then x{args.growth} steps: {counts}; seeds {seeds}", flush=True)

    t0 = time.perf_counter()
    rows = []
    args.out.mkdir(parents=True, exist_ok=True)
    for seed in seeds:
        for order in args.orders:
            rows += simulate(order, seed, pool, counts, trainer, work)
            pd.DataFrame(rows).to_csv(args.out / f"{args.name}.csv", index=False)  # a stopped run keeps its rows
    frame = pd.DataFrame(rows)
    orders = list(args.orders)
    if args.beside is not None:
        old = pd.read_csv(args.beside)
        old = old[~old["order"].isin(orders) & old["seed"].isin(seeds)]
        orders += [o for o in old["order"].unique() if o not in orders]
        frame = pd.concat([frame, old], ignore_index=True)
        print(f"beside: {sorted(set(old['order']))} from {args.beside}")
    whole = frame[frame["labels"] == len(set(pool.texts))]
    if len(whole):
        ref, ref_from = whole.iloc[0], "the model retrained on the whole pool"
    else:  # the schedule stopped early: train the whole pool once, through the same store and queue
        ref = pd.Series(simulate("file", 0, pool, [len(set(pool.texts))], trainer, work)[0])
        ref_from = "the model retrained on the whole pool (separate run)"
    chart(frame, float(ref["f1"]), args.out / f"{args.name}.html")

    report(frame, ref, ref_from, orders)
    print(f"{trainer.fits} trainings, {time.perf_counter() - t0:.0f} s in all; "
          f"wrote {args.out / f'{args.name}.csv'} and {args.out / f'{args.name}.html'}")


if __name__ == "__main__":
    main()
