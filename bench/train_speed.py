"""Training speed on the complaints train split: the shipped recipe warm (embeddings cached) beside the seed's head.

    .venv/bin/python bench/train_speed.py [--encoder HANDLE] [--epochs 5]

Three runs in one process, on the same data and encoder:
- seed head, cold: the encoder runs on every message (the embedding cache starts empty);
- seed head, warm: the seed's scalar mix + Dense(256), trained for --epochs on cached layer means (held-out split 0.1);
- shipped recipe, warm: models/engage-default's head config, validation and threshold method, i.e.
  `engage train DATA --lexical --elmo-branch linear --cv-folds 5`: 5 cross-validation heads and the final one, each
  two exact regressions and their stacking. Goal: at most 15 s on 2 cores.

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

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]

SEED_SECONDS_PER_EPOCH = 2545.0
TRAIN = ROOT.parent / "shared" / "data" / "complaints" / "train.csv"
SHIPPED_ELMO = ROOT / "models" / "elmo-tweets"
SHIPPED_MODEL = ROOT / "models" / "engage-default" / "model.json"
GOAL_SECONDS = 15.0


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
    args = parser.parse_args()

    from engage.cache import EmbeddingCache
    from engage.encoders import load_encoder
    from engage.head import HeadConfig
    from engage.reading import read_messages
    from engage.train import train_model
    from engage.validation import Validation

    work = Path(tempfile.mkdtemp(prefix="engage-bench-"))
    handle = args.encoder or default_encoder(work)
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
