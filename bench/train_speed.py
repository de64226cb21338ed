"""Training speed on the complaints train split: the shipped recipe warm (embeddings cached) beside the seed's head,
and the shipped recipe warm as labels grow (issue 23 item 8).

    .venv/bin/python bench/train_speed.py [--encoder HANDLE] [--epochs 5]
    nice -n 19 .venv/bin/python bench/train_speed.py --scaling-only --cache DIR [--sizes 2760,7000,15000,30000]
        [--repeats 3]
    .venv/bin/python bench/train_speed.py --solvers --cache DIR --sizes 7000,15000,30000

Three runs in one process, on the same data and encoder:
- seed head, cold: the encoder runs on every message (the embedding cache starts empty);
- seed head, warm: the seed's scalar mix + Dense(256), trained for --epochs on cached layer means (held-out split 0.1);
- shipped recipe, warm: models/engage-default's head config, validation and threshold method, i.e.
  `engage train DATA --lexical --elmo-branch linear --cv-folds 5`: 5 cross-validation heads and the final one, each
  two exact regressions and their stacking. Goal: at most 15 s on 2 cores.

Scaling (--sizes): the shipped recipe, warm, on the complaints train split (2,760 real labels) and on larger sets:
those 2,760 plus distinct tweets of ../shared/data/tweets-corpus (none of them a complaints text), in a seeded order
so each set is a prefix of the next, labeled by drawing each from the shipped model's probability with its logit
shifted so the tweets' labels keep the training split's share of engageable (Bernoulli, seeded). Why the timing is
representative: what the fits cost depends on the rows, the n-grams per row (tweets as long as the complaints, about
350 non-zeros), how many are distinct (the dual's rank) and how hard the labels are to fit (the solvers' steps):
labels drawn from a calibrated model's probability are noisy where it is unsure, as people's are, not a separable
toy. Every set's ELMo vectors are computed before the clock starts (--cache keeps them between runs: the cold
encoding of 30,000 tweets is minutes of CPU). Each row reports wall and CPU seconds (and of those, the lexical
branch's: its coordinates and its regressions, LexicalClock; the growth lines split the two parts), the lexical
solver the rule picked, the ELMo branch's C (picked on all five folds up to engage.head.linear.ONE_FOLD_ROWS labels,
on one beyond), and the ROC-AUC on the complaints test split (the larger sets' extra labels are pseudo-labels: only
the 2,760 row's quality is comparable to the shipped model's). Goals (issue 23 item 8): 15,000 labels in at most
SCALE_GOAL_SECONDS, and from 7,000 labels up the time grows no faster than the labels. --primal-too adds the 2,760
set with the primal forced (why the switch sits above it). --repeats N trains every size N times, in rounds over the
sizes, and reports each size's median run: on a shared 2-core machine one run of the 30,000 set measured 63.5 s CPU
and the next, same code, 81.9.

The encoder defaults to the shipped ELMo (models/elmo-tweets) when present, else a generated ELMo-shaped TF Hub
fixture with D = 1024 (so the head costs what it costs on the real ELMo; the cold time then says little).
The seed notebook's 2,545 s per epoch is printed as context only: it ran ELMo on every step, on another machine.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]

SEED_SECONDS_PER_EPOCH = 2545.0
DATA = ROOT.parent / "shared" / "data"
TRAIN = DATA / "complaints" / "train.csv"
TEST = DATA / "complaints" / "test.csv"
POOL_FILES = (DATA / "tweets-corpus" / "sentiment140-sample.txt", DATA / "tweets-corpus" / "tweeteval.txt")
SHIPPED_ELMO = ROOT / "models" / "elmo-tweets"
SHIPPED_MODEL = ROOT / "models" / "engage-default" / "model.json"
GOAL_SECONDS = 15.0
SCALE_GOAL_SECONDS = 60.0  # the shipped recipe, warm, on 15,000 labels


def extra_pool(exclude: set[str], count: int, seed: int = 0) -> list[str]:
    """count distinct tweets from the tweets corpus, none of them in `exclude`, in a seeded random order (so the
    smaller sets are prefixes of the larger ones)."""
    import numpy as np

    seen, texts = set(exclude), []
    for path in POOL_FILES:
        for line in path.read_text(encoding="utf-8").splitlines():
            if (text := line.strip()) and text not in seen:
                seen.add(text)
                texts.append(text)
    order = np.random.default_rng(seed).permutation(len(texts))[:count]
    return [texts[i] for i in order]


def pseudo_labels(scores, share: float, seed: int = 1):
    """0/1 drawn from the scores' probabilities with their logits shifted (bisection) so that `share` of them are 1
    on average: the shipped model's uncertainty, the training split's class balance."""
    import numpy as np

    logits = np.log(np.clip(scores, 1e-9, 1 - 1e-9) / np.clip(1 - scores, 1e-9, 1))
    low, high = -30.0, 30.0
    for _ in range(60):
        mid = (low + high) / 2
        low, high = (mid, high) if (1 / (1 + np.exp(-(logits + mid)))).mean() < share else (low, mid)
    p = 1 / (1 + np.exp(-(logits + low)))
    return (np.random.default_rng(seed).random(len(p)) < p).astype(np.int8)


def labeled_sets(train, test, sizes: list[int], clf) -> dict:
    """size -> Messages: the training split, then the tweets with their pseudo-labels (module docstring); no tweet
    is a text of either split (the test split measures them)."""
    import numpy as np
    import pandas as pd

    from engage.reading import Messages

    pool = extra_pool(set(train.texts) | set(test.texts), max(sizes) - len(train.texts))
    labels = pseudo_labels(clf.score(pool).values, float(train.labels.mean()))  # encodes (and caches) the tweets
    sets = {}
    for size in sizes:
        extra = size - len(train.texts)
        texts = list(train.texts) + pool[:extra]
        y = np.concatenate([train.labels, labels[:extra]]).astype(np.int8)
        sets[size] = Messages(pd.DataFrame({"text": texts, "engage": y}), "text", "engage", texts, y, [],
                              f"complaints-train+{extra}-tweets.csv")
    return sets


class Measured(NamedTuple):
    """One size's median run, as the scaling table prints it."""

    size: int
    solver: str
    wall: float
    cpu: float
    lexical: float  # of cpu, the lexical branch's (LexicalClock)
    c: float
    auc: float
    share: float


class LexicalClock:
    """CPU seconds of the process spent in the lexical branch's work during a run: its coordinates (share_work's
    lexical_space) and its regressions with their out-of-fold threads. Both run while nothing else of the head
    does, so the process's CPU clock around them is theirs."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def __enter__(self) -> LexicalClock:
        from engage.head import linear, model

        self._real = {(module, name): getattr(module, name)
                      for module, name in ((linear, "lexical_regression"), (model, "lexical_space"))}
        for (module, name), real in self._real.items():
            setattr(module, name, self._timed(real))
        return self

    def __exit__(self, *exc) -> None:
        for (module, name), real in self._real.items():
            setattr(module, name, real)

    def _timed(self, real):
        def timed(*a, **k):
            start = time.process_time()
            try:
                return real(*a, **k)
            finally:
                self.seconds += time.process_time() - start
        return timed


def scaling(args, handle: str, work: Path) -> None:
    """The shipped recipe, warm, on each size (module docstring): wall, CPU, solver, complaints test ROC-AUC."""
    import gc

    import keras
    from sklearn.metrics import roc_auc_score

    from engage.cache import EmbeddingCache, cached_layer_means
    from engage.encoders import load_encoder
    from engage.head import lexical_branch
    from engage.reading import read_messages
    from engage.scoring import load_classifier
    from engage.train import train_model

    cache = EmbeddingCache(Path(args.cache) if args.cache else work / "cache")
    train = read_messages(TRAIN, label_col="engage")
    test = read_messages(TEST, label_col="engage")
    sizes = sorted(int(s) for s in args.sizes.split(","))
    sets = labeled_sets(train, test, sizes, load_classifier(root=ROOT / "models", cache=cache))
    shipped, shipped_args = shipped_recipe()
    encoder = load_encoder(handle)
    runs = [(size, None) for size in sizes] + ([(len(train.texts), 0)] if args.primal_too else [])
    for size, _ in runs:  # warm: nothing is encoded on the clock
        cached_layer_means(encoder, sets[size].texts + test.texts, cache)
    timings: dict[tuple, list] = {run: [] for run in runs}
    results = {}
    for repeat in range(args.repeats):  # rounds over every size, so a slow spell of the machine hits them all
        for size, switch in runs:
            # Each run starts as a fresh `engage train` process would: none of the earlier runs' models left in
            # Keras' session or in memory waiting for the collector.
            keras.utils.clear_session(free_memory=True)
            gc.collect()
            kept = lexical_branch.DUAL_MAX_ROWS
            lexical_branch.DUAL_MAX_ROWS = kept if switch is None else switch
            try:
                primal = f"primal ({lexical_branch.ColumnSpace.solver})"
                solver = "dual (L-BFGS)" if lexical_branch.dual_pays(size) else primal
                start, cpu = time.perf_counter(), time.process_time()
                with LexicalClock() as lexical:
                    result = train_model(sets[size], encoder, shipped, name=f"scale-{size}-{switch}-{repeat}",
                                         cache=cache, root=work / "models", **shipped_args)
                wall, cpu = time.perf_counter() - start, time.process_time() - cpu
            finally:
                lexical_branch.DUAL_MAX_ROWS = kept
            timings[(size, switch)].append((wall, cpu, lexical.seconds))
            clf = load_classifier(result.version.name, root=work / "models", cache=cache)
            auc = roc_auc_score(test.labels, clf.score(test.texts).values)
            c = result.history["elmo_c"][0]
            results[(size, switch)] = (solver, c, auc, float(sets[size].labels.mean()))
            print(f"  {size:>6,} labels: {wall:.1f} s, {cpu:.1f} s CPU ({lexical.seconds:.1f} lexical), {solver}, "
                  f"ELMo C {c:g}, encoder computed "
                  f"{result.n_computed}, test ROC-AUC {100 * auc:.2f}", flush=True)
    rows = []
    for run in runs:  # the median run of each size (of --repeats)
        wall, cpu, lexical = sorted(timings[run], key=lambda t: t[1])[len(timings[run]) // 2]
        solver, c, auc, share = results[run]
        rows.append(Measured(run[0], solver, wall, cpu, lexical, c, auc, share))
    if args.repeats > 1:
        print(f"the median of {args.repeats} runs of each size (by CPU seconds):")
    print(f"load average (1, 5, 15 min): {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("| labels | lexical solver | ELMo C | engageable | wall s | CPU s | of which lexical | CPU s per 1,000 "
          "labels | ROC-AUC, complaints test |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r.size:,} | {r.solver} | {r.c:g} | {r.share:.1%} | {r.wall:.1f} | {r.cpu:.1f} | {r.lexical:.1f} | "
              f"{1000 * r.cpu / r.size:.2f} | {100 * r.auc:.2f} |")
    for r in rows[:len(sizes)]:
        if r.size == 15000:
            print(f"15,000 labels: {r.wall:.1f} s wall, {r.cpu:.1f} s CPU (goal <= {SCALE_GOAL_SECONDS:.0f} s: wall "
                  f"{'met' if r.wall <= SCALE_GOAL_SECONDS else 'NOT met'}, CPU "
                  f"{'met' if r.cpu <= SCALE_GOAL_SECONDS else 'NOT met'})")
    base = next((r for r in rows if r.size == 7000), None)
    if base is not None:
        for r in rows[:len(sizes)]:
            if r.size > base.size:
                print(f"{r.size:,} / 7,000 labels = {r.size / 7000:.2f}x: wall {r.wall / base.wall:.2f}x, "
                      f"CPU {r.cpu / base.cpu:.2f}x (goal: at most linear, CPU "
                      f"{'met' if r.cpu / base.cpu <= r.size / 7000 else 'NOT met'}; lexical "
                      f"{r.lexical / base.lexical:.2f}x, the rest "
                      f"{(r.cpu - r.lexical) / (base.cpu - base.lexical):.2f}x)")


def solvers(args) -> None:
    """The lexical primal alone (engage/head/lexical_branch.py says which solver and why): on each set of --sizes, one
    fit on all its rows in the n-gram columns by Newton-CG at 1e-4 and 1e-5 and by SAG at 1e-4 (each timed once more
    after a warm-up, one BLAS thread), their steps (Newton steps and Hessian products; SAG's epochs) and how far
    their logits are from the exact optimum (Newton-CG to 1e-8); then one out-of-fold fit (the first fold's rows)
    by Newton-CG at 1e-5, cold and started from the fit on all rows (as lexical_regression fits the folds), its
    logits on every row against that fold's exact optimum."""
    import warnings

    import numpy as np
    from sklearn.linear_model import LogisticRegression, _linear_loss
    from threadpoolctl import threadpool_limits

    from engage.cache import EmbeddingCache
    from engage.head.lexical_branch import ColumnSpace
    from engage.head.stacking import folds
    from engage.lexical import lexical_features
    from engage.reading import read_messages
    from engage.scoring import load_classifier

    products = [0]  # Hessian-vector products of Newton-CG's inner conjugate gradient
    real = _linear_loss.LinearModelLoss.gradient_hessian_product

    def counted(self, *a, **k):
        gradient, product = real(self, *a, **k)

        def count(v):
            products[0] += 1
            return product(v)
        return gradient, count

    cache = EmbeddingCache(Path(args.cache) if args.cache else None)
    train, test = read_messages(TRAIN, label_col="engage"), read_messages(TEST, label_col="engage")
    sizes = sorted(int(s) for s in args.sizes.split(","))
    sets = labeled_sets(train, test, sizes, load_classifier(root=ROOT / "models", cache=cache))
    shipped = shipped_recipe()[0]
    c = shipped.lexical_c
    print("| labels | n-gram columns used | solver | seconds | steps | max logit off the optimum |")
    print("|---|---|---|---|---|---|")
    _linear_loss.LinearModelLoss.gradient_hessian_product = counted
    try:
        for size in sizes:
            features, y = lexical_features(sets[size].texts), sets[size].labels
            z = ColumnSpace(features).z
            with threadpool_limits(1, user_api="blas"), warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the reference's line search near the optimum says it gains nothing
                best = LogisticRegression(C=c, solver="newton-cg", tol=1e-8, max_iter=3000).fit(z, y)
                fits = {}
                for solver, tol in (("newton-cg", 1e-4), ("newton-cg", 1e-5), ("sag", 1e-4)):
                    settings = {"C": c, "solver": solver, "tol": tol, "max_iter": 3000, "random_state": 0}
                    LogisticRegression(**settings).fit(z, y)  # warm-up
                    products[0] = 0
                    start = time.perf_counter()
                    fit = fits[(solver, tol)] = LogisticRegression(**settings).fit(z, y)
                    seconds = time.perf_counter() - start
                    steps = (f"{fit.n_iter_[0]} Newton, {products[0]} Hessian products" if solver == "newton-cg"
                             else f"{fit.n_iter_[0]} epochs")
                    off = np.abs(fit.decision_function(z) - best.decision_function(z)).max()
                    print(f"| {size:,} | {z.shape[1]:,} | {solver} at {tol:g} | {seconds:.2f} | {steps} | {off:.4f} |",
                          flush=True)
                fit_idx = next(folds(shipped, y).split(np.zeros(len(y)), y))[0]
                exact = LogisticRegression(C=c, solver="newton-cg", tol=1e-8, max_iter=3000).fit(z[fit_idx], y[fit_idx])
                used = (ColumnSpace.solver, ColumnSpace.tol)  # the fit on all rows the folds start from: above
                for how, start in (("cold", None), ("started from the fit on all rows", fits[used])):
                    part = ColumnSpace(features)[fit_idx]  # a new one each time: its fits are not shared
                    products[0] = 0
                    begin = time.perf_counter()
                    fold = part.fit(LogisticRegression(C=c, solver=used[0], tol=used[1], max_iter=3000), y[fit_idx],
                                    start=start)
                    seconds = time.perf_counter() - begin
                    off = np.abs(fold.decision_function(z) - exact.decision_function(z)).max()
                    print(f"| {size:,}, a fold's {len(fit_idx):,} | {z.shape[1]:,} | {used[0]} at {used[1]:g}, {how} | "
                          f"{seconds:.2f} | {fold.n_iter_[0]} Newton, {products[0]} Hessian products | {off:.4f} |",
                          flush=True)
    finally:
        _linear_loss.LinearModelLoss.gradient_hessian_product = real


def default_encoder(workdir: Path) -> str:
    if SHIPPED_ELMO.is_dir():
        return str(SHIPPED_ELMO)
    from engage.testing.hub_fixtures import make_tf2_fixture

    return str(make_tf2_fixture(workdir / "fixture-elmo", dim=1024))


def shipped_recipe() -> tuple[object, dict]:
    """(head config, train_model keyword arguments) of the shipped model, as its model.json records them."""
    from engage.head import HeadConfig
    from engage.validation import Validation

    meta = json.loads(SHIPPED_MODEL.read_text(encoding="utf-8"))
    return (HeadConfig.from_json(meta["head"]["config"], source=str(SHIPPED_MODEL)),
            {"validation": Validation.of_record(meta["training_data"]),
             "threshold_method": meta["threshold"]["method"], "threshold_value": meta["threshold"]["target"]})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--encoder")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--sizes", default="2760,7000,15000,30000", help="label counts for the scaling runs")
    parser.add_argument("--cache", help="embedding cache folder kept between runs (default: a new one): the folder "
                        "of the vectors themselves; the app's is <ENGAGE_CACHE_DIR>/embeddings, pass that to "
                        "share them with engage train")
    parser.add_argument("--scaling-only", action="store_true", help="skip the seed head's runs")
    parser.add_argument("--no-scaling", action="store_true", help="only the seed head's and the recipe's runs")
    parser.add_argument("--primal-too", action="store_true", help="also the 2,760 set with the primal forced")
    parser.add_argument("--repeats", type=int, default=1,
                        help="train each size this many times, in rounds over the sizes; the table shows the median")
    parser.add_argument("--solvers", action="store_true",
                        help="only the lexical primal's fits: Newton-CG and SAG on each size (solvers' docstring)")
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error(f"--repeats: at least 1 run of each size, got {args.repeats}")
    if args.solvers:
        solvers(args)
        return
    work = Path(tempfile.mkdtemp(prefix="engage-bench-"))
    handle = args.encoder or default_encoder(work)
    if not args.no_scaling:
        scaling(args, handle, work)
    if args.scaling_only:
        return

    from engage.cache import EmbeddingCache
    from engage.encoders import load_encoder
    from engage.head import HeadConfig
    from engage.reading import read_messages
    from engage.train import train_model
    from engage.validation import Validation

    messages = read_messages(TRAIN, label_col="engage")
    seed = HeadConfig(epochs=args.epochs)
    shipped, shipped_args = shipped_recipe()
    cache = EmbeddingCache(work / "cache")
    runs = []
    seed_args = {"validation": Validation.held_out(0.1)}  # as these runs were always measured
    for label, config, kwargs in (("seed head, cold", seed, seed_args), ("seed head, warm", seed, seed_args),
                                  ("shipped recipe, warm", shipped, shipped_args)):
        encoder = load_encoder(handle)
        start, cpu = time.perf_counter(), time.process_time()
        result = train_model(messages, encoder, config, name=f"bench-{len(runs)}", cache=cache,
                             root=work / "models", **kwargs)
        runs.append((label, config, time.perf_counter() - start, result, time.process_time() - cpu))
    print(f"encoder: {handle} ({encoder.kind}, D={encoder.dim}, {encoder.device})")
    print(f"data: {TRAIN.name}, {len(messages.texts)} messages, CPU cores: {len(os.sched_getaffinity(0))}")
    # CPU seconds (all threads of this process) beside wall seconds: on a shared machine the wall time also counts
    # other processes' turns on the cores, so the load average is printed with it.
    print(f"load average (1, 5, 15 min): {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"{'run':<22} {'total s':>9} {'CPU s':>8} {'encode s':>9} {'fit s':>8} {'s/epoch':>8} "
          f"{'encoder computed':>17}")
    for label, config, total, r, cpu in runs:
        per_epoch = f"{r.seconds['fit'] / config.epochs:>8.3f}" if config.trains_in_epochs else f"{'-':>8}"
        print(f"{label:<22} {total:>9.2f} {cpu:>8.2f} {r.seconds['encode']:>9.2f} {r.seconds['fit']:>8.2f} "
              f"{per_epoch} {r.n_computed:>17}")
    recipe = runs[2][2]
    print(f"shipped recipe ({shipped_args['cv_folds']}-fold cross-validated threshold), warm: {recipe:.2f} s "
          f"({runs[2][4]:.2f} s CPU) "
          f"(goal <= {GOAL_SECONDS:.0f} s on 2 cores: {'met' if recipe <= GOAL_SECONDS else 'NOT met'}); "
          f"seed head, warm, {args.epochs} epochs: {runs[1][2]:.2f} s")
    print(f"context only: the seed notebook took {SEED_SECONDS_PER_EPOCH:,.0f} s per epoch, running ELMo on every "
          "step on another machine; it is not a speed-up ratio of this code")


if __name__ == "__main__":
    main()
